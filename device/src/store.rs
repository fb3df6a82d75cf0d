//! The model store: committed models by [`ModelHash`] under a memory bound, and uploads in
//! progress.
//!
//! An upload is announced (`begin`) with its length, checked against [`MAX_MODEL_BYTES`]
//! *before* its buffer is allocated; chunks are checked for index and length and tracked in a
//! bitmap, so a re-sent chunk is harmless and a re-sent `begin` resumes where the upload stopped.
//! `commit` checks completeness, CRC-32 and SHA-256 ([`ModelHash::of`], the function the host
//! named the model with), then parses, optimises and plans the model with tract once. Committed models are evicted least-recently-used first once their bytes
//! (ONNX bytes + parameter bytes) exceed the cache bound; at most [`MAX_UPLOADS`] uploads are
//! held at once (the oldest other one is dropped).

use std::collections::HashMap;

use wattevo_proto::{
    CommittedResponse, MAX_CHUNK_BYTES, MAX_MODEL_BYTES, ModelHash, UploadBeginRequest, UploadState, WireError, crc32,
};

use crate::runner::{LoadedModel, RunnerError, load_model_within};

/// Uploads held at once.
pub const MAX_UPLOADS: usize = 2;

/// Why a store operation failed; [`StoreError::wire`] gives the wire code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A typed refusal with its detail.
    #[error("{detail}")]
    Refused {
        /// Wire code.
        code: WireError,
        /// What was wrong.
        detail: String,
    },
    /// tract refused the model.
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

impl StoreError {
    fn refused(code: WireError, detail: impl Into<String>) -> Self {
        Self::Refused { code, detail: detail.into() }
    }

    /// The wire error code for this failure.
    pub fn wire(&self) -> WireError {
        match self {
            Self::Refused { code, .. } => *code,
            Self::Runner(RunnerError::InputShape { .. }) => WireError::InputShapeMismatch,
            Self::Runner(RunnerError::Load { .. }) => WireError::InvalidModel,
            Self::Runner(RunnerError::Run(_)) => WireError::RunFailed,
            Self::Runner(RunnerError::Memory { needed, limit }) => {
                WireError::MemoryExceeded { needed: *needed, limit: *limit }
            }
        }
    }
}

#[derive(Debug)]
struct Upload {
    total_bytes: u32,
    chunk_bytes: u16,
    received: Vec<bool>,
    data: Vec<u8>,
    started: u64,
}

impl Upload {
    fn chunks(&self) -> u32 {
        self.received.len() as u32
    }

    fn first_missing(&self) -> Option<u32> {
        self.received.iter().position(|r| !r).map(|i| i as u32)
    }

    fn state(&self) -> UploadState {
        let received = self.received.iter().filter(|r| **r).count() as u32;
        UploadState::Receiving { next_chunk: self.first_missing().unwrap_or(self.chunks()), received }
    }
}

#[derive(Debug)]
struct StoredModel {
    bytes: Vec<u8>,
    loaded: LoadedModel,
    last_used: u64,
}

impl StoredModel {
    fn footprint(&self) -> u64 {
        self.bytes.len() as u64 + self.loaded.bytes.param_bytes
    }
}

/// Models by hash, and uploads in progress.
#[derive(Debug)]
pub struct ModelStore {
    models: HashMap<ModelHash, StoredModel>,
    uploads: HashMap<ModelHash, Upload>,
    cache_bytes: u64,
    memory_limit: u64,
    clock: u64,
}

impl ModelStore {
    /// A store holding at most `cache_bytes` of models.
    pub fn new(cache_bytes: u64) -> Self {
        Self { models: HashMap::new(), uploads: HashMap::new(), cache_bytes, memory_limit: u64::MAX, clock: 0 }
    }

