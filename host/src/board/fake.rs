//! A fake agent for tests of the client's error paths: it speaks the protocol over any port,
//! can claim another protocol version, and can lose or garble chunk acknowledgements.
//!
//! It never measures anything: its `Measurement` is made of fixed placeholder numbers, and its
//! sensor kind is `PowerModel` (simulated). Real measurements come from `wattevo-agent`.
//!
//! Test code only: compiled for this crate's unit tests and, through the `test-support` cargo
//! feature, for the end-to-end tests (`tests/` enables it on its dev-dependency).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{ErrorKind, Read, Write};

use wattevo_proto::{
    ChunkAckResponse, CommittedResponse, CpuInfo, DeviceToHost, Envelope, ErrorResponse, FrameDecoder, HelloResponse,
    HostToDevice, MAX_CHUNK_BYTES, MAX_MODEL_BYTES, Measurement, ModelHash, PingResponse, RepStats, SensorInfo,
    SensorKind, SensorReadingResponse, StopReason, UploadState, UploadStatusResponse, WireError, crc32, encode_frame,
};

/// How the fake agent misbehaves.
#[derive(Debug, Clone, Default)]
pub struct FakeFaults {
    /// Protocol version it claims in its `Hello` (None: the real one).
    pub protocol_version: Option<u16>,
    /// Chunk indexes whose first acknowledgement is never sent.
    pub drop_first_ack: BTreeSet<u32>,
    /// Chunk indexes whose first acknowledgement arrives with a broken CRC.
    pub garble_first_ack: BTreeSet<u32>,
}

#[derive(Debug, Default)]
struct Upload {
    total_bytes: u32,
    chunk_bytes: u16,
    chunks: BTreeMap<u32, Vec<u8>>,
}

/// The fake agent's state.
#[derive(Debug, Default)]
pub struct FakeAgent {
    faults: FakeFaults,
    uploads: HashMap<ModelHash, Upload>,
    loaded: BTreeSet<ModelHash>,
    /// Chunk frames received, re-sends included.
    pub chunks_received: u32,
}

impl FakeAgent {
    /// A fake agent with the given faults.
    pub fn new(faults: FakeFaults) -> Self {
        Self { faults, ..Self::default() }
    }

    /// Serves `port` until it reports end of file or a hard error; read timeouts are waited out.
    pub fn serve<P: Read + Write>(mut self, mut port: P) -> Self {
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = match port.read(&mut buf) {
                Ok(0) => return self,
                Ok(n) => n,
                Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => continue,
                Err(_) => return self,
            };
            for frame in decoder.feed::<HostToDevice>(&buf[..n]) {
                let Ok(envelope) = frame else { continue };
                let Some(wire) = self.answer(envelope) else { continue };
                if port.write_all(&wire).is_err() {
                    return self;
                }
            }
        }
    }

    fn answer(&mut self, envelope: Envelope<HostToDevice>) -> Option<Vec<u8>> {
        let seq = envelope.seq;
        let msg = match envelope.msg {
            HostToDevice::Hello(_) => DeviceToHost::Hello(self.hello()),
            HostToDevice::Ping(ping) => DeviceToHost::Pong(PingResponse { nonce: ping.nonce }),
            HostToDevice::UploadBegin(begin) => {
                let state = if self.loaded.contains(&begin.hash) {
                    UploadState::Loaded
                } else {
                    let upload = self.uploads.entry(begin.hash).or_default();
                    upload.total_bytes = begin.total_bytes;
                    upload.chunk_bytes = begin.chunk_bytes;
                    let next_chunk = (0..).find(|i| !upload.chunks.contains_key(i)).unwrap_or(0);
                    UploadState::Receiving { next_chunk, received: upload.chunks.len() as u32 }
                };
                DeviceToHost::UploadStatus(UploadStatusResponse { hash: begin.hash, state })
            }
            HostToDevice::UploadChunk(chunk) => {
                self.chunks_received += 1;
                let Some(upload) = self.uploads.get_mut(&chunk.hash) else {
                    return Some(error_frame(seq, WireError::UnknownUpload));
                };
                upload.chunks.insert(chunk.index, chunk.bytes);
                if self.faults.drop_first_ack.remove(&chunk.index) {
                    return None;
                }
                let ack = DeviceToHost::ChunkAck(ChunkAckResponse { hash: chunk.hash, index: chunk.index });
                let mut wire = encode_frame(&Envelope { seq, msg: ack }).ok()?;
                if self.faults.garble_first_ack.remove(&chunk.index) {
                    wire[1] ^= 0x55;
                }
                return Some(wire);
            }
            HostToDevice::UploadCommit(commit) => match self.commit(commit.hash, commit.crc32) {
                Ok(committed) => DeviceToHost::Committed(committed),
                Err(code) => return Some(error_frame(seq, code)),
            },
            HostToDevice::Measure(request) if self.loaded.contains(&request.hash) => {
                DeviceToHost::Measurement(placeholder_measurement(request.hash))
            }
            HostToDevice::Measure(_) => return Some(error_frame(seq, WireError::UnknownModel)),
            HostToDevice::ReadSensor(_) => DeviceToHost::SensorReading(SensorReadingResponse {
                sensor: SensorKind::PowerModel,
                bus_voltage_v: 5.0,
                current_a: 0.5,
                power_w: 2.5,
                samples: 10,
                sample_rate_hz: 1000.0,
            }),
            // The fake board has no twin.
            HostToDevice::Explain(_) | HostToDevice::Calibrate(_) => return Some(error_frame(seq, WireError::NoTwin)),
        };
        encode_frame(&Envelope { seq, msg }).ok()
    }

    fn commit(&mut self, hash: ModelHash, crc: u32) -> Result<CommittedResponse, WireError> {
        let upload = self.uploads.get(&hash).ok_or(WireError::UnknownUpload)?;
        let chunks = upload.total_bytes.div_ceil(u32::from(upload.chunk_bytes.max(1)));
        if let Some(missing_chunk) = (0..chunks).find(|i| !upload.chunks.contains_key(i)) {
            return Err(WireError::UploadIncomplete { missing_chunk });
        }
        let bytes: Vec<u8> = upload.chunks.values().flatten().copied().collect();
        if crc32(&bytes) != crc || ModelHash::of(&bytes) != hash {
            return Err(WireError::ChecksumMismatch);
        }
        self.uploads.remove(&hash);
        self.loaded.insert(hash);
        Ok(CommittedResponse { hash, load_us: 1, input_shape: vec![1, 1, 8, 8], output_shape: vec![1, 10] })
    }

    fn hello(&self) -> HelloResponse {
        let mut hello = placeholder_hello();
        hello.protocol_version = self.faults.protocol_version.unwrap_or(wattevo_proto::PROTOCOL_VERSION);
        hello
    }
}

