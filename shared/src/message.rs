//! The messages exchanged between the host (`wattevo`) and the board agent (`wattevo-agent`).
//!
//! Rules (see the crate docs for the byte layout):
//! - variants are **append-only**: a new message goes at the end of its enum; changing or removing
//!   a variant, or a field, is a breaking change and bumps [`PROTOCOL_VERSION`];
//! - fixed-width integers everywhere, units in field names (`_w`, `_j`, `_us`, `_ms`);
//! - no I/O here: this module only declares types.
//!
//! Neighbours: a request's payload types that are not messages themselves live in their own
//! modules ([`crate::ModelHash`] in `hash`, [`crate::MeasureProtocol`] in `measure_protocol`);
//! which response answers which request is written down once in `request` ([`crate::Request`]).

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::hash::ModelHash;
use crate::measure_protocol::MeasureProtocol;

/// Version of the wire protocol. Both sides refuse to talk to a different one.
pub const PROTOCOL_VERSION: u16 = 2;

/// Largest model the agent accepts, in bytes. An upload announcing more is refused before any
/// memory is allocated for it.
pub const MAX_MODEL_BYTES: u32 = 64 * 1024 * 1024;

/// Largest payload of one upload chunk, in bytes.
pub const MAX_CHUNK_BYTES: u16 = 2048;

/// One frame's body: a sequence number and a message. A response repeats its request's `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<M> {
    /// Chosen by the host; echoed by the agent in the response. Unsolicited agent messages use 0.
    pub seq: u32,
    /// The message itself.
    pub msg: M,
}

/// Everything the host can ask the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HostToDevice {
    /// First message of a session: checks protocol versions, asks for the board's description.
    Hello(HelloRequest),
    /// Liveness check; answered with [`DeviceToHost::Pong`].
    Ping(PingRequest),
    /// Announces a model upload. Answered with [`DeviceToHost::UploadStatus`].
    UploadBegin(UploadBeginRequest),
    /// One numbered piece of a model. Answered with [`DeviceToHost::ChunkAck`].
    UploadChunk(UploadChunkRequest),
    /// Ends an upload: the agent checks length, CRC and hash, then loads and optimises the model.
    UploadCommit(UploadCommitRequest),
    /// Runs a held model and measures its power, energy and latency.
    Measure(MeasureRequest),
    /// Reads the power sensor for a while with nothing running (wiring check, idle power).
    ReadSensor(ReadSensorRequest),
    /// The board twin's per-operator cost of a held model. Answered with
    /// [`DeviceToHost::Explanation`].
    Explain(crate::twin::ExplainRequest),
    /// Measures the bundled reference models and fits the twin. Answered with
    /// [`DeviceToHost::Calibration`].
    Calibrate(crate::twin::CalibrateRequest),
}

/// Everything the agent can answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeviceToHost {
    /// Answer to [`HostToDevice::Hello`].
    Hello(HelloResponse),
    /// Answer to [`HostToDevice::Ping`].
    Pong(PingResponse),
    /// Answer to [`HostToDevice::UploadBegin`]: what the agent already has of that model.
    UploadStatus(UploadStatusResponse),
    /// Answer to [`HostToDevice::UploadChunk`].
    ChunkAck(ChunkAckResponse),
    /// Answer to [`HostToDevice::UploadCommit`]: the model is loaded and runnable.
    Committed(CommittedResponse),
    /// Answer to [`HostToDevice::Measure`].
    Measurement(Measurement),
    /// Answer to [`HostToDevice::ReadSensor`].
    SensorReading(SensorReadingResponse),
    /// Any request that could not be served. The agent keeps serving after sending it.
    Error(ErrorResponse),
    /// Answer to [`HostToDevice::Explain`].
    Explanation(crate::twin::Explanation),
    /// Answer to [`HostToDevice::Calibrate`].
    Calibration(crate::twin::CalibrationReport),
}

impl HostToDevice {
    /// The request's name (`"UploadChunk"`), for logs and error messages.
    pub fn name(&self) -> &'static str {
        match self {
            HostToDevice::Hello(_) => "Hello",
            HostToDevice::Ping(_) => "Ping",
            HostToDevice::UploadBegin(_) => "UploadBegin",
            HostToDevice::UploadChunk(_) => "UploadChunk",
            HostToDevice::UploadCommit(_) => "UploadCommit",
            HostToDevice::Measure(_) => "Measure",
            HostToDevice::ReadSensor(_) => "ReadSensor",
            HostToDevice::Explain(_) => "Explain",
            HostToDevice::Calibrate(_) => "Calibrate",
        }
    }
}

