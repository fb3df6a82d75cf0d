//! Errors of the board link and client: each names the board and the port, and says what to do.
//!
//! [`crate::board::Link::call`] turns every reply that is not the request's own response into
//! one of these: an agent's refusal ([`ClientError::Agent`]), a version mismatch
//! ([`ClientError::ProtocolMismatch`], the CLI's exit code 3) or another message
//! ([`ClientError::Unexpected`]).

use wattevo_proto::{FrameError, ModelHash, WireError};

/// Why a request to the board agent failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent speaks another protocol version.
    #[error(
        "{link}: the agent speaks protocol version {agent}, this wattevo speaks {host}; rebuild and \
         redeploy the agent from this checkout (`cargo build -p wattevo-agent`, or \
         `scripts/build-agent-pi.sh` then `scripts/deploy-pi.sh HOST` for a Raspberry Pi)"
    )]
    ProtocolMismatch {
        /// Board and port.
        link: String,
        /// The agent's protocol version.
        agent: u16,
        /// This host's protocol version.
        host: u16,
    },
    /// No answer in time.
    #[error(
        "{link}: no answer to {request} within {timeout_ms} ms (is the agent running and serving that port, \
         at the profile's baud rate?)"
    )]
    Timeout {
        /// Board and port.
        link: String,
        /// The request that went unanswered.
        request: &'static str,
        /// How long the client waited.
        timeout_ms: u64,
    },
    /// The agent answered with an `Error`.
    #[error("{link}: the agent refused {request}: {error:?}{}", detail_suffix(detail))]
    Agent {
        /// Board and port.
        link: String,
        /// The request refused.
        request: &'static str,
        /// The agent's error code.
        error: WireError,
        /// The agent's explanation.
        detail: String,
    },
    /// The agent answered with a message that does not fit the request.
    #[error("{link}: unexpected answer to {request}: {got}")]
    Unexpected {
        /// Board and port.
        link: String,
        /// The request sent.
        request: &'static str,
        /// What came back.
        got: String,
    },
    /// Reading or writing the port failed.
    #[error("{link}: serial I/O failed during {request}")]
    Io {
        /// Board and port.
        link: String,
        /// The request under way.
        request: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A request could not be framed (a bug, or a message over the frame limit).
    #[error("{link}: could not frame {request}: {reason}")]
    Encode {
        /// Board and port.
        link: String,
        /// The request.
        request: &'static str,
        /// Why.
        reason: FrameError,
    },
    /// The model is larger than the agent accepts; nothing was sent.
    #[error("{link}: model of {bytes} bytes is larger than the agent accepts ({max} bytes)")]
    ModelTooLarge {
        /// Board and port.
        link: String,
        /// Model size.
        bytes: usize,
        /// The agent's limit.
        max: u32,
    },
    /// A chunk was never acknowledged, even after retries.
    #[error("{link}: upload of model {hash:?}: chunk {index} not acknowledged after {attempts} attempts")]
    ChunkRetriesExhausted {
        /// Board and port.
        link: String,
        /// The model.
        hash: ModelHash,
        /// The chunk.
        index: u32,
        /// Attempts made.
        attempts: u32,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(" ({detail})") }
}

impl ClientError {
    /// True for [`ClientError::ProtocolMismatch`] (the CLI exits with code 3).
    pub fn is_protocol_mismatch(&self) -> bool {
        matches!(self, ClientError::ProtocolMismatch { .. })
    }
}
