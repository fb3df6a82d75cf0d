//! Boards: measuring an ONNX model on a board agent over a serial link.
//!
//! From the bottom up:
//! - [`link`]: [`Link`], framed requests and their paired answers over any timed `Read + Write`
//!   port (sequence numbers, stale and garbled frames, typed [`ClientError`]s naming board and port);
//! - [`upload`]: [`ModelUpload`], one model's chunked upload over a link (acknowledgements,
//!   retries, resume);
//! - [`client`]: [`BoardClient`], the session on a link: handshake, one method per request, the
//!   models the agent holds;
//! - [`serial`]: opening a real serial port with clear errors;
//! - [`sim`]: the simulated board, `wattevo-agent` spawned on a pseudo-terminal;
//! - [`profiles`]: finding board profiles (search paths, bundled ones); the parser is the
//!   protocol crate's;
//! - [`measure_overrides`]: [`MeasureOverrides`], the user's changes to a profile's protocol;
//! - [`session`]: [`BoardSession`], a board opened by profile with the handshake done, and the
//!   measure request built from the profile's protocol and the overrides;
//! - `fake` (tests and the `test-support` feature only): a misbehaving in-process agent for
//!   tests of the client's error paths.
//!
//! What travels on the wire, the model hash and the measurement protocol are defined once, in
//! `wattevo-proto`; an ONNX model's input shape is read by [`crate::onnx::model_info`].

pub mod client;
mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod farm;
pub mod link;
pub mod measure_overrides;
pub mod profiles;
pub mod serial;
pub mod session;
pub mod sim;
pub mod upload;

#[cfg(test)]
mod tests;

pub use client::{BoardClient, measure_timeout};
pub use error::ClientError;
pub use farm::{Farm, FarmBoard, FarmError};
pub use link::{Link, LinkLabel, LinkStats};
pub use measure_overrides::MeasureOverrides;
pub use session::{BoardError, BoardSession, OpenOptions, measure_protocol, measure_request, source_label};
pub use sim::SimAgent;
pub use upload::{ModelUpload, UploadReport, UploadSkip};
