//! Model upload: announce, send the missing chunks (each acknowledged, lost acks re-sent),
//! commit with CRC-32; and the small cache of models the agent is known to hold.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::Duration;

use wattevo_proto::{
    CommittedResponse, DeviceToHost, HostToDevice, ModelHash, UploadBeginRequest, UploadChunkRequest,
    UploadCommitRequest, UploadState, crc32,
};

use super::client::{BoardClient, ClientError, model_hash};

/// Attempts per chunk before the upload gives up.
pub const CHUNK_ATTEMPTS: u32 = 5;

/// Extra time the agent may take to parse and optimise a committed model.
const COMMIT_GRACE: Duration = Duration::from_secs(60);

/// Models the agent is known to hold, most recent last (bounded: the agent evicts too).
#[derive(Debug, Default)]
pub struct HeldModels {
    hashes: VecDeque<ModelHash>,
}

impl HeldModels {
    const CAPACITY: usize = 64;

    /// True when the agent was seen holding `hash`.
    pub fn contains(&self, hash: &ModelHash) -> bool {
        self.hashes.contains(hash)
    }

    /// Records that the agent holds `hash`.
    pub fn insert(&mut self, hash: ModelHash) {
        self.forget(&hash);
        if self.hashes.len() == Self::CAPACITY {
            self.hashes.pop_front();
        }
        self.hashes.push_back(hash);
    }

    /// Forgets `hash` (the agent said it does not hold it).
    pub fn forget(&mut self, hash: &ModelHash) {
        self.hashes.retain(|held| held != hash);
    }
}

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

impl<P: Read + Write> BoardClient<P> {
    /// Uploads `model` unless the agent holds it already; resumes a cut upload from the first
    /// chunk the agent is missing.
    pub fn upload(&mut self, model: &[u8]) -> Result<UploadReport, ClientError> {
        let max = self.max_model_bytes();
        if model.len() > max as usize {
            return Err(ClientError::ModelTooLarge { link: self.label.to_string(), bytes: model.len(), max });
        }
        let hash = model_hash(model);
        let chunk_bytes = self.chunk_bytes();
        let chunks_total = model.len().div_ceil(usize::from(chunk_bytes)) as u32;
        let sent_before = self.stats.bytes_sent;
        let mut report = UploadReport {
            hash,
            model_bytes: model.len(),
            chunks_total,
            first_chunk: 0,
            chunks_sent: 0,
            resends: 0,
            skipped: Some(UploadSkip::CachedByClient),
            committed: None,
            wire_bytes: 0,
        };
        if self.held.contains(&hash) {
            return Ok(report);
        }
        let begin = UploadBeginRequest { hash, total_bytes: model.len() as u32, chunk_bytes };
        report.skipped = match self.request(HostToDevice::UploadBegin(begin), self.timeout)? {
            DeviceToHost::UploadStatus(status) if status.hash == hash => match status.state {
                UploadState::Loaded => Some(UploadSkip::AgentHolds),
                UploadState::Receiving { next_chunk, .. } => {
                    report.first_chunk = next_chunk;
                    None
                }
            },
            other => return Err(self.unexpected("UploadBegin", &other)),
        };
        if report.skipped.is_none() {
            for index in report.first_chunk..chunks_total {
                let start = index as usize * usize::from(chunk_bytes);
                let end = (start + usize::from(chunk_bytes)).min(model.len());
                let attempts = self.send_chunk(hash, index, &model[start..end])?;
                report.chunks_sent += attempts;
                report.resends += attempts - 1;
            }
            report.committed = Some(self.commit(hash, crc32(model))?);
        }
        self.held.insert(hash);
        report.wire_bytes = self.stats.bytes_sent - sent_before;
        Ok(report)
    }

    /// Sends one chunk until it is acknowledged; returns the attempts it took.
    fn send_chunk(&mut self, hash: ModelHash, index: u32, bytes: &[u8]) -> Result<u32, ClientError> {
        for attempt in 1..=CHUNK_ATTEMPTS {
            let chunk = UploadChunkRequest { hash, index, bytes: bytes.to_vec() };
            match self.request(HostToDevice::UploadChunk(chunk), self.timeout) {
                Ok(DeviceToHost::ChunkAck(ack)) if ack.hash == hash && ack.index == index => return Ok(attempt),
                Ok(other) => return Err(self.unexpected("UploadChunk", &other)),
                Err(ClientError::Timeout { .. }) => {
                    tracing::debug!(index, attempt, "chunk not acknowledged in time; sending it again");
                }
                Err(err) => return Err(err),
            }
        }
        Err(ClientError::ChunkRetriesExhausted { link: self.label.to_string(), hash, index, attempts: CHUNK_ATTEMPTS })
    }

    fn commit(&mut self, hash: ModelHash, crc32: u32) -> Result<CommittedResponse, ClientError> {
        let commit = HostToDevice::UploadCommit(UploadCommitRequest { hash, crc32 });
        match self.request(commit, self.timeout + COMMIT_GRACE)? {
            DeviceToHost::Committed(committed) if committed.hash == hash => Ok(committed),
            other => Err(self.unexpected("UploadCommit", &other)),
        }
    }
}
