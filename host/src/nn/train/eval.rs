//! Evaluation without gradients: mean cross-entropy and accuracy of each head over a sample set,
//! and the loss both training and evaluation use.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::{HeadOutputs, LossKind, Samples, TwoHeadNet};

/// Loss and accuracy of one head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadEvaluation {
    /// Mean cross-entropy per sample (computed as the training loss is, see [`LossKind`]).
    pub loss: f64,
    /// Fraction of samples whose arg-max class is the label.
    pub accuracy: f64,
}

/// Loss and accuracy of a network's heads over a sample set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The main head (partition 0's output).
    pub main: HeadEvaluation,
    /// The extra head (partition 1's output), when the network is partitioned.
    pub extra: Option<HeadEvaluation>,
    /// Samples evaluated.
    pub samples: usize,
}

impl Evaluation {
    /// The early-stopping criterion: main loss plus extra loss.
    pub fn total_loss(&self) -> f64 {
        self.main.loss + self.extra.map_or(0.0, |e| e.loss)
    }
}

/// Cross-entropy of `logits` against `targets`, averaged over the batch.
pub(crate) fn head_loss(logits: Tensor<2>, targets: Tensor<1, Int>, kind: LossKind) -> Tensor<1> {
    let device = logits.device();
    let input = match kind {
        LossKind::Logits => logits,
        LossKind::DoubleSoftmax => softmax(logits, 1),
    };
    CrossEntropyLossConfig::new().init(&device).forward(input, targets)
}

/// The training objective: the main head's loss plus the extra head's.
pub(crate) fn total_loss(heads: HeadOutputs, targets: Tensor<1, Int>, kind: LossKind) -> Tensor<1> {
    let main = head_loss(heads.main, targets.clone(), kind);
    match heads.extra {
        Some(extra) => main + head_loss(extra, targets, kind),
        None => main,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    loss: f64,
    correct: usize,
}

impl Sums {
    fn add(&mut self, logits: Tensor<2>, targets: &Tensor<1, Int>, labels: &[u8], kind: LossKind) {
        let batch = labels.len() as f64;
        self.loss += f64::from(head_loss(logits.clone(), targets.clone(), kind).into_scalar::<f32>()) * batch;
        self.correct += count_correct(logits, labels);
    }

    fn finish(self, samples: usize) -> HeadEvaluation {
        let n = samples.max(1) as f64;
        HeadEvaluation { loss: self.loss / n, accuracy: self.correct as f64 / n }
    }
}

fn count_correct(logits: Tensor<2>, labels: &[u8]) -> usize {
    let predicted = logits.argmax(1).into_data().convert::<i64>();
    predicted.as_slice::<i64>().map_or(0, |p| p.iter().zip(labels).filter(|&(&p, &l)| p == i64::from(l)).count())
}

/// Evaluates `model` (in inference mode, no gradients) on `samples`, `batch_size` at a time.
pub fn evaluate<M: TwoHeadNet>(model: &M, samples: Samples<'_>, batch_size: usize, kind: LossKind) -> Evaluation {
    let model = model.valid();
    let device = model.devices().first().cloned().unwrap_or_else(Device::flex).inner();
    let (mut main, mut extra, mut partitioned) = (Sums::default(), Sums::default(), false);
    let batch_size = batch_size.max(1);
    let mut start = 0;
    while start < samples.len() {
        let count = batch_size.min(samples.len() - start);
        let (images, targets) = samples.slice_tensors(start, count, &device);
        let labels = &samples.labels()[start..start + count];
        let heads = model.head_logits(images);
        main.add(heads.main, &targets, labels, kind);
        if let Some(logits) = heads.extra {
            partitioned = true;
            extra.add(logits, &targets, labels, kind);
        }
        start += count;
    }
    Evaluation {
        main: main.finish(samples.len()),
        extra: partitioned.then(|| extra.finish(samples.len())),
        samples: samples.len(),
    }
}