    /// Refuses models that plan more than `limit` bytes of weights and tensors.
    pub fn with_memory_limit(mut self, limit: u64) -> Self {
        self.memory_limit = limit;
        self
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// True when the model is committed and held.
    pub fn contains(&self, hash: &ModelHash) -> bool {
        self.models.contains_key(hash)
    }

    /// Starts or resumes an upload.
    pub fn begin(&mut self, req: &UploadBeginRequest) -> Result<UploadState, StoreError> {
        let now = self.tick();
        if let Some(model) = self.models.get_mut(&req.hash) {
            model.last_used = now;
            return Ok(UploadState::Loaded);
        }
        if req.total_bytes > MAX_MODEL_BYTES {
            let code = WireError::ModelTooLarge { announced: req.total_bytes, max: MAX_MODEL_BYTES };
            return Err(StoreError::refused(code, format!("{} bytes announced", req.total_bytes)));
        }
        if req.total_bytes == 0 || req.chunk_bytes == 0 || req.chunk_bytes > MAX_CHUNK_BYTES {
            let detail = format!("total_bytes {} / chunk_bytes {} out of range", req.total_bytes, req.chunk_bytes);
            return Err(StoreError::refused(WireError::BadRequest, detail));
        }
        if let Some(up) = self.uploads.get(&req.hash)
            && up.total_bytes == req.total_bytes
            && up.chunk_bytes == req.chunk_bytes
        {
            return Ok(up.state());
        }
        self.make_room_for_upload(&req.hash);
        let chunks = req.total_bytes.div_ceil(u32::from(req.chunk_bytes));
        let upload = Upload {
            total_bytes: req.total_bytes,
            chunk_bytes: req.chunk_bytes,
            received: vec![false; chunks as usize],
            data: vec![0; req.total_bytes as usize],
            started: now,
        };
        let state = upload.state();
        self.uploads.insert(req.hash, upload);
        Ok(state)
    }

    fn make_room_for_upload(&mut self, keep: &ModelHash) {
        self.uploads.remove(keep);
        while self.uploads.len() >= MAX_UPLOADS {
            let oldest = self.uploads.iter().min_by_key(|(_, u)| u.started).map(|(h, _)| *h);
            match oldest {
                Some(h) => self.uploads.remove(&h),
                None => break,
            };
        }
    }

    /// Stores one chunk (again, harmlessly, if it was held already).
    pub fn chunk(&mut self, hash: &ModelHash, index: u32, bytes: &[u8]) -> Result<(), StoreError> {
        let up = self.uploads.get_mut(hash).ok_or_else(|| StoreError::refused(WireError::UnknownUpload, ""))?;
        let chunks = up.chunks();
        let out_of_range = |detail: String| StoreError::refused(WireError::ChunkOutOfRange { index, chunks }, detail);
        if index >= chunks {
            return Err(out_of_range(format!("chunk {index} of {chunks}")));
        }
        let start = index as usize * usize::from(up.chunk_bytes);
        let end = (start + usize::from(up.chunk_bytes)).min(up.total_bytes as usize);
        if bytes.len() != end - start {
            return Err(out_of_range(format!("chunk {index} has {} bytes, expected {}", bytes.len(), end - start)));
        }
        up.data[start..end].copy_from_slice(bytes);
        up.received[index as usize] = true;
        Ok(())
    }

    /// Checks and loads a complete upload; a model already held is answered again.
    pub fn commit(&mut self, hash: &ModelHash, crc: u32) -> Result<CommittedResponse, StoreError> {
        if !self.models.contains_key(hash) {
            let up = self.uploads.get(hash).ok_or_else(|| StoreError::refused(WireError::UnknownUpload, ""))?;
            if let Some(missing_chunk) = up.first_missing() {
                return Err(StoreError::refused(WireError::UploadIncomplete { missing_chunk }, ""));
            }
            let up = self.uploads.remove(hash).ok_or_else(|| StoreError::refused(WireError::UnknownUpload, ""))?;
            if crc32(&up.data) != crc {
                return Err(StoreError::refused(WireError::ChecksumMismatch, "CRC-32 differs; upload dropped"));
            }
            if ModelHash::of(&up.data) != *hash {
                return Err(StoreError::refused(WireError::ChecksumMismatch, "SHA-256 differs; upload dropped"));
            }
            let loaded = load_model_within(&up.data, None, self.memory_limit)?;
            self.insert(*hash, up.data, loaded);
        }
        let now = self.tick();
        let model = self.models.get_mut(hash).ok_or_else(|| StoreError::refused(WireError::Internal, "evicted"))?;
        model.last_used = now;
        let dims = |s: &[usize]| s.iter().map(|&d| u32::try_from(d).unwrap_or(u32::MAX)).collect();
        Ok(CommittedResponse {
            hash: *hash,
            load_us: model.loaded.load_us,
            input_shape: dims(&model.loaded.input_shape),
            output_shape: dims(&model.loaded.output_shape),
        })
    }

    fn insert(&mut self, hash: ModelHash, bytes: Vec<u8>, loaded: LoadedModel) {
        let last_used = self.tick();
        self.models.insert(hash, StoredModel { bytes, loaded, last_used });
        loop {
            let held: u64 = self.models.values().map(StoredModel::footprint).sum();
            if held <= self.cache_bytes {
                break;
            }
            let victim = self.models.iter().filter(|(h, _)| **h != hash).min_by_key(|(_, m)| m.last_used);
            match victim.map(|(h, _)| *h) {
                Some(h) => self.models.remove(&h),
                None => break,
            };
        }
    }

    /// The held model planned for `input_shape` (re-planned once if the shape differs).
    pub fn model_for(&mut self, hash: &ModelHash, input_shape: &[usize]) -> Result<&LoadedModel, StoreError> {
        let now = self.tick();
        let model = self.models.get_mut(hash).ok_or_else(|| StoreError::refused(WireError::UnknownModel, ""))?;
        model.last_used = now;
        if model.loaded.input_shape != input_shape {
            model.loaded = load_model_within(&model.bytes, Some(input_shape), self.memory_limit)?;
        }
        Ok(&model.loaded)
    }

    /// Models held.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// True when no model is held.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{OnnxCnn, build_cnn};

    fn begin(store: &mut ModelStore, bytes: &[u8], chunk_bytes: u16) -> Result<UploadState, StoreError> {
        let req = UploadBeginRequest { hash: ModelHash::of(bytes), total_bytes: bytes.len() as u32, chunk_bytes };
        store.begin(&req)
    }

    fn send_all(store: &mut ModelStore, bytes: &[u8], chunk_bytes: u16) {
        let hash = ModelHash::of(bytes);
        for (i, c) in bytes.chunks(usize::from(chunk_bytes)).enumerate() {
            store.chunk(&hash, i as u32, c).expect("chunk");
        }
    }

    #[test]
    fn a_model_planning_more_memory_than_the_board_has_is_refused_and_the_store_goes_on() {
        // 256 KB of weights whose product with the input is a 16 GiB tensor.
        let mut graph = crate::sim::onnx::OnnxGraph::new("huge", &[1, 65536, 1], 3);
        let input = graph.input();
        let w = graph.weights("w", &[1, 65536]);
        let out = graph.node("MatMul", &[&input, &w], vec![]);
        let huge = graph.finish(&out);
        let mut store = ModelStore::new(1 << 30).with_memory_limit(1 << 30);
        begin(&mut store, &huge, 2048).expect("begin");
        send_all(&mut store, &huge, 2048);
        let err = store.commit(&ModelHash::of(&huge), crc32(&huge)).expect_err("16 GiB planned");
        let WireError::MemoryExceeded { needed, limit } = err.wire() else { panic!("{err}") };
        assert!(needed > 16 << 30 && limit == 1 << 30, "{needed} {limit}");
        // A model that fits still loads.
        let small = build_cnn(&OnnxCnn::small(), 5);
        begin(&mut store, &small, 2048).expect("begin");
        send_all(&mut store, &small, 2048);
        store.commit(&ModelHash::of(&small), crc32(&small)).expect("the small model loads");
    }

    #[test]
    fn upload_resume_and_commit() {
        let bytes = build_cnn(&OnnxCnn::small(), 5);
        let hash = ModelHash::of(&bytes);
        let mut store = ModelStore::new(1 << 30);
        let chunks: Vec<&[u8]> = bytes.chunks(256).collect();
        assert_eq!(
            begin(&mut store, &bytes, 256).expect("begin"),
            UploadState::Receiving { next_chunk: 0, received: 0 }
        );
        for (i, c) in chunks.iter().enumerate().take(3) {
            store.chunk(&hash, i as u32, c).expect("chunk");
        }
        store.chunk(&hash, 1, chunks[1]).expect("a re-sent chunk is harmless");
        let err = store.commit(&hash, crc32(&bytes)).expect_err("incomplete");
        assert_eq!(err.wire(), WireError::UploadIncomplete { missing_chunk: 3 });
        // The link was cut: a re-sent begin resumes at chunk 3.
        assert_eq!(
            begin(&mut store, &bytes, 256).expect("resume"),
            UploadState::Receiving { next_chunk: 3, received: 3 }
        );
        for (i, c) in chunks.iter().enumerate().skip(3) {
            store.chunk(&hash, i as u32, c).expect("chunk");
        }
        let committed = store.commit(&hash, crc32(&bytes)).expect("commit");
        assert_eq!(committed.input_shape, vec![1, 1, 8, 8]);
        assert_eq!(begin(&mut store, &bytes, 256).expect("held"), UploadState::Loaded);
        assert!(store.model_for(&hash, &[1, 1, 8, 8]).is_ok());
        assert_eq!(store.commit(&hash, 0).expect("re-sent commit").hash, hash);
    }

    #[test]
    fn oversized_and_malformed_announcements_are_refused() {
        let mut store = ModelStore::new(1 << 30);
        let req = UploadBeginRequest { hash: ModelHash([1; 32]), total_bytes: MAX_MODEL_BYTES + 1, chunk_bytes: 1024 };
        let err = store.begin(&req).expect_err("too large");
        assert_eq!(err.wire(), WireError::ModelTooLarge { announced: MAX_MODEL_BYTES + 1, max: MAX_MODEL_BYTES });
        assert!(store.uploads.is_empty(), "nothing allocated");
        let req = UploadBeginRequest { hash: ModelHash([1; 32]), total_bytes: 10, chunk_bytes: MAX_CHUNK_BYTES + 1 };
        assert_eq!(store.begin(&req).expect_err("chunk").wire(), WireError::BadRequest);
    }

    #[test]
    fn chunk_checks_index_length_and_upload() {
        let mut store = ModelStore::new(1 << 30);
        let hash = ModelHash([2; 32]);
        store.begin(&UploadBeginRequest { hash, total_bytes: 10, chunk_bytes: 4 }).expect("begin");
        let range = WireError::ChunkOutOfRange { index: 3, chunks: 3 };
        assert_eq!(store.chunk(&hash, 3, &[0; 2]).expect_err("index").wire(), range);
        let short = WireError::ChunkOutOfRange { index: 0, chunks: 3 };
        assert_eq!(store.chunk(&hash, 0, &[0; 3]).expect_err("length").wire(), short);
        store.chunk(&hash, 2, &[0; 2]).expect("last chunk is short");
        let unknown = store.chunk(&ModelHash([3; 32]), 0, &[0]).expect_err("unknown");
        assert_eq!(unknown.wire(), WireError::UnknownUpload);
    }

    #[test]
    fn checksum_and_invalid_model_are_typed() {
        let mut store = ModelStore::new(1 << 30);
        let garbage = b"definitely not onnx".to_vec();
        begin(&mut store, &garbage, 8).expect("begin");
        send_all(&mut store, &garbage, 8);
        let hash = ModelHash::of(&garbage);
        assert_eq!(store.commit(&hash, 1).expect_err("crc").wire(), WireError::ChecksumMismatch);
        begin(&mut store, &garbage, 8).expect("begin again");
        send_all(&mut store, &garbage, 8);
        assert_eq!(store.commit(&hash, crc32(&garbage)).expect_err("onnx").wire(), WireError::InvalidModel);
        assert!(store.is_empty());
    }

    #[test]
    fn least_recently_used_model_is_evicted() {
        let models: Vec<Vec<u8>> = (0..3).map(|s| build_cnn(&OnnxCnn::small(), s)).collect();
        let params = crate::runner::load_model(&models[0], None).expect("load").bytes.param_bytes;
        let one = models[0].len() as u64 + params;
        let mut store = ModelStore::new(2 * one + 100);
        for m in &models[..2] {
            begin(&mut store, m, 512).expect("begin");
            send_all(&mut store, m, 512);
            store.commit(&ModelHash::of(m), crc32(m)).expect("commit");
        }
        // Touch model 0, so model 1 is the least recently used.
        assert_eq!(begin(&mut store, &models[0], 512).expect("held"), UploadState::Loaded);
        begin(&mut store, &models[2], 512).expect("begin");
        send_all(&mut store, &models[2], 512);
        store.commit(&ModelHash::of(&models[2]), crc32(&models[2])).expect("commit");
        assert!(store.contains(&ModelHash::of(&models[0])));
        assert!(!store.contains(&ModelHash::of(&models[1])));
        assert!(store.contains(&ModelHash::of(&models[2])));
        let err = store.model_for(&ModelHash::of(&models[1]), &[1, 1, 8, 8]).expect_err("evicted");
        assert_eq!(err.wire(), WireError::UnknownModel);
    }
}
