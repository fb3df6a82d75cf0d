//! Fuzz target: arbitrary bytes fed to `FrameDecoder` never panic, and every envelope that
//! decodes re-encodes to a frame that decodes to the same value (both message directions).
//!
//! The property lives in `shared/tests/common/property.rs`, shared with the stable, seeded
//! corpus test `shared/tests/decode_corpus.rs`. Run: `cargo +nightly fuzz run decode_frames`.
#![no_main]

#[path = "../../shared/tests/common/property.rs"]
mod property;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The first byte also picks where the stream is cut in two, to exercise partial feeds.
    let split_at = data.first().map_or(0, |b| usize::from(*b));
    property::check_stream(data, split_at);
});