impl DeviceToHost {
    /// The answer's name (`"ChunkAck"`), for logs and error messages.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceToHost::Hello(_) => "Hello",
            DeviceToHost::Pong(_) => "Pong",
            DeviceToHost::UploadStatus(_) => "UploadStatus",
            DeviceToHost::ChunkAck(_) => "ChunkAck",
            DeviceToHost::Committed(_) => "Committed",
            DeviceToHost::Measurement(_) => "Measurement",
            DeviceToHost::SensorReading(_) => "SensorReading",
            DeviceToHost::Error(_) => "Error",
            DeviceToHost::Explanation(_) => "Explanation",
            DeviceToHost::Calibration(_) => "Calibration",
        }
    }
}

/// Opens a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloRequest {
    /// The host's [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The host's crate version, for the agent's log.
    pub host_version: String,
}

/// The board describes itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloResponse {
    /// The agent's [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// `wattevo-agent` crate version.
    pub agent_version: String,
    /// tract version the agent runs models with.
    pub tract_version: String,
    /// Board profile name (`pi4b`, `sim`, ...).
    pub board_name: String,
    /// The power sensor and its calibration.
    pub sensor: SensorInfo,
    /// CPU, kernel and runtime settings.
    pub cpu: CpuInfo,
    /// Largest model accepted, bytes.
    pub max_model_bytes: u32,
    /// Largest chunk payload accepted, bytes.
    pub max_chunk_bytes: u16,
    /// The board twin a simulated board runs on (`twin pi4b v1`); empty on a real board.
    pub twin: String,
}

/// Where power figures come from. Every figure wattevo prints carries this label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SensorKind {
    /// A real INA219 on the board's I2C bus: measured figures.
    Ina219,
    /// An emulated INA219 driven by the board profile's power model: simulated figures.
    EmulatedIna219,
    /// A power model read directly, without a chip: simulated figures.
    PowerModel,
}

impl SensorKind {
    /// True when the figures come from real hardware.
    pub fn is_measured(self) -> bool {
        matches!(self, SensorKind::Ina219)
    }
}

/// The sensor and its calibration, as configured on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorInfo {
    /// What produces the readings.
    pub kind: SensorKind,
    /// I2C bus number (`/dev/i2c-N`), 0 when not applicable.
    pub i2c_bus: u8,
    /// 7-bit I2C address, 0 when not applicable.
    pub i2c_address: u8,
    /// Shunt resistance, ohms.
    pub shunt_ohms: f32,
    /// Largest expected current, amperes.
    pub max_current_a: f32,
    /// Current register LSB, amperes.
    pub current_lsb_a: f32,
    /// Value written to the calibration register.
    pub calibration: u16,
    /// ADC mode, readable (`12bit x8`).
    pub adc_mode: String,
    /// Bus voltage seen at the handshake, volts (0 when unknown).
    pub bus_voltage_v: f32,
}

/// CPU and operating system of the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// Target architecture the agent was built for (`aarch64`, `x86_64`).
    pub arch: String,
    /// CPU model name, from `/proc/cpuinfo` where available.
    pub model: String,
    /// Online logical cores.
    pub cores: u16,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// CPU frequency governor of core 0, empty when absent.
    pub governor: String,
    /// Threads tract uses for one inference.
    pub tract_threads: u16,
}

/// Liveness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingRequest {
    /// Echoed back.
    pub nonce: u32,
}

/// Liveness answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingResponse {
    /// The request's nonce.
    pub nonce: u32,
}

/// Announces an upload. Sending it again for the same hash resumes the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadBeginRequest {
    /// SHA-256 of the whole model.
    pub hash: ModelHash,
    /// Total model length, bytes.
    pub total_bytes: u32,
    /// Payload bytes of every chunk but the last.
    pub chunk_bytes: u16,
}

/// What the agent holds of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UploadState {
    /// The model is loaded already: nothing to send.
    Loaded,
    /// Send chunks; the first one missing is `next_chunk`, `received` are held already.
    Receiving {
        /// Index of the first chunk not yet received.
        next_chunk: u32,
        /// Number of chunks received so far.
        received: u32,
    },
}

/// Answer to an upload announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatusResponse {
    /// The model concerned.
    pub hash: ModelHash,
    /// What to do next.
    pub state: UploadState,
}

/// One piece of a model. Re-sending a chunk already held is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChunkRequest {
    /// The model concerned.
    pub hash: ModelHash,
    /// Chunk index, from 0.
    pub index: u32,
    /// At most [`MAX_CHUNK_BYTES`] bytes.
    pub bytes: Vec<u8>,
}

/// A chunk was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkAckResponse {
    /// The model concerned.
    pub hash: ModelHash,
    /// The chunk stored.
    pub index: u32,
}

/// Ends an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadCommitRequest {
    /// The model concerned.
    pub hash: ModelHash,
    /// CRC-32 (ISO-HDLC) of the whole model.
    pub crc32: u32,
}

