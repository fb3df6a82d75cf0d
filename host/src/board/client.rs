//! The board client: what the host asks a `wattevo-agent`, over a [`Link`].
//!
//! [`BoardClient`] adds the session to the link: the handshake (protocol version checked, the
//! agent's limits remembered), the models the agent is known to hold (so a model is uploaded
//! once), and one method per request. Every method goes through [`BoardClient::call`]: the
//! reply is paired with its request by the protocol crate ([`wattevo_proto::Request`]), never
//! matched by hand here.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use wattevo_proto::{
    CalibrateRequest, CalibrationReport, ExplainRequest, Explanation, HelloRequest, HelloResponse, MAX_CHUNK_BYTES,
    MAX_MODEL_BYTES, MeasureProtocol, MeasureRequest, Measurement, ModelHash, PROTOCOL_VERSION, PingRequest,
    REFERENCE_MODEL_COUNT, ReadSensorRequest, Request, SensorReadingResponse, WireError,
};

use super::error::ClientError;
use super::link::{Link, LinkLabel, LinkStats};
use super::upload::{ModelUpload, UploadReport, UploadSkip};

/// A protocol client over one port.
#[derive(Debug)]
pub struct BoardClient<P> {
    link: Link<P>,
    hello: Option<HelloResponse>,
    held: HeldModels,
}

impl<P: Read + Write> BoardClient<P> {
    /// A client over `port`; `timeout` bounds the wait for one ordinary answer. The port's own
    /// read timeout should be short (tens of milliseconds): the client loops until its deadline.
    pub fn new(port: P, label: LinkLabel, timeout: Duration) -> Self {
        Self { link: Link::new(port, label, timeout), hello: None, held: HeldModels::default() }
    }

    /// The board and port this client talks to.
    pub fn label(&self) -> &LinkLabel {
        self.link.label()
    }

    /// Traffic so far.
    pub fn stats(&self) -> LinkStats {
        self.link.stats()
    }

    /// The agent's handshake, once [`BoardClient::hello`] succeeded.
    pub fn handshake(&self) -> Option<&HelloResponse> {
        self.hello.as_ref()
    }

    /// Gives the port back (to reconnect a fresh client over the same link).
    pub fn into_port(self) -> P {
        self.link.into_port()
    }

