//! The in-memory [`Dataset`]: single-channel images as `f32` in [0, 1], NCHW, with class labels.
//!
//! Every loader (embedded digits, IDX files) ends in [`Dataset::new`], which checks that the
//! pixel buffer, the labels and the declared shape agree, so later stages (splitting, batching,
//! training) never re-check them.

use crate::netspec::Shape;

/// A dataset whose pieces do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The pixel buffer is not `samples × channels × height × width` long.
    #[error("dataset {name}: {pixels} pixel values for {samples} samples of {sample_len} values each")]
    PixelCount {
        /// Dataset name.
        name: String,
        /// Values in the pixel buffer.
        pixels: usize,
        /// Number of labels (samples).
        samples: usize,
        /// Values per sample.
        sample_len: usize,
    },
    /// A label is not below the number of classes.
    #[error("dataset {name}: sample {index} has label {label}, but there are only {num_classes} classes")]
    LabelOutOfRange {
        /// Dataset name.
        name: String,
        /// Sample index.
        index: usize,
        /// The label found.
        label: u8,
        /// Number of classes.
        num_classes: usize,
    },
    /// A dimension or the class count is zero.
    #[error("dataset {name}: zero-sized dimension (channels {channels}, {height}×{width}, {num_classes} classes)")]
    ZeroDimension {
        /// Dataset name.
        name: String,
        /// Channels.
        channels: usize,
        /// Height.
        height: usize,
        /// Width.
        width: usize,
        /// Number of classes.
        num_classes: usize,
    },
}

/// Images (NCHW, `f32` in [0, 1]) with one class label each.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    name: String,
    images: Vec<f32>,
    labels: Vec<u8>,
    num_classes: usize,
    channels: usize,
    height: usize,
    width: usize,
}

impl Dataset {
    /// Builds a dataset after checking that `images` holds `labels.len()` samples of
    /// `channels × height × width` values and that every label is below `num_classes`.
    pub fn new(
        name: impl Into<String>,
        images: Vec<f32>,
        labels: Vec<u8>,
        num_classes: usize,
        (channels, height, width): (usize, usize, usize),
    ) -> Result<Self, DatasetError> {
        let name = name.into();
        if channels == 0 || height == 0 || width == 0 || num_classes == 0 {
            return Err(DatasetError::ZeroDimension { name, channels, height, width, num_classes });
        }
        let sample_len = channels * height * width;
        if images.len() != labels.len() * sample_len {
            return Err(DatasetError::PixelCount { name, pixels: images.len(), samples: labels.len(), sample_len });
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| usize::from(l) >= num_classes) {
            return Err(DatasetError::LabelOutOfRange { name, index, label, num_classes });
        }
        Ok(Self { name, images, labels, num_classes, channels, height, width })
    }

    /// The dataset's name (e.g. `fashion-mnist/train`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (labels are `0..num_classes`).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The shape of one sample, as the network sees it.
    pub fn input_shape(&self) -> Shape {
        Shape::Image { channels: self.channels, height: self.height, width: self.width }
    }

    /// `(channels, height, width)` of one sample.
    pub fn image_dims(&self) -> (usize, usize, usize) {
        (self.channels, self.height, self.width)
    }

    /// Values per sample (`channels × height × width`).
    pub fn sample_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// All pixels, sample after sample (NCHW).
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The pixels of sample `index` (CHW). Panics if `index >= len()`.
    pub fn image(&self, index: usize) -> &[f32] {
        let n = self.sample_len();
        &self.images[index * n..(index + 1) * n]
    }

    /// Number of samples per class, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// A new dataset holding the samples at `indices`, in that order. Panics on an index out of
    /// range (indices come from the split code, never from input).
    pub fn subset(&self, name: impl Into<String>, indices: &[usize]) -> Self {
        let n = self.sample_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Self { name: name.into(), images, labels, ..self.empty_like() }
    }

    /// A copy with every image resized to `height × width` by bilinear interpolation
    /// (half-pixel centres, as PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
    pub fn resized(&self, height: usize, width: usize) -> Self {
        let mut images = Vec::with_capacity(self.len() * self.channels * height * width);
        let plane_len = self.height * self.width;
        for plane in self.images.chunks_exact(plane_len) {
            super::resize::bilinear_into(plane, (self.height, self.width), (height, width), &mut images);
        }
        Self { name: self.name.clone(), images, labels: self.labels.clone(), height, width, ..self.empty_like() }
    }

    /// Same classes and shape, no samples.
    fn empty_like(&self) -> Self {
        Self {
            name: String::new(),
            images: Vec::new(),
            labels: Vec::new(),
            num_classes: self.num_classes,
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let images = (0..3 * 4).map(|v| v as f32 / 12.0).collect();
        Dataset::new("tiny", images, vec![0, 1, 1], 2, (1, 2, 2)).expect("valid tiny dataset")
    }

    #[test]
    fn new_rejects_wrong_pixel_count() {
        let err = Dataset::new("bad", vec![0.0; 7], vec![0, 1], 2, (1, 2, 2)).expect_err("7 != 2*4");
        assert!(err.to_string().contains("7 pixel values for 2 samples of 4"), "{err}");
    }

    #[test]
    fn new_rejects_label_out_of_range() {
        let err = Dataset::new("bad", vec![0.0; 8], vec![0, 5], 2, (1, 2, 2)).expect_err("label 5 of 2");
        assert!(err.to_string().contains("sample 1 has label 5"), "{err}");
    }

    #[test]
    fn subset_keeps_pairs_together_and_shape() {
        let data = tiny();
        let sub = data.subset("sub", &[2, 0]);
        assert_eq!(sub.labels(), &[1, 0]);
        assert_eq!(sub.image(0), data.image(2));
        assert_eq!(sub.image(1), data.image(0));
        assert_eq!(sub.input_shape(), Shape::Image { channels: 1, height: 2, width: 2 });
        assert_eq!(sub.class_counts(), vec![1, 1]);
    }

    #[test]
    fn resized_changes_shape_and_keeps_labels() {
        let data = tiny().resized(4, 4);
        assert_eq!(data.input_shape(), Shape::Image { channels: 1, height: 4, width: 4 });
        assert_eq!(data.images().len(), 3 * 16);
        assert_eq!(data.labels(), &[0, 1, 1]);
    }
}