/// The model is held, parsed, optimised and runnable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedResponse {
    /// The model concerned.
    pub hash: ModelHash,
    /// Time tract took to parse, optimise and make it runnable, microseconds.
    pub load_us: u64,
    /// Input shape the model declares (batch first).
    pub input_shape: Vec<u32>,
    /// Output shape of the model's first output.
    pub output_shape: Vec<u32>,
}

/// Measure a held model: which model, on what input, with which protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureRequest {
    /// The model to run; it must have been committed.
    pub hash: ModelHash,
    /// Input shape, batch first; must match what the model accepts.
    pub input_shape: Vec<u32>,
    /// Seed of the random input tensor (uniform in [0, 1)).
    pub input_seed: u64,
    /// Warm-up, timed windows, stopping rule and idle windows (its fields travel inline, in
    /// their declaration order).
    pub protocol: MeasureProtocol,
    /// Wait at most this long for the SoC to cool below its threshold, milliseconds (the board
    /// profile's `thermal.max_wait_ms`).
    pub thermal_wait_ms: u32,
}

/// Mean, standard deviation and 95 % confidence half-width over repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepStats {
    /// Mean over repetitions.
    pub mean: f64,
    /// Sample standard deviation over repetitions (0 for one repetition).
    pub std: f64,
    /// Half-width of the 95 % confidence interval of the mean (Student t).
    pub ci95: f64,
}

/// Why the agent stopped adding repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// The CI of energy per inference reached the target.
    CiReached,
    /// The maximum repetitions were run before the CI reached the target.
    MaxRepetitions,
}

/// The result of a measurement. Figures are from `sensor`; check [`SensorKind::is_measured`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The model measured.
    pub hash: ModelHash,
    /// Where the power figures come from.
    pub sensor: SensorKind,
    /// Mean power of the idle window before the runs, watts.
    pub idle_before_w: f64,
    /// Mean power of the idle window after the runs, watts.
    pub idle_after_w: f64,
    /// Mean of the two idle windows, watts.
    pub idle_power_w: f64,
    /// True when the idle windows differ by more than the requested percentage.
    pub idle_mismatch: bool,
    /// Mean supply power while inferring, watts (over repetitions).
    pub total_power_w: RepStats,
    /// Total minus idle power, watts.
    pub dynamic_power_w: RepStats,
    /// Total energy per inference, joules (∫P dt ÷ inferences).
    pub energy_per_inference_j: RepStats,
    /// Dynamic (idle-subtracted) energy per inference, joules.
    pub dynamic_energy_per_inference_j: RepStats,
    /// Mean latency of one inference, microseconds.
    pub latency_mean_us: f64,
    /// Median latency, microseconds.
    pub latency_p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub latency_p99_us: f64,
    /// Inferences timed over all repetitions.
    pub inferences: u64,
    /// Timed windows run.
    pub repetitions: u16,
    /// Why repetitions stopped.
    pub stop_reason: StopReason,
    /// Sensor samples taken in the timed windows.
    pub samples: u64,
    /// Achieved sample rate, hertz.
    pub sample_rate_hz: f64,
    /// Sampler deadlines missed.
    pub missed_deadlines: u64,
    /// Mean CPU utilisation of the agent process during the timed windows, in cores.
    pub cpu_utilisation_cores: f32,
    /// SoC temperature before the idle window, °C; NaN when the board has no sensor.
    pub temperature_start_c: f32,
    /// SoC temperature after the last window, °C; NaN when absent.
    pub temperature_end_c: f32,
    /// Raspberry Pi throttle flags (`vcgencmd get_throttled`); `u32::MAX` when absent.
    pub throttled_flags: u32,
}

/// Read the sensor with nothing running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSensorRequest {
    /// How long to sample, milliseconds.
    pub duration_ms: u32,
}

/// Sensor figures with nothing running.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SensorReadingResponse {
    /// Where the figures come from.
    pub sensor: SensorKind,
    /// Mean bus voltage, volts.
    pub bus_voltage_v: f64,
    /// Mean current, amperes.
    pub current_a: f64,
    /// Mean power, watts.
    pub power_w: f64,
    /// Samples taken.
    pub samples: u64,
    /// Achieved sample rate, hertz.
    pub sample_rate_hz: f64,
}

