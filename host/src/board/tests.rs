//! Tests of the client (and its link and upload) against the fake agent over a Unix socket pair.

use std::collections::BTreeSet;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::Duration;

use wattevo_proto::{
    MeasureProtocol, MeasureRequest, ModelHash, PROTOCOL_VERSION, UploadBeginRequest, UploadChunkRequest, WireError,
};

use super::fake::{FakeAgent, FakeFaults};
use super::{BoardClient, ClientError, LinkLabel, UploadSkip};

fn label() -> LinkLabel {
    LinkLabel { board: "fake".into(), port: "socketpair".into() }
}

fn spawn_fake(faults: FakeFaults) -> (UnixStream, JoinHandle<FakeAgent>) {
    let (host, agent) = UnixStream::pair().expect("socket pair");
    host.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
    agent.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
    let handle = std::thread::spawn(move || FakeAgent::new(faults).serve(agent));
    (host, handle)
}

fn client(port: UnixStream, timeout_ms: u64) -> BoardClient<UnixStream> {
    BoardClient::new(port, label(), Duration::from_millis(timeout_ms))
}

fn model(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8).collect()
}

fn measure_request(hash: ModelHash) -> MeasureRequest {
    MeasureRequest {
        hash,
        input_shape: vec![1, 1, 8, 8],
        input_seed: 1,
        protocol: MeasureProtocol {
            warmup_runs: 1,
            min_runs: 1,
            min_duration_ms: 10,
            min_repetitions: 1,
            max_repetitions: 1,
            target_ci_pct: 5.0,
            idle_window_ms: 10,
            idle_mismatch_pct: 5.0,
        },
        thermal_wait_ms: 0,
    }
}

#[test]
fn hello_and_ping_round_trip() {
    let (port, _agent) = spawn_fake(FakeFaults::default());
    let mut client = client(port, 1000);
    let hello = client.hello().expect("hello");
    assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
    assert_eq!(client.handshake().map(|h| h.board_name.as_str()), Some("fake"));
    for nonce in [0, 7, u32::MAX] {
        client.ping(nonce).expect("ping");
    }
}

