//! The NetSpec-built [`Model`] as a [`TwoHeadNet`], and datasets as [`Samples`].

use burn::tensor::Tensor;

use super::{HeadOutputs, Samples, TwoHeadNet};
use crate::data::Dataset;
use crate::nn::{Features, Model};

impl TwoHeadNet for Model {
    fn head_logits(&self, images: Tensor<4>) -> HeadOutputs {
        self.forward_logits(Features::Image(images))
    }

    fn reseed(&self, seed: u64) {
        Model::reseed(self, seed);
    }
}

impl<'a> From<&'a Dataset> for Samples<'a> {
    fn from(data: &'a Dataset) -> Self {
        let (channels, height, width) = data.image_dims();
        Samples::from_parts(data.images(), data.labels(), [channels, height, width])
    }
}
