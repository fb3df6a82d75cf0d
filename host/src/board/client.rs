//! The board client: speaks the wire protocol to a `wattevo-agent` over any byte port.
//!
//! [`BoardClient`] works over anything that is `Read + Write` whose reads time out (a serial
//! port, the master side of a pseudo-terminal, a socket with a read timeout). It numbers every
//! request, matches answers by `seq`, discards stale or garbled frames, and turns an agent's
//! `Error` answer into a typed [`ClientError`] naming the board and the port.
//!
//! Frames are sent as `00 | frame`: the leading delimiter flushes any line noise the agent may
//! hold, so one burst of garbage never swallows the next request.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wattevo_proto::{
    DELIMITER, DeviceToHost, Envelope, FrameDecoder, HelloRequest, HelloResponse, HostToDevice, MAX_CHUNK_BYTES,
    MAX_MODEL_BYTES, MeasureRequest, Measurement, ModelHash, PROTOCOL_VERSION, PingRequest, ReadSensorRequest,
    SensorReadingResponse, WireError, encode_frame,
};

pub use super::error::ClientError;
use super::upload::HeldModels;

/// Where a client talks: used in every error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLabel {
    /// Board profile name (`sim`, `pi4b`).
    pub board: String,
    /// Port path (`/dev/ttyUSB0`, `/dev/pts/3`).
    pub port: String,
}

impl std::fmt::Display for LinkLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "board {} on {}", self.board, self.port)
    }
}

/// Byte counts of one client's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Bytes written to the port, delimiters included.
    pub bytes_sent: u64,
    /// Bytes read from the port.
    pub bytes_received: u64,
    /// Well-formed answers whose `seq` matched no outstanding request (dropped).
    pub stale_frames: u64,
    /// Frames that failed COBS, CRC or decoding (dropped).
    pub bad_frames: u64,
}

/// A protocol client over one port.
#[derive(Debug)]
pub struct BoardClient<P> {
    pub(super) port: P,
    pub(super) label: LinkLabel,
    pub(super) timeout: Duration,
    decoder: FrameDecoder,
    pending: VecDeque<Envelope<DeviceToHost>>,
    next_seq: u32,
    pub(super) stats: LinkStats,
    pub(super) hello: Option<HelloResponse>,
    pub(super) held: HeldModels,
}

impl<P: Read + Write> BoardClient<P> {
    /// A client over `port`; `timeout` bounds the wait for one ordinary answer. The port's own
    /// read timeout should be short (tens of milliseconds): the client loops until its deadline.
    pub fn new(port: P, label: LinkLabel, timeout: Duration) -> Self {
        Self {
            port,
            label,
            timeout,
            decoder: FrameDecoder::new(),
            pending: VecDeque::new(),
            next_seq: 1,
            stats: LinkStats::default(),
            hello: None,
            held: HeldModels::default(),
        }
    }

    /// The board and port this client talks to.
    pub fn label(&self) -> &LinkLabel {
        &self.label
    }

    /// Traffic so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// The agent's handshake, once [`BoardClient::hello`] succeeded.
    pub fn handshake(&self) -> Option<&HelloResponse> {
        self.hello.as_ref()
    }

    /// Gives the port back (to reconnect a fresh client over the same link).
    pub fn into_port(self) -> P {
        self.port
    }

    /// Opens the session: checks the agent speaks [`PROTOCOL_VERSION`].
    pub fn hello(&mut self) -> Result<HelloResponse, ClientError> {
        let request =
            HostToDevice::Hello(HelloRequest { protocol_version: PROTOCOL_VERSION, host_version: host_version() });
        let answer = self.request(request, self.timeout);
        let hello = match answer {
            Ok(DeviceToHost::Hello(hello)) => hello,
            Ok(other) => return Err(self.unexpected("Hello", &other)),
            Err(ClientError::Agent { error: WireError::VersionMismatch { agent, host }, .. }) => {
                return Err(self.mismatch(agent, host));
            }
            Err(err) => return Err(err),
        };
        if hello.protocol_version != PROTOCOL_VERSION {
            return Err(self.mismatch(hello.protocol_version, PROTOCOL_VERSION));
        }
        self.hello = Some(hello.clone());
        Ok(hello)
    }

    /// Sends a ping and returns the round-trip time.
    pub fn ping(&mut self, nonce: u32) -> Result<Duration, ClientError> {
        let started = Instant::now();
        match self.request(HostToDevice::Ping(PingRequest { nonce }), self.timeout)? {
            DeviceToHost::Pong(pong) if pong.nonce == nonce => Ok(started.elapsed()),
            other => Err(self.unexpected("Ping", &other)),
        }
    }

    /// Reads the sensor for `duration_ms` with nothing running (wiring check, idle power).
    pub fn read_sensor(&mut self, duration_ms: u32) -> Result<SensorReadingResponse, ClientError> {
        let timeout = self.timeout + Duration::from_millis(u64::from(duration_ms));
        match self.request(HostToDevice::ReadSensor(ReadSensorRequest { duration_ms }), timeout)? {
            DeviceToHost::SensorReading(reading) => Ok(reading),
            other => Err(self.unexpected("ReadSensor", &other)),
        }
    }

