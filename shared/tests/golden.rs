//! Golden bytes: the complete wire frame of one example of every message variant, written out.
//!
//! If one of these fails, the wire layout changed. That is a breaking change: either undo it, or
//! bump `PROTOCOL_VERSION` and update the bytes here on purpose. The examples are in
//! `common/samples.rs`; the exhaustive `match`es below stop compiling when a variant is added
//! until it gets an example and golden bytes here.

#[path = "common/samples.rs"]
mod samples;

use wattevo_proto::*;

/// Frames of `samples::host_messages()`, in variant order.
const HOST_GOLDEN: &[(&str, &str)] = &[
    ("Hello", "02 01 0c 01 05 30 2e 31 2e 30 46 4c 73 ee 00"),
    ("Ping", "08 02 01 07 9e a9 ba 7b 00"),
    (
        "UploadBegin",
        concat!(
            "03 03 02 29 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f a0 8d 06 80 10 5f 66 7b 18 00",
        ),
    ),
    (
        "UploadChunk",
        concat!(
            "03 04 03 22 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 03 04 08 01 fe ff 57 8e 67 96 00",
        ),
    ),
    (
        "UploadCommit",
        concat!(
            "03 05 04 29 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f a6 f2 d0 df 0c 1a 48 d6 e3 00",
        ),
    ),
    (
        "Measure",
        concat!(
            "03 06 05 2c 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 04 01 01 1c 1c 2a 0a 0a d0 0f 05 14 01 01 04 40 d0 0f 01 07 a0 40 b0 ea 01 ",
            "5c 03 45 41 00",
        ),
    ),
    ("ReadSensor", "09 07 06 f4 03 14 ee c7 51 00"),
    (
        "Explain",
        concat!(
            "03 08 07 29 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 04 01 01 1c 1c eb 82 26 f7 00",
        ),
    ),
    ("Calibrate", "09 09 08 0a 0a d0 0f 05 14 01 01 04 40 d0 0f 01 07 a0 40 e9 6d 8e e3 00"),
];

/// Frames of `samples::device_messages()`, in variant order.
const DEVICE_GOLDEN: &[(&str, &str)] = &[
    (
        "Hello",
        concat!(
            "02 01 1a 01 05 30 2e 31 2e 30 06 30 2e 32 33 2e 39 03 73 69 6d 01 01 40 0a d7 23 3c 01 03 ",
            "80 40 01 01 38 39 92 86 02 08 31 32 62 69 74 20 78 31 33 33 a3 40 07 61 61 72 63 68 36 34 ",
            "0a 43 6f 72 74 65 78 2d 41 37 32 04 11 36 2e 36 2e 35 31 2b 72 70 74 2d 72 70 69 2d 76 38 ",
            "19 01 80 80 80 20 80 10 0c 74 77 69 6e 20 70 69 34 62 20 76 31 83 09 fd be 00",
        ),
    ),
    ("Pong", "08 02 01 07 9e a9 ba 7b 00"),
    (
        "UploadStatus",
        concat!(
            "03 03 02 28 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 01 02 82 01 c5 94 a5 19 00",
        ),
    ),
    (
        "ChunkAck",
        concat!(
            "03 04 03 25 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 03 35 3f 6f d0 00",
        ),
    ),
    (
        "Committed",
        concat!(
            "03 05 04 2e 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f b9 60 04 01 01 1c 1c 02 01 0a 29 dc e3 fc 00",
        ),
    ),
    (
        "Measurement",
        concat!(
            "03 06 05 29 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 01 9a 99 99 99 99 99 05 40 01 01 01 01 01 0b 06 40 cd cc cc cc cc cc 05 40 ",
            "19 cd cc cc cc cc cc 0c 40 7b 14 ae 47 e1 7a 84 3f 13 61 c3 d3 2b 65 89 3f 01 01 01 01 01 ",
            "1b ec 3f 7b 14 ae 47 e1 7a 84 3f 13 61 c3 d3 2b 65 89 3f 0f d6 ff 39 cc 97 37 3f 01 01 01 ",
            "01 01 01 01 01 01 01 01 01 01 01 01 09 c7 ba b8 8d 06 f0 16 3f 01 01 01 01 01 01 0a 80 95 ",
            "d6 26 e8 0b 2e 11 3e 01 01 01 01 01 03 59 40 01 01 01 01 04 a0 58 40 01 01 01 01 08 88 61 ",
            "40 a0 8d 06 05 03 90 4e 01 01 01 01 04 40 8f 40 01 01 03 80 3f 01 03 36 42 01 0c c0 7f ff ",
            "ff ff ff 0f 46 33 7d 2b 00",
        ),
    ),
    (
        "SensorReading",
        concat!(
            "03 07 06 1b 52 b8 1e 85 eb 51 14 40 48 e1 7a 14 ae 47 e1 3f fc 18 73 d7 12 f2 05 40 e0 03 ",
            "01 01 01 01 01 07 8e 40 cb af 56 32 00",
        ),
    ),
    ("Error", "1b 08 07 01 01 02 10 70 72 6f 74 6f 63 6f 6c 20 32 20 e2 89 a0 20 31 51 44 3f 1e 00"),
    (
        "Explanation",
        concat!(
            "03 09 08 3b 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a ",
            "1b 1c 1d 1e 1f 0c 74 77 69 6e 20 70 69 34 62 20 76 31 01 01 04 63 6f 6e 76 04 63 6f 6e 76 ",
            "e8 07 01 01 01 01 01 01 03 04 40 01 01 01 01 04 80 22 40 01 01 01 01 01 07 04 40 05 0d 9e ",
            "1f 00",
        ),
    ),
    (
        "Calibration",
        concat!(
            "17 0a 09 0c 74 77 69 6e 20 70 69 34 62 20 76 31 06 5b 74 77 69 6e 5d 01 01 01 01 01 03 14 ",
            "40 01 01 01 01 01 03 04 40 01 01 01 01 01 03 f0 3f 01 01 01 01 01 03 d0 3f 01 01 01 01 01 ",
            "01 01 02 01 0c 01 04 74 69 6e 79 04 74 69 6e 79 01 01 01 01 01 03 24 40 01 01 01 01 01 03 ",
            "25 40 01 01 01 01 01 03 f0 3f 01 01 01 01 01 07 f0 3f bf 5b 85 6f 00",
        ),
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn bytes<T: serde::Serialize>(value: &T) -> String {
    hex(&postcard::to_allocvec(value).expect("serialise"))
}

fn unhex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("golden hex")).collect()
}

