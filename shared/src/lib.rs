//! # wattevo-proto — the wire protocol between `wattevo` and `wattevo-agent`
//!
//! The single contract between the two sides: message types, framing, the request/response
//! pairing, the model hash, the measurement protocol and the board profile. No I/O.
//! `no_std` + `alloc` by default; the `std` feature only adds `std` impls of the dependencies;
//! the `toml` feature (implies `std`) adds the board-profile parser both sides use.
//!
//! ## Modules
//!
//! | module | what it holds |
//! | --- | --- |
//! | `message` | [`HostToDevice`] / [`DeviceToHost`] and their `*Request` / `*Response` structs, [`PROTOCOL_VERSION`], size limits |
//! | `request` | [`Request`]: which response answers which request, and the echo it must carry |
//! | `frame` | COBS + CRC framing ([`encode_frame`], [`FrameDecoder`]) |
//! | `hash` | [`ModelHash`] and [`ModelHash::of`], the SHA-256 key of a model on both sides |
//! | `measure_protocol` | [`MeasureProtocol`]: idle windows, warm-up, timed windows, stopping rule |
//! | `board` | [`BoardProfile`] and its tables (serial, sensor, power model, runtime, thermal) |
//! | `profile_toml` | `parse_board_profile`: TOML → [`BoardProfile`] with file:line:column:key errors (feature `toml`) |
//!
//! ## Frame layout
//!
//! Each message travels as one frame:
//!
//! ```text
//! wire        := COBS(body) 0x00
//! body        := payload crc32_le(payload)           at most MAX_FRAME_BYTES (4096) bytes
//! payload     := postcard(Envelope<M>) = seq msg      nothing may follow msg
//! seq         := varint u32
//! msg         := variant-index (varint u32) fields... (M = HostToDevice or DeviceToHost)
//! ```
//!
//! Byte by byte, for a body of `n` bytes:
//!
//! | offset in `body` | bytes | content |
//! | --- | --- | --- |
//! | 0 | 1–5 | `seq`, LEB128 varint: 7 bits per byte, low bits first, top bit set on all but the last |
//! | after `seq` | 1–5 | variant index of the message (its position in the enum, from 0), varint |
//! | after the index | … | the variant's struct fields in declaration order (encodings below) |
//! | `n − 4` | 4 | CRC-32/ISO-HDLC (zlib's: poly 0x04C11DB7 reflected, init and xor-out 0xFFFFFFFF) of bytes `0..n−4`, little-endian |
//!
//! Field encodings (postcard 1.x wire format):
//! - `u8`, `bool` (0 or 1 only): one byte; `u16`, `u32`, `u64`: LEB128 varint (at most 3, 5,
//!   10 bytes); `f32`/`f64`: 4/8 bytes IEEE 754 little-endian (NaN travels bit for bit);
//! - `String`, `Vec<u8>`, `Vec<u32>`: varint element count, then the elements (UTF-8 bytes, raw
//!   bytes, varints); `[u8; 32]` ([`ModelHash`]): exactly 32 raw bytes, no length;
//! - a nested enum ([`WireError`], [`UploadState`], [`SensorKind`], [`StopReason`]): varint
//!   variant index, then that variant's fields;
//! - a nested struct ([`MeasureProtocol`] inside [`MeasureRequest`], [`RepStats`], ...): its
//!   fields in declaration order, with no header of its own.
//!
//! On the wire, the body is COBS-encoded (Consistent Overhead Byte Stuffing): every `0x00` is
//! removed and each run is prefixed by a code byte `k` (1–255) meaning "`k − 1` data bytes follow,
//! then a zero" (`0xFF`: 254 data bytes, no zero). The encoded bytes contain no `0x00`, so one `0x00`
//! ends the frame and a receiver resynchronises at the next delimiter after any corruption. COBS
//! adds at most one byte per 254, so a wire frame is at most [`MAX_WIRE_FRAME_BYTES`] bytes,
//! delimiter included. A decoder refuses (with one [`FrameError`] each, then carries on): a run
//! longer than that, invalid COBS, a body shorter than 4 bytes or longer than [`MAX_FRAME_BYTES`],
//! a CRC mismatch, an unknown variant or malformed field, and bytes left over after the message.
//!
//! Host → agent messages are [`HostToDevice`], agent → host [`DeviceToHost`]. Variants are
//! append-only; any breaking change bumps [`PROTOCOL_VERSION`]. `Hello` is variant 0 of both
//! enums and `protocol_version` its first field, so [`peek_hello_version`] can read a peer's
//! version even when the rest of its messages no longer decode.
//!
//! ### Worked example
//!
//! `Envelope { seq: 1, msg: HostToDevice::Ping(PingRequest { nonce: 7 }) }`:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | `01` | `seq` = 1 |
//! | `01` | variant 1 of `HostToDevice` = `Ping` |
//! | `07` | `nonce` = 7 |
//! | `c7 17 fc 79` | CRC-32 of `01 01 07` = 0x79FC17C7, little-endian |
//!
//! The body `01 01 07 c7 17 fc 79` has no zero byte, so COBS prefixes a single code byte `08`
//! (7 data bytes, then the implicit end), and the delimiter follows:
//!
//! ```
//! use wattevo_proto::{Envelope, FrameDecoder, HostToDevice, PingRequest, crc32, encode_frame};
//!
//! let ping = Envelope { seq: 1, msg: HostToDevice::Ping(PingRequest { nonce: 7 }) };
//! assert_eq!(crc32(&[0x01, 0x01, 0x07]), 0x79fc_17c7);
//! let wire = encode_frame(&ping).unwrap();
//! assert_eq!(wire, [0x08, 0x01, 0x01, 0x07, 0xc7, 0x17, 0xfc, 0x79, 0x00]);
//!
//! // Garbage before it costs one error; the frame itself still decodes.
//! let mut stream = b"\x13\x37noise\x00".to_vec();
//! stream.extend_from_slice(&wire);
//! let results = FrameDecoder::new().feed::<HostToDevice>(&stream);
//! assert!(results[0].is_err());
//! assert_eq!(results[1], Ok(ping));
//! ```
//!
//! A nonce of 256 (varint `80 02`) with `seq` 0 puts a zero in the body, and shows its escape:
//! body `00 01 80 02 4c 4c 0b f5` → COBS `01` (no data, then the zero) `08 01 80 02 4c 4c 0b f5`
//! (7 data bytes, then the end) → delimiter `00`.
//!
//! ```
//! use wattevo_proto::{Envelope, HostToDevice, PingRequest, crc32, decode_frame, encode_frame};
//!
//! let ping = Envelope { seq: 0, msg: HostToDevice::Ping(PingRequest { nonce: 256 }) };
//! assert_eq!(crc32(&[0x00, 0x01, 0x80, 0x02]).to_le_bytes(), [0x4c, 0x4c, 0x0b, 0xf5]);
//! let wire = [0x01, 0x08, 0x01, 0x80, 0x02, 0x4c, 0x4c, 0x0b, 0xf5, 0x00];
//! assert_eq!(encode_frame(&ping).unwrap(), wire);
//! assert_eq!(decode_frame::<HostToDevice>(&wire[..9]), Ok(ping));
//! ```
//!
//! ## Session
//!
//! 1. Host sends `Hello`; the agent answers `Hello` with the board's description, or
//!    `Error(VersionMismatch)`.
//! 2. Upload: `UploadBegin` → `UploadStatus` (`Loaded`: nothing to send; `Receiving`: the first
//!    missing chunk) → `UploadChunk`×n, each answered by `ChunkAck` → `UploadCommit` →
//!    `Committed`. Re-sending a chunk is harmless; re-sending `UploadBegin` resumes a cut upload.
//! 3. `Measure` → `Measurement`.
//!
//! Every request gets exactly one answer with the same `seq`, possibly `Error`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;
// Tests read files and use `std` test helpers even when the crate itself is `no_std`.
#[cfg(all(test, not(feature = "std")))]
extern crate std;

pub mod board;
pub mod frame;
pub mod hash;
pub mod measure_protocol;
pub mod message;
#[cfg(feature = "toml")]
pub mod profile_toml;
pub mod request;
pub mod twin;

pub use board::*;
pub use frame::{
    DELIMITER, FrameDecoder, FrameError, MAX_FRAME_BYTES, MAX_WIRE_FRAME_BYTES, crc32, decode_frame, encode_frame,
    peek_hello_version,
};
pub use hash::ModelHash;
pub use measure_protocol::MeasureProtocol;
pub use message::*;
#[cfg(feature = "toml")]
pub use profile_toml::{ProfileParseError, parse_board_profile};
pub use request::{ReplyError, Request};
pub use twin::{
    CalibrateRequest, CalibrationReport, CalibrationRow, ExplainRequest, Explanation, OpCost, REFERENCE_MODEL_COUNT,
};
