//! What the board is: CPU, kernel, governor, SoC temperature and throttle flags.
//!
//! Every source is optional: an absent file or command is reported as absent (empty string,
//! NaN temperature, `u32::MAX` throttle flags), never invented.

use std::path::Path;
use std::process::Command;

use wattevo_proto::CpuInfo;

/// SoC temperature in millidegrees Celsius.
pub const THERMAL_ZONE: &str = "/sys/class/thermal/thermal_zone0/temp";
/// CPU frequency governor of core 0.
pub const GOVERNOR: &str = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor";
/// Throttle flags value meaning "not available on this board".
pub const THROTTLE_ABSENT: u32 = u32::MAX;

/// The CPU model from `/proc/cpuinfo` text: `model name`, else `Model`, else `Hardware`.
fn cpu_model(cpuinfo: &str) -> String {
    for key in ["model name", "Model", "Hardware"] {
        let found = cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        });
        if let Some(model) = found {
            return model;
        }
    }
    String::new()
}

/// Describes this machine, with the tract thread count the agent uses.
pub fn cpu_info(tract_threads: u16) -> CpuInfo {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let kernel = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let governor = std::fs::read_to_string(GOVERNOR).map(|s| s.trim().to_string()).unwrap_or_default();
    CpuInfo {
        arch: std::env::consts::ARCH.to_string(),
        model: cpu_model(&cpuinfo),
        cores: u16::try_from(cores).unwrap_or(u16::MAX),
        kernel,
        governor,
        tract_threads,
    }
}

/// Parses a thermal zone's millidegree text.
fn parse_millidegrees(text: &str) -> Option<f32> {
    text.trim().parse::<i64>().ok().map(|m| m as f32 / 1000.0)
}

/// SoC temperature from `path`, °C; NaN when absent or unreadable.
pub fn temperature_c_at(path: &Path) -> f32 {
    std::fs::read_to_string(path).ok().and_then(|t| parse_millidegrees(&t)).unwrap_or(f32::NAN)
}

/// SoC temperature, °C; NaN when the board has no thermal zone.
pub fn temperature_c() -> f32 {
    temperature_c_at(Path::new(THERMAL_ZONE))
}

/// Parses `throttled=0x50005`.
fn parse_throttled(text: &str) -> Option<u32> {
    let hex = text.trim().strip_prefix("throttled=")?.trim();
    u32::from_str_radix(hex.trim_start_matches("0x"), 16).ok()
}

/// Raspberry Pi throttle flags from `vcgencmd get_throttled`; [`THROTTLE_ABSENT`] where the
/// command does not exist or fails.
pub fn throttled_flags() -> u32 {
    let Ok(out) = Command::new("vcgencmd").arg("get_throttled").output() else {
        return THROTTLE_ABSENT;
    };
    if !out.status.success() {
        return THROTTLE_ABSENT;
    }
    parse_throttled(&String::from_utf8_lossy(&out.stdout)).unwrap_or(THROTTLE_ABSENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_prefers_model_name_then_pi_model() {
        let x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(x86), "AMD EPYC 7B13");
        let pi = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(cpu_model(pi), "Raspberry Pi 4 Model B Rev 1.4");
        assert_eq!(cpu_model(""), "");
    }

    #[test]
    fn throttle_text_parses_and_garbage_is_absent() {
        assert_eq!(parse_throttled("throttled=0x0\n"), Some(0));
        assert_eq!(parse_throttled("throttled=0x50005"), Some(0x50005));
        assert_eq!(parse_throttled("VCHI initialization failed"), None);
    }

    #[test]
    fn temperatures_parse_and_absent_is_nan() {
        assert_eq!(parse_millidegrees("48312\n"), Some(48.312));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("temp");
        std::fs::write(&path, "51000\n").expect("write");
        assert_eq!(temperature_c_at(&path), 51.0);
        assert!(temperature_c_at(&dir.path().join("absent")).is_nan());
    }

    #[test]
    fn this_machine_is_described() {
        let info = cpu_info(1);
        assert_eq!(info.arch, std::env::consts::ARCH);
        assert!(info.cores >= 1);
        assert!(!info.kernel.is_empty(), "uname works on Linux");
    }
}