#[test]
fn other_protocol_version_is_a_typed_error() {
    let faults = FakeFaults { protocol_version: Some(999), ..FakeFaults::default() };
    let (port, _agent) = spawn_fake(faults);
    let err = client(port, 1000).hello().expect_err("mismatch");
    assert!(matches!(err, ClientError::ProtocolMismatch { agent: 999, host: PROTOCOL_VERSION, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("board fake on socketpair") && text.contains("redeploy"), "{text}");
}

#[test]
fn upload_sends_every_chunk_then_skips_held_models() {
    let (port, _agent) = spawn_fake(FakeFaults::default());
    let mut client = client(port, 1000);
    client.hello().expect("hello");
    let bytes = model(5000, 1);
    let first = client.upload(&bytes).expect("upload");
    assert_eq!((first.chunks_total, first.chunks_sent, first.resends), (3, 3, 0));
    assert_eq!(first.hash, ModelHash::of(&bytes));
    assert!(first.committed.is_some() && first.skipped.is_none());
    assert!(first.wire_bytes > 5000 && first.wire_bytes < 5000 + 5 * 64, "{}", first.wire_bytes);
    let again = client.upload(&bytes).expect("cached");
    assert_eq!(again.skipped, Some(UploadSkip::CachedByClient));
    let port = client.into_port();
    let mut fresh = BoardClient::new(port, label(), Duration::from_secs(1));
    let held = fresh.upload(&bytes).expect("agent holds");
    assert_eq!((held.skipped, held.chunks_sent), (Some(UploadSkip::AgentHolds), 0));
    let measurement = fresh.measure(&measure_request(held.hash)).expect("measure");
    assert_eq!(measurement.hash, held.hash);
}

#[test]
fn lost_and_garbled_acks_are_resent() {
    let faults = FakeFaults {
        drop_first_ack: BTreeSet::from([1]),
        garble_first_ack: BTreeSet::from([3]),
        ..FakeFaults::default()
    };
    let (port, agent) = spawn_fake(faults);
    let mut client = client(port, 200);
    let report = client.upload(&model(9000, 2)).expect("upload despite lost acks");
    assert_eq!((report.chunks_total, report.chunks_sent, report.resends), (5, 7, 2));
    assert!(client.stats().bad_frames >= 1);
    drop(client);
    assert_eq!(agent.join().expect("agent").chunks_received, 7);
}

#[test]
fn cut_upload_resumes_from_first_missing_chunk() {
    let (port, _agent) = spawn_fake(FakeFaults::default());
    let bytes = model(10_000, 3);
    let hash = ModelHash::of(&bytes);
    let mut first = client(port, 1000);
    let begin = UploadBeginRequest { hash, total_bytes: bytes.len() as u32, chunk_bytes: 2048 };
    first.call(begin, Duration::from_secs(1)).expect("begin");
    for index in 0..2u32 {
        let chunk = bytes[index as usize * 2048..(index as usize + 1) * 2048].to_vec();
        first.call(UploadChunkRequest { hash, index, bytes: chunk }, Duration::from_secs(1)).expect("chunk");
    }
    let mut second = client(first.into_port(), 1000);
    let report = second.upload(&bytes).expect("resume");
    assert_eq!((report.first_chunk, report.chunks_sent, report.chunks_total), (2, 3, 5));
    assert!(report.committed.is_some());
}

#[test]
fn agent_error_names_board_and_port() {
    let (port, _agent) = spawn_fake(FakeFaults::default());
    let mut client = client(port, 1000);
    let err = client.measure(&measure_request(ModelHash([9; 32]))).expect_err("unknown model");
    assert!(matches!(err, ClientError::Agent { error: WireError::UnknownModel, .. }), "{err}");
    assert!(err.to_string().contains("board fake on socketpair"), "{err}");
}

#[test]
fn measure_model_uploads_then_measures() {
    let (port, _agent) = spawn_fake(FakeFaults::default());
    let mut client = client(port, 1000);
    let bytes = model(3000, 4);
    let measurement = client.measure_model(&bytes, &measure_request(ModelHash([0; 32]))).expect("measure");
    assert_eq!(measurement.hash, ModelHash::of(&bytes));
}

#[test]
fn silence_is_a_timeout_and_garbage_is_ignored() {
    let (host, mut agent) = UnixStream::pair().expect("pair");
    host.set_read_timeout(Some(Duration::from_millis(5))).expect("timeout");
    std::io::Write::write_all(&mut agent, &[0x13, 0x37, 0x00, 0xff, 0x00]).expect("garbage");
    let mut client = client(host, 100);
    let err = client.ping(1).expect_err("nobody answers");
    assert!(matches!(err, ClientError::Timeout { request: "Ping", .. }), "{err}");
    assert_eq!(client.stats().bad_frames, 2);
}

/// A client whose agent already sent `answers` (as frames with seq 1, 2, ...) and then fell silent.
fn client_with_answers(answers: Vec<wattevo_proto::DeviceToHost>) -> (BoardClient<UnixStream>, UnixStream) {
    let (host, mut agent) = UnixStream::pair().expect("pair");
    host.set_read_timeout(Some(Duration::from_millis(5))).expect("timeout");
    for (seq, msg) in (1..).zip(answers) {
        let frame = wattevo_proto::encode_frame(&wattevo_proto::Envelope { seq, msg }).expect("frame");
        std::io::Write::write_all(&mut agent, &frame).expect("answer");
    }
    (client(host, 200), agent)
}

#[test]
fn an_answer_of_another_kind_is_unexpected() {
    use wattevo_proto::{DeviceToHost, PingResponse};
    let (mut client, _agent) = client_with_answers(vec![DeviceToHost::Pong(PingResponse { nonce: 1 })]);
    let err = client.read_sensor(10).expect_err("a pong does not answer ReadSensor");
    assert!(
        matches!(&err, ClientError::Unexpected { request: "ReadSensor", got, .. } if got.contains("Pong")),
        "{err}"
    );
}

#[test]
fn a_pong_with_another_nonce_is_unexpected() {
    use wattevo_proto::{DeviceToHost, PingResponse};
    let (mut client, _agent) = client_with_answers(vec![DeviceToHost::Pong(PingResponse { nonce: 2 })]);
    let err = client.ping(1).expect_err("wrong nonce");
    assert!(matches!(err, ClientError::Unexpected { request: "Ping", .. }), "{err}");
}

#[test]
fn a_version_refusal_is_a_protocol_mismatch() {
    use wattevo_proto::{DeviceToHost, ErrorResponse};
    let refusal = ErrorResponse::new(WireError::VersionMismatch { agent: 7, host: PROTOCOL_VERSION }, "");
    let (mut client, _agent) = client_with_answers(vec![DeviceToHost::Error(refusal)]);
    let err = client.hello().expect_err("refused");
    assert!(matches!(err, ClientError::ProtocolMismatch { agent: 7, host: PROTOCOL_VERSION, .. }), "{err}");
    assert!(err.is_protocol_mismatch());
}
