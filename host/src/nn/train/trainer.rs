//! The training loop: [`Trainer`] keeps the optimiser state and the epoch/step counters between
//! runs; [`Trainer::run`] trains a model until its budget, early stopping or the epoch limit.

use std::time::{Duration, Instant};

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::eval::{Evaluation, evaluate, total_loss};
use super::optim::{LrSchedule, build_optimizer};
use super::{Batcher, BudgetCheck, LearningSpec, Optimiser, Race, Samples, TrainError, TrainOptions, TwoHeadNet};

/// How often the progress callback is called within an epoch.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The wall-clock budget ran out.
    Budget,
    /// The validation loss stopped improving for `early_stop_patience` epochs.
    EarlyStop,
    /// The gene's `epochs` were all done.
    MaxEpochs,
    /// The validation accuracy fell behind the race's reference curve ([`Race`]).
    Raced,
}

/// What a run did; times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// Epochs completed in this run.
    pub epochs: usize,
    /// Epochs completed over all runs of this trainer (the reference's epoch counter).
    pub total_epochs: usize,
    /// Optimisation steps (batches) in this run.
    pub steps: u64,
    /// Steps over all runs.
    pub total_steps: u64,
    /// The batch size used (the gene's, clamped to the training set size).
    pub batch_size: usize,
    /// The budget of this run.
    pub budget_s: f64,
    /// From the start of the run to the stop decision.
    pub train_time_s: f64,
    /// Including the final validation pass.
    pub wall_time_s: f64,
    /// Longest single batch step (the budget can be overshot by this much, or by one
    /// validation pass).
    pub max_batch_s: f64,
    /// Longest validation pass.
    pub max_validation_s: f64,
    /// Why the run stopped.
    pub stop: StopReason,
    /// Mean training loss (both heads summed) over the last epoch's batches, `NaN` if no step ran.
    pub final_train_loss: f64,
    /// Lowest validation loss seen in this run.
    pub best_validation_loss: f64,
    /// Validation loss and per-head accuracy of the returned weights.
    pub validation: Evaluation,
    /// Validation accuracy of the main head after each epoch of this run (a learning curve
    /// that later runs can race against).
    #[serde(default)]
    pub curve: Vec<f64>,
}

/// A progress report, sent every ~250 ms during an epoch and after each validation pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Epoch being trained (0-based, counted over all runs).
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Mean training loss of this epoch so far.
    pub train_loss: f64,
    /// The validation result, in the report sent at the end of an epoch.
    pub validation: Option<Evaluation>,
    /// Time since the run started.
    pub elapsed: Duration,
    /// The run's budget.
    pub budget: Duration,
}

impl Progress {
    /// Budget left (zero once it is spent).
    pub fn time_left(&self) -> Duration {
        self.budget.saturating_sub(self.elapsed)
    }
}

/// Optimiser state and counters of one network's training, across runs.
#[derive(Clone)]
pub struct Trainer {
    pub(super) learning: LearningSpec,
    pub(super) options: TrainOptions,
    pub(super) optim: ModuleOptimizer,
    pub(super) epochs_done: usize,
    pub(super) steps_done: u64,
    pub(super) race: Option<Race>,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("learning", &self.learning)
            .field("options", &self.options)
            .field("epochs_done", &self.epochs_done)
            .field("steps_done", &self.steps_done)
            .finish_non_exhaustive()
    }
}

fn check_learning(learning: &LearningSpec) -> Result<(), TrainError> {
    let bad = |what: String| Err(TrainError::Settings(what));
    if learning.batch_size == 0 {
        return bad("batch size 0".into());
    }
    let rates = match learning.optimiser {
        Optimiser::Sgd { lr, .. } | Optimiser::Adam { lr, .. } | Optimiser::RmsProp { lr, .. } => [lr, lr],
        Optimiser::Lars { lr_weights, lr_biases, .. } => [lr_weights, lr_biases],
    };
    if rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
        return bad(format!("learning rate {rates:?} is not a finite non-negative number"));
    }
    Ok(())
}

