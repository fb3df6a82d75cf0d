//! A run's plots, drawn with `plotters` as SVG (text as SVG text, so no font library):
//!
//! - `pareto.svg`: accuracy against energy per inference (log scale) of every model of the run
//!   (both partitions), with the Pareto front ([`super::front`]) joined by a line;
//! - `front_by_generation.svg`: the front after each generation, darker for later ones;
//! - `hypervolume.svg`: the front's hypervolume after each generation;
//! - `progress.svg`: per generation, the most accurate and the cheapest model evaluated.
//!
//! Every plot carries the label of where its power figures come from (`SIMULATED (...)` or
//! `measured on ...`).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::front::{Front, Model};

const SIZE: (u32, u32) = (760, 500);
const PARTITION_COLOURS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14)];

/// A plot that could not be drawn (plotters' message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drawing {plot}: {message}")]
pub struct PlotError {
    /// Which plot.
    pub plot: &'static str,
    /// What plotters said.
    pub message: String,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw(plot: &'static str, body: impl FnOnce(&Area<'_>) -> Result<(), String>) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let fail = |message: String| PlotError { plot, message };
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        body(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(svg)
}

/// The energy axis (mJ, log scale) covering `models` with some room.
fn energy_range(models: &[Model]) -> std::ops::Range<f64> {
    let energies = models.iter().map(|m| m.energy_j * 1e3).filter(|e| *e > 0.0 && e.is_finite());
    let (lo, hi) = energies.fold((f64::INFINITY, 0.0f64), |(lo, hi), e| (lo.min(e), hi.max(e)));
    if !lo.is_finite() || hi <= 0.0 {
        return 1e-3..1.0;
    }
    (lo / 1.5)..(hi * 1.5)
}

