//! The Pareto front of a run, its product: every model no other model of the run beats on both
//! accuracy (on the fitness split, higher is better) and energy per inference (lower is
//! better). Each partition of a candidate is its own model, as it deploys on its own.
//!
//! Computed from `log.jsonl`, so it works on any run, finished or not: [`Front::of_log`].
//! A finished run writes it as `front.json` and `front.csv` with each member's ONNX in `front/`
//! ([`write_front`]); `wattevo front RUN` prints it and `wattevo pick RUN` chooses from it. The
//! hypervolume of the front after each generation (accuracy × millijoules dominated, up to a
//! reference point of accuracy 0 and `reference_energy_j`) tracks the search's progress; pass
//! the same reference energy to compare runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RunError;
use crate::evolve::candidate::Candidate;
use crate::evolve::pareto::{Point, hypervolume, non_dominated_fronts};
use crate::evolve::runlog::LogLine;
use crate::files::write_atomic;
use crate::genome::SearchSpace;
use crate::pipeline::{export_partitions, reload_trained, weights_dir};

/// One deployable model of a run: a partition of an evaluated candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The candidate's id.
    pub id: u64,
    /// The generation it was evaluated in.
    pub generation: usize,
    /// 0 (the full network) or 1 (the early exit).
    pub partition: usize,
    /// Accuracy on the fitness split.
    pub accuracy: f64,
    /// Total energy per inference on the board, joules.
    pub energy_j: f64,
    /// Mean board power, watts.
    pub power_w: f64,
    /// Mean latency of one inference, microseconds.
    pub latency_us: f64,
    /// Trainable parameters.
    pub params: f64,
    /// Its ONNX file, relative to the run directory, once exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<PathBuf>,
}

impl Model {
    /// The value of a metric by name: `accuracy`, `energy`, `power`, `latency`, `params`, with
    /// or without this model's partition suffix.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let base = match name.rsplit_once('_') {
            Some((base, p)) if p.parse::<usize>().is_ok() => {
                if p.parse::<usize>().ok() != Some(self.partition) {
                    return None;
                }
                base
            }
            _ => name,
        };
        match base {
            "accuracy" => Some(self.accuracy),
            "energy" => Some(self.energy_j),
            "power" => Some(self.power_w),
            "latency" => Some(self.latency_us),
            "params" => Some(self.params),
            _ => None,
        }
    }

    fn point(&self) -> Point {
        Point::feasible(vec![-self.accuracy, self.energy_j * 1e3])
    }
}

/// The front of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Front {
    /// The objectives, in words.
    pub objectives: Vec<String>,
    /// Energy of the hypervolume's reference point, joules (its accuracy is 0).
    pub reference_energy_j: f64,
    /// The non-dominated models, cheapest first.
    pub members: Vec<Model>,
    /// Hypervolume (accuracy × mJ) of the front of the models evaluated up to each generation.
    pub hypervolume_by_generation: Vec<(usize, f64)>,
    /// Models the run evaluated (valid ones, both partitions).
    pub models_evaluated: usize,
}

/// Every valid model of the log; a model with the same accuracy and energy as an earlier one (an
/// unpartitioned network's partition 1, which copies its partition 0; a re-evaluated elite
/// whose measurement came from the cache) is left out: it is the same point.
pub fn models(lines: &[LogLine]) -> Vec<Model> {
    let mut out: Vec<Model> = Vec::new();
    for line in lines {
        add_models(&mut out, &line.candidate);
    }
    out
}

/// Adds `candidate`'s valid models to `out` (as [`models`] does, leaving out repeated points).
pub fn add_models(out: &mut Vec<Model>, candidate: &Candidate) {
    let Some(evaluation) = candidate.evaluation.as_ref().filter(|e| e.invalid.is_none()) else { return };
    for partition in 0..2 {
        let get = |name: &str| evaluation.metrics.get(&format!("{name}_{partition}")).copied();
        let (Some(accuracy), Some(energy_j)) = (get("accuracy"), get("energy")) else { continue };
        let model = Model {
            id: candidate.id,
            generation: candidate.generation,
            partition,
            accuracy,
            energy_j,
            power_w: get("power").unwrap_or(f64::NAN),
            latency_us: get("latency").unwrap_or(f64::NAN),
            params: get("params").unwrap_or(f64::NAN),
            onnx: None,
        };
        let same = |m: &Model| m.accuracy == model.accuracy && m.energy_j == model.energy_j && m.params == model.params;
        if !out.iter().any(same) {
            out.push(model);
        }
    }
}

