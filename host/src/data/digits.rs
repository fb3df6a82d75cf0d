//! The embedded default dataset: the 8×8 handwritten digits (UCI, 1797 samples, 10 classes)
//! compiled into `smartcore`'s `datasets` feature, so `wattevo` runs with no download.
//!
//! Pixels are integers 0..=16 in the source; they are divided by 16 to land in [0, 1]. There is
//! no official test set: [`super::split`] holds one out (20 %, stratified, seeded) first.

use super::dataset::{Dataset, DatasetError};

/// Name of the embedded dataset.
pub const NAME: &str = "digits";
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// Image side in pixels.
pub const SIDE: usize = 8;
/// Largest pixel value in the source data.
const MAX_PIXEL: f32 = 16.0;

/// Loads the embedded digits as one dataset of 1797 single-channel 8×8 images.
pub fn load() -> Result<Dataset, DatasetError> {
    let raw = smartcore::dataset::digits::load_dataset();
    let images = raw.data.iter().map(|&v| (v / MAX_PIXEL).clamp(0.0, 1.0)).collect();
    // Targets are stored as f32 class numbers 0.0..=9.0; anything else becomes 255 and is then
    // rejected by `Dataset::new` as out of range.
    let labels = raw.target.iter().map(|&t| if (0.0..=9.0).contains(&t) { t.round() as u8 } else { u8::MAX }).collect();
    Dataset::new(NAME, images, labels, NUM_CLASSES, (1, SIDE, SIDE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_1797_samples_of_ten_classes() {
        let data = load().expect("embedded digits are valid");
        assert_eq!(data.len(), 1797);
        assert_eq!(data.num_classes(), 10);
        assert_eq!(data.image_dims(), (1, 8, 8));
        let counts = data.class_counts();
        assert!(counts.iter().all(|&c| (170..=190).contains(&c)), "class counts {counts:?}");
        assert!(data.images().iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(data.images().contains(&1.0), "some pixel reaches 16/16");
    }
}
