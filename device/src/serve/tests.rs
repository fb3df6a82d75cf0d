//! The serve loop in-process over a `UnixStream` pair: handshake, uploads, measurement and
//! fault injection (corrupt frames, cut uploads, oversized uploads, invalid ONNX).

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wattevo_proto::{
    MeasureProtocol, ModelHash, PingRequest, PowerModelSettings, ReadSensorRequest, SensorKind, UploadBeginRequest,
    UploadChunkRequest, UploadCommitRequest, UploadState, crc32,
};

use super::*;
use crate::sim::{CpuLoad, ModelSensor, PowerModel};
use crate::test_support::{OnnxCnn, build_cnn};

fn agent() -> Agent {
    let settings = PowerModelSettings {
        supply_v: 5.0,
        idle_w: 2.7,
        core_w: 0.9,
        dram_nj_per_byte: 0.5,
        noise_w: 0.01,
        seed: 3,
        twin: None,
    };
    let load = LoadSignal::new();
    let model = PowerModel::with_cpu_load(settings, Arc::clone(&load), CpuLoad::Fixed(0.25));
    let sensor = Box::new(ModelSensor::new(model, Duration::from_micros(532)));
    let thermal = ThermalSettings { max_start_c: 200.0, max_wait_ms: 0 };
    Agent::new("test", sensor, 0, load, &RuntimeSettings::default(), thermal)
}

/// The host end of a link to an agent served on a thread.
struct Link {
    stream: UnixStream,
    decoder: FrameDecoder,
    inbox: VecDeque<Envelope<DeviceToHost>>,
    bad_frame_replies: usize,
    server: Option<JoinHandle<Agent>>,
}

impl Link {
    fn open(mut agent: Agent) -> Self {
        let (host, mut device) = UnixStream::pair().expect("socket pair");
        let server = std::thread::spawn(move || {
            serve(&mut agent, &mut device).expect("serve");
            agent
        });
        Self {
            stream: host,
            decoder: FrameDecoder::new(),
            inbox: VecDeque::new(),
            bad_frame_replies: 0,
            server: Some(server),
        }
    }