/// The front of a run in progress, as its log reports it after each generation.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontSoFar {
    /// Models on the front.
    pub members: usize,
    /// Valid models evaluated so far.
    pub models: usize,
    /// Its hypervolume against `reference_energy_j` (accuracy × mJ).
    pub hypervolume: f64,
    /// The reference point's energy, joules: 1.1 × the largest energy of the first generation
    /// with a valid model, fixed for the whole run so that the log's lines compare.
    pub reference_energy_j: f64,
}

impl FrontSoFar {
    /// The front of `all`; `None` when it is empty.
    pub fn of_models(all: &[Model]) -> Option<FrontSoFar> {
        let first = all.iter().map(|m| m.generation).min()?;
        let largest = all.iter().filter(|m| m.generation == first).map(|m| m.energy_j).fold(0.0, f64::max);
        let reference_energy_j = (1.1 * largest).max(f64::MIN_POSITIVE);
        let front = non_dominated(all);
        Some(FrontSoFar {
            members: front.len(),
            models: all.len(),
            hypervolume: front_hypervolume(&front, reference_energy_j),
            reference_energy_j,
        })
    }
}

/// The non-dominated models among `models`, cheapest first.
pub(crate) fn non_dominated(models: &[Model]) -> Vec<Model> {
    let points: Vec<Point> = models.iter().map(Model::point).collect();
    let mut front: Vec<Model> = non_dominated_fronts(&points)
        .first()
        .map(|indices| indices.iter().map(|&i| models[i].clone()).collect())
        .unwrap_or_default();
    front.sort_by(|a, b| a.energy_j.total_cmp(&b.energy_j).then(b.accuracy.total_cmp(&a.accuracy)));
    front
}

fn front_hypervolume(front: &[Model], reference_energy_j: f64) -> f64 {
    let costs: Vec<Vec<f64>> = front.iter().map(|m| m.point().costs).collect();
    hypervolume(&costs, &[0.0, reference_energy_j * 1e3])
}

impl Front {
    /// The front of the models in `lines`; `reference_energy_j` defaults to 1.1 × the largest
    /// energy of the run's models.
    pub fn of_log(lines: &[LogLine], reference_energy_j: Option<f64>) -> Front {
        let all = models(lines);
        let reference = reference_energy_j
            .unwrap_or_else(|| 1.1 * all.iter().map(|m| m.energy_j).fold(0.0, f64::max))
            .max(f64::MIN_POSITIVE);
        let last = all.iter().map(|m| m.generation).max().unwrap_or(0);
        let hypervolume_by_generation = (0..=last)
            .filter(|g| all.iter().any(|m| m.generation == *g))
            .map(|g| {
                let upto: Vec<Model> = all.iter().filter(|m| m.generation <= g).cloned().collect();
                (g, front_hypervolume(&non_dominated(&upto), reference))
            })
            .collect();
        Front {
            objectives: vec!["accuracy (fitness split): maximise".into(), "energy per inference: minimise".into()],
            reference_energy_j: reference,
            members: non_dominated(&all),
            hypervolume_by_generation,
            models_evaluated: all.len(),
        }
    }

    /// The hypervolume of the whole run's front.
    pub fn hypervolume(&self) -> f64 {
        front_hypervolume(&self.members, self.reference_energy_j)
    }

    /// The CSV table: one row per member.
    pub fn csv(&self) -> String {
        let mut out = String::from("id,generation,partition,accuracy,energy_j,power_w,latency_us,params,onnx\n");
        for m in &self.members {
            let onnx = m.onnx.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{onnx}\n",
                m.id, m.generation, m.partition, m.accuracy, m.energy_j, m.power_w, m.latency_us, m.params
            ));
        }
        out
    }
}

