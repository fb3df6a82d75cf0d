//! The configuration register (0x00) as typed settings: bus range, PGA gain, ADC resolution or
//! averaging for bus and shunt, operating mode — and the conversion time they imply.
//!
//! Layout (SBOS448, configuration register): bit 15 RST, bit 13 BRNG, bits 12..11 PG,
//! bits 10..7 BADC, bits 6..3 SADC, bits 2..0 MODE. Power-on default 0x399F.

use std::time::Duration;

/// Configuration bit 15: writing 1 resets every register to its default.
pub const CONFIG_RESET: u16 = 1 << 15;
/// The configuration register after power-on or reset.
pub const CONFIG_DEFAULT: u16 = 0x399F;

/// Why a setting cannot be programmed into the configuration register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The bus range is neither 16 nor 32 V.
    #[error("bus voltage range {0} V is not supported: use 16 or 32")]
    BusRange(u8),
    /// The shunt full scale is not one of the PGA ranges.
    #[error("shunt full scale {0} mV is not supported: use 40, 80, 160 or 320 (PGA /1 /2 /4 /8)")]
    ShuntRange(u16),
    /// Resolution and sample count do not name an ADC mode.
    #[error(
        "ADC mode {bits} bit × {samples} samples is not supported: 9 to 12 bits, or 12 bits with 1, 2, 4 ... 128 samples"
    )]
    AdcMode {
        /// Requested resolution, bits.
        bits: u8,
        /// Requested samples per conversion.
        samples: u8,
    },
}

/// Bus voltage full-scale range (BRNG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusRange {
    /// 16 V full scale.
    V16,
    /// 32 V full scale (never apply more than 26 V).
    V32,
}

impl BusRange {
    /// From a board profile's `bus_range_v`.
    pub fn from_volts(volts: u8) -> Result<Self, ConfigError> {
        match volts {
            16 => Ok(Self::V16),
            32 => Ok(Self::V32),
            other => Err(ConfigError::BusRange(other)),
        }
    }

    /// Full scale, millivolts.
    pub const fn full_scale_mv(self) -> u32 {
        match self {
            Self::V16 => 16_000,
            Self::V32 => 32_000,
        }
    }
}

/// Shunt PGA gain and range (PG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pga {
    /// Gain 1, ±40 mV.
    Div1,
    /// Gain /2, ±80 mV.
    Div2,
    /// Gain /4, ±160 mV.
    Div4,
    /// Gain /8, ±320 mV (default).
    Div8,
}

impl Pga {
    /// From a board profile's `shunt_range_mv`.
    pub fn from_full_scale_mv(millivolts: u16) -> Result<Self, ConfigError> {
        match millivolts {
            40 => Ok(Self::Div1),
            80 => Ok(Self::Div2),
            160 => Ok(Self::Div4),
            320 => Ok(Self::Div8),
            other => Err(ConfigError::ShuntRange(other)),
        }
    }

    /// Full scale, microvolts (either sign).
    pub const fn full_scale_uv(self) -> i32 {
        match self {
            Self::Div1 => 40_000,
            Self::Div2 => 80_000,
            Self::Div4 => 160_000,
            Self::Div8 => 320_000,
        }
    }

    const fn bits(self) -> u16 {
        self as u16
    }

    const fn from_bits(bits: u16) -> Self {
        match bits & 0b11 {
            0 => Self::Div1,
            1 => Self::Div2,
            2 => Self::Div4,
            _ => Self::Div8,
        }
    }
}

/// ADC resolution or averaging of one converter (BADC or SADC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdcMode {
    /// 9-bit, 84 µs.
    Bits9,
    /// 10-bit, 148 µs.
    Bits10,
    /// 11-bit, 276 µs.
    Bits11,
    /// 12-bit, 532 µs (default).
    Bits12,
    /// 12-bit, the mean of 2^n samples (n = 1 ..= 7: 2 ... 128 samples).
    Average(AveragePower),
}

/// The exponent of an averaging count: samples = 2^n, n = 1 ..= 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AveragePower(u8);

