//! Evolution: the (1+λ) strategy of Fast-DENSER with the paper's power-aware additions —
//! fitness over measured metrics, the module archive with inverse-power reuse, and two models
//! trained in one step.

pub mod archive;
pub mod fitness;
pub mod mutation;
