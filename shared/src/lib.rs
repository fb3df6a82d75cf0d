//! # wattevo-proto — the wire protocol between `wattevo` and `wattevo-agent`
//!
//! Message types and framing only; no I/O. `no_std` + `alloc` by default; the `std` feature
//! only adds `std` impls of the dependencies.
//!
//! ## Frame layout
//!
//! Each message travels as one frame:
//!
//! ```text
//! wire  := COBS(body) 0x00
//! body  := postcard(Envelope<M>) crc32_le(postcard(Envelope<M>))
//! Envelope<M> := seq: varint u32 | msg: M
//! ```
//!
//! - `COBS` is Consistent Overhead Byte Stuffing: the encoded bytes contain no `0x00`, so `0x00`
//!   delimits frames and a receiver resynchronises at the next delimiter after any corruption.
//! - `body` is at most [`MAX_FRAME_BYTES`] bytes; a wire frame at most [`MAX_WIRE_FRAME_BYTES`].
//! - `crc32_le` is CRC-32/ISO-HDLC (zlib's) of the postcard bytes, little-endian, 4 bytes.
//! - postcard encodes an enum variant as its index (varint), then its fields in declaration
//!   order; integers above 8 bits as LEB128 varints (signed ones zig-zag), `f32`/`f64` as
//!   little-endian IEEE 754, `bool` as one byte, `String`/`Vec<u8>` as a varint length then the
//!   bytes, arrays (`[u8; 32]`) as their bytes with no length.
//! - Host → agent messages are [`HostToDevice`], agent → host [`DeviceToHost`]. Variants are
//!   append-only; any breaking change bumps [`PROTOCOL_VERSION`].
//!
//! Example: `Envelope { seq: 1, msg: HostToDevice::Ping(PingRequest { nonce: 7 }) }` is the
//! postcard bytes `01 01 07` (seq 1, variant 1 = Ping, nonce 7), followed by their CRC-32
//! little-endian, then COBS-encoded and terminated by `00`.
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

pub mod board;
pub mod frame;
pub mod message;

pub use board::*;
pub use frame::{
    DELIMITER, FrameDecoder, FrameError, MAX_FRAME_BYTES, MAX_WIRE_FRAME_BYTES, crc32, decode_frame, encode_frame,
    peek_hello_version,
};
pub use message::*;
