//! The INA219 register map (TI SBOS448, section 8.6) and the unit newtypes its readings come in.
//!
//! Registers are 16 bits, big-endian on the wire. Only configuration and calibration are
//! writable; the other four hold the result of the last completed conversion.

/// One of the six INA219 registers, by pointer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Register {
    /// 0x00: bus range, PGA, ADC modes, operating mode (read/write, default 0x399F).
    Configuration = 0x00,
    /// 0x01: shunt voltage, two's complement, 10 µV per LSB (read only).
    ShuntVoltage = 0x01,
    /// 0x02: bus voltage in bits 15..3 (4 mV per LSB), CNVR in bit 1, OVF in bit 0 (read only).
    BusVoltage = 0x02,
    /// 0x03: power, `20 × Current_LSB` watts per LSB; reading it clears CNVR (read only).
    Power = 0x03,
    /// 0x04: current, two's complement, `Current_LSB` amperes per LSB (read only).
    Current = 0x04,
    /// 0x05: calibration; bit 0 is void and always reads 0 (read/write, default 0).
    Calibration = 0x05,
}

impl Register {
    /// The pointer byte that selects this register.
    pub const fn address(self) -> u8 {
        self as u8
    }

    /// The register selected by a pointer byte, if any.
    pub const fn from_address(address: u8) -> Option<Self> {
        match address {
            0x00 => Some(Self::Configuration),
            0x01 => Some(Self::ShuntVoltage),
            0x02 => Some(Self::BusVoltage),
            0x03 => Some(Self::Power),
            0x04 => Some(Self::Current),
            0x05 => Some(Self::Calibration),
            _ => None,
        }
    }

    /// True for the two registers a write can change.
    pub const fn is_writable(self) -> bool {
        matches!(self, Self::Configuration | Self::Calibration)
    }
}

/// Bus voltage register bit 1: a conversion completed since the power register was last read.
pub const BUS_CNVR: u16 = 1 << 1;
/// Bus voltage register bit 0: the current or power computation overflowed.
pub const BUS_OVF: u16 = 1 << 0;
/// Bus voltage register: the value sits in bits 15..3.
pub const BUS_VALUE_SHIFT: u16 = 3;
/// Bus voltage LSB, millivolts.
pub const BUS_LSB_MV: u32 = 4;
/// Shunt voltage LSB, microvolts.
pub const SHUNT_LSB_UV: i32 = 10;

/// Declares unit newtypes: `name(inner)` with its doc, all with the same value-type derives.
macro_rules! unit_newtypes {
    ($($(#[doc = $doc:literal])* $name:ident($inner:ty);)*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);
    )*};
}

unit_newtypes! {
    /// A voltage in microvolts (shunt voltage: signed).
    MicroVolts(i32);
    /// A voltage in millivolts (bus voltage: never negative).
    MilliVolts(u32);
    /// A current in microamperes (signed: current flows either way through the shunt).
    MicroAmps(i64);
    /// A current in nanoamperes (the calibration's current LSB).
    NanoAmps(u64);
    /// A power in microwatts (the power register is unsigned).
    MicroWatts(u64);
    /// A resistance in microohms (the shunt).
    MicroOhms(u32);
}

/// The bus voltage register, decoded: value and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusVoltage {
    raw: u16,
}

impl BusVoltage {
    /// Wraps a raw register value.
    pub const fn from_raw(raw: u16) -> Self {
        Self { raw }
    }

    /// The raw register value, flags included.
    pub const fn raw(self) -> u16 {
        self.raw
    }

    /// The voltage, millivolts (bits 15..3 × 4 mV).
    pub const fn voltage_mv(self) -> MilliVolts {
        MilliVolts((self.raw >> BUS_VALUE_SHIFT) as u32 * BUS_LSB_MV)
    }

    /// CNVR: a conversion completed since the power register was last read.
    pub const fn conversion_ready(self) -> bool {
        self.raw & BUS_CNVR != 0
    }

    /// OVF: the current or power computation of the last conversion overflowed.
    pub const fn overflow(self) -> bool {
        self.raw & BUS_OVF != 0
    }
}

/// Shunt voltage register → microvolts (two's complement, 10 µV per LSB).
pub const fn shunt_voltage_from_raw(raw: u16) -> MicroVolts {
    MicroVolts(raw as i16 as i32 * SHUNT_LSB_UV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_addresses_round_trip() {
        for address in 0..=0x05 {
            let register = Register::from_address(address).expect("0..=5 are registers");
            assert_eq!(register.address(), address);
        }
        assert_eq!(Register::from_address(0x06), None);
        assert!(Register::Configuration.is_writable() && Register::Calibration.is_writable());
        assert!(!Register::Power.is_writable());
    }

    #[test]
    fn bus_voltage_decodes_value_and_flags() {
        // Layout of SBOS448's bus voltage register: 0x5D9A = 0b0101_1101_1001_1_0_1_0 → bits 15..3
        // = 2995 × 4 mV = 11.980 V, bit 1 (CNVR) set, bit 0 (OVF) clear.
        let bus = BusVoltage::from_raw(0x5D9A);
        assert_eq!(bus.voltage_mv(), MilliVolts(11_980));
        assert!(bus.conversion_ready());
        assert!(!bus.overflow());
        assert!(BusVoltage::from_raw(0x0001).overflow());
    }

    #[test]
    fn shunt_voltage_is_signed() {
        // SBOS448's shunt voltage register format at PGA /8: +320.00 mV = 0111 1101 0000 0000,
        // −320.00 mV = 1000 0011 0000 0000 (two's complement of 32000 LSB).
        assert_eq!(shunt_voltage_from_raw(0x7D00), MicroVolts(320_000));
        assert_eq!(shunt_voltage_from_raw(0x8300), MicroVolts(-320_000));
        assert_eq!(shunt_voltage_from_raw(0xFFFF), MicroVolts(-10));
    }
}
