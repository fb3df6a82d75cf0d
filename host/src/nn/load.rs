//! Writing plain weights ([`NetWeights`]) into a built [`Model`]: the inverse of
//! [`Model::weights`], used to start a child network from its parent's trained tensors
//! (weight inheritance, [`crate::netspec::Lineage`]).
//!
//! The layouts are burn's own (conv `[out, in, k, k]`, dense `[in, out]`), so values are copied
//! without reordering; reading the weights back gives the same bits. Shapes are read without
//! initialising the replaced parameters, so nothing draws from the backend's (global) RNG.

use burn::module::{Param, RunningState};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

use super::layers::Layer;
use super::model::Model;
use crate::netspec::{DenseWeights, LayerWeights, NetWeights, WeightsMismatch};

fn param<const D: usize>(values: &[f32], dims: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values.to_vec(), dims), device)
}

fn set_linear(linear: &mut Linear, weights: &DenseWeights, device: &Device) {
    let dims = linear.weight.lazy_shape().dims();
    linear.weight = param(&weights.weight, dims, device);
    if let (Some(bias), Some(values)) = (linear.bias.as_mut(), weights.bias.as_ref()) {
        *bias = param(values, [values.len()], device);
    }
}

fn set_layer(layer: &mut Layer, weights: &LayerWeights, device: &Device) {
    match (layer, weights) {
        (Layer::Conv(c), LayerWeights::Conv { weight, bias }) => {
            let dims = c.conv.weight.lazy_shape().dims();
            c.conv.weight = param(weight, dims, device);
            if let (Some(param_bias), Some(values)) = (c.conv.bias.as_mut(), bias.as_ref()) {
                *param_bias = param(values, [values.len()], device);
            }
        }
        (Layer::Dense(d), LayerWeights::Dense(w)) => set_linear(&mut d.linear, w, device),
        (Layer::BatchNorm(bn), LayerWeights::BatchNorm(w)) => {
            let n = w.gamma.len();
            bn.gamma = param(&w.gamma, [n], device);
            bn.beta = param(&w.beta, [n], device);
            let running = |v: &[f32]| RunningState::new(Tensor::from_data(TensorData::new(v.to_vec(), [n]), device));
            bn.running_mean = running(&w.mean);
            bn.running_var = running(&w.var);
        }
        _ => {}
    }
}

impl Model {
    /// This model with every parameter replaced by `weights` (which must fit its spec), on
    /// `device`.
    pub fn with_weights(mut self, weights: &NetWeights, device: &Device) -> Result<Model, WeightsMismatch> {
        weights.check(&self.spec)?;
        for (layer, w) in self.layers.iter_mut().zip(&weights.layers) {
            set_layer(layer, w, device);
        }
        set_linear(&mut self.output, &weights.output, device);
        if let (Some(head), Some(w)) = (self.extra_head.as_mut(), weights.extra_head.as_ref()) {
            set_linear(head, w, device);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netspec::{Activation, LayerSpec, NetSpec, Shape, SpecRules};
    use crate::nn::training_device;

    #[test]
    fn weights_written_in_read_back_bit_for_bit() {
        let layers = [
            LayerSpec::test_conv(3),
            LayerSpec::BatchNorm,
            LayerSpec::Dense { out_features: 5, activation: Activation::Relu, bias: false },
        ];
        let input = Shape::Image { channels: 1, height: 6, width: 6 };
        let spec = NetSpec::build(input, 4, &layers, Some(1), SpecRules::default()).expect("valid network");
        let device = training_device();
        let wanted = NetWeights::seeded(&spec, 11);
        let model = Model::new(&spec, &device).with_weights(&wanted, &device).expect("weights fit");
        assert_eq!(model.weights().expect("readable"), wanted);
    }
}
