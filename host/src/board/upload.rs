//! Model upload over a [`Link`]: announce, send the missing chunks (each acknowledged, lost or
//! garbled acknowledgements re-sent), commit with CRC-32.
//!
//! [`ModelUpload`] is one model cut into chunks; [`ModelUpload::send`] runs the exchange and
//! reports what went over the wire. Whether to upload at all (the agent's limits, the models it
//! is known to hold) is the [`super::BoardClient`]'s decision, not this module's.

use std::io::{Read, Write};
use std::time::Duration;

use wattevo_proto::{
    CommittedResponse, ModelHash, UploadBeginRequest, UploadChunkRequest, UploadCommitRequest, UploadState, crc32,
};

use super::error::ClientError;
use super::link::Link;

/// Attempts per chunk before the upload gives up.
pub const CHUNK_ATTEMPTS: u32 = 5;

/// Extra time the agent may take to parse and optimise a committed model.
const COMMIT_GRACE: Duration = Duration::from_secs(60);

/// Why an upload sent nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSkip {
    /// This client saw the agent hold the model already; nothing went over the link.
    CachedByClient,
    /// The agent answered `Loaded` to the announcement.
    AgentHolds,
}

/// What one upload did.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadReport {
    /// SHA-256 of the model.
    pub hash: ModelHash,
    /// Model size, bytes.
    pub model_bytes: usize,
    /// Chunks the model is cut into.
    pub chunks_total: u32,
    /// First chunk sent (the agent's `next_chunk`; > 0 when resuming a cut upload).
    pub first_chunk: u32,
    /// Chunk frames sent, re-sends included.
    pub chunks_sent: u32,
    /// Chunks re-sent after a lost or garbled acknowledgement.
    pub resends: u32,
    /// Set when nothing was sent.
    pub skipped: Option<UploadSkip>,
    /// The agent's load report, when the model was committed by this upload.
    pub committed: Option<CommittedResponse>,
    /// Bytes written to the port by this upload, delimiters included.
    pub wire_bytes: u64,
}

/// One model, cut into chunks of at most `chunk_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct ModelUpload<'m> {
    model: &'m [u8],
    hash: ModelHash,
    chunk_bytes: u16,
}

impl<'m> ModelUpload<'m> {
    /// `model` in chunks of `chunk_bytes` (at least 1).
    pub fn new(model: &'m [u8], chunk_bytes: u16) -> Self {
        Self { model, hash: ModelHash::of(model), chunk_bytes: chunk_bytes.max(1) }
    }

    /// The model's hash.
    pub fn hash(&self) -> ModelHash {
        self.hash
    }

    /// Chunks the model is cut into.
    pub fn chunks_total(&self) -> u32 {
        self.model.len().div_ceil(usize::from(self.chunk_bytes)) as u32
    }

    /// The report of an upload that sends nothing, for `skipped`.
    pub fn skipped(&self, skipped: UploadSkip) -> UploadReport {
        UploadReport {
            hash: self.hash,
            model_bytes: self.model.len(),
            chunks_total: self.chunks_total(),
            first_chunk: 0,
            chunks_sent: 0,
            resends: 0,
            skipped: Some(skipped),
            committed: None,
            wire_bytes: 0,
        }
    }

    /// Announces the model, sends the chunks the agent is missing (from its `next_chunk`, so a
    /// cut upload resumes) and commits; nothing but the announcement when the agent holds it.
    pub fn send<P: Read + Write>(&self, link: &mut Link<P>) -> Result<UploadReport, ClientError> {
        let sent_before = link.stats().bytes_sent;
        let total_bytes = self.model.len() as u32;
        let begin = UploadBeginRequest { hash: self.hash, total_bytes, chunk_bytes: self.chunk_bytes };
        let status = link.call(begin, link.timeout())?;
        let mut report = self.skipped(UploadSkip::AgentHolds);
        if let UploadState::Receiving { next_chunk, .. } = status.state {
            report.skipped = None;
            report.first_chunk = next_chunk;
            for index in next_chunk..self.chunks_total() {
                let attempts = self.send_chunk(link, index)?;
                report.chunks_sent += attempts;
                report.resends += attempts - 1;
            }
            let commit = UploadCommitRequest { hash: self.hash, crc32: crc32(self.model) };
            report.committed = Some(link.call(commit, link.timeout() + COMMIT_GRACE)?);
        }
        report.wire_bytes = link.stats().bytes_sent - sent_before;
        Ok(report)
    }

    /// Sends chunk `index` until it is acknowledged; returns the attempts it took.
    fn send_chunk<P: Read + Write>(&self, link: &mut Link<P>, index: u32) -> Result<u32, ClientError> {
        let start = index as usize * usize::from(self.chunk_bytes);
        let end = (start + usize::from(self.chunk_bytes)).min(self.model.len());
        for attempt in 1..=CHUNK_ATTEMPTS {
            let chunk = UploadChunkRequest { hash: self.hash, index, bytes: self.model[start..end].to_vec() };
            match link.call(chunk, link.timeout()) {
                Ok(_ack) => return Ok(attempt),
                Err(ClientError::Timeout { .. }) => {
                    tracing::debug!(index, attempt, "chunk not acknowledged in time; sending it again");
                }
                Err(err) => return Err(err),
            }
        }
        Err(ClientError::ChunkRetriesExhausted {
            link: link.label().to_string(),
            hash: self.hash,
            index,
            attempts: CHUNK_ATTEMPTS,
        })
    }
}