impl AveragePower {
    /// 2^`exponent` samples; `None` unless 1 ≤ exponent ≤ 7.
    pub const fn new(exponent: u8) -> Option<Self> {
        if exponent >= 1 && exponent <= 7 { Some(Self(exponent)) } else { None }
    }

    /// Samples averaged per conversion.
    pub const fn samples(self) -> u32 {
        1 << self.0
    }
}

impl AdcMode {
    /// From a board profile's `adc_bits` and `adc_samples`.
    pub fn from_bits_samples(bits: u8, samples: u8) -> Result<Self, ConfigError> {
        let mode = match (bits, samples) {
            (9, 1) => Some(Self::Bits9),
            (10, 1) => Some(Self::Bits10),
            (11, 1) => Some(Self::Bits11),
            (12, 1) => Some(Self::Bits12),
            (12, n) if n.is_power_of_two() => AveragePower::new(n.trailing_zeros() as u8).map(Self::Average),
            _ => None,
        };
        mode.ok_or(ConfigError::AdcMode { bits, samples })
    }

    /// Samples averaged per conversion (1 unless averaging).
    pub const fn samples(self) -> u32 {
        match self {
            Self::Average(power) => power.samples(),
            _ => 1,
        }
    }

    /// Time one conversion takes (SBOS448 ADC settings table; the averaging figures are the
    /// datasheet's, slightly under n × 532 µs).
    pub const fn conversion_time(self) -> Duration {
        let micros = match self {
            Self::Bits9 => 84,
            Self::Bits10 => 148,
            Self::Bits11 => 276,
            Self::Bits12 => 532,
            Self::Average(AveragePower(1)) => 1_060,
            Self::Average(AveragePower(2)) => 2_130,
            Self::Average(AveragePower(3)) => 4_260,
            Self::Average(AveragePower(4)) => 8_510,
            Self::Average(AveragePower(5)) => 17_020,
            Self::Average(AveragePower(6)) => 34_050,
            Self::Average(_) => 68_100,
        };
        Duration::from_micros(micros)
    }

    /// Readable form for the handshake: `12bit`, `12bit x8`.
    pub fn label(self) -> String {
        match self {
            Self::Bits9 => "9bit".to_owned(),
            Self::Bits10 => "10bit".to_owned(),
            Self::Bits11 => "11bit".to_owned(),
            Self::Bits12 => "12bit".to_owned(),
            Self::Average(power) => format!("12bit x{}", power.samples()),
        }
    }

    /// The 4-bit field (0b1000 for plain 12-bit is equivalent to 0b0011; this writes 0b0011).
    const fn bits(self) -> u16 {
        match self {
            Self::Bits9 => 0b0000,
            Self::Bits10 => 0b0001,
            Self::Bits11 => 0b0010,
            Self::Bits12 => 0b0011,
            Self::Average(AveragePower(n)) => 0b1000 | n as u16,
        }
    }

    /// Decodes a 4-bit field; the datasheet's "X" bit (bit 2 when bit 3 is 0) is ignored.
    pub const fn from_bits(bits: u16) -> Self {
        match bits & 0b1111 {
            0b1000 => Self::Bits12,
            b if b & 0b1000 != 0 => Self::Average(AveragePower((b & 0b111) as u8)),
            b => match b & 0b11 {
                0 => Self::Bits9,
                1 => Self::Bits10,
                2 => Self::Bits11,
                _ => Self::Bits12,
            },
        }
    }
}

/// MODE bit 0: convert the shunt voltage.
const MODE_SHUNT: u16 = 0b001;
/// MODE bit 1: convert the bus voltage.
const MODE_BUS: u16 = 0b010;
/// MODE bit 2: repeat the conversions (with bits 1..0 clear: ADC off).
const MODE_CONTINUOUS: u16 = 0b100;

