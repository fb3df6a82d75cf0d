//! The board twin's tables: `wattevo profile --explain` (where a model's time and energy go,
//! operator by operator) and `wattevo boards --calibrate` (measured against fitted, per
//! reference model). Both are the twin's predictions and say so.

use std::io::Write;

use wattevo_proto::{CalibrationReport, Explanation};

/// The per-operator breakdown, with totals and each operator's share of the time.
pub fn explanation(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    writeln!(out, "per-operator breakdown: PREDICTED by {}, {} tract thread(s) (not measured)", e.twin, e.threads)?;
    writeln!(
        out,
        "{:<34} {:<11} {:>12} {:>12} {:>10} {:>6} {:>11} {:>11}",
        "operator", "kind", "MACs", "DRAM bytes", "time µs", "time%", "energy µJ", "dynamic µJ"
    )?;
    let total_us: f64 = e.ops.iter().map(|op| op.time_us).sum();
    for op in &e.ops {
        let share = if total_us > 0.0 { 100.0 * op.time_us / total_us } else { 0.0 };
        writeln!(
            out,
            "{:<34} {:<11} {:>12} {:>12} {:>10.2} {:>6.1} {:>11.3} {:>11.3}",
            shorten(&op.name, 34),
            op.kind,
            op.macs,
            op.dram_bytes,
            op.time_us,
            share,
            op.energy_uj,
            op.dynamic_energy_uj
        )?;
    }
    writeln!(
        out,
        "{:<34} {:<11} {:>12} {:>12} {:>10.2} {:>6.1} {:>11.3} {:>11.3}",
        "total",
        "",
        e.ops.iter().map(|op| op.macs).sum::<u64>(),
        e.ops.iter().map(|op| op.dram_bytes).sum::<u64>(),
        total_us,
        100.0,
        e.ops.iter().map(|op| op.energy_uj).sum::<f64>(),
        e.ops.iter().map(|op| op.dynamic_energy_uj).sum::<f64>()
    )
}

/// Measured against fitted, per reference model, with the relative errors.
pub fn calibration(out: &mut impl Write, r: &CalibrationReport, source: &str) -> std::io::Result<()> {
    writeln!(out, "calibration of {} on the reference models; measured figures: {source}", r.prior)?;
    writeln!(
        out,
        "{:<14} {:<14} {:>12} {:>12} {:>8} {:>13} {:>13} {:>8}",
        "model", "class", "latency µs", "fitted µs", "error%", "dynamic µJ", "fitted µJ", "error%"
    )?;
    for row in &r.rows {
        writeln!(
            out,
            "{:<14} {:<14} {:>12.1} {:>12.1} {:>8.1} {:>13.2} {:>13.2} {:>8.1}",
            row.model,
            row.class,
            row.measured_latency_us,
            row.fitted_latency_us,
            error_pct(row.fitted_latency_us, row.measured_latency_us),
            row.measured_dynamic_uj,
            row.fitted_dynamic_uj,
            error_pct(row.fitted_dynamic_uj, row.measured_dynamic_uj)
        )?;
    }
    let m = &r.power_model;
    writeln!(
        out,
        "fitted board power: idle {:.3} W, {:.3} W per busy core, {:.3} nJ per DRAM byte",
        m.idle_w, m.core_w, m.dram_nj_per_byte
    )
}

/// (fitted − measured) / measured, percent.
pub fn error_pct(fitted: f64, measured: f64) -> f64 {
    100.0 * (fitted - measured) / measured
}

fn shorten(name: &str, width: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= width {
        return name.to_string();
    }
    let tail: String = chars[chars.len() - (width - 1)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wattevo_proto::{ModelHash, OpCost};

    #[test]
    fn long_names_keep_their_end_and_totals_add_up() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("features.0.conv.weight", 8), "….weight");
        let op = |name: &str, time_us: f64| OpCost {
            name: name.into(),
            kind: "conv".into(),
            macs: 10,
            dram_bytes: 0,
            time_us,
            energy_uj: 1.0,
            dynamic_energy_uj: 0.5,
        };
        let e = Explanation {
            hash: ModelHash([0; 32]),
            twin: "twin t v1".into(),
            threads: 1,
            ops: vec![op("a", 1.0), op("b", 3.0)],
        };
        let mut text = Vec::new();
        explanation(&mut text, &e).expect("write");
        let text = String::from_utf8(text).expect("utf-8");
        let total = text.lines().last().expect("a total line");
        assert!(total.starts_with("total") && total.contains("4.00") && total.contains(" 20 "), "{text}");
        assert!(text.contains("PREDICTED"), "{text}");
    }
}