/// The axes of accuracy (fitness split) against energy per inference (mJ, log scale) covering
/// `models`, with their mesh drawn.
fn accuracy_energy_chart<'a, 'b>(
    root: &'a Area<'b>,
    caption: String,
    models: &[Model],
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(energy_range(models).log_scale(), 0.0f64..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("energy per inference (mJ, log scale)")
        .y_desc("accuracy (fitness split)")
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// `pareto.svg`: every model and the front; `source` labels the power figures.
pub fn pareto_svg(models: &[Model], front: &Front, source: &str) -> Result<String, PlotError> {
    draw("pareto.svg", |root| {
        let caption = format!("accuracy vs energy per inference — {source}");
        let mut chart = accuracy_energy_chart(root, caption, models)?;
        for (partition, colour) in PARTITION_COLOURS.iter().enumerate() {
            let label = if partition == 0 { "partition 0 (full)" } else { "partition 1 (early exit)" };
            let colour = *colour;
            chart
                .draw_series(
                    models
                        .iter()
                        .filter(|m| m.partition == partition)
                        .map(|m| Circle::new((m.energy_j * 1e3, m.accuracy), 3, colour.mix(0.7).filled())),
                )
                .map_err(|e| e.to_string())?
                .label(label)
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        chart
            .draw_series(LineSeries::new(
                front.members.iter().map(|m| (m.energy_j * 1e3, m.accuracy)),
                BLACK.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], BLACK));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// The front of the models evaluated up to each generation, in generation order.
fn fronts_by_generation(models: &[Model]) -> Vec<(usize, Vec<Model>)> {
    let last = models.iter().map(|m| m.generation).max().unwrap_or(0);
    (0..=last)
        .filter(|g| models.iter().any(|m| m.generation == *g))
        .map(|g| {
            let upto: Vec<Model> = models.iter().filter(|m| m.generation <= g).cloned().collect();
            (g, super::front::non_dominated(&upto))
        })
        .collect()
}

/// `front_by_generation.svg`: the front after each generation, lighter for earlier ones.
pub fn fronts_svg(models: &[Model], source: &str) -> Result<String, PlotError> {
    let fronts = fronts_by_generation(models);
    draw("front_by_generation.svg", |root| {
        let mut chart = accuracy_energy_chart(root, format!("the front after each generation — {source}"), models)?;
        let n = fronts.len().max(1);
        for (i, (_, front)) in fronts.iter().enumerate() {
            let shade = (200.0 * (1.0 - (i + 1) as f64 / n as f64)) as u8;
            let colour = RGBColor(shade, shade, 255u8.saturating_sub(shade / 3));
            let points: Vec<(f64, f64)> = front.iter().map(|m| (m.energy_j * 1e3, m.accuracy)).collect();
            chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2))).map_err(|e| e.to_string())?;
            chart
                .draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| e.to_string())?;
        }
        if let Some((g, _)) = fronts.last() {
            let note = format!("generations 0–{g}, last darkest");
            root.draw(&Text::new(note, (80, 40), ("sans-serif", 12))).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// `hypervolume.svg`: the front's hypervolume after each generation.
pub fn hypervolume_svg(front: &Front, source: &str) -> Result<String, PlotError> {
    let curve = &front.hypervolume_by_generation;
    draw("hypervolume.svg", |root| {
        let last = curve.last().map_or(1, |(g, _)| (*g).max(1));
        let top = curve.iter().map(|(_, hv)| *hv).fold(0.0, f64::max).max(1e-12) * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("hypervolume of the front — {source}"), ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(65)
            .build_cartesian_2d(0usize..last, 0.0f64..top)
            .map_err(|e| e.to_string())?;
        let reference = format!("accuracy × mJ (reference: accuracy 0, {:.4} mJ)", front.reference_energy_j * 1e3);
        chart.configure_mesh().x_desc("generation").y_desc(reference).draw().map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), RGBColor(31, 119, 180).stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(curve.iter().map(|&(g, hv)| Circle::new((g, hv), 3, RGBColor(31, 119, 180).filled())))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// `progress.svg`: per generation, the most accurate model (top) and the cheapest (bottom).
pub fn progress_svg(models: &[Model], source: &str) -> Result<String, PlotError> {
    let mut best: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for m in models {
        let entry = best.entry(m.generation).or_insert((f64::NEG_INFINITY, f64::INFINITY));
        entry.0 = entry.0.max(m.accuracy);
        entry.1 = entry.1.min(m.energy_j * 1e3);
    }
    draw("progress.svg", |root| {
        let last = best.keys().next_back().copied().unwrap_or(0).max(1);
        let (upper, lower) = root.split_vertically(SIZE.1 / 2);
        let mut top = ChartBuilder::on(&upper)
            .caption(format!("per generation — {source}"), ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(0usize..last, 0.0f64..1.0)
            .map_err(|e| e.to_string())?;
        top.configure_mesh().y_desc("most accurate").draw().map_err(|e| e.to_string())?;
        top.draw_series(LineSeries::new(
            best.iter().map(|(g, (a, _))| (*g, *a)),
            RGBColor(31, 119, 180).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        let mut bottom = ChartBuilder::on(&lower)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0usize..last, energy_range(models).log_scale())
            .map_err(|e| e.to_string())?;
        bottom.configure_mesh().x_desc("generation").y_desc("cheapest (mJ)").draw().map_err(|e| e.to_string())?;
        bottom
            .draw_series(LineSeries::new(
                best.iter().map(|(g, (_, e))| (*g, *e)),
                RGBColor(255, 127, 14).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: u64, generation: usize, partition: usize, energy_mj: f64, accuracy: f64) -> Model {
        Model {
            id,
            generation,
            partition,
            accuracy,
            energy_j: energy_mj * 1e-3,
            power_w: 3.0,
            latency_us: 1.0,
            params: 1.0,
            onnx: None,
        }
    }

    fn run() -> (Vec<Model>, Front) {
        let models = vec![
            model(0, 0, 0, 0.3, 0.80),
            model(0, 0, 1, 0.1, 0.70),
            model(1, 1, 0, 0.2, 0.60),
            model(2, 2, 0, 0.25, 0.90),
        ];
        let front = Front {
            objectives: Vec::new(),
            reference_energy_j: 0.4e-3,
            members: vec![models[1].clone(), models[3].clone()],
            hypervolume_by_generation: vec![(0, 0.1), (1, 0.1), (2, 0.2)],
            models_evaluated: 4,
        };
        (models, front)
    }

    #[test]
    fn every_plot_draws_its_points_and_names_its_source() {
        let (models, front) = run();
        let source = "SIMULATED (emulated INA219, twin pi4b v1, board sim)";
        let pareto = pareto_svg(&models, &front, source).expect("pareto");
        // four models and three legend marks
        assert!(pareto.matches("<circle").count() >= models.len(), "{pareto}");
        assert!(pareto.contains("SIMULATED") && pareto.contains("Pareto front"));
        assert!(pareto.starts_with("<svg") && pareto.trim_end().ends_with("</svg>"));
        let fronts = fronts_svg(&models, source).expect("fronts");
        assert!(fronts.contains("generations 0–2") && fronts.matches("<polyline").count() >= 3, "{fronts}");
        let hv = hypervolume_svg(&front, source).expect("hypervolume");
        assert!(hv.contains("hypervolume of the front") && hv.matches("<circle").count() >= 3);
        let progress = progress_svg(&models, source).expect("progress");
        assert!(progress.contains("most accurate") && progress.contains("cheapest"));
    }

    #[test]
    fn fronts_grow_generation_by_generation() {
        let (models, _) = run();
        let fronts = fronts_by_generation(&models);
        let ids: Vec<Vec<(u64, usize)>> =
            fronts.iter().map(|(_, f)| f.iter().map(|m| (m.id, m.partition)).collect()).collect();
        assert_eq!(ids, vec![vec![(0, 1), (0, 0)], vec![(0, 1), (0, 0)], vec![(0, 1), (2, 0)]]);
    }
}