/// Trains `model` once from scratch: [`Trainer::new`] + [`Trainer::run`].
pub fn train<M: TwoHeadNet>(
    model: M,
    learning: &LearningSpec,
    options: TrainOptions,
    data: (Samples<'_>, Samples<'_>),
    budget: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(M, TrainOutcome, Trainer), TrainError> {
    let mut trainer = Trainer::new(learning, options)?;
    let (model, outcome) = trainer.run(model, data.0, data.1, budget, progress)?;
    Ok((model, outcome, trainer))
}

impl Trainer {
    /// A trainer for a network that has not been trained yet.
    pub fn new(learning: &LearningSpec, options: TrainOptions) -> Result<Self, TrainError> {
        check_learning(learning)?;
        Ok(Self {
            optim: build_optimizer(&learning.optimiser),
            learning: *learning,
            options,
            epochs_done: 0,
            steps_done: 0,
            race: None,
        })
    }

    /// Forgets the optimiser's state (momentum, moment estimates), keeping the weights' epoch
    /// and step counters: the reference's `train_longer` builds a fresh optimiser.
    pub fn restart_optimizer(&mut self) {
        self.optim = build_optimizer(&self.learning.optimiser);
    }

    /// Races the next runs against `race` (`None`: no racing). Not saved with the trainer.
    pub fn set_race(&mut self, race: Option<Race>) {
        self.race = race;
    }

    /// Caps the total epochs (over all runs of this trainer) at `total`: with a generous time
    /// budget, training for a fixed number of epochs is reproducible where a wall-clock budget
    /// is not.
    pub fn set_epoch_limit(&mut self, total: usize) {
        self.learning.epochs = total;
    }

    /// Epochs completed over all runs.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Optimisation steps over all runs.
    pub fn steps_done(&self) -> u64 {
        self.steps_done
    }

    /// The learning settings.
    pub fn learning(&self) -> &LearningSpec {
        &self.learning
    }

    /// Trains `model` on `train` for at most `budget` of wall-clock time, validating on `val`
    /// after every epoch; returns the trained model and what happened.
    ///
    /// The model's parameters must live on a device with autodiff (`device.autodiff()`).
    pub fn run<M: TwoHeadNet>(
        &mut self,
        model: M,
        train: Samples<'_>,
        val: Samples<'_>,
        budget: Duration,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(M, TrainOutcome), TrainError> {
        if train.is_empty() {
            return Err(TrainError::EmptyTrainingSet);
        }
        let device = model.devices().first().cloned().unwrap_or_else(Device::flex).autodiff();
        device.seed(self.options.seed ^ self.epochs_done as u64);
        model.reseed(self.options.seed ^ self.epochs_done as u64);
        let mut run = Run::new(self, &train, budget);
        let model = run.train(self, model.train(), (&train, &val), &device, progress);
        let outcome = run.finish(self, &model, &val);
        Ok((model, outcome))
    }

    fn step<M: TwoHeadNet>(&mut self, model: M, images: Tensor<4>, targets: Tensor<1, Int>, lr: f64) -> (M, f64) {
        let loss = total_loss(model.head_logits(images), targets, self.options.loss);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(lr, model, grads);
        self.steps_done += 1;
        (model, value)
    }
}

/// The state of one run.
struct Run {
    start: Instant,
    budget: Duration,
    batcher: Batcher,
    schedule: LrSchedule,
    first_epoch: usize,
    first_step: u64,
    best: f64,
    stale_epochs: usize,
    epoch_loss: (f64, usize),
    last_validation: Option<Evaluation>,
    curve: Vec<f64>,
    max_batch: Duration,
    max_validation: Duration,
    stop: Option<StopReason>,
}

impl Run {
    fn new(trainer: &Trainer, train: &Samples<'_>, budget: Duration) -> Self {
        let batcher = Batcher::new(train, trainer.learning.batch_size);
        let schedule = LrSchedule::new(
            &trainer.learning.optimiser,
            batcher.batch_size(),
            trainer.learning.epochs,
            batcher.batches_per_epoch(),
            trainer.options.lars_schedule,
        );
        Self {
            start: Instant::now(),
            budget,
            batcher,
            schedule,
            first_epoch: trainer.epochs_done,
            first_step: trainer.steps_done,
            best: f64::INFINITY,
            stale_epochs: 0,
            epoch_loss: (0.0, 0),
            last_validation: None,
            curve: Vec::new(),
            max_batch: Duration::ZERO,
            max_validation: Duration::ZERO,
            stop: None,
        }
    }

    fn out_of_time(&mut self) -> bool {
        if self.start.elapsed() >= self.budget {
            self.stop = Some(StopReason::Budget);
        }
        self.stop.is_some()
    }

    fn report(&self, trainer: &Trainer, batch: usize, validation: Option<Evaluation>) -> Progress {
        let (sum, count) = self.epoch_loss;
        Progress {
            epoch: trainer.epochs_done,
            batch,
            batches_per_epoch: self.batcher.batches_per_epoch(),
            train_loss: if count == 0 { f64::NAN } else { sum / count as f64 },
            validation,
            elapsed: self.start.elapsed(),
            budget: self.budget,
        }
    }

    fn train<M: TwoHeadNet>(
        &mut self,
        trainer: &mut Trainer,
        mut model: M,
        (train, val): (&Samples<'_>, &Samples<'_>),
        device: &Device,
        progress: &mut dyn FnMut(&Progress),
    ) -> M {
        while trainer.epochs_done < trainer.learning.epochs {
            model = self.epoch(trainer, model, train, device, progress);
            if self.stop.is_some() {
                break;
            }
            trainer.epochs_done += 1;
            self.validate(trainer, &model, val, progress);
            if self.stop.is_some() || self.out_of_time() {
                break;
            }
        }
        model
    }

    fn epoch<M: TwoHeadNet>(
        &mut self,
        trainer: &mut Trainer,
        mut model: M,
        train: &Samples<'_>,
        device: &Device,
        progress: &mut dyn FnMut(&Progress),
    ) -> M {
        if trainer.options.shuffle {
            self.batcher.shuffle(trainer.options.seed, trainer.epochs_done);
        }
        self.epoch_loss = (0.0, 0);
        self.last_validation = None;
        let mut last_report = Instant::now();
        for batch in 0..self.batcher.batches_per_epoch() {
            let began = Instant::now();
            let (images, targets) = self.batcher.batch(train, batch, device);
            let lr = self.schedule.lr_at(trainer.steps_done, batch);
            let (next, loss) = trainer.step(model, images, targets, lr);
            model = next;
            self.epoch_loss = (self.epoch_loss.0 + loss, self.epoch_loss.1 + 1);
            self.max_batch = self.max_batch.max(began.elapsed());
            if last_report.elapsed() >= PROGRESS_INTERVAL {
                progress(&self.report(trainer, batch + 1, None));
                last_report = Instant::now();
            }
            if trainer.options.budget_check == BudgetCheck::Batch && self.out_of_time() {
                break;
            }
        }
        model
    }

    fn validate<M: TwoHeadNet>(
        &mut self,
        trainer: &Trainer,
        model: &M,
        val: &Samples<'_>,
        progress: &mut dyn FnMut(&Progress),
    ) {
        let began = Instant::now();
        let evaluation = evaluate(model, *val, trainer.options.eval_batch_size, trainer.options.loss);
        self.max_validation = self.max_validation.max(began.elapsed());
        let loss = evaluation.total_loss();
        if loss < self.best {
            self.best = loss;
            self.stale_epochs = 0;
        } else {
            self.stale_epochs += 1;
        }
        if self.stale_epochs >= trainer.learning.early_stop_patience.max(1) {
            self.stop = Some(StopReason::EarlyStop);
        }
        let accuracy = evaluation.main.accuracy;
        if trainer.race.as_ref().is_some_and(|race| race.is_behind(self.curve.len(), accuracy)) {
            self.stop = Some(StopReason::Raced);
        }
        self.curve.push(accuracy);
        self.last_validation = Some(evaluation);
        progress(&self.report(trainer, self.batcher.batches_per_epoch(), Some(evaluation)));
    }

    fn finish<M: TwoHeadNet>(self, trainer: &Trainer, model: &M, val: &Samples<'_>) -> TrainOutcome {
        let train_time = self.start.elapsed();
        let options = &trainer.options;
        let validation =
            self.last_validation.unwrap_or_else(|| evaluate(model, *val, options.eval_batch_size, options.loss));
        let (sum, count) = self.epoch_loss;
        TrainOutcome {
            epochs: trainer.epochs_done - self.first_epoch,
            total_epochs: trainer.epochs_done,
            steps: trainer.steps_done - self.first_step,
            total_steps: trainer.steps_done,
            batch_size: self.batcher.batch_size(),
            budget_s: self.budget.as_secs_f64(),
            train_time_s: train_time.as_secs_f64(),
            wall_time_s: self.start.elapsed().as_secs_f64(),
            max_batch_s: self.max_batch.as_secs_f64(),
            max_validation_s: self.max_validation.as_secs_f64(),
            stop: self.stop.unwrap_or(StopReason::MaxEpochs),
            final_train_loss: if count == 0 { f64::NAN } else { sum / count as f64 },
            best_validation_loss: self.best.min(validation.total_loss()),
            validation,
            curve: self.curve,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::netspec::{Activation, LayerSpec, NetSpec, Shape, SpecRules};
    use crate::nn::{Model, training_device};

    /// Two classes of 1×2×2 images: class c has mean ±1 in every pixel, plus uniform noise.
    fn blobs(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        let images = labels
            .iter()
            .flat_map(|&l| {
                let centre = if l == 0 { -1.0 } else { 1.0 };
                (0..4).map(|_| centre + rng.random_range(-0.8f32..0.8)).collect::<Vec<_>>()
            })
            .collect();
        (images, labels)
    }

    fn model(seed: u64, partition: Option<usize>) -> Model {
        let dense = |n| LayerSpec::Dense { out_features: n, activation: Activation::Relu, bias: true };
        let input = Shape::Image { channels: 1, height: 2, width: 2 };
        let spec = NetSpec::build(input, 2, &[dense(16), dense(8)], partition, SpecRules::default()).expect("valid");
        let device = training_device();
        device.seed(seed);
        Model::new(&spec, &device)
    }

    fn adam(batch_size: usize, epochs: usize) -> LearningSpec {
        let optimiser = Optimiser::Adam { lr: 0.01, beta1: 0.9, beta2: 0.999, weight_decay: 0.0 };
        LearningSpec { optimiser, batch_size, early_stop_patience: 100, epochs }
    }

    fn samples<'a>(data: &'a (Vec<f32>, Vec<u8>)) -> Samples<'a> {
        Samples::new(&data.0, &data.1, [1, 2, 2]).expect("consistent")
    }

    #[test]
    fn budget_stops_within_one_batch() {
        let (train, val) = (blobs(4000, 1), blobs(200, 2));
        let budget = Duration::from_millis(400);
        let mut trainer = Trainer::new(&adam(8, 10_000), TrainOptions::default()).expect("settings");
        let (_, outcome) =
            trainer.run(model(1, None), samples(&train), samples(&val), budget, &mut |_| {}).expect("runs");
        assert_eq!(outcome.stop, StopReason::Budget);
        assert!(outcome.train_time_s >= 0.4, "{outcome:?}");
        let overshoot = outcome.train_time_s - 0.4;
        assert!(overshoot <= outcome.max_batch_s.max(outcome.max_validation_s) + 0.02, "{outcome:?}");
        assert!(outcome.steps > 0);
    }

    #[test]
    fn the_reference_checks_its_budget_once_per_epoch_and_keeps_the_data_order() {
        let (train, val) = (blobs(64, 5), blobs(32, 6));
        let run = |options: TrainOptions| {
            let mut trainer = Trainer::new(&adam(8, 10_000), options).expect("settings");
            let (net, outcome) =
                trainer.run(model(3, None), samples(&train), samples(&val), Duration::ZERO, &mut |_| {}).expect("runs");
            (net.weights().expect("weights"), outcome)
        };
        let (_, per_batch) = run(TrainOptions::default());
        assert_eq!((per_batch.steps, per_batch.epochs), (1, 0), "an exhausted budget stops after one batch");
        let reference = TrainOptions { budget_check: BudgetCheck::Epoch, ..TrainOptions::default() };
        let (shuffled, per_epoch) = run(reference.clone());
        assert_eq!((per_epoch.steps, per_epoch.epochs), (8, 1), "the reference finishes the epoch");
        let (in_order, _) = run(TrainOptions { shuffle: false, ..reference });
        assert_ne!(shuffled, in_order, "without shuffling the batches come in the data's order");
    }

    #[test]
    fn two_heads_learn_and_early_stopping_ends_a_stalled_run() {
        let (train, val) = (blobs(512, 3), blobs(256, 4));
        let mut trainer = Trainer::new(&adam(32, 30), TrainOptions::default()).expect("settings");
        let (net, outcome) = trainer
            .run(model(2, Some(0)), samples(&train), samples(&val), Duration::from_secs(60), &mut |_| {})
            .expect("runs");
        let extra = outcome.validation.extra.expect("partitioned: extra head evaluated");
        assert!(outcome.validation.main.accuracy > 0.95 && extra.accuracy > 0.95, "{outcome:?}");
        // learning rate 0: the validation loss never improves after the first epoch
        let frozen = LearningSpec {
            optimiser: Optimiser::Sgd { lr: 0.0, momentum: 0.9, weight_decay: 0.0, nesterov: false },
            early_stop_patience: 3,
            ..adam(32, 1000)
        };
        let mut trainer = Trainer::new(&frozen, TrainOptions::default()).expect("settings");
        let (_, outcome) =
            trainer.run(net, samples(&train), samples(&val), Duration::from_secs(60), &mut |_| {}).expect("runs");
        assert_eq!((outcome.stop, outcome.epochs), (StopReason::EarlyStop, 4), "{outcome:?}");
    }

    #[test]
    fn racing_stops_a_hopeless_run_and_not_a_good_one() {
        let (train, val) = (blobs(512, 7), blobs(256, 8));
        // the parent reached 0.9 after every epoch; a run may be 0.1 behind
        let race = Race { curve: vec![0.9; 20], margin: 0.1 };
        let hopeless = LearningSpec {
            optimiser: Optimiser::Sgd { lr: 0.0, momentum: 0.0, weight_decay: 0.0, nesterov: false },
            ..adam(32, 20)
        };
        let run = |learning: &LearningSpec, seed| {
            let mut trainer = Trainer::new(learning, TrainOptions::default()).expect("settings");
            trainer.set_race(Some(race.clone()));
            let data = (samples(&train), samples(&val));
            let run = trainer.run(model(seed, None), data.0, data.1, Duration::from_secs(60), &mut |_| {});
            run.expect("runs").1
        };
        let stopped = run(&hopeless, 4);
        assert_eq!((stopped.stop, stopped.epochs, stopped.curve.len()), (StopReason::Raced, 1, 1), "{stopped:?}");
        let good = run(&adam(32, 5), 4);
        assert_eq!((good.stop, good.epochs), (StopReason::MaxEpochs, 5), "{good:?}");
        assert!(good.curve.iter().all(|&a| a >= 0.8), "{:?}", good.curve);
    }

    #[test]
    fn same_seed_same_result_and_resume_continues() {
        let (train, val) = (blobs(256, 5), blobs(64, 6));
        let run = |epochs| {
            let mut trainer = Trainer::new(&adam(16, epochs), TrainOptions::default()).expect("settings");
            let (net, outcome) = trainer
                .run(model(3, Some(1)), samples(&train), samples(&val), Duration::from_secs(60), &mut |_| {})
                .expect("runs");
            (net, outcome, trainer)
        };
        let (_, a, _) = run(4);
        let (_, b, _) = run(4);
        assert_eq!((a.final_train_loss, a.validation), (b.final_train_loss, b.validation));
        // 2 epochs, save, load into a fresh model, 2 more epochs = 4 epochs in one go
        let (net, first, trainer) = run(2);
        assert_eq!((first.stop, first.total_epochs), (StopReason::MaxEpochs, 2));
        let dir = tempfile::tempdir().expect("temp dir");
        trainer.save(&net, dir.path()).expect("saves");
        let (net, mut trainer) = Trainer::load(model(99, Some(1)), dir.path()).expect("loads");
        trainer.learning.epochs = 4;
        let (_, resumed) =
            trainer.run(net, samples(&train), samples(&val), Duration::from_secs(60), &mut |_| {}).expect("runs");
        assert_eq!((resumed.epochs, resumed.total_epochs, resumed.total_steps), (2, 4, a.total_steps));
        assert!((resumed.validation.total_loss() - a.validation.total_loss()).abs() < 1e-4, "{resumed:?} vs {a:?}");
    }
}
