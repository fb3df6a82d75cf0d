//! Property-based round trips through `encode_frame` and `FrameDecoder`, for arbitrary messages
//! of both directions (strategies in `common/strategies.rs`), with a fixed proptest seed.

#[path = "common/strategies.rs"]
mod strategies;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde::Serialize;
use serde::de::DeserializeOwned;
use strategies::{device_to_host, envelope, host_to_device};
use wattevo_proto::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, rng_seed: RngSeed::Fixed(0x2401_1773_3000), ..ProptestConfig::default() }
}

/// Postcard bytes: equal values have equal bytes, NaNs included.
fn bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("serialise")
}

fn round_trip<M: Serialize + DeserializeOwned + std::fmt::Debug>(env: &Envelope<M>) -> Result<(), TestCaseError> {
    let frame = encode_frame(env).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    prop_assert!(frame.len() <= MAX_WIRE_FRAME_BYTES);
    prop_assert_eq!(frame.last(), Some(&DELIMITER));
    prop_assert!(!frame[..frame.len() - 1].contains(&DELIMITER));
    let mut results = FrameDecoder::new().feed::<M>(&frame);
    prop_assert_eq!(results.len(), 1);
    let decoded = results.pop().expect("one result").map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(bytes(&decoded), bytes(env));
    Ok(())
}

/// Garbage (non-zero bytes then a delimiter) before each frame: one error per garbage run, and
/// every frame still arrives, in order.
fn stream_with_garbage<M: Serialize + DeserializeOwned + std::fmt::Debug>(
    envs: &[Envelope<M>],
    garbage: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (env, junk) in envs.iter().zip(garbage.iter().cycle()) {
        if !junk.is_empty() {
            stream.extend_from_slice(junk);
            stream.push(DELIMITER);
            expected.push(None);
        }
        stream.extend(encode_frame(env).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?);
        expected.push(Some(bytes(env)));
    }
    let got: Vec<_> = FrameDecoder::new().feed::<M>(&stream).iter().map(|r| r.as_ref().ok().map(bytes)).collect();
    prop_assert_eq!(got, expected);
    Ok(())
}

fn garbage() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(1u8..=255, 0..40), 1..4)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn host_to_device_round_trips(env in envelope(host_to_device())) {
        round_trip(&env)?;
    }

    #[test]
    fn device_to_host_round_trips(env in envelope(device_to_host())) {
        round_trip(&env)?;
    }

    #[test]
    fn host_frames_survive_garbage(envs in prop::collection::vec(envelope(host_to_device()), 1..6), junk in garbage()) {
        stream_with_garbage(&envs, &junk)?;
    }

    #[test]
    fn device_frames_survive_garbage(envs in prop::collection::vec(envelope(device_to_host()), 1..6), junk in garbage()) {
        stream_with_garbage(&envs, &junk)?;
    }
}