/// Compares every example's frame with its golden bytes, and decodes the golden bytes back.
/// Returns one line per mismatch.
fn mismatches<M>(samples: &[Envelope<M>], golden: &[(&str, &str)], name: fn(&M) -> &'static str) -> Vec<String>
where
    M: serde::Serialize + serde::de::DeserializeOwned,
{
    assert_eq!(samples.len(), golden.len(), "one golden frame per example");
    let mut out = Vec::new();
    for (index, (envelope, (golden_name, golden_hex))) in samples.iter().zip(golden).enumerate() {
        assert_eq!(name(&envelope.msg), *golden_name, "examples must be in variant order");
        let variant = postcard::to_allocvec(&envelope.msg).expect("serialise")[0];
        assert_eq!(usize::from(variant), index, "{golden_name} is variant {index}");
        let frame = encode_frame(envelope).expect("encode");
        if hex(&frame) != *golden_hex {
            out.push(format!("{golden_name}: encoded\n    {}\n  golden\n    {golden_hex}", hex(&frame)));
        }
        let wire = unhex(golden_hex);
        let decoded: Result<Envelope<M>, _> = decode_frame(&wire[..wire.len() - 1]);
        let same = decoded.as_ref().map(|d| postcard::to_allocvec(d).ok() == postcard::to_allocvec(envelope).ok());
        if same != Ok(true) {
            out.push(format!("{golden_name}: golden bytes decode to something else ({:?})", decoded.err()));
        }
    }
    out
}

#[test]
fn every_host_to_device_variant_matches_its_golden_frame() {
    let bad = mismatches(&samples::host_messages(), HOST_GOLDEN, HostToDevice::name);
    assert!(bad.is_empty(), "wire layout changed:\n{}", bad.join("\n"));
}

#[test]
fn every_device_to_host_variant_matches_its_golden_frame() {
    let bad = mismatches(&samples::device_messages(), DEVICE_GOLDEN, DeviceToHost::name);
    assert!(bad.is_empty(), "wire layout changed:\n{}", bad.join("\n"));
}

/// Postcard bytes of every variant of the enums nested inside messages.
#[test]
fn nested_enum_variants_keep_their_indices() {
    let errors = [
        (WireError::BadFrame, "00"),
        (WireError::VersionMismatch { agent: 1, host: 300 }, "01 01 ac 02"),
        (WireError::ModelTooLarge { announced: 1 << 30, max: MAX_MODEL_BYTES }, "02 80 80 80 80 04 80 80 80 20"),
        (WireError::UnknownUpload, "03"),
        (WireError::ChunkOutOfRange { index: 5, chunks: 4 }, "04 05 04"),
        (WireError::UploadIncomplete { missing_chunk: 128 }, "05 80 01"),
        (WireError::ChecksumMismatch, "06"),
        (WireError::InvalidModel, "07"),
        (WireError::UnknownModel, "08"),
        (WireError::InputShapeMismatch, "09"),
        (WireError::RunFailed, "0a"),
        (WireError::SensorFault, "0b"),
        (WireError::BadRequest, "0c"),
        (WireError::Internal, "0d"),
        (WireError::NoTwin, "0e"),
        (WireError::MemoryExceeded { needed: 300, limit: 2 }, "0f ac 02 02"),
        (WireError::TooSlow { run_us: 1, projected_ms: 2, limit_ms: 3 }, "10 01 02 03"),
    ];
    for (error, golden) in errors {
        assert_eq!(bytes(&error), golden, "{error:?}");
    }
    assert_eq!(bytes(&UploadState::Loaded), "00");
    assert_eq!(bytes(&UploadState::Receiving { next_chunk: 1, received: 2 }), "01 01 02");
    assert_eq!(bytes(&SensorKind::Ina219), "00");
    assert_eq!(bytes(&SensorKind::EmulatedIna219), "01");
    assert_eq!(bytes(&SensorKind::PowerModel), "02");
    assert_eq!(bytes(&StopReason::CiReached), "00");
    assert_eq!(bytes(&StopReason::MaxRepetitions), "01");
}
