//! Calibration (register 0x05) as pure integer math, and the scaling of the current and power
//! registers that follows from it.
//!
//! SBOS448, "Programming the calibration register": `Current_LSB = I_max / 2^15`,
//! `Cal = trunc(0.04096 / (Current_LSB × R_shunt))`, `Power_LSB = 20 × Current_LSB`. Here the
//! shunt is in µΩ and the LSB in nA, so `Cal = 4.096e13 / (LSB_nA × R_µΩ)` in 64-bit integers.
//! Bit 0 of the register is void (always reads 0), so the value written is rounded down to even.
//!
//! Readings are scaled by the LSB the chip actually implements, `0.04096 / (Cal × R_shunt)`,
//! which differs from the nominal `I_max / 2^15` by the truncation of Cal (under 1 / Cal).

use super::registers::{MicroAmps, MicroOhms, MicroWatts, NanoAmps};

/// 0.04096 expressed for LSB in nA and shunt in µΩ: 0.04096 / (1e-9 × 1e-6).
const CAL_NUMERATOR: u64 = 40_960_000_000_000;
/// The same constant for a result in µA per register LSB: 0.04096 / 1e-6 × 1e6.
const MICROAMP_NUMERATOR: i64 = 40_960_000_000;

/// Why a calibration cannot be programmed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// A zero shunt resistance.
    #[error("shunt resistance must be above 0 Ω")]
    ZeroShunt,
    /// A zero maximum current or current LSB.
    #[error("maximum current must be above 0 A")]
    ZeroCurrent,
    /// Cal above 16 bits: the shunt or the current is too small for the chip.
    #[error("calibration value {value} does not fit 16 bits: raise the shunt resistance or the maximum current")]
    TooLarge {
        /// The computed calibration value.
        value: u64,
    },
    /// Cal truncates to 0: the shunt or the current is too large for the chip.
    #[error("calibration value truncates to 0: lower the shunt resistance or the maximum current")]
    Zero,
    /// A profile value that is not a finite positive number in range.
    #[error("{what} = {value} is not usable: expected a finite value in ({min}, {max}]")]
    Setting {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
        /// Exclusive lower bound.
        min: f64,
        /// Inclusive upper bound.
        max: f64,
    },
}

/// A calibration: shunt, current LSB and the register value they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Calibration {
    shunt: MicroOhms,
    current_lsb: NanoAmps,
    register: u16,
}

impl Calibration {
    /// From the shunt and the largest expected current: `LSB = ceil(I_max / 2^15)` in nA.
    ///
    /// ```
    /// use wattevo_agent::ina219::{Calibration, MicroAmps, MicroOhms, NanoAmps};
    /// // SBOS448's example: R = 0.1 Ω, I_max ≈ 3.2 A rounded to a 100 µA LSB → Cal = 4096.
    /// let cal = Calibration::from_max_current(MicroOhms(100_000), MicroAmps(3_276_800))?;
    /// assert_eq!(cal.current_lsb(), NanoAmps(100_000));
    /// assert_eq!(cal.register(), 4096);
    /// assert_eq!(cal.power_lsb_nw(), 2_000_000); // 20 × 100 µA = 2 mW
    /// # Ok::<(), wattevo_agent::ina219::CalibrationError>(())
    /// ```
    pub fn from_max_current(shunt: MicroOhms, max_current: MicroAmps) -> Result<Self, CalibrationError> {
        let max_na = u64::try_from(max_current.0).map_err(|_| CalibrationError::ZeroCurrent)? * 1_000;
        Self::from_current_lsb(shunt, NanoAmps(max_na.div_ceil(1 << 15)))
    }