/// A bound of `wattevo pick`: `metric ≤ value` or `metric ≥ value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The metric (`energy`, `accuracy_1`, ...).
    pub metric: String,
    /// The value.
    pub value: f64,
    /// `true`: at most `value`; `false`: at least.
    pub at_most: bool,
}

impl Bound {
    /// Parses `metric=value`.
    pub fn parse(text: &str, at_most: bool) -> Result<Bound, String> {
        let (metric, value) =
            text.split_once('=').ok_or_else(|| format!("`{text}` is not METRIC=VALUE (e.g. energy_1=5e-5)"))?;
        let value: f64 = value.trim().parse().map_err(|_| format!("`{value}` in `{text}` is not a number"))?;
        let base = metric
            .trim()
            .rsplit_once('_')
            .filter(|(_, p)| p.parse::<usize>().is_ok())
            .map_or(metric.trim(), |(b, _)| b);
        if !["accuracy", "energy", "power", "latency", "params"].contains(&base) {
            return Err(format!(
                "unknown metric `{metric}`: accuracy, energy, power, latency or params (_0/_1 for one partition)"
            ));
        }
        Ok(Bound { metric: metric.trim().to_owned(), value, at_most })
    }

    fn holds(&self, model: &Model) -> bool {
        model.metric(&self.metric).is_some_and(|v| if self.at_most { v <= self.value } else { v >= self.value })
    }
}

/// The member `wattevo pick` returns: among the members within every bound, the most accurate,
/// or the cheapest when the bounds only set a floor on accuracy.
pub fn pick<'f>(front: &'f Front, bounds: &[Bound]) -> Option<&'f Model> {
    let within: Vec<&Model> = front.members.iter().filter(|m| bounds.iter().all(|b| b.holds(m))).collect();
    let only_accuracy_floor =
        !bounds.is_empty() && bounds.iter().all(|b| !b.at_most && b.metric.starts_with("accuracy"));
    if only_accuracy_floor {
        within.into_iter().min_by(|a, b| a.energy_j.total_cmp(&b.energy_j))
    } else {
        within.into_iter().max_by(|a, b| a.accuracy.total_cmp(&b.accuracy).then(b.energy_j.total_cmp(&a.energy_j)))
    }
}

/// The ONNX file of a front member, relative to the run directory.
pub fn member_onnx_path(model: &Model) -> PathBuf {
    Path::new("front").join(format!("{:06}-p{}.onnx", model.id, model.partition))
}

