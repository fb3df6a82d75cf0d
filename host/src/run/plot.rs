//! `pareto.svg`: accuracy against energy per inference of every model of a run (both
//! partitions), with the Pareto front ([`super::front`]) joined by a line. Written by hand as SVG
//! so that it needs no plotting dependency and opens in any browser.

use std::fmt::Write;

use super::front::{Front, Model};

/// One plotted model: partition, energy per inference (mJ), accuracy on the fitness split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// 0 (full network) or 1 (early exit).
    pub partition: usize,
    /// Total energy per inference, millijoules.
    pub energy_mj: f64,
    /// Accuracy on the fitness split.
    pub accuracy: f64,
}

impl From<&Model> for Point {
    fn from(m: &Model) -> Self {
        Point { partition: m.partition, energy_mj: m.energy_j * 1e3, accuracy: m.accuracy }
    }
}

const W: f64 = 640.0;
const H: f64 = 420.0;
const MARGIN: f64 = 60.0;

/// The SVG text of the plot of a run's models and front; `source` labels where the power
/// figures come from.
pub fn svg(models: &[Model], front: &Front, source: &str) -> String {
    let points: Vec<Point> = models.iter().map(Point::from).collect();
    let max_e = points.iter().map(|p| p.energy_mj).fold(0.0, f64::max).max(1e-9) * 1.05;
    let x = |e: f64| MARGIN + e / max_e * (W - 2.0 * MARGIN);
    let y = |a: f64| H - MARGIN - a * (H - 2.0 * MARGIN);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="14">accuracy vs energy per inference — {}</text>"#,
        W / 2.0,
        escape(source)
    );
    let (x0, y0, x1, y1) = (MARGIN, H - MARGIN, W - MARGIN, MARGIN);
    let _ = writeln!(s, r#"<path d="M{x0},{y1} L{x0},{y0} L{x1},{y0}" stroke="black" fill="none"/>"#);
    for i in 0..=5 {
        let (e, a) = (max_e * f64::from(i) / 5.0, f64::from(i) / 5.0);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{e:.3}</text>"#, x(e), y0 + 18.0);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{a:.1}</text>"#, x0 - 6.0, y(a) + 4.0);
    }
    let _ =
        writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">energy per inference (mJ)</text>"#, W / 2.0, H - 15.0);
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">accuracy (fitness split)</text>"#,
        H / 2.0,
        H / 2.0
    );
    for p in &points {
        let colour = if p.partition == 0 { "#1f77b4" } else { "#ff7f0e" };
        let _ = writeln!(
            s,
            r#"<circle class="p{}" cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}" fill-opacity="0.7"/>"#,
            p.partition,
            x(p.energy_mj),
            y(p.accuracy)
        );
    }
    let front: Vec<String> =
        front.members.iter().map(Point::from).map(|p| format!("{:.1},{:.1}", x(p.energy_mj), y(p.accuracy))).collect();
    if !front.is_empty() {
        let _ = writeln!(
            s,
            r#"<polyline class="front" points="{}" fill="none" stroke="black" stroke-dasharray="4 3"/>"#,
            front.join(" ")
        );
    }
    let legend = [
        ("#1f77b4", "partition 0 (full)"),
        ("#ff7f0e", "partition 1 (early exit)"),
        ("black", "Pareto front (dashed)"),
    ];
    for (i, (colour, text)) in legend.iter().enumerate() {
        let ly = MARGIN + 16.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<circle cx="{}" cy="{ly}" r="4" fill="{colour}"/><text x="{}" y="{}">{text}</text>"#,
            x1 - 150.0,
            x1 - 140.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: u64, partition: usize, energy_mj: f64, accuracy: f64) -> Model {
        Model {
            id,
            generation: 0,
            partition,
            accuracy,
            energy_j: energy_mj * 1e-3,
            power_w: 3.0,
            latency_us: 1.0,
            params: 1.0,
            onnx: None,
        }
    }

    #[test]
    fn svg_has_every_point_the_front_and_the_source() {
        let models = [model(0, 0, 0.3, 0.9), model(0, 1, 0.1, 0.7), model(1, 0, 0.2, 0.6)];
        let front = Front {
            objectives: Vec::new(),
            reference_energy_j: 1e-3,
            members: vec![models[1].clone(), models[0].clone()],
            hypervolume_by_generation: Vec::new(),
            models_evaluated: 3,
        };
        let text = svg(&models, &front, "SIMULATED (emulated INA219, sim power model)");
        assert_eq!(text.matches(r#"class="p0""#).count(), 2);
        assert_eq!(text.matches(r#"class="p1""#).count(), 1);
        assert!(text.contains(r#"class="front""#));
        assert!(text.contains("SIMULATED"));
        assert!(text.starts_with("<svg") && text.ends_with("</svg>\n"));
    }
}