    /// Measures a model the agent holds. The wait is scaled to the request.
    pub fn measure(&mut self, request: &MeasureRequest) -> Result<Measurement, ClientError> {
        let timeout = measure_timeout(request, self.timeout);
        match self.request(HostToDevice::Measure(request.clone()), timeout) {
            Ok(DeviceToHost::Measurement(measurement)) => Ok(measurement),
            Ok(other) => Err(self.unexpected("Measure", &other)),
            Err(err @ ClientError::Agent { error: WireError::UnknownModel, .. }) => {
                self.held.forget(&request.hash);
                Err(err)
            }
            Err(err) => Err(err),
        }
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

    /// Sends one request and waits up to `timeout` for the answer with the same `seq`.
    /// An `Error` answer becomes [`ClientError::Agent`].
    pub fn request(&mut self, msg: HostToDevice, timeout: Duration) -> Result<DeviceToHost, ClientError> {
        let name = msg.name();
        let seq = self.send(msg, name)?;
        let answer = self.wait_for(seq, name, timeout)?;
        match answer {
            DeviceToHost::Error(err) => Err(ClientError::Agent {
                link: self.label.to_string(),
                request: name,
                error: err.error,
                detail: err.detail,
            }),
            other => Ok(other),
        }
    }

    /// Writes raw bytes to the port (fault-injection tests and benchmarks).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.write_all(bytes, "raw bytes")
    }

    fn send(&mut self, msg: HostToDevice, name: &'static str) -> Result<u32, ClientError> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
        let frame = encode_frame(&Envelope { seq, msg }).map_err(|err| ClientError::Encode {
            link: self.label.to_string(),
            request: name,
            reason: err,
        })?;
        let mut wire = Vec::with_capacity(frame.len() + 1);
        wire.push(DELIMITER);
        wire.extend_from_slice(&frame);
        self.write_all(&wire, name)?;
        Ok(seq)
    }

    fn write_all(&mut self, bytes: &[u8], name: &'static str) -> Result<(), ClientError> {
        self.port.write_all(bytes).and_then(|()| self.port.flush()).map_err(|source| ClientError::Io {
            link: self.label.to_string(),
            request: name,
            source,
        })?;
        self.stats.bytes_sent += bytes.len() as u64;
        Ok(())
    }

    fn wait_for(&mut self, seq: u32, name: &'static str, timeout: Duration) -> Result<DeviceToHost, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            while let Some(envelope) = self.pending.pop_front() {
                if envelope.seq == seq {
                    return Ok(envelope.msg);
                }
                self.stats.stale_frames += 1;
                tracing::debug!(seq = envelope.seq, waiting_for = seq, "dropped a stale answer");
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    link: self.label.to_string(),
                    request: name,
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            self.read_some(&mut buf, name)?;
        }
    }

    fn read_some(&mut self, buf: &mut [u8], name: &'static str) -> Result<(), ClientError> {
        match self.port.read(buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(2)),
            Ok(n) => {
                self.stats.bytes_received += n as u64;
                for frame in self.decoder.feed::<DeviceToHost>(&buf[..n]) {
                    match frame {
                        Ok(envelope) => self.pending.push_back(envelope),
                        Err(err) => {
                            self.stats.bad_frames += 1;
                            tracing::debug!(%err, "dropped a bad frame from the agent");
                        }
                    }
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(source) => return Err(ClientError::Io { link: self.label.to_string(), request: name, source }),
        }
        Ok(())
    }

    pub(super) fn unexpected(&self, request: &'static str, got: &DeviceToHost) -> ClientError {
        ClientError::Unexpected { link: self.label.to_string(), request, got: format!("{got:?}") }
    }

    fn mismatch(&self, agent: u16, host: u16) -> ClientError {
        ClientError::ProtocolMismatch { link: self.label.to_string(), agent, host }
    }

    /// Largest chunk to send: the smaller of ours and the agent's limit.
    pub(super) fn chunk_bytes(&self) -> u16 {
        self.hello.as_ref().map_or(MAX_CHUNK_BYTES, |h| h.max_chunk_bytes.clamp(1, MAX_CHUNK_BYTES))
    }

    /// Largest model accepted by the agent.
    pub(super) fn max_model_bytes(&self) -> u32 {
        self.hello.as_ref().map_or(MAX_MODEL_BYTES, |h| h.max_model_bytes)
    }
}

/// SHA-256 of a model's bytes, the key the agent stores it under.
pub fn model_hash(model: &[u8]) -> ModelHash {
    ModelHash(Sha256::digest(model).into())
}

/// How long a measurement may take: idle windows, thermal wait, warm-up and every repetition
/// at its minimum duration (with slack for slow inferences), plus the ordinary timeout.
pub fn measure_timeout(request: &MeasureRequest, base: Duration) -> Duration {
    let idle_ms = 2 * u64::from(request.idle_window_ms);
    let window_ms = u64::from(request.min_duration_ms) * 3 / 2 + 1_000;
    let reps_ms = u64::from(request.max_repetitions.max(request.min_repetitions).max(1)) * window_ms;
    let warmup_ms = 5_000 + u64::from(request.warmup_runs);
    base + Duration::from_millis(idle_ms + u64::from(request.thermal_wait_ms) + reps_ms + warmup_ms)
}

fn host_version() -> String {
    format!("wattevo {}", env!("CARGO_PKG_VERSION"))
}