    /// Hangs up; returns the agent once its loop saw the end of the stream.
    fn cut(mut self) -> Agent {
        self.stream.shutdown(std::net::Shutdown::Both).expect("shutdown");
        self.server.take().expect("server").join().expect("serve thread")
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends `msg` under `seq`; returns the answer with that seq (skipping seq-0 BadFrame answers).
    fn call(&mut self, seq: u32, msg: HostToDevice) -> DeviceToHost {
        self.send_raw(&encode_frame(&Envelope { seq, msg }).expect("encode"));
        loop {
            if let Some(envelope) = self.inbox.pop_front() {
                if envelope.seq == seq {
                    return envelope.msg;
                }
                assert_eq!(envelope.seq, 0, "an answer for another request: {envelope:?}");
                assert!(matches!(&envelope.msg, DeviceToHost::Error(e) if e.error == WireError::BadFrame));
                self.bad_frame_replies += 1;
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf).expect("read");
            assert!(n > 0, "the agent hung up");
            for frame in self.decoder.feed::<DeviceToHost>(&buf[..n]) {
                self.inbox.push_back(frame.expect("the agent sends valid frames"));
            }
        }
    }
}

fn wire_error(answer: &DeviceToHost) -> WireError {
    match answer {
        DeviceToHost::Error(e) => {
            assert!(e.detail.len() <= wattevo_proto::MAX_ERROR_DETAIL_BYTES);
            e.error
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

fn ping(link: &mut Link, seq: u32, nonce: u32) {
    let answer = link.call(seq, HostToDevice::Ping(PingRequest { nonce }));
    assert_eq!(answer, DeviceToHost::Pong(PingResponse { nonce }));
}

const CHUNK: u16 = 512;

fn begin(link: &mut Link, bytes: &[u8]) -> DeviceToHost {
    let req = UploadBeginRequest { hash: ModelHash::of(bytes), total_bytes: bytes.len() as u32, chunk_bytes: CHUNK };
    link.call(1, HostToDevice::UploadBegin(req))
}

fn send_chunks(link: &mut Link, bytes: &[u8], range: std::ops::Range<usize>) {
    for (i, chunk) in bytes.chunks(usize::from(CHUNK)).enumerate().take(range.end).skip(range.start) {
        let req = UploadChunkRequest { hash: ModelHash::of(bytes), index: i as u32, bytes: chunk.to_vec() };
        let answer = link.call(100 + i as u32, HostToDevice::UploadChunk(req));
        assert!(matches!(answer, DeviceToHost::ChunkAck(a) if a.index == i as u32), "{answer:?}");
    }
}

fn commit(link: &mut Link, bytes: &[u8]) -> DeviceToHost {
    link.call(2, HostToDevice::UploadCommit(UploadCommitRequest { hash: ModelHash::of(bytes), crc32: crc32(bytes) }))
}

#[test]
fn hello_checks_the_version_and_describes_the_board() {
    let mut link = Link::open(agent());
    let hello = |v: u16| HostToDevice::Hello(HelloRequest { protocol_version: v, host_version: "test".into() });
    match link.call(7, hello(PROTOCOL_VERSION)) {
        DeviceToHost::Hello(h) => {
            assert_eq!(h.board_name, "test");
            assert_eq!(h.sensor.kind, SensorKind::PowerModel);
            assert_eq!(h.tract_version, TRACT_VERSION);
            assert_eq!(h.cpu.tract_threads, 1);
        }
        other => panic!("{other:?}"),
    }
    let mismatch = WireError::VersionMismatch { agent: PROTOCOL_VERSION, host: PROTOCOL_VERSION + 1 };
    assert_eq!(wire_error(&link.call(8, hello(PROTOCOL_VERSION + 1))), mismatch);
    ping(&mut link, 9, 42);
    link.cut();
}

#[test]
fn upload_measure_and_read_sensor() {
    let mut link = Link::open(agent());
    let bytes = build_cnn(&OnnxCnn::small(), 17);
    assert!(matches!(begin(&mut link, &bytes), DeviceToHost::UploadStatus(_)));
    let chunks = bytes.len().div_ceil(usize::from(CHUNK));
    send_chunks(&mut link, &bytes, 0..chunks);
    assert!(matches!(commit(&mut link, &bytes), DeviceToHost::Committed(c) if c.output_shape == vec![1, 10]));
    let req = MeasureRequest {
        hash: ModelHash::of(&bytes),
        input_shape: vec![1, 1, 8, 8],
        input_seed: 5,
        protocol: MeasureProtocol {
            warmup_runs: 3,
            min_runs: 5,
            min_duration_ms: 50,
            min_repetitions: 2,
            max_repetitions: 3,
            target_ci_pct: 2.0,
            idle_window_ms: 50,
            idle_mismatch_pct: 5.0,
        },
        thermal_wait_ms: 0,
    };
    let DeviceToHost::Measurement(m) = link.call(3, HostToDevice::Measure(req.clone())) else {
        panic!("no measurement");
    };
    assert_eq!(m.hash, ModelHash::of(&bytes));
    assert!((m.dynamic_power_w.mean - (m.total_power_w.mean - m.idle_power_w)).abs() < 1e-9);
    let product_j = m.total_power_w.mean * m.latency_mean_us * 1e-6;
    crate::measure::tests::assert_within_sampling_error(m.energy_per_inference_j, product_j);
    let unknown = MeasureRequest { hash: ModelHash([9; 32]), ..req.clone() };
    assert_eq!(wire_error(&link.call(4, HostToDevice::Measure(unknown))), WireError::UnknownModel);
    let wrong_shape = MeasureRequest { input_shape: vec![1, 3, 8, 8], ..req };
    assert_eq!(wire_error(&link.call(5, HostToDevice::Measure(wrong_shape))), WireError::InputShapeMismatch);
    let DeviceToHost::SensorReading(r) = link.call(6, HostToDevice::ReadSensor(ReadSensorRequest { duration_ms: 30 }))
    else {
        panic!("no reading");
    };
    assert!((r.power_w - 2.925).abs() < 0.02, "idle {}", r.power_w);
    link.cut();
}

#[test]
fn a_thousand_corrupt_frames_interleaved_with_pings() {
    let mut link = Link::open(agent());
    let mut rng = ChaCha8Rng::seed_from_u64(1000);
    let valid = encode_frame(&Envelope { seq: 1, msg: HostToDevice::Ping(PingRequest { nonce: 5 }) }).expect("frame");
    for i in 0..1000u32 {
        let mut bad: Vec<u8> = if i % 2 == 0 {
            (0..rng.random_range(1..300)).map(|_| rng.random_range(1..=255u8)).collect()
        } else {
            // A valid frame with one byte changed (never into a delimiter).
            let mut b = valid[..valid.len() - 1].to_vec();
            let at = rng.random_range(0..b.len());
            b[at] = b[at].wrapping_add(rng.random_range(1..=254u8)).max(1);
            b
        };
        bad.push(0);
        link.send_raw(&bad);
        ping(&mut link, i + 10, rng.random());
    }
    // Every corrupt frame got exactly one BadFrame answer (the CRC rejects every mutation).
    assert_eq!(link.bad_frame_replies, 1000);
    link.cut();
}

#[test]
fn a_cut_upload_resumes_on_a_new_connection() {
    let bytes = build_cnn(&OnnxCnn { channels: 8, ..OnnxCnn::small() }, 23);
    let chunks = bytes.len().div_ceil(usize::from(CHUNK));
    assert!(chunks >= 4, "{chunks} chunks");
    let mut link = Link::open(agent());
    begin(&mut link, &bytes);
    send_chunks(&mut link, &bytes, 0..chunks / 2);
    let agent = link.cut();
    let mut link = Link::open(agent);
    let resumed = UploadState::Receiving { next_chunk: (chunks / 2) as u32, received: (chunks / 2) as u32 };
    assert!(matches!(begin(&mut link, &bytes), DeviceToHost::UploadStatus(s) if s.state == resumed));
    send_chunks(&mut link, &bytes, chunks / 2 - 1..chunks);
    assert!(matches!(commit(&mut link, &bytes), DeviceToHost::Committed(_)));
    assert!(matches!(begin(&mut link, &bytes), DeviceToHost::UploadStatus(s) if s.state == UploadState::Loaded));
    link.cut();
}

#[test]
fn oversized_and_invalid_uploads_are_refused_and_serving_goes_on() {
    let mut link = Link::open(agent());
    let huge = UploadBeginRequest { hash: ModelHash([1; 32]), total_bytes: u32::MAX, chunk_bytes: CHUNK };
    let answer = link.call(1, HostToDevice::UploadBegin(huge));
    assert_eq!(wire_error(&answer), WireError::ModelTooLarge { announced: u32::MAX, max: MAX_MODEL_BYTES });
    ping(&mut link, 2, 1);
    let garbage: Vec<u8> = (0..1500u32).map(|i| (i * 7 % 251) as u8).collect();
    begin(&mut link, &garbage);
    send_chunks(&mut link, &garbage, 0..3);
    assert_eq!(wire_error(&commit(&mut link, &garbage)), WireError::InvalidModel);
    ping(&mut link, 3, 2);
    let stray = UploadChunkRequest { hash: ModelHash([4; 32]), index: 0, bytes: vec![1] };
    assert_eq!(wire_error(&link.call(4, HostToDevice::UploadChunk(stray))), WireError::UnknownUpload);
    ping(&mut link, 5, 3);
    link.cut();
}

/// A port whose writes time out `stalls` times (the host is not reading) before accepting a
/// few bytes at a time.
struct SlowReader {
    stalls: usize,
    written: Vec<u8>,
}

impl Write for SlowReader {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.stalls > 0 {
            self.stalls -= 1;
            return Err(ErrorKind::TimedOut.into());
        }
        let n = bytes.len().min(3);
        self.written.extend_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_answer_waits_for_a_host_that_does_not_read_instead_of_ending_the_agent() {
    let mut port = SlowReader { stalls: 50, written: Vec::new() };
    reply(&mut port, 7, DeviceToHost::Pong(PingResponse { nonce: 9 })).expect("backpressure is not a failure");
    let expected =
        encode_frame(&Envelope { seq: 7, msg: DeviceToHost::Pong(PingResponse { nonce: 9 }) }).expect("frame");
    assert_eq!(port.written, expected, "the whole frame, in order");
}