    /// From the shunt and a chosen current LSB (the datasheet rounds `I_max / 2^15` up to a
    /// round number).
    ///
    /// ```
    /// use wattevo_agent::ina219::{Calibration, MicroOhms, NanoAmps};
    /// let cal = Calibration::from_current_lsb(MicroOhms(100_000), NanoAmps(100_000))?;
    /// assert_eq!(cal.register(), 4096);
    /// # Ok::<(), wattevo_agent::ina219::CalibrationError>(())
    /// ```
    pub fn from_current_lsb(shunt: MicroOhms, current_lsb: NanoAmps) -> Result<Self, CalibrationError> {
        if shunt.0 == 0 {
            return Err(CalibrationError::ZeroShunt);
        }
        if current_lsb.0 == 0 {
            return Err(CalibrationError::ZeroCurrent);
        }
        let denominator = current_lsb.0.saturating_mul(u64::from(shunt.0));
        let value = CAL_NUMERATOR / denominator;
        let register = u16::try_from(value).map_err(|_| CalibrationError::TooLarge { value })? & !1;
        if register == 0 {
            return Err(CalibrationError::Zero);
        }
        Ok(Self { shunt, current_lsb, register })
    }

    /// From a board profile's `shunt_ohms` and `max_current_a`.
    pub fn from_settings(shunt_ohms: f64, max_current_a: f64) -> Result<Self, CalibrationError> {
        let shunt = to_micro("shunt_ohms", shunt_ohms, 1_000.0)?;
        let max_current = to_micro("max_current_a", max_current_a, 1_000.0)?;
        Self::from_max_current(MicroOhms(shunt as u32), MicroAmps(max_current as i64))
    }

    /// The value for register 0x05.
    pub const fn register(self) -> u16 {
        self.register
    }

    /// The shunt the calibration is for.
    pub const fn shunt(self) -> MicroOhms {
        self.shunt
    }

    /// The nominal current LSB (`I_max / 2^15`, or the one chosen).
    pub const fn current_lsb(self) -> NanoAmps {
        self.current_lsb
    }

    /// The nominal power LSB, nanowatts: 20 × current LSB.
    pub const fn power_lsb_nw(self) -> u64 {
        20 * self.current_lsb.0
    }

    /// The current LSB the chip implements, amperes: `0.04096 / (Cal × R_shunt)`.
    pub fn effective_current_lsb_a(self) -> f64 {
        0.040_96 / (f64::from(self.register) * f64::from(self.shunt.0) * 1e-6)
    }

    /// Current register → microamperes (rounded to nearest).
    pub fn current_from_register(self, raw: u16) -> MicroAmps {
        let numerator = i64::from(raw as i16) * MICROAMP_NUMERATOR;
        MicroAmps(div_round(numerator, self.scale_denominator()))
    }

    /// Power register → microwatts (rounded to nearest): 20 × current LSB per count.
    pub fn power_from_register(self, raw: u16) -> MicroWatts {
        let numerator = i64::from(raw) * 20 * MICROAMP_NUMERATOR;
        MicroWatts(div_round(numerator, self.scale_denominator()).unsigned_abs())
    }

    fn scale_denominator(self) -> i64 {
        i64::from(self.register) * i64::from(self.shunt.0)
    }
}

/// `value × 1e6` as an integer in `1 ..= max × 1e6`, or a [`CalibrationError::Setting`].
fn to_micro(what: &'static str, value: f64, max: f64) -> Result<u64, CalibrationError> {
    let micro = (value * 1e6).round();
    if value.is_finite() && value > 0.0 && value <= max && micro >= 1.0 {
        Ok(micro as u64)
    } else {
        Err(CalibrationError::Setting { what, value, min: 0.0, max })
    }
}