/// Exports each member's ONNX from its saved weights into `run_dir/front/` (a member whose
/// weights are gone keeps no file, with a warning), then writes `front.json` and `front.csv`.
pub fn write_front(front: &mut Front, lines: &[LogLine], space: &SearchSpace, run_dir: &Path) -> Result<(), RunError> {
    let dir = run_dir.join("front");
    std::fs::create_dir_all(&dir).map_err(RunError::io("creating", &dir))?;
    for member in &mut front.members {
        let Some(line) = lines.iter().find(|l| l.candidate.id == member.id) else { continue };
        let exported = line
            .candidate
            .individual
            .to_netspec(space)
            .map_err(|e| e.to_string())
            .and_then(|spec| reload_trained(&spec, &weights_dir(run_dir, member.id)).map_err(|e| e.to_string()))
            .and_then(|net| export_partitions(&net).map_err(|e| e.to_string()));
        match exported {
            Ok(partitions) => {
                let Some(part) = partitions.into_iter().find(|p| p.partition.index() == member.partition) else {
                    continue;
                };
                let relative = member_onnx_path(member);
                let path = run_dir.join(&relative);
                write_atomic(&path, &part.onnx).map_err(RunError::io("writing", &path))?;
                member.onnx = Some(relative);
            }
            Err(reason) => tracing::warn!("front member #{} p{}: no ONNX ({reason})", member.id, member.partition),
        }
    }
    let json = serde_json::to_vec_pretty(front).map_err(|e| RunError::io("encoding", run_dir)(e.into()))?;
    let path = run_dir.join("front.json");
    write_atomic(&path, &json).map_err(RunError::io("writing", &path))?;
    let path = run_dir.join("front.csv");
    write_atomic(&path, front.csv().as_bytes()).map_err(RunError::io("writing", &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: u64, generation: usize, partition: usize, accuracy: f64, energy_j: f64) -> Model {
        Model {
            id,
            generation,
            partition,
            accuracy,
            energy_j,
            power_w: 3.0,
            latency_us: 100.0,
            params: id as f64,
            onnx: None,
        }
    }

    #[test]
    fn the_front_keeps_what_nothing_beats_and_its_hypervolume_grows() {
        let all = vec![
            model(0, 0, 0, 0.80, 2e-3),
            model(0, 0, 1, 0.70, 1e-3),
            model(1, 0, 0, 0.75, 3e-3), // beaten by #0 p0
            model(2, 1, 0, 0.90, 4e-3),
            model(3, 1, 1, 0.60, 5e-4),
        ];
        let front = non_dominated(&all);
        let kept: Vec<(u64, usize)> = front.iter().map(|m| (m.id, m.partition)).collect();
        assert_eq!(kept, [(3, 1), (0, 1), (0, 0), (2, 0)], "cheapest first");
        // reference (accuracy 0, 5 mJ): staircase 0.6·(1−0.5)... computed by slicing on energy
        let hv = front_hypervolume(&front, 5e-3);
        let by_hand = 0.6 * (1.0 - 0.5) + 0.7 * (2.0 - 1.0) + 0.8 * (4.0 - 2.0) + 0.9 * (5.0 - 4.0);
        assert!((hv - by_hand).abs() < 1e-12, "{hv} vs {by_hand}");
    }

    #[test]
    fn the_logs_front_keeps_the_first_generations_reference() {
        assert_eq!(FrontSoFar::of_models(&[]), None);
        let all = vec![
            model(0, 0, 0, 0.80, 2e-3),
            model(0, 0, 1, 0.70, 1e-3),
            model(1, 0, 0, 0.75, 3e-3),
            model(2, 1, 0, 0.90, 4e-3), // on the front, beyond generation 0's reference
            model(3, 1, 1, 0.60, 5e-4),
        ];
        let front = FrontSoFar::of_models(&all).expect("front");
        assert_eq!((front.members, front.models), (4, 5));
        assert!((front.reference_energy_j - 3.3e-3).abs() < 1e-15, "1.1 × generation 0's 3 mJ");
        let by_hand = 0.6 * (1.0 - 0.5) + 0.7 * (2.0 - 1.0) + 0.8 * (3.3 - 2.0);
        assert!((front.hypervolume - by_hand).abs() < 1e-12, "{} vs {by_hand}", front.hypervolume);
        // generation 0 alone: the same reference, a smaller hypervolume
        let first = FrontSoFar::of_models(&all[..3]).expect("generation 0");
        assert_eq!(first.reference_energy_j, front.reference_energy_j);
        assert!(first.hypervolume < front.hypervolume);
    }

    #[test]
    fn pick_honours_the_bounds() {
        let front = Front {
            objectives: Vec::new(),
            reference_energy_j: 5e-3,
            members: vec![model(3, 1, 1, 0.60, 5e-4), model(0, 0, 1, 0.70, 1e-3), model(2, 1, 0, 0.90, 4e-3)],
            hypervolume_by_generation: Vec::new(),
            models_evaluated: 3,
        };
        let at_most = |text: &str| Bound::parse(text, true).expect("bound");
        let at_least = |text: &str| Bound::parse(text, false).expect("bound");
        assert_eq!(pick(&front, &[at_most("energy=1e-3")]).map(|m| m.id), Some(0), "most accurate within 1 mJ");
        assert_eq!(pick(&front, &[at_least("accuracy=0.65")]).map(|m| m.id), Some(0), "cheapest above 0.65");
        assert_eq!(pick(&front, &[at_most("energy_0=1e-2")]).map(|m| m.id), Some(2), "partition 0 only");
        assert_eq!(pick(&front, &[at_least("accuracy=0.95")]), None);
        assert_eq!(pick(&front, &[]).map(|m| m.id), Some(2));
        assert!(Bound::parse("energy", true).is_err() && Bound::parse("watts=3", true).is_err());
    }
}
