//! Boards: measuring an ONNX model on a board agent over a serial link.
//!
//! - [`client`]: [`BoardClient`], the protocol client over any timed `Read + Write` port;
//! - [`upload`]: chunked model upload with acknowledgements, retries and resume;
//! - [`serial`]: opening a real serial port with clear errors;
//! - [`sim`]: the simulated board, `wattevo-agent` spawned on a pseudo-terminal;
//! - [`profiles`]: finding and parsing board profiles (bundled ones included);
//! - [`session`]: [`BoardSession`], a board opened by profile with the handshake done;
//! - [`model_info`]: an ONNX model's input shape;
//! - [`fake`]: a misbehaving in-process agent for tests of the client's error paths.

pub mod client;
mod error;
pub mod fake;
pub mod model_info;
pub mod profiles;
pub mod serial;
pub mod session;
pub mod sim;
pub mod upload;

#[cfg(test)]
mod tests;

pub use client::{BoardClient, ClientError, LinkLabel, LinkStats, measure_timeout, model_hash};
pub use session::{BoardError, BoardSession, MeasureOverrides, OpenOptions, measure_request, source_label};
pub use sim::SimAgent;
pub use upload::{UploadReport, UploadSkip};