/// Typed error codes with small fixed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    /// A frame failed its CRC or could not be decoded; it was dropped.
    BadFrame,
    /// The hello's protocol version differs from the agent's.
    VersionMismatch {
        /// The agent's version.
        agent: u16,
        /// The version the host sent.
        host: u16,
    },
    /// An upload announced more bytes than the agent accepts.
    ModelTooLarge {
        /// Bytes announced.
        announced: u32,
        /// Largest accepted.
        max: u32,
    },
    /// A chunk or commit for an upload that was never begun (or was evicted).
    UnknownUpload,
    /// A chunk's index or length does not fit the announced upload.
    ChunkOutOfRange {
        /// The chunk's index.
        index: u32,
        /// Number of chunks the upload has.
        chunks: u32,
    },
    /// Commit before every chunk arrived.
    UploadIncomplete {
        /// First missing chunk.
        missing_chunk: u32,
    },
    /// The assembled bytes do not match the announced CRC-32 or SHA-256.
    ChecksumMismatch,
    /// tract could not parse, type or optimise the model.
    InvalidModel,
    /// A measure request for a model the agent does not hold.
    UnknownModel,
    /// The requested input shape does not fit the model.
    InputShapeMismatch,
    /// The model failed while running.
    RunFailed,
    /// The power sensor failed (I2C error, overflow).
    SensorFault,
    /// A request field is out of range (zero repetitions, chunk too big, ...).
    BadRequest,
    /// Anything else; the agent's log has the details.
    Internal,
    /// `Explain` or `Calibrate` on a board without a twin (its profile has no `[power_model]`).
    NoTwin,
    /// The model plans to use more memory than the board allows (`runtime.max_model_memory_bytes`).
    MemoryExceeded {
        /// Bytes the model plans to use.
        needed: u64,
        /// The board's limit.
        limit: u64,
    },
    /// The model runs too slowly for the request: measuring it would take longer than
    /// [`MeasureRequest::time_limit_ms`], the time the host waits.
    TooSlow {
        /// Board time of one run, microseconds.
        run_us: u64,
        /// Projected length of the whole measurement, milliseconds.
        projected_ms: u64,
        /// The request's time limit, milliseconds.
        limit_ms: u64,
    },
}

/// An error answer: a code plus a short human-readable detail (at most 240 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: WireError,
    /// Context for a person: the tract error, the field at fault. May be empty.
    pub detail: String,
}

/// Longest `ErrorResponse::detail`, bytes.
pub const MAX_ERROR_DETAIL_BYTES: usize = 240;

impl MeasureRequest {
    /// Inferences per run: the first dimension of `input_shape` (the batch size); `None` when
    /// the shape is empty.
    pub fn batch_size(&self) -> Option<u32> {
        self.input_shape.first().copied()
    }

    /// The longest a measurement of this request may take on the board, milliseconds: both
    /// idle windows, the thermal wait, warm-up, and every repetition at its minimum duration
    /// with slack (× 1.5 + 1 s) for slow runs. The host waits this long (plus its link timeout);
    /// the agent refuses a model whose runs would not fit, after its first run
    /// ([`WireError::TooSlow`]), so a slow model is an answer, never a silent timeout.
    pub fn time_limit_ms(&self) -> u64 {
        let p = &self.protocol;
        let idle_ms = 2 * u64::from(p.idle_window_ms);
        let window_ms = u64::from(p.min_duration_ms) * 3 / 2 + 1_000;
        let reps_ms = u64::from(p.max_repetitions.max(p.min_repetitions).max(1)) * window_ms;
        let warmup_ms = 5_000 + u64::from(p.warmup_runs);
        idle_ms + u64::from(self.thermal_wait_ms) + reps_ms + warmup_ms
    }
}

impl ErrorResponse {
    /// An error answer whose detail is cut to [`MAX_ERROR_DETAIL_BYTES`] at a character boundary.
    pub fn new(error: WireError, detail: &str) -> Self {
        let mut end = detail.len().min(MAX_ERROR_DETAIL_BYTES);
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        Self { error, detail: String::from(&detail[..end]) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_is_cut_at_a_char_boundary() {
        let long = "é".repeat(200); // 400 bytes, 2 bytes per char
        let error = ErrorResponse::new(WireError::Internal, &long);
        assert_eq!(error.detail.len(), MAX_ERROR_DETAIL_BYTES);
        let odd = alloc::format!("x{long}"); // boundary at 240 falls inside a char
        let error = ErrorResponse::new(WireError::BadRequest, &odd);
        assert_eq!(error.detail.len(), MAX_ERROR_DETAIL_BYTES - 1);
        assert_eq!(ErrorResponse::new(WireError::Internal, "short").detail, "short");
    }

    #[test]
    fn batch_size_is_the_first_dimension() {
        let mut request = MeasureRequest {
            hash: ModelHash([0; 32]),
            input_shape: alloc::vec![8, 1, 28, 28],
            input_seed: 0,
            protocol: MeasureProtocol::default(),
            thermal_wait_ms: 0,
        };
        assert_eq!(request.batch_size(), Some(8));
        request.input_shape.clear();
        assert_eq!(request.batch_size(), None);
    }
}
