//! Sample views and mini-batches: shuffled, seeded, `drop_last`, gathered into reused buffers.
//!
//! [`Samples`] is a borrowed view of images (NCHW `f32`) and labels; [`Batcher`] owns the index
//! permutation and two gather buffers (pixels, labels) sized for one batch and reused for every
//! batch, so the hot loop allocates nothing on the host besides the backend's own tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::TrainError;

/// A borrowed set of samples: `labels.len()` images of `channels × height × width` values.
#[derive(Debug, Clone, Copy)]
pub struct Samples<'a> {
    images: &'a [f32],
    labels: &'a [u8],
    dims: [usize; 3],
}

impl<'a> Samples<'a> {
    /// Checks that `images` holds one `dims = [channels, height, width]` image per label.
    pub fn new(images: &'a [f32], labels: &'a [u8], dims: [usize; 3]) -> Result<Self, TrainError> {
        let sample_len: usize = dims.iter().product();
        if sample_len == 0 || images.len() != labels.len() * sample_len {
            return Err(TrainError::Samples { pixels: images.len(), labels: labels.len(), dims });
        }
        Ok(Self { images, labels, dims })
    }

    /// A view of buffers already known to agree (a checked [`crate::data::Dataset`]).
    pub(super) fn from_parts(images: &'a [f32], labels: &'a [u8], dims: [usize; 3]) -> Self {
        Self { images, labels, dims }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[channels, height, width]` of one sample.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// The labels.
    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }

    fn sample_len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Samples `start..start + count`, in order, as tensors on `device`.
    pub fn slice_tensors(&self, start: usize, count: usize, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let n = self.sample_len();
        let pixels = &self.images[start * n..(start + count) * n];
        let labels: Vec<i64> = self.labels[start..start + count].iter().map(|&l| i64::from(l)).collect();
        (image_tensor(pixels, count, self.dims, device), Tensor::from_data(TensorData::new(labels, [count]), device))
    }
}

fn image_tensor(pixels: &[f32], count: usize, [c, h, w]: [usize; 3], device: &Device) -> Tensor<4> {
    Tensor::<1>::from_data(TensorData::from(pixels), device).reshape([count, c, h, w])
}

/// Shuffles sample indices each epoch and gathers batches into reused buffers.
#[derive(Debug)]
pub struct Batcher {
    batch_size: usize,
    order: Vec<usize>,
    pixels: Vec<f32>,
    targets: Vec<i64>,
}

impl Batcher {
    /// A batcher for `samples` in batches of `batch_size` (clamped to the number of samples, so
    /// a set smaller than one batch still trains; otherwise the last partial batch is dropped).
    pub fn new(samples: &Samples<'_>, batch_size: usize) -> Self {
        let batch_size = batch_size.clamp(1, samples.len().max(1));
        Self {
            batch_size,
            order: (0..samples.len()).collect(),
            pixels: Vec::with_capacity(batch_size * samples.sample_len()),
            targets: Vec::with_capacity(batch_size),
        }
    }

    /// Full batches per epoch (`drop_last`).
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len() / self.batch_size
    }

    /// The effective batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Shuffles the sample order for epoch `epoch` of a run seeded with `seed`: the order
    /// depends on both only, so a resumed run sees the same orders as an uninterrupted one.
    pub fn shuffle(&mut self, seed: u64, epoch: usize) {
        let stream = seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(stream);
        self.order.sort_unstable();
        self.order.shuffle(&mut rng);
    }

    /// Batch `index` of the current epoch as tensors on `device`.
    pub fn batch(&mut self, samples: &Samples<'_>, index: usize, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let n = samples.sample_len();
        self.pixels.clear();
        self.targets.clear();
        for &i in &self.order[index * self.batch_size..(index + 1) * self.batch_size] {
            self.pixels.extend_from_slice(&samples.images[i * n..(i + 1) * n]);
            self.targets.push(i64::from(samples.labels[i]));
        }
        let images = image_tensor(&self.pixels, self.batch_size, samples.dims, device);
        let labels = Tensor::<1, Int>::from_data(TensorData::from(self.targets.as_slice()), device);
        (images, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(images: &[f32], labels: &[u8]) -> Samples<'static> {
        let images: &'static [f32] = Vec::leak(images.to_vec());
        let labels: &'static [u8] = Vec::leak(labels.to_vec());
        Samples::new(images, labels, [1, 1, 2]).expect("consistent")
    }

    #[test]
    fn rejects_mismatched_buffers() {
        let err = Samples::new(&[0.0; 5], &[0, 1], [1, 1, 2]).expect_err("5 != 2·2");
        assert!(err.to_string().contains("5 pixel values"), "{err}");
    }

    #[test]
    fn batches_drop_last_and_keep_pairs() {
        // pixel values encode the sample index, labels too
        let images: Vec<f32> = (0..7).flat_map(|i| [i as f32, i as f32]).collect();
        let labels: Vec<u8> = (0..7).collect();
        let data = samples(&images, &labels);
        let mut batcher = Batcher::new(&data, 3);
        assert_eq!(batcher.batches_per_epoch(), 2);
        batcher.shuffle(7, 0);
        let device = Device::flex();
        let mut seen = Vec::new();
        for b in 0..2 {
            let (x, y) = batcher.batch(&data, b, &device);
            assert_eq!(x.dims(), [3, 1, 1, 2]);
            let x = x.into_data().try_to_vec::<f32>().expect("f32");
            let y = y.into_data().convert::<i64>().try_to_vec::<i64>().expect("i64");
            for (pair, label) in x.chunks(2).zip(&y) {
                assert_eq!(pair[0] as i64, *label);
                seen.push(*label);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 6, "6 distinct samples in 2 batches of 3");
    }

    #[test]
    fn shuffle_depends_on_seed_and_epoch_only() {
        let data = samples(&[0.0; 200], &[0; 100]);
        let order = |seed, epoch| {
            let mut batcher = Batcher::new(&data, 10);
            batcher.shuffle(seed, 3);
            batcher.shuffle(seed, epoch);
            batcher.order.clone()
        };
        assert_eq!(order(1, 5), order(1, 5));
        assert_ne!(order(1, 5), order(1, 6));
        assert_ne!(order(1, 5), order(2, 5));
    }
}
