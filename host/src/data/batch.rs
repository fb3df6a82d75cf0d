//! Batch iteration without per-batch allocation.
//!
//! [`EpochOrder`] holds the order of the samples for one epoch (sequential, as the reference's
//! `shuffle=False` loaders, or reshuffled per epoch by a seeded RNG). [`BatchBuffer`] is filled
//! in place batch after batch: its vectors are allocated once for the largest batch and reused.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::dataset::Dataset;

/// The order in which one epoch visits the samples.
#[derive(Debug, Clone)]
pub struct EpochOrder {
    order: Vec<usize>,
    rng: Option<ChaCha8Rng>,
}

impl EpochOrder {
    /// Visits samples `0..len` in order every epoch (the reference's loaders).
    pub fn sequential(len: usize) -> Self {
        Self { order: (0..len).collect(), rng: None }
    }

    /// Visits samples `0..len` in a new random order each epoch, determined by `seed`.
    pub fn shuffled(len: usize, seed: u64) -> Self {
        Self { order: (0..len).collect(), rng: Some(ChaCha8Rng::seed_from_u64(seed)) }
    }

    /// Starts a new epoch (reshuffles if shuffled) and returns its order.
    pub fn next_epoch(&mut self) -> &[usize] {
        if let Some(rng) = &mut self.rng {
            self.order.shuffle(rng);
        }
        &self.order
    }

    /// The current order without reshuffling.
    pub fn current(&self) -> &[usize] {
        &self.order
    }

    /// Number of batches of `batch_size` in one epoch (`drop_last` drops a final partial batch,
    /// as the reference's training loader does). Zero if `batch_size` is zero.
    pub fn batch_count(&self, batch_size: usize, drop_last: bool) -> usize {
        match (batch_size, drop_last) {
            (0, _) => 0,
            (b, true) => self.order.len() / b,
            (b, false) => self.order.len().div_ceil(b),
        }
    }

    /// The sample indices of batch `batch` (empty past the end).
    pub fn batch(&self, batch: usize, batch_size: usize, drop_last: bool) -> &[usize] {
        if batch >= self.batch_count(batch_size, drop_last) {
            return &[];
        }
        let start = batch * batch_size;
        &self.order[start..(start + batch_size).min(self.order.len())]
    }
}

/// Reusable storage for one batch: images (NCHW, `f32`) and labels (`i64`, burn's integer
/// element type for class targets).
#[derive(Debug, Clone, Default)]
pub struct BatchBuffer {
    /// `len × channels × height × width` pixels.
    pub images: Vec<f32>,
    /// One label per sample.
    pub labels: Vec<i64>,
}

impl BatchBuffer {
    /// A buffer with room for `batch_size` samples of `data` (so filling never reallocates).
    pub fn for_dataset(data: &Dataset, batch_size: usize) -> Self {
        Self { images: Vec::with_capacity(batch_size * data.sample_len()), labels: Vec::with_capacity(batch_size) }
    }

    /// Replaces the content with the samples of `data` at `indices`. Panics on an index out of
    /// range (indices come from an [`EpochOrder`] of the same dataset).
    pub fn fill(&mut self, data: &Dataset, indices: &[usize]) {
        self.images.clear();
        self.labels.clear();
        for &i in indices {
            self.images.extend_from_slice(data.image(i));
            self.labels.push(i64::from(data.labels()[i]));
        }
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the buffer holds no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> Dataset {
        let images = (0..n * 4).map(|v| v as f32).collect();
        let labels = (0..n).map(|i| (i % 3) as u8).collect();
        Dataset::new("numbered", images, labels, 3, (1, 2, 2)).expect("valid")
    }

    #[test]
    fn batches_cover_the_epoch_with_and_without_drop_last() {
        let order = EpochOrder::sequential(10);
        assert_eq!(order.batch_count(4, true), 2);
        assert_eq!(order.batch_count(4, false), 3);
        assert_eq!(order.batch(2, 4, false), &[8, 9]);
        assert!(order.batch(2, 4, true).is_empty());
        assert_eq!(order.batch_count(0, false), 0);
    }

    #[test]
    fn shuffled_order_is_seeded_and_changes_per_epoch() {
        let mut a = EpochOrder::shuffled(50, 42);
        let mut b = EpochOrder::shuffled(50, 42);
        let first = a.next_epoch().to_vec();
        assert_eq!(first, b.next_epoch());
        let second = a.next_epoch().to_vec();
        assert_ne!(first, second);
        let mut sorted = second.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        let mut sequential = EpochOrder::sequential(5);
        assert_eq!(sequential.next_epoch(), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn fill_copies_samples_and_reuses_its_allocation() {
        let data = numbered(10);
        let mut buffer = BatchBuffer::for_dataset(&data, 4);
        let capacity = (buffer.images.capacity(), buffer.labels.capacity());
        buffer.fill(&data, &[3, 7, 1, 0]);
        assert_eq!(buffer.labels, vec![0, 1, 1, 0]);
        assert_eq!(&buffer.images[..4], data.image(3));
        buffer.fill(&data, &[9, 2]);
        assert_eq!(buffer.len(), 2);
        assert_eq!(&buffer.images[4..8], data.image(2));
        assert_eq!((buffer.images.capacity(), buffer.labels.capacity()), capacity);
    }
}
