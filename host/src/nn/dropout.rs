//! Dropout whose masks come from its own seeded stream.
//!
//! burn's `Dropout` draws its masks from the backend's RNG, one global stream per process: two
//! networks trained at the same time on different threads would interleave their draws, and
//! each run's masks would depend on the schedule. Here every dropout layer owns a ChaCha8
//! stream, reseeded from the training seed when a run starts ([`crate::nn::Model::reseed`]), so
//! a network's training is the same whatever else runs beside it.

use std::sync::{Arc, Mutex, PoisonError};

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A mask stream shared by the copies of one layer (a cloned model continues the stream).
#[derive(Debug, Clone)]
pub struct MaskStream(Arc<Mutex<ChaCha8Rng>>);

impl MaskStream {
    fn new(seed: u64) -> Self {
        MaskStream(Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))))
    }

    fn reseed(&self, seed: u64) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = ChaCha8Rng::seed_from_u64(seed);
    }

    /// `n` mask values: `1 / keep` with probability `keep`, else 0.
    fn mask(&self, n: usize, keep: f64) -> Vec<f32> {
        let mut rng = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let scale = (1.0 / keep) as f32;
        (0..n).map(|_| if rng.random::<f64>() < keep { scale } else { 0.0 }).collect()
    }
}

/// Zeroes each element with probability `rate` while training (inputs on an autodiff device),
/// scaling the others by `1 / (1 − rate)`; the identity otherwise.
#[derive(Module, Debug)]
pub struct SeededDropout {
    /// Probability of zeroing an element.
    #[module(skip)]
    pub rate: f64,
    /// Where the masks come from.
    #[module(skip)]
    pub stream: MaskStream,
}

impl SeededDropout {
    /// A layer with the given rate, its stream seeded with `seed`.
    pub fn new(rate: f64, seed: u64) -> Self {
        SeededDropout { rate, stream: MaskStream::new(seed) }
    }

    /// Restarts the mask stream from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.stream.reseed(seed);
    }

    /// Applies dropout (training) or nothing (inference).
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let device = input.device();
        if self.rate <= 0.0 || !device.is_autodiff() {
            return input;
        }
        let dims = input.dims();
        let mask = self.stream.mask(dims.iter().product(), 1.0 - self.rate.min(0.999_999));
        input * Tensor::from_data(TensorData::new(mask, dims), &device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{cpu_device, training_device};

    #[test]
    fn masks_depend_on_the_seed_only_and_inference_is_the_identity() {
        let (train, infer) = (training_device(), cpu_device());
        let layer = SeededDropout::new(0.5, 1);
        let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().expect("f32");
        let first = values(layer.forward(Tensor::ones([4, 64], &train)));
        layer.reseed(1);
        assert_eq!(values(layer.forward(Tensor::ones([4, 64], &train))), first, "same seed, same mask");
        assert!(first.iter().all(|&v| v == 0.0 || v == 2.0) && first.contains(&0.0) && first.contains(&2.0));
        assert!(values(layer.forward(Tensor::ones([4, 64], &infer))).iter().all(|&v| v == 1.0));
    }
}