/// Operating mode (MODE, bits 2..0), the datasheet's eight combinations of its three bits.
///
/// | MODE | mode |
/// | --- | --- |
/// | 000 | power-down |
/// | 001, 010, 011 | one shunt, one bus, or one shunt then one bus conversion (triggered) |
/// | 100 | ADC off |
/// | 101, 110, 111 | shunt, bus, or shunt then bus conversions, continuously (111: default) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum OperatingMode {
    PowerDown = 0,
    ShuntTriggered = MODE_SHUNT,
    BusTriggered = MODE_BUS,
    ShuntBusTriggered = MODE_SHUNT | MODE_BUS,
    AdcOff = MODE_CONTINUOUS,
    ShuntContinuous = MODE_CONTINUOUS | MODE_SHUNT,
    BusContinuous = MODE_CONTINUOUS | MODE_BUS,
    ShuntBusContinuous = MODE_CONTINUOUS | MODE_SHUNT | MODE_BUS,
}

impl OperatingMode {
    /// Decodes the 3-bit field.
    pub const fn from_bits(bits: u16) -> Self {
        match bits & 0b111 {
            0b000 => Self::PowerDown,
            0b001 => Self::ShuntTriggered,
            0b010 => Self::BusTriggered,
            0b011 => Self::ShuntBusTriggered,
            0b100 => Self::AdcOff,
            0b101 => Self::ShuntContinuous,
            0b110 => Self::BusContinuous,
            _ => Self::ShuntBusContinuous,
        }
    }

    /// Whether the mode converts the shunt and the bus voltage.
    pub const fn converts(self) -> (bool, bool) {
        let bits = self as u16;
        (bits & MODE_SHUNT != 0, bits & MODE_BUS != 0)
    }

    /// Whether conversions repeat (modes 101 ..= 111).
    pub const fn is_continuous(self) -> bool {
        (self as u16) & MODE_CONTINUOUS != 0 && (self as u16) & (MODE_SHUNT | MODE_BUS) != 0
    }
}

/// The whole configuration register, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// Bus voltage range.
    pub bus_range: BusRange,
    /// Shunt PGA gain.
    pub pga: Pga,
    /// Bus ADC resolution or averaging.
    pub bus_adc: AdcMode,
    /// Shunt ADC resolution or averaging.
    pub shunt_adc: AdcMode,
    /// Operating mode.
    pub mode: OperatingMode,
}

impl Default for Config {
    /// The power-on configuration: 32 V, PGA /8, 12-bit bus and shunt, continuous shunt and bus.
    fn default() -> Self {
        Self::from_register(CONFIG_DEFAULT)
    }
}

impl Config {
    /// Continuous shunt and bus conversions, both with `adc`.
    pub const fn continuous(bus_range: BusRange, pga: Pga, adc: AdcMode) -> Self {
        Self { bus_range, pga, bus_adc: adc, shunt_adc: adc, mode: OperatingMode::ShuntBusContinuous }
    }

    /// The 16-bit register value (RST clear).
    ///
    /// ```
    /// use wattevo_agent::ina219::{AdcMode, BusRange, Config, Pga};
    /// // SBOS448: the power-on default 0x399F is 32 V, PGA /8, 12-bit, continuous shunt and bus.
    /// let config = Config::continuous(BusRange::V32, Pga::Div8, AdcMode::Bits12);
    /// assert_eq!(config.register(), 0x399F);
    /// ```
    pub const fn register(self) -> u16 {
        let brng = match self.bus_range {
            BusRange::V16 => 0,
            BusRange::V32 => 1,
        };
        (brng << 13)
            | (self.pga.bits() << 11)
            | (self.bus_adc.bits() << 7)
            | (self.shunt_adc.bits() << 3)
            | self.mode as u16
    }

    /// Decodes a register value (RST ignored).
    pub const fn from_register(value: u16) -> Self {
        Self {
            bus_range: if value & (1 << 13) != 0 { BusRange::V32 } else { BusRange::V16 },
            pga: Pga::from_bits(value >> 11),
            bus_adc: AdcMode::from_bits(value >> 7),
            shunt_adc: AdcMode::from_bits(value >> 3),
            mode: OperatingMode::from_bits(value),
        }
    }

