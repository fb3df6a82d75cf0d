//! Board profiles: what one TOML file in `boards/` declares about a board.
//!
//! Only the types live here (both sides need them). The `[measure]` table is a
//! [`MeasureProtocol`] (declared in `measure_protocol`, shared with `MeasureRequest`); parsing
//! the TOML with positioned errors is `profile_toml` (feature `toml`). Unknown keys are rejected
//! so that a typo in a profile is an error, not a silently ignored setting.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::measure_protocol::MeasureProtocol;

/// One board: how to reach it, how its power is sensed, how to measure on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardProfile {
    /// Short name (`pi4b`, `sim`), reported in the handshake.
    pub name: String,
    /// A readable description.
    pub description: String,
    /// Serial link settings.
    pub serial: SerialSettings,
    /// The power sensor and its wiring.
    pub sensor: SensorSettings,
    /// Power model used by the emulated sensor (simulated figures). Real boards may omit it.
    #[serde(default)]
    pub power_model: Option<PowerModelSettings>,
    /// The board's measurement protocol defaults (`[measure]`); a request may override them.
    #[serde(default)]
    pub measure: MeasureProtocol,
    /// Inference runtime settings.
    #[serde(default)]
    pub runtime: RuntimeSettings,
    /// Thermal gate.
    #[serde(default)]
    pub thermal: ThermalSettings,
    /// How much boards of this kind differ from each other (`[tolerance]`); a simulated farm
    /// draws each board's power figures from it.
    #[serde(default)]
    pub tolerance: ToleranceSettings,
}

/// Board-to-board spread of one kind of board, one standard deviation in percent of the
/// profile's figure. Zero: every board alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToleranceSettings {
    /// Spread of the idle power (regulator, shunt, peripherals), percent.
    pub idle_pct: f64,
    /// Spread of the power per busy core (silicon, temperature), percent.
    pub core_pct: f64,
}

/// Serial link settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    /// Default port on the host side (`/dev/ttyUSB0`); `--port` overrides it.
    #[serde(default)]
    pub host_port: String,
    /// Port the agent serves on the board (`/dev/ttyGS0`, `/dev/serial0`).
    #[serde(default)]
    pub agent_port: String,
    /// Baud rate (ignored by pseudo-terminals and USB gadget serial).
    pub baud: u32,
    /// How long the host waits for one answer, milliseconds (measurements have their own).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_timeout_ms() -> u32 {
    2000
}

/// What produces the power readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorSource {
    /// A real INA219 on `/dev/i2c-N`.
    Ina219,
    /// An emulated INA219 (same registers and quantisation) driven by `power_model`.
    EmulatedIna219,
}

/// The INA219 and its wiring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorSettings {
    /// Real or emulated chip.
    pub source: SensorSource,
    /// I2C bus number (`/dev/i2c-N`).
    pub i2c_bus: u8,
    /// 7-bit I2C address (0x40 with A0 = A1 = GND).
    pub i2c_address: u8,
    /// Shunt resistance, ohms (0.1 on most breakouts; ≤ 0.02 for a Pi 4/5).
    pub shunt_ohms: f64,
    /// Largest expected current, amperes (sets the current LSB = I_max / 2^15).
    pub max_current_a: f64,
    /// Bus voltage range, volts: 16 or 32.
    #[serde(default = "default_bus_range")]
    pub bus_range_v: u8,
    /// Shunt full scale, millivolts: 40, 80, 160 or 320 (PGA /1 /2 /4 /8).
    #[serde(default = "default_shunt_range")]
    pub shunt_range_mv: u16,
    /// ADC resolution, bits: 9 to 12.
    #[serde(default = "default_adc_bits")]
    pub adc_bits: u8,
    /// Samples averaged per conversion: 1, 2, 4, ... 128 (12-bit only when above 1).
    #[serde(default = "default_adc_samples")]
    pub adc_samples: u8,
    /// Sampler rate, hertz; 0 = as fast as the conversion time allows.
    #[serde(default)]
    pub sample_rate_hz: u32,
}

fn default_bus_range() -> u8 {
    32
}
fn default_shunt_range() -> u16 {
    320
}
fn default_adc_bits() -> u8 {
    12
}
fn default_adc_samples() -> u8 {
    1
}

/// A board's power draw as a function of load; drives the emulated sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerModelSettings {
    /// Supply voltage at the sensor, volts.
    pub supply_v: f64,
    /// Power with nothing running, watts.
    pub idle_w: f64,
    /// Extra power per fully busy core, watts.
    pub core_w: f64,
    /// DRAM energy per byte moved (weights + activations), nanojoules.
    pub dram_nj_per_byte: f64,
    /// Standard deviation of the Gaussian noise on the load current, watts equivalent.
    pub noise_w: f64,
    /// Seed of the noise.
    pub seed: u64,
    /// The board twin a simulated board runs on: a bundled twin's name (`pi4b`) or a twin file
    /// (`boards/twins/` format; a relative path is relative to the profile's file), as
    /// `wattevo boards --calibrate` writes. Unset: the bundled twin of the profile's name.
    /// (No `skip_serializing_if`: postcard, which carries this struct on the wire, is not
    /// self-describing and needs every field; TOML leaves a `None` out anyway.)
    #[serde(default)]
    pub twin: Option<String>,
}

