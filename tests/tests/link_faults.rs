//! Fault tests of the link to the real agent on a pseudo-terminal: corrupt frames between
//! requests, and an upload cut in the middle then resumed by a new client.

mod common;

use std::time::Duration;

use common::{SplitMix, bin, cnn_onnx};
use wattevo::board::SimAgent;
use wattevo::board::profiles::load_profile;
use wattevo_proto::{ModelHash, UploadBeginRequest, UploadChunkRequest};

fn start_sim() -> SimAgent {
    let profile = load_profile("sim").expect("sim profile");
    bin("wattevo-agent"); // a clear panic when the agent is not built
    SimAgent::spawn(&profile, None).expect("spawn the sim agent")
}

#[test]
fn corrupt_frames_between_pings_never_lose_a_ping() {
    let mut sim = start_sim();
    let mut client = sim.connect(Duration::from_secs(2)).expect("handshake");
    let mut rng = SplitMix(0x5eed_0001);
    for round in 0..1000u32 {
        let len = 1 + (rng.next_u64() % 80) as usize;
        let mut garbage: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if round % 2 == 0 {
            garbage.push(0); // half of them delimited, half run into the next frame's flush
        }
        client.send_raw(&garbage).expect("write garbage");
        let nonce = rng.next_u64() as u32;
        client.ping(nonce).unwrap_or_else(|err| panic!("ping {round} (nonce {nonce}) lost: {err}"));
    }
    // the agent answers each rejected frame with Error(BadFrame) under seq 0, which the client
    // drops as stale: proof that the garbage reached the agent and was refused, not ignored
    let rejected = client.stats().stale_frames;
    assert!(rejected >= 900, "only {rejected} corrupt frames were rejected");
    sim.check_alive().expect("agent alive after 1000 corrupt frames");
    client.hello().expect("still speaks the protocol");
}

#[test]
fn cut_upload_resumes_from_first_missing_chunk() {
    let mut sim = start_sim();
    let model = cnn_onnx(32, 3);
    let hash = ModelHash::of(&model);
    let mut first = sim.connect(Duration::from_secs(2)).expect("handshake");
    // the chunk size the client itself uses: the agent's limit, capped by the protocol's
    let max_chunk = first.handshake().expect("hello").max_chunk_bytes;
    let chunk_bytes = max_chunk.min(wattevo_proto::MAX_CHUNK_BYTES);
    let chunks = model.len().div_ceil(usize::from(chunk_bytes)) as u32;
    assert!(chunks >= 8, "model of {} bytes is too small for this test", model.len());
    let half = chunks / 2;
    let begin = UploadBeginRequest { hash, total_bytes: model.len() as u32, chunk_bytes };
    first.call(begin, Duration::from_secs(2)).expect("begin");
    for index in 0..half {
        let start = index as usize * usize::from(chunk_bytes);
        let bytes = model[start..start + usize::from(chunk_bytes)].to_vec();
        let ack = first.call(UploadChunkRequest { hash, index, bytes }, Duration::from_secs(2)).expect("chunk");
        assert!(ack.index == index, "{ack:?}");
    }
    drop(first); // the host goes away mid-upload

    let mut second = sim.connect(Duration::from_secs(2)).expect("reconnect");
    let report = second.upload(&model).expect("resumed upload");
    assert_eq!((report.first_chunk, report.chunks_sent, report.resends), (half, chunks - half, 0));
    assert!(report.committed.is_some(), "{report:?}");
    let again = second.upload(&model).expect("cached");
    assert!(again.skipped.is_some());
    sim.check_alive().expect("agent alive");
}

#[test]
fn session_measures_a_model_through_the_library_api() {
    use wattevo::board::{BoardSession, MeasureOverrides, OpenOptions};
    bin("wattevo-agent");
    let mut session = BoardSession::open("sim", &OpenOptions::default()).expect("open sim");
    let overrides =
        MeasureOverrides { idle_ms: Some(100), min_duration_ms: Some(100), repetitions: Some(2), target_ci_pct: None };
    let model = cnn_onnx(4, 5);
    let measurement = session.measure_onnx(&model, &overrides, 1).expect("measure");
    assert_eq!(measurement.hash, ModelHash::of(&model));
    assert_eq!(measurement.repetitions, 2);
    assert!(!measurement.sensor.is_measured(), "the sim board's figures are simulated");
    assert!(measurement.inferences > 0 && measurement.energy_per_inference_j.mean > 0.0);
    assert!(session.source_label().starts_with("SIMULATED"));
}