    /// Time from the start of a conversion cycle to its results (CNVR): the shunt conversion
    /// then the bus conversion, for whichever of the two the mode runs.
    pub const fn cycle_time(self) -> Duration {
        let (shunt, bus) = self.mode.converts();
        let shunt_us = if shunt { self.shunt_adc.conversion_time().as_micros() as u64 } else { 0 };
        let bus_us = if bus { self.bus_adc.conversion_time().as_micros() as u64 } else { 0 };
        Duration::from_micros(shunt_us + bus_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_register_decodes_to_datasheet_defaults() {
        let config = Config::from_register(CONFIG_DEFAULT);
        assert_eq!(config, Config::continuous(BusRange::V32, Pga::Div8, AdcMode::Bits12));
        assert_eq!(config.register(), CONFIG_DEFAULT);
    }

    #[test]
    #[allow(clippy::unusual_byte_groupings, reason = "literals grouped by register field")]
    fn fields_land_in_their_bits() {
        // 16 V (BRNG 0), PGA /1 (00), bus 9-bit (0000), shunt 128 samples (1111), shunt continuous (101).
        let config = Config {
            bus_range: BusRange::V16,
            pga: Pga::Div1,
            bus_adc: AdcMode::Bits9,
            shunt_adc: AdcMode::from_bits_samples(12, 128).expect("valid"),
            mode: OperatingMode::ShuntContinuous,
        };
        assert_eq!(config.register(), 0b0_0_0_00_0000_1111_101);
        assert_eq!(Config::from_register(config.register()), config);
        // PGA /2 and bus 12-bit × 2 samples: PG = 01, BADC = 1001.
        let config = Config { pga: Pga::Div2, bus_adc: AdcMode::from_bits_samples(12, 2).expect("valid"), ..config };
        assert_eq!(config.register(), 0b0_0_0_01_1001_1111_101);
    }

    #[test]
    fn every_adc_field_round_trips() {
        for field in [0b0000, 0b0001, 0b0010, 0b0011, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101, 0b1110, 0b1111] {
            assert_eq!(AdcMode::from_bits(field).bits(), field);
        }
        assert_eq!(AdcMode::from_bits(0b1000), AdcMode::Bits12);
        assert_eq!(AdcMode::from_bits(0b0111), AdcMode::Bits12, "bit 2 is don't-care below 0b1000");
    }

    #[test]
    fn conversion_times_follow_the_datasheet() {
        let time = |bits, samples| AdcMode::from_bits_samples(bits, samples).expect("valid").conversion_time();
        assert_eq!(time(9, 1), Duration::from_micros(84));
        assert_eq!(time(12, 1), Duration::from_micros(532));
        assert_eq!(time(12, 2), Duration::from_micros(1_060));
        assert_eq!(time(12, 128), Duration::from_micros(68_100));
        let both = Config::continuous(BusRange::V32, Pga::Div8, AdcMode::Bits12);
        assert_eq!(both.cycle_time(), Duration::from_micros(1_064));
        let shunt_only = Config { mode: OperatingMode::ShuntContinuous, ..both };
        assert_eq!(shunt_only.cycle_time(), Duration::from_micros(532));
    }

    #[test]
    fn profile_values_outside_the_chip_are_errors() {
        assert_eq!(BusRange::from_volts(24), Err(ConfigError::BusRange(24)));
        assert_eq!(Pga::from_full_scale_mv(100), Err(ConfigError::ShuntRange(100)));
        assert_eq!(AdcMode::from_bits_samples(10, 4), Err(ConfigError::AdcMode { bits: 10, samples: 4 }));
        assert_eq!(AdcMode::from_bits_samples(12, 3), Err(ConfigError::AdcMode { bits: 12, samples: 3 }));
        assert_eq!(AdcMode::from_bits_samples(12, 8).map(AdcMode::samples), Ok(8));
        assert_eq!(AdcMode::from_bits_samples(12, 8).map(AdcMode::label), Ok("12bit x8".to_owned()));
    }
}