/// Signed division rounded to nearest, halves away from zero; `denominator` > 0.
fn div_round(numerator: i64, denominator: i64) -> i64 {
    let half = denominator / 2;
    if numerator >= 0 { (numerator + half) / denominator } else { (numerator - half) / denominator }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasheet_example_three_point_two_amperes_unrounded() {
        // SBOS448 example without rounding the LSB: 3.2 A / 2^15 = 97.656 µA → 97 657 nA (ceil);
        // 0.04096 / (97.657e-6 × 0.1) = 4194.3 → 4194.
        let cal = Calibration::from_max_current(MicroOhms(100_000), MicroAmps(3_200_000)).expect("fits");
        assert_eq!(cal.current_lsb(), NanoAmps(97_657));
        assert_eq!(cal.register(), 4194);
    }

    #[test]
    fn pi4_shunt_ten_milliohm_four_amperes() {
        // MEASUREMENT.md: 10 mΩ at PGA /1 → 4 A full scale. LSB = 4 A / 2^15 = 122.07 µA →
        // 122 071 nA; Cal = 4.096e13 / (122 071 × 10 000) = 33 554.3 → 33 554 (already even).
        let cal = Calibration::from_settings(0.01, 4.0).expect("fits");
        assert_eq!(cal.current_lsb(), NanoAmps(122_071));
        assert_eq!(cal.register(), 33_554);
    }

    #[test]
    fn void_bit_zero_rounds_odd_values_down() {
        // 0.04096 / (100 µA × 0.0999 Ω) = 4100.1 → 4100 (even, kept);
        // 0.04096 / (100 µA × 0.09991 Ω) = 4099.7 → 4099 (odd) → 4098.
        let cal = |micro_ohms| Calibration::from_current_lsb(MicroOhms(micro_ohms), NanoAmps(100_000));
        assert_eq!(cal(99_900).map(Calibration::register), Ok(4100));
        assert_eq!(cal(99_910).map(Calibration::register), Ok(4098));
    }

    #[test]
    fn calibration_outside_sixteen_bits_is_an_error() {
        // 1 mΩ and 10 mA: LSB 306 nA → Cal = 0.04096 / (306e-9 × 1e-3) = 133 856 209 > 65 535.
        let result = Calibration::from_max_current(MicroOhms(1_000), MicroAmps(10_000));
        assert_eq!(result, Err(CalibrationError::TooLarge { value: 133_856_209 }));
        // The datasheet's 10 A through 2 mΩ at the minimum LSB (10 A / 2^15 = 305 176 nA) needs
        // Cal = 67 108: too large, which is why its example rounds the LSB up to 1 mA (Cal 20480).
        let result = Calibration::from_max_current(MicroOhms(2_000), MicroAmps(10_000_000));
        assert_eq!(result, Err(CalibrationError::TooLarge { value: 67_108 }));
        let rounded = Calibration::from_current_lsb(MicroOhms(2_000), NanoAmps(1_000_000));
        assert_eq!(rounded.map(Calibration::register), Ok(20_480));
        // 100 Ω and 100 A: LSB 3.05 mA → Cal = 0.04096 / (3.05e-3 × 100) = 0.13 → 0.
        let result = Calibration::from_settings(100.0, 100.0);
        assert_eq!(result, Err(CalibrationError::Zero));
        assert_eq!(Calibration::from_current_lsb(MicroOhms(0), NanoAmps(1)), Err(CalibrationError::ZeroShunt));
        assert!(matches!(Calibration::from_settings(f64::NAN, 1.0), Err(CalibrationError::Setting { .. })));
        assert!(matches!(Calibration::from_settings(0.1, -1.0), Err(CalibrationError::Setting { .. })));
    }

    #[test]
    fn registers_scale_by_the_implemented_lsb() {
        let cal = Calibration::from_current_lsb(MicroOhms(100_000), NanoAmps(100_000)).expect("fits");
        // Cal 4096 is exact: 10 000 counts × 100 µA = 1 A; −1 count = −100 µA.
        assert_eq!(cal.current_from_register(10_000), MicroAmps(1_000_000));
        assert_eq!(cal.current_from_register(0xFFFF), MicroAmps(-100));
        // Power LSB 2 mW: 2 500 counts = 5 W.
        assert_eq!(cal.power_from_register(2_500), MicroWatts(5_000_000));
        // 3.2 A unrounded: Cal 4194 → implemented LSB 0.04096 / (4194 × 0.1) = 97.663 µA, not 97.657.
        let cal = Calibration::from_max_current(MicroOhms(100_000), MicroAmps(3_200_000)).expect("fits");
        assert_eq!(cal.current_from_register(10_000), MicroAmps(976_633));
        assert!((cal.effective_current_lsb_a() - 97.663e-6).abs() < 1e-9);
    }
}
