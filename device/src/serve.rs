//! The serve loop: frames in, one answer per request out, on any `Read + Write` port.
//!
//! Every request is answered with its own `seq`; a frame that does not decode is answered with
//! `Error(BadFrame)` under `seq` 0 and serving goes on. Every failure is a typed
//! [`ErrorResponse`] with a short detail; nothing on the wire can make the agent panic.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use wattevo_proto::{
    CalibrateRequest, CpuInfo, DeviceToHost, Envelope, ErrorResponse, ExplainRequest, FrameDecoder, HelloRequest,
    HelloResponse, HostToDevice, MAX_CHUNK_BYTES, MAX_MODEL_BYTES, MeasureRequest, PROTOCOL_VERSION, PingResponse,
    RuntimeSettings, SensorInfo, ThermalSettings, UploadStatusResponse, WireError, encode_frame,
};

use crate::measure::{MAX_WINDOW_MS, MeasureContext, MeasureError, measure, read_sensor};
use crate::runner::TRACT_VERSION;
use crate::sampler::Sampler;
use crate::sensor::PowerSensor;
use crate::sim::{LoadSignal, Twin};
use crate::store::{ModelStore, StoreError};
use crate::system::cpu_info;
use crate::twin_service;

/// Largest input tensor a measure request may ask for, elements.
pub const MAX_INPUT_ELEMENTS: u64 = 16 * 1024 * 1024;

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port failed.
    #[error("serial port I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The agent's state: board description, sensor, models.
#[derive(Debug)]
pub struct Agent {
    board_name: String,
    sensor: SensorInfo,
    cpu: CpuInfo,
    sampler: Sampler,
    store: ModelStore,
    load: Arc<LoadSignal>,
    thermal: ThermalSettings,
    /// The board's twin on a real board (a simulated board's is in `load`).
    twin: Option<Twin>,
}

fn error(code: WireError, detail: &str) -> DeviceToHost {
    DeviceToHost::Error(ErrorResponse::new(code, detail))
}

impl Agent {
    /// An agent for `board_name` reading `sensor` at `rate_hz` (0: conversion time).
    pub fn new(
        board_name: &str,
        sensor: Box<dyn PowerSensor>,
        rate_hz: u32,
        load: Arc<LoadSignal>,
        runtime: &RuntimeSettings,
        thermal: ThermalSettings,
    ) -> Self {
        let sensor_info = sensor.info();
        Self {
            board_name: board_name.to_string(),
            sensor: sensor_info,
            cpu: load.describe_cpu(cpu_info(runtime.tract_threads.max(1))),
            sampler: Sampler::new(sensor, rate_hz),
            store: ModelStore::new(runtime.model_cache_bytes).with_memory_limit(runtime.max_model_memory_bytes),
            load,
            thermal,
            twin: None,
        }
    }

    /// Gives a real board the twin `Explain` and `Calibrate` use (the profile's, when it has a
    /// `[power_model]`); a simulated board already runs on its twin.
    pub fn with_twin(mut self, twin: Option<Twin>) -> Self {
        self.twin = twin;
        self
    }

    fn board_twin(&self) -> Option<&Twin> {
        self.load.twin().or(self.twin.as_ref())
    }

    /// Answers one request.
    pub fn handle(&mut self, msg: HostToDevice) -> DeviceToHost {
        match msg {
            HostToDevice::Hello(req) => self.hello(&req),
            HostToDevice::Ping(p) => DeviceToHost::Pong(PingResponse { nonce: p.nonce }),
            HostToDevice::UploadBegin(req) => match self.store.begin(&req) {
                Ok(state) => DeviceToHost::UploadStatus(UploadStatusResponse { hash: req.hash, state }),
                Err(e) => store_error(&e),
            },
            HostToDevice::UploadChunk(req) => match self.store.chunk(&req.hash, req.index, &req.bytes) {
                Ok(()) => DeviceToHost::ChunkAck(wattevo_proto::ChunkAckResponse { hash: req.hash, index: req.index }),
                Err(e) => store_error(&e),
            },
            HostToDevice::UploadCommit(req) => match self.store.commit(&req.hash, req.crc32) {
                Ok(committed) => {
                    tracing::info!(hash = %req.hash, load_us = committed.load_us, "model committed");
                    DeviceToHost::Committed(committed)
                }
                Err(e) => store_error(&e),
            },
            HostToDevice::Measure(req) => self.measure(&req),
            HostToDevice::ReadSensor(req) => {
                if req.duration_ms == 0 || req.duration_ms > MAX_WINDOW_MS {
                    return error(WireError::BadRequest, "duration_ms must be 1..=600000");
                }
                let duration = Duration::from_millis(u64::from(req.duration_ms));
                match read_sensor(&mut self.sampler, self.sensor.kind, duration) {
                    Ok(r) => DeviceToHost::SensorReading(r),
                    Err(e) => measure_error(&e),
                }
            }
            HostToDevice::Explain(req) => self.explain(&req),
            HostToDevice::Calibrate(req) => self.calibrate(&req),
        }
    }

    fn explain(&mut self, req: &ExplainRequest) -> DeviceToHost {
        let Some(twin) = self.board_twin().cloned() else { return no_twin(&self.board_name) };
        let Some(shape) = input_shape(&req.input_shape) else { return bad_shape() };
        match self.store.model_for(&req.hash, &shape) {
            Ok(model) => DeviceToHost::Explanation(twin_service::explain(&twin, model, req.hash)),
            Err(e) => store_error(&e),
        }
    }