/// Inference runtime settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Threads tract may use (1 is fastest for small networks).
    pub tract_threads: u16,
    /// Most bytes of models held at once (least recently used evicted).
    pub model_cache_bytes: u64,
    /// Most memory one model may plan to use (its weights plus every tensor it produces, for
    /// the requested input); a larger model is refused before it runs.
    pub max_model_memory_bytes: u64,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self { tract_threads: 1, model_cache_bytes: 256 * 1024 * 1024, max_model_memory_bytes: 1024 * 1024 * 1024 }
    }
}

/// Thermal gate before measuring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThermalSettings {
    /// Wait until the SoC is below this, °C.
    pub max_start_c: f32,
    /// Wait at most this long, milliseconds.
    pub max_wait_ms: u32,
}

impl Default for ThermalSettings {
    fn default() -> Self {
        Self { max_start_c: 60.0, max_wait_ms: 30_000 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::string::ToString;
    use std::vec::Vec;

    fn boards_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards")
    }

    fn profile_files() -> Vec<PathBuf> {
        let entries = std::fs::read_dir(boards_dir()).expect("boards/ exists");
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        files
    }

    fn parse(path: &Path) -> BoardProfile {
        let text = std::fs::read_to_string(path).expect("readable profile");
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Checks what the INA219 needs: the calibration register fits, the shunt range covers the
    /// largest current (datasheet: Cal = trunc(0.04096 / (I_max / 2^15 × R))).
    fn check_sensor(path: &Path, sensor: &SensorSettings) {
        let current_lsb_a = sensor.max_current_a / 32768.0;
        let calibration = (0.04096 / (current_lsb_a * sensor.shunt_ohms)).trunc();
        assert!((1.0..65536.0).contains(&calibration), "{}: calibration {calibration}", path.display());
        let full_scale_mv = sensor.max_current_a * sensor.shunt_ohms * 1000.0;
        assert!(full_scale_mv <= f64::from(sensor.shunt_range_mv), "{}: {full_scale_mv} mV", path.display());
        assert!([40, 80, 160, 320].contains(&sensor.shunt_range_mv), "{}", path.display());
        assert!([16, 32].contains(&sensor.bus_range_v), "{}", path.display());
    }

    #[test]
    fn every_bundled_profile_parses_and_is_consistent() {
        let files = profile_files();
        let names: Vec<_> = files.iter().map(|p| p.file_stem().expect("stem").to_string_lossy().to_string()).collect();
        for expected in ["pi4b", "pi5", "pizero2w", "sim"] {
            assert!(names.iter().any(|n| n == expected), "boards/{expected}.toml missing");
        }
        for path in &files {
            let profile = parse(path);
            assert_eq!(Some(profile.name.as_str()), path.file_stem().and_then(|s| s.to_str()), "{}", path.display());
            check_sensor(path, &profile.sensor);
            let model = profile.power_model.as_ref().expect("every bundled profile can be simulated");
            assert!(model.idle_w > 0.0 && model.core_w > 0.0 && model.supply_v > 4.5, "{}", path.display());
            let again: BoardProfile = toml::from_str(&toml::to_string(&profile).expect("serialise")).expect("reparse");
            assert_eq!(again, profile, "{}", path.display());
        }
    }

    #[test]
    fn sim_is_emulated_and_real_boards_are_not() {
        for path in profile_files() {
            let profile = parse(&path);
            let emulated = profile.sensor.source == SensorSource::EmulatedIna219;
            assert_eq!(emulated, profile.name == "sim", "{}", path.display());
        }
    }

    fn error_for(edit: impl Fn(&str) -> std::string::String) -> std::string::String {
        let text = std::fs::read_to_string(boards_dir().join("pi4b.toml")).expect("pi4b.toml");
        let edited = edit(&text);
        assert_ne!(edited, text, "the edit must change the profile");
        toml::from_str::<BoardProfile>(&edited).expect_err("malformed profile must not parse").to_string()
    }

    #[test]
    fn malformed_profile_errors_name_the_key() {
        let wrong_type = error_for(|t| t.replace("baud = 921600", "baud = \"fast\""));
        assert!(wrong_type.contains("baud") && wrong_type.contains("u32"), "{wrong_type}");
        let unknown = error_for(|t| t.replace("baud = 921600", "baud = 921600\nbaudrate = 9600"));
        assert!(unknown.contains("baudrate"), "{unknown}");
        let missing = error_for(|t| t.replace("shunt_ohms = 0.01\n", ""));
        assert!(missing.contains("shunt_ohms"), "{missing}");
        let bad_source = error_for(|t| t.replace("source = \"ina219\"", "source = \"ina226\""));
        assert!(bad_source.contains("ina226") && bad_source.contains("source"), "{bad_source}");
    }
}
