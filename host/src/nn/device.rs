//! Where networks train: burn-flex on the CPU (the default), or a GPU when this binary was
//! built with the `cuda` or `wgpu` feature and the machine has one (`--device`).
//!
//! The choice is made once per process ([`use_device`]) before anything trains; every
//! training then builds its model on [`training_device`]. Exporting, the weights files and
//! accuracy (tract, from the ONNX) do not depend on it.

use std::sync::OnceLock;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// A device choice (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// burn-flex on this machine's CPU cores.
    #[default]
    Cpu,
    /// The first NVIDIA GPU (burn's CUDA backend; feature `cuda`).
    Cuda,
    /// The GPU wgpu prefers (Vulkan, Metal, DirectX 12; feature `wgpu`).
    Wgpu,
    /// A GPU when one is built in and present (CUDA first), else the CPU.
    Auto,
}

impl crate::named::Named for DeviceChoice {
    const KIND: &'static str = "device";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Cpu, "cpu", "train on the CPU (burn-flex)"),
        (Self::Cuda, "cuda", "train on the first NVIDIA GPU (build with --features cuda)"),
        (Self::Wgpu, "wgpu", "train on a GPU through wgpu: Vulkan, Metal, DirectX 12 (build with --features wgpu)"),
        (Self::Auto, "auto", "a GPU when one is built in and present, else the CPU"),
    ];
}
crate::named::named_enum_text!(DeviceChoice);

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// This binary has no backend for it.
    #[error(
        "--device {0}: this wattevo was built without the `{0}` feature; build it with `cargo build --release --features {0}`"
    )]
    NotBuilt(&'static str),
    /// The backend is built in but found no usable device.
    #[error("--device {device}: no usable GPU ({detail})")]
    NoGpu {
        /// The choice.
        device: &'static str,
        /// What the backend said.
        detail: String,
    },
    /// Another choice was made earlier in this process.
    #[error("the training device was already set to {0}; it is chosen once per process")]
    AlreadySet(DeviceChoice),
}

static CHOSEN: OnceLock<(DeviceChoice, Device)> = OnceLock::new();

/// The inference device: burn-flex on the CPU.
pub fn cpu_device() -> Device {
    Device::flex()
}

/// The training device: the one [`use_device`] chose (the CPU when none was), with autodiff.
pub fn training_device() -> Device {
    CHOSEN.get().map_or_else(cpu_device, |(_, device)| device.clone()).autodiff()
}

/// The device choice in force (resolved: never `Auto`).
pub fn device_in_use() -> DeviceChoice {
    CHOSEN.get().map_or(DeviceChoice::Cpu, |(choice, _)| *choice)
}

/// Whether wattevo's own burn-flex kernels run (convolution, pooling, Adam): training on the
/// CPU. On a GPU the layers and the optimiser use burn's own operators.
pub fn flex_kernels_apply() -> bool {
    device_in_use() == DeviceChoice::Cpu
}

/// Trains on `choice` from now on in this process; returns what `Auto` resolved to. Setting
/// the same resolved choice again is allowed.
pub fn use_device(choice: DeviceChoice) -> Result<DeviceChoice, DeviceError> {
    let (resolved, device) = resolve(choice)?;
    let (current, _) = CHOSEN.get_or_init(|| (resolved, device));
    if *current != resolved {
        return Err(DeviceError::AlreadySet(*current));
    }
    Ok(resolved)
}

fn resolve(choice: DeviceChoice) -> Result<(DeviceChoice, Device), DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok((DeviceChoice::Cpu, cpu_device())),
        DeviceChoice::Cuda => gpu(DeviceChoice::Cuda),
        DeviceChoice::Wgpu => gpu(DeviceChoice::Wgpu),
        DeviceChoice::Auto => gpu(DeviceChoice::Cuda)
            .or_else(|_| gpu(DeviceChoice::Wgpu))
            .or_else(|_| Ok((DeviceChoice::Cpu, cpu_device()))),
    }
}

/// A GPU device of `choice`'s backend, probed with a small computation (a backend without a
/// device panics on first use; the probe turns that into an error).
fn gpu(choice: DeviceChoice) -> Result<(DeviceChoice, Device), DeviceError> {
    let name = if choice == DeviceChoice::Cuda { "cuda" } else { "wgpu" };
    let device = gpu_device(choice).ok_or(DeviceError::NotBuilt(name))?;
    let probe = device.clone();
    let works = std::panic::catch_unwind(move || {
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &probe);
        x.sum().into_scalar::<f32>()
    });
    match works {
        Ok(sum) if (sum - 6.0).abs() < 1e-4 => Ok((choice, device)),
        Ok(sum) => Err(DeviceError::NoGpu { device: name, detail: format!("a test sum gave {sum}, not 6") }),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the backend failed to start".into());
            Err(DeviceError::NoGpu { device: name, detail: detail.lines().next().unwrap_or_default().to_owned() })
        }
    }
}

#[allow(unused_variables)] // without GPU features the choice is not looked at
fn gpu_device(choice: DeviceChoice) -> Option<Device> {
    #[cfg(feature = "cuda")]
    if choice == DeviceChoice::Cuda {
        return Some(Device::cuda(0));
    }
    #[cfg(feature = "wgpu")]
    if choice == DeviceChoice::Wgpu {
        return Some(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_always_there_and_a_missing_backend_says_how_to_build_it() {
        assert_eq!(resolve(DeviceChoice::Cpu).map(|(c, _)| c), Ok(DeviceChoice::Cpu));
        assert!(resolve(DeviceChoice::Auto).is_ok(), "auto falls back to the CPU");
        #[cfg(not(feature = "cuda"))]
        {
            let error = resolve(DeviceChoice::Cuda).map(|(c, _)| c).expect_err("not built");
            assert!(error.to_string().contains("--features cuda"), "{error}");
        }
    }

    /// Trains a few steps on the GPU when this build has a GPU backend and the machine a GPU;
    /// says why it is skipped otherwise.
    #[test]
    fn training_runs_on_a_gpu_when_there_is_one() {
        for choice in [DeviceChoice::Cuda, DeviceChoice::Wgpu] {
            match resolve(choice) {
                Ok((_, device)) => {
                    let device = device.autodiff();
                    let x = burn::tensor::Tensor::<2>::ones([8, 4], &device).require_grad();
                    let loss = (x.clone() * x.clone()).sum();
                    let grads = loss.backward();
                    let grad = x.grad(&grads).expect("a gradient").sum().into_scalar::<f32>();
                    assert!((grad - 64.0).abs() < 1e-3, "d/dx Σx² at x = 1 is 2 per element: {grad}");
                    eprintln!("trained on {choice}");
                }
                Err(why) => eprintln!("SKIPPED on {choice}: {why}"),
            }
        }
    }
}