    fn calibrate(&mut self, req: &CalibrateRequest) -> DeviceToHost {
        let Some(twin) = self.board_twin().cloned() else { return no_twin(&self.board_name) };
        let mut ctx = MeasureContext {
            sampler: &mut self.sampler,
            load: &self.load,
            sensor: self.sensor.kind,
            thermal: &self.thermal,
        };
        match twin_service::calibrate(&twin, &self.board_name, &req.protocol, &mut ctx) {
            Ok(report) => DeviceToHost::Calibration(report),
            Err(twin_service::CalibrateError::Measure { source, .. }) => measure_error(&source),
            Err(e) => {
                tracing::warn!(error = %e, "calibration failed");
                error(WireError::Internal, &e.to_string())
            }
        }
    }

    fn hello(&self, req: &HelloRequest) -> DeviceToHost {
        tracing::info!(host_version = %req.host_version, protocol = req.protocol_version, "hello");
        if req.protocol_version != PROTOCOL_VERSION {
            let code = WireError::VersionMismatch { agent: PROTOCOL_VERSION, host: req.protocol_version };
            return error(code, "the agent speaks another protocol version");
        }
        DeviceToHost::Hello(HelloResponse {
            protocol_version: PROTOCOL_VERSION,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            tract_version: TRACT_VERSION.to_string(),
            board_name: self.board_name.clone(),
            sensor: self.sensor.clone(),
            cpu: self.cpu.clone(),
            max_model_bytes: MAX_MODEL_BYTES,
            max_chunk_bytes: MAX_CHUNK_BYTES,
            twin: self.load.twin().map(|twin| twin.soc.label()).unwrap_or_default(),
        })
    }

    fn measure(&mut self, req: &MeasureRequest) -> DeviceToHost {
        let Some(shape) = input_shape(&req.input_shape) else { return bad_shape() };
        let model = match self.store.model_for(&req.hash, &shape) {
            Ok(model) => model,
            Err(e) => return store_error(&e),
        };
        let mut ctx = MeasureContext {
            sampler: &mut self.sampler,
            load: &self.load,
            sensor: self.sensor.kind,
            thermal: &self.thermal,
        };
        match measure(model, req, &mut ctx) {
            Ok(m) => {
                tracing::info!(hash = %req.hash, energy_j = m.energy_per_inference_j.mean, "measured");
                DeviceToHost::Measurement(m)
            }
            Err(e) => measure_error(&e),
        }
    }
}

/// A requested input shape; `None` for an empty, zero or too large one ([`bad_shape`]).
fn input_shape(dims: &[u32]) -> Option<Vec<usize>> {
    let elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)));
    if dims.is_empty() || !matches!(elements, Some(1..=MAX_INPUT_ELEMENTS)) {
        return None;
    }
    Some(dims.iter().map(|&d| d as usize).collect())
}

fn bad_shape() -> DeviceToHost {
    error(WireError::BadRequest, "input_shape empty, zero or too large")
}

fn no_twin(board: &str) -> DeviceToHost {
    error(WireError::NoTwin, &format!("board {board} has no twin: its profile has no [power_model]"))
}

fn store_error(e: &StoreError) -> DeviceToHost {
    tracing::warn!("{e}");
    error(e.wire(), &e.to_string())
}

fn measure_error(e: &MeasureError) -> DeviceToHost {
    tracing::warn!("{e}");
    let code = match e {
        MeasureError::BadRequest(_) => WireError::BadRequest,
        MeasureError::Run(_) => WireError::RunFailed,
        MeasureError::Sensor(_) => WireError::SensorFault,
        MeasureError::Sampler(_) => WireError::Internal,
        &MeasureError::TooSlow { run_us, projected_ms, limit_ms } => {
            WireError::TooSlow { run_us, projected_ms, limit_ms }
        }
    };
    error(code, &e.to_string())
}

/// Writes one answer; a message too large to frame becomes an `Internal` error.
fn reply(port: &mut impl Write, seq: u32, msg: DeviceToHost) -> std::io::Result<()> {
    let frame = match encode_frame(&Envelope { seq, msg }) {
        Ok(frame) => frame,
        Err(e) => {
            let msg = error(WireError::Internal, &format!("answer could not be framed: {e}"));
            encode_frame(&Envelope { seq, msg }).map_err(|e| std::io::Error::other(e.to_string()))?
        }
    };
    write_patiently(port, &frame)?;
    port.flush()
}

/// Writes all of `bytes`, waiting as long as the host takes to read: a write that times out
/// or would block is backpressure (the host is busy, or has not read its answers yet), which
/// slows the agent down instead of ending it. Only a real failure (the host hung up) stops it.
fn write_patiently(port: &mut impl Write, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match port.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A pseudo-terminal slave reads and writes EIO once the master side is closed: a hang-up.
fn is_hang_up(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EIO)
}

/// Serves `port` until it reaches end of file or EIO (the host hung up) or fails.
pub fn serve<P: Read + Write>(agent: &mut Agent, port: &mut P) -> Result<(), ServeError> {
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match port.read(&mut buf) {
            Ok(0) => return Ok(()),
            Err(e) if is_hang_up(&e) => return Ok(()),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for frame in decoder.feed::<HostToDevice>(&buf[..n]) {
            match frame {
                Ok(envelope) => {
                    let answer = agent.handle(envelope.msg);
                    match reply(port, envelope.seq, answer) {
                        Err(e) if is_hang_up(&e) => return Ok(()),
                        other => other?,
                    }
                }
                Err(e) => {
                    tracing::debug!("dropped a bad frame: {e}");
                    match reply(port, 0, error(WireError::BadFrame, &e.to_string())) {
                        Err(e) if is_hang_up(&e) => return Ok(()),
                        other => other?,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
