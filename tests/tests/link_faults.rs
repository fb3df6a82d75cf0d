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
    SimAgent::spawn(&profile, None, "sim").expect("spawn the sim agent")
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

#[test]
fn a_host_that_does_not_read_slows_the_agent_down_and_does_not_end_it() {
    use wattevo_proto::{Envelope, HostToDevice, PingRequest, encode_frame};
    let mut sim = start_sim();
    let mut client = sim.connect(Duration::from_secs(2)).expect("handshake");
    // Pings sent without reading a single answer, until the pty's buffers are full both ways
    // (the agent is then blocked writing an answer nobody reads).
    let mut sent = 0u32;
    for seq in 0..20_000u32 {
        let ping = Envelope { seq: 1_000_000 + seq, msg: HostToDevice::Ping(PingRequest { nonce: seq }) };
        if client.send_raw(&encode_frame(&ping).expect("frame")).is_err() {
            break; // our own write timed out: the buffers are full
        }
        sent += 1;
    }
    assert!(sent > 100, "sent {sent} pings");
    std::thread::sleep(Duration::from_secs(3));
    sim.check_alive().expect("the agent waited for the host instead of exiting");
    // Reading again: every answer arrives, then a new ping is answered.
    let label = client.label().clone();
    let mut port = client.into_port();
    let mut answers = wattevo_proto::FrameDecoder::new();
    let (mut pongs, mut quiet_since) = (0u32, std::time::Instant::now());
    let mut buf = [0u8; 4096];
    while quiet_since.elapsed() < Duration::from_secs(2) && pongs < sent {
        match std::io::Read::read(&mut port, &mut buf) {
            Ok(n) if n > 0 => {
                pongs +=
                    answers.feed::<wattevo_proto::DeviceToHost>(&buf[..n]).into_iter().filter(Result::is_ok).count()
                        as u32;
                quiet_since = std::time::Instant::now();
            }
            _ => {}
        }
    }
    assert_eq!(pongs, sent, "one answer per ping, none lost");
    let mut client = wattevo::board::BoardClient::new(port, label, Duration::from_secs(2));
    client.ping(7).expect("the agent still answers");
}
