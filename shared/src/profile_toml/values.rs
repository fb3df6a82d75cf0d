//! The values of a profile that parsed: numbers a board cannot have (a negative or NaN power
//! figure, a zero timeout, an empty repetition range) are refused with the key and the line
//! they are on, as a type error is.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::board::BoardProfile;

/// One value that is out of range: the dotted key and what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// Dotted key (`power_model.idle_w`).
    pub key: &'static str,
    /// What was found and what is expected.
    pub message: String,
}

fn positive(key: &'static str, v: f64, out: &mut Vec<BadValue>) {
    if !(v.is_finite() && v > 0.0) {
        out.push(BadValue { key, message: format!("{v} must be a positive number") });
    }
}

fn non_negative(key: &'static str, v: f64, out: &mut Vec<BadValue>) {
    if !(v.is_finite() && v >= 0.0) {
        out.push(BadValue { key, message: format!("{v} must be zero or a positive number") });
    }
}

/// Every out-of-range value of `profile`, in file order.
pub fn bad_values(profile: &BoardProfile) -> Vec<BadValue> {
    let mut out = Vec::new();
    if profile.serial.baud == 0 {
        out.push(BadValue { key: "serial.baud", message: "0 must be a positive baud rate".to_string() });
    }
    if profile.serial.timeout_ms == 0 {
        out.push(BadValue {
            key: "serial.timeout_ms",
            message: "0 must be a positive number of milliseconds (every request would time out)".to_string(),
        });
    }
    positive("sensor.shunt_ohms", profile.sensor.shunt_ohms, &mut out);
    positive("sensor.max_current_a", profile.sensor.max_current_a, &mut out);
    if let Some(m) = &profile.power_model {
        positive("power_model.supply_v", m.supply_v, &mut out);
        non_negative("power_model.idle_w", m.idle_w, &mut out);
        non_negative("power_model.core_w", m.core_w, &mut out);
        non_negative("power_model.dram_nj_per_byte", m.dram_nj_per_byte, &mut out);
        non_negative("power_model.noise_w", m.noise_w, &mut out);
    }
    let p = &profile.measure;
    if p.min_runs == 0 {
        out.push(BadValue { key: "measure.min_runs", message: "0 must be at least 1".to_string() });
    }
    if p.min_repetitions == 0 {
        out.push(BadValue { key: "measure.min_repetitions", message: "0 must be at least 1".to_string() });
    }
    if p.max_repetitions < p.min_repetitions {
        out.push(BadValue {
            key: "measure.max_repetitions",
            message: format!("{} must be at least min_repetitions ({})", p.max_repetitions, p.min_repetitions),
        });
    }
    positive("measure.target_ci_pct", f64::from(p.target_ci_pct), &mut out);
    non_negative("measure.idle_mismatch_pct", f64::from(p.idle_mismatch_pct), &mut out);
    for (key, v) in
        [("tolerance.idle_pct", profile.tolerance.idle_pct), ("tolerance.core_pct", profile.tolerance.core_pct)]
    {
        if !(v.is_finite() && (0.0..50.0).contains(&v)) {
            out.push(BadValue { key, message: format!("{v} must be a spread in percent, 0 to under 50") });
        }
    }
    out
}

/// Byte offset of dotted `key` (`table.name`) in `text`: the start of its `name =` line inside
/// `[table]`, or of the `[table]` header when the key is not written (a default).
pub fn offset_of(text: &str, key: &str) -> Option<usize> {
    let (table, name) = key.split_once('.')?;
    let mut current = "";
    let mut header_at = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            current = trimmed.trim_matches(['[', ']']).trim();
            if current == table {
                header_at = Some(offset + (line.len() - line.trim_start().len()));
            }
        } else if current == table
            && let Some((k, _)) = trimmed.split_once('=')
            && k.trim() == name
        {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    header_at
}
