//! The decoder property, shared by the `decode_frames` fuzz target (`fuzz/`) and the seeded
//! corpus test (`tests/decode_corpus.rs`) so that both check exactly the same thing.
//!
//! For any byte stream:
//! 1. feeding it to a [`FrameDecoder`] never panics, whatever the message type;
//! 2. feeding it in two pieces gives the same results as feeding it at once;
//! 3. every envelope that decodes re-encodes to a frame that decodes to the same value — "same"
//!    meaning the same postcard bytes, so a NaN compares equal to itself bit for bit.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wattevo_proto::{DeviceToHost, Envelope, FrameDecoder, FrameError, HostToDevice, decode_frame, encode_frame};

/// How many envelopes of each direction decoded; lets a caller check its corpus is not all noise.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub host: usize,
    pub device: usize,
}

/// Checks the property on `bytes` for both message directions; panics when it does not hold.
pub fn check_stream(bytes: &[u8], split_at: usize) -> Decoded {
    Decoded {
        host: check_direction::<HostToDevice>(bytes, split_at),
        device: check_direction::<DeviceToHost>(bytes, split_at),
    }
}

fn check_direction<M: Serialize + DeserializeOwned + std::fmt::Debug>(bytes: &[u8], split_at: usize) -> usize {
    let whole = FrameDecoder::new().feed::<M>(bytes);
    let (head, tail) = bytes.split_at(split_at.min(bytes.len()));
    let mut decoder = FrameDecoder::new();
    let mut pieces = decoder.feed::<M>(head);
    pieces.extend(decoder.feed::<M>(tail));
    assert_eq!(as_bytes(&whole), as_bytes(&pieces), "splitting the stream changed the results");
    let mut decoded = 0;
    for envelope in whole.iter().filter_map(|r| r.as_ref().ok()) {
        check_reencodes(envelope);
        decoded += 1;
    }
    decoded
}

fn check_reencodes<M: Serialize + DeserializeOwned + std::fmt::Debug>(envelope: &Envelope<M>) {
    let frame = encode_frame(envelope).expect("a decoded envelope must re-encode");
    let (delimiter, cobs) = frame.split_last().expect("a frame is never empty");
    assert_eq!(*delimiter, 0, "a frame ends with its delimiter");
    assert!(!cobs.contains(&0), "a COBS frame contains no delimiter");
    let again: Envelope<M> = decode_frame(cobs).expect("a re-encoded envelope must decode");
    assert_eq!(postcard_bytes(&again), postcard_bytes(envelope), "re-decoded {again:?} differs from {envelope:?}");
}

fn postcard_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("serialise")
}

/// Results as comparable bytes (errors as their variant, envelopes as postcard bytes).
fn as_bytes<M: Serialize>(results: &[Result<Envelope<M>, FrameError>]) -> Vec<Result<Vec<u8>, FrameError>> {
    results.iter().map(|r| r.as_ref().map(postcard_bytes).map_err(|e| *e)).collect()
}