    /// Writes raw bytes to the port (fault-injection tests and benchmarks).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.link.send_raw(bytes)
    }

    /// Sends one request and waits up to `timeout` for its own response (see [`Link::call`]).
    pub fn call<R: Request>(&mut self, request: R, timeout: Duration) -> Result<R::Response, ClientError> {
        self.link.call(request, timeout)
    }

    /// Opens the session: checks the agent speaks [`PROTOCOL_VERSION`].
    pub fn hello(&mut self) -> Result<HelloResponse, ClientError> {
        let request = HelloRequest { protocol_version: PROTOCOL_VERSION, host_version: host_version() };
        let hello = self.call(request, self.link.timeout())?;
        if hello.protocol_version != PROTOCOL_VERSION {
            let link = self.label().to_string();
            return Err(ClientError::ProtocolMismatch { link, agent: hello.protocol_version, host: PROTOCOL_VERSION });
        }
        self.hello = Some(hello.clone());
        Ok(hello)
    }

    /// Sends a ping and returns the round-trip time.
    pub fn ping(&mut self, nonce: u32) -> Result<Duration, ClientError> {
        let started = Instant::now();
        self.call(PingRequest { nonce }, self.link.timeout())?;
        Ok(started.elapsed())
    }

    /// Reads the sensor for `duration_ms` with nothing running (wiring check, idle power).
    pub fn read_sensor(&mut self, duration_ms: u32) -> Result<SensorReadingResponse, ClientError> {
        let timeout = self.link.timeout() + Duration::from_millis(u64::from(duration_ms));
        self.call(ReadSensorRequest { duration_ms }, timeout)
    }

    /// Measures a model the agent holds. The wait is scaled to the request.
    pub fn measure(&mut self, request: &MeasureRequest) -> Result<Measurement, ClientError> {
        let timeout = measure_timeout(request, self.link.timeout());
        match self.call(request.clone(), timeout) {
            Err(err @ ClientError::Agent { error: WireError::UnknownModel, .. }) => {
                self.held.forget(&request.hash);
                Err(err)
            }
            other => other,
        }
    }

    /// The board twin's per-operator cost of a model the agent holds (planned for
    /// `input_shape`): a prediction, labelled with the twin.
    pub fn explain(&mut self, hash: ModelHash, input_shape: Vec<u32>) -> Result<Explanation, ClientError> {
        // Re-planning for another input shape may take a while on a slow board.
        let timeout = self.link.timeout() + Duration::from_secs(30);
        self.call(ExplainRequest { hash, input_shape }, timeout)
    }

    /// Measures the agent's reference models with `protocol` and fits its twin to them; waits
    /// for every reference model's measurement.
    pub fn calibrate(
        &mut self,
        protocol: &MeasureProtocol,
        thermal_wait_ms: u32,
    ) -> Result<CalibrationReport, ClientError> {
        let one = MeasureRequest {
            hash: ModelHash([0; 32]),
            input_shape: Vec::new(),
            input_seed: 0,
            protocol: protocol.clone(),
            thermal_wait_ms,
        };
        let models = u32::try_from(REFERENCE_MODEL_COUNT).unwrap_or(u32::MAX);
        let timeout = self.link.timeout() + measure_timeout(&one, Duration::from_secs(10)) * models;
        self.call(CalibrateRequest { protocol: protocol.clone() }, timeout)
    }

    /// Uploads `model` unless the agent holds it already; resumes a cut upload from the first
    /// chunk the agent is missing.
    pub fn upload(&mut self, model: &[u8]) -> Result<UploadReport, ClientError> {
        let max = self.max_model_bytes();
        if model.len() > max as usize {
            return Err(ClientError::ModelTooLarge { link: self.label().to_string(), bytes: model.len(), max });
        }
        let upload = ModelUpload::new(model, self.chunk_bytes());
        if self.held.contains(&upload.hash()) {
            return Ok(upload.skipped(UploadSkip::CachedByClient));
        }
        let report = upload.send(&mut self.link)?;
        self.held.insert(report.hash);
        Ok(report)
    }

    /// Uploads `model` if needed, then measures it; an agent that evicted the model since it was
    /// uploaded gets it again (once). `request.hash` is set from the bytes.
    pub fn measure_model(&mut self, model: &[u8], request: &MeasureRequest) -> Result<Measurement, ClientError> {
        let mut request = request.clone();
        request.hash = self.upload(model)?.hash;
        match self.measure(&request) {
            Err(ClientError::Agent { error: WireError::UnknownModel, .. }) => {
                self.upload(model)?;
                self.measure(&request)
            }
            other => other,
        }
    }

    /// Largest chunk to send: the smaller of ours and the agent's limit.
    fn chunk_bytes(&self) -> u16 {
        self.hello.as_ref().map_or(MAX_CHUNK_BYTES, |h| h.max_chunk_bytes.clamp(1, MAX_CHUNK_BYTES))
    }

    /// Largest model accepted by the agent.
    fn max_model_bytes(&self) -> u32 {
        self.hello.as_ref().map_or(MAX_MODEL_BYTES, |h| h.max_model_bytes)
    }
}

/// Models the agent is known to hold, most recent last (bounded: the agent evicts too).
#[derive(Debug, Default)]
struct HeldModels {
    hashes: VecDeque<ModelHash>,
}

impl HeldModels {
    const CAPACITY: usize = 64;

    fn contains(&self, hash: &ModelHash) -> bool {
        self.hashes.contains(hash)
    }

    fn insert(&mut self, hash: ModelHash) {
        self.forget(&hash);
        if self.hashes.len() == Self::CAPACITY {
            self.hashes.pop_front();
        }
        self.hashes.push_back(hash);
    }

    fn forget(&mut self, hash: &ModelHash) {
        self.hashes.retain(|held| held != hash);
    }
}

/// How long a measurement may take: idle windows, thermal wait, warm-up and every repetition
/// at its minimum duration (with slack for slow inferences), plus the ordinary timeout.
pub fn measure_timeout(request: &MeasureRequest, base: Duration) -> Duration {
    base + Duration::from_millis(request.time_limit_ms())
}

fn host_version() -> String {
    format!("wattevo {}", env!("CARGO_PKG_VERSION"))
}