/// The fake agent's handshake: board `fake`, agent `fake`, tract `none`, no twin.
pub fn placeholder_hello() -> HelloResponse {
    HelloResponse {
        protocol_version: wattevo_proto::PROTOCOL_VERSION,
        agent_version: "fake".into(),
        tract_version: "none".into(),
        board_name: "fake".into(),
        sensor: SensorInfo {
            kind: SensorKind::PowerModel,
            i2c_bus: 0,
            i2c_address: 0,
            shunt_ohms: 0.1,
            max_current_a: 3.2,
            current_lsb_a: 1e-4,
            calibration: 4096,
            adc_mode: "none".into(),
            bus_voltage_v: 5.0,
        },
        cpu: CpuInfo {
            arch: std::env::consts::ARCH.into(),
            model: "fake".into(),
            cores: 1,
            kernel: String::new(),
            governor: String::new(),
            tract_threads: 1,
        },
        max_model_bytes: MAX_MODEL_BYTES,
        max_chunk_bytes: MAX_CHUNK_BYTES,
        twin: String::new(),
    }
}

fn error_frame(seq: u32, error: WireError) -> Vec<u8> {
    let msg = DeviceToHost::Error(ErrorResponse { error, detail: "fake agent".into() });
    encode_frame(&Envelope { seq, msg }).unwrap_or_default()
}

/// A measurement of fixed figures: 3 W total (1 W dynamic), 3 mJ (1 mJ dynamic) and 1 ms per inference.
pub fn placeholder_measurement(hash: ModelHash) -> Measurement {
    let stats = |mean: f64| RepStats { mean, std: 0.0, ci95: 0.0 };
    Measurement {
        hash,
        sensor: SensorKind::PowerModel,
        idle_before_w: 2.0,
        idle_after_w: 2.0,
        idle_power_w: 2.0,
        idle_mismatch: false,
        total_power_w: stats(3.0),
        dynamic_power_w: stats(1.0),
        energy_per_inference_j: stats(3e-3),
        dynamic_energy_per_inference_j: stats(1e-3),
        latency_mean_us: 1000.0,
        latency_p50_us: 1000.0,
        latency_p99_us: 1000.0,
        inferences: 10,
        repetitions: 1,
        stop_reason: StopReason::MaxRepetitions,
        samples: 10,
        sample_rate_hz: 1000.0,
        missed_deadlines: 0,
        cpu_utilisation_cores: 1.0,
        temperature_start_c: f32::NAN,
        temperature_end_c: f32::NAN,
        throttled_flags: u32::MAX,
    }
}
