//! Networks built at run time from a [`crate::netspec::NetSpec`] with burn.
//!
//! - `layers`: one module enum variant per layer kind, and the `Features` flowing between them;
//! - `model`: the two-head [`Model`], its partitions and its weights for the ONNX exporter;
//! - `dropout`: dropout with its own seeded mask stream (no global RNG);
//! - `load`: [`Model::with_weights`], plain weights written back into a model (inheritance);
//! - `conv`, `max_pool`, `avg_pool`: CPU training kernels for burn-flex (through burn's backend extension,
//!   with their own autodiff steps); on a GPU the layers use burn's own operators.
//!
//! The backend is chosen in one place, `device`: [`cpu_device`] (burn-flex, about 13× faster
//! than burn-ndarray for training on this kind of machine, see DESIGN.md) and
//! [`training_device`] (burn-flex with autodiff, or a GPU chosen with `--device`). Models and
//! tensors are not generic over the backend in burn 0.22: the device decides.

pub mod avg_pool;
pub mod conv;
pub mod device;
pub mod dropout;
pub mod layers;
mod load;
pub mod max_pool;
pub mod model;
pub mod train;

pub use burn::tensor::Device;
pub use device::{DeviceChoice, cpu_device, training_device, use_device};
pub use layers::{Features, Layer};
pub use model::{HeadOutputs, Model, ReadWeightsError};
