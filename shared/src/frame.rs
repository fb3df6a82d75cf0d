//! Framing: `postcard` body + CRC-32, COBS-encoded, delimited by a zero byte.
//!
//! See the crate docs for the byte layout. [`FrameDecoder`] accumulates bytes from a stream,
//! and on every delimiter yields either a decoded envelope or a [`FrameError`]; a bad frame is
//! dropped and decoding resumes at the next delimiter, so one corrupt frame never stalls the
//! stream.

use alloc::vec::Vec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::message::Envelope;

/// Largest decoded frame body (postcard bytes + 4 CRC bytes). Larger frames are refused.
pub const MAX_FRAME_BYTES: usize = 4096;

/// Largest frame on the wire: COBS adds one byte per 254, plus one, plus the delimiter.
pub const MAX_WIRE_FRAME_BYTES: usize = MAX_FRAME_BYTES + MAX_FRAME_BYTES / 254 + 2;

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the zlib/Ethernet one) of `bytes`; also the model checksum of uploads.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// Why a frame could not be made or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The body would exceed [`MAX_FRAME_BYTES`] (encoding), or the bytes before a delimiter did
    /// (decoding; the frame was skipped without buffering it).
    TooLarge,
    /// The bytes between two delimiters are not valid COBS.
    Cobs,
    /// The frame is shorter than its CRC.
    Truncated,
    /// The CRC does not match the body.
    Crc,
    /// The body is not a valid postcard message of the expected type (unknown variant, ...).
    Decode,
    /// Serialising the message failed.
    Encode,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = match self {
            FrameError::TooLarge => "frame larger than the maximum frame size",
            FrameError::Cobs => "frame is not valid COBS",
            FrameError::Truncated => "frame shorter than its CRC",
            FrameError::Crc => "frame CRC mismatch",
            FrameError::Decode => "frame body is not a known message",
            FrameError::Encode => "message could not be serialised",
        };
        f.write_str(text)
    }
}

impl core::error::Error for FrameError {}

/// Encodes one envelope as a complete wire frame, delimiter included.
pub fn encode_frame<M: Serialize>(envelope: &Envelope<M>) -> Result<Vec<u8>, FrameError> {
    let mut body = postcard::to_allocvec(envelope).map_err(|_| FrameError::Encode)?;
    body.extend_from_slice(&crc32(&body).to_le_bytes());
    if body.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge);
    }
    let mut wire = cobs::encode_vec(&body);
    wire.push(DELIMITER);
    Ok(wire)
}

/// Decodes the bytes of one frame, without its delimiter.
pub fn decode_frame<M: DeserializeOwned>(cobs_bytes: &[u8]) -> Result<Envelope<M>, FrameError> {
    if cobs_bytes.len() > MAX_WIRE_FRAME_BYTES {
        return Err(FrameError::TooLarge);
    }
    let body = cobs::decode_vec(cobs_bytes).map_err(|_| FrameError::Cobs)?;
    let payload = checked_payload(&body)?;
    // A message followed by unread bytes is not the message that was sent: refuse it, so that
    // every accepted body is exactly one postcard value.
    match postcard::take_from_bytes(payload) {
        Ok((envelope, [])) => Ok(envelope),
        Ok(_) | Err(_) => Err(FrameError::Decode),
    }
}

/// Checks a decoded body's size and CRC; returns the postcard bytes before the CRC.
fn checked_payload(body: &[u8]) -> Result<&[u8], FrameError> {
    if body.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge);
    }
    let Some(split) = body.len().checked_sub(4) else {
        return Err(FrameError::Truncated);
    };
    let (payload, crc_bytes) = body.split_at(split);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(crc_bytes);
    if u32::from_le_bytes(crc) != crc32(payload) {
        return Err(FrameError::Crc);
    }
    Ok(payload)
}

/// The protocol version carried by a `Hello` frame (either direction), read without decoding the
/// rest of the message.
///
/// `Hello` is variant 0 of both [`HostToDevice`](crate::HostToDevice) and
/// [`DeviceToHost`](crate::DeviceToHost) and `protocol_version` is its first field, so this works
/// even when the peer speaks another protocol version whose messages no longer decode: use it to
/// report "the agent speaks protocol N" instead of a bare [`FrameError::Decode`]. Returns `None`
/// when the frame is corrupt or is not a `Hello`.
pub fn peek_hello_version(cobs_bytes: &[u8]) -> Option<u16> {
    if cobs_bytes.len() > MAX_WIRE_FRAME_BYTES {
        return None;
    }
    let body = cobs::decode_vec(cobs_bytes).ok()?;
    let payload = checked_payload(&body).ok()?;
    // seq (varint u32), variant index (varint u32), protocol_version (varint u16).
    let ((_seq, variant, version), _rest) = postcard::take_from_bytes::<(u32, u32, u16)>(payload).ok()?;
    (variant == 0).then_some(version)
}

/// Accumulates a byte stream and cuts it into frames at each delimiter.
///
/// Memory is bounded by [`MAX_WIRE_FRAME_BYTES`]: an over-long run of bytes is discarded as it
/// arrives and reported once, as [`FrameError::TooLarge`], at its delimiter.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    overflowed: bool,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns one result per delimiter seen. Empty frames (two delimiters in a
    /// row, used to flush a link) are skipped silently.
    pub fn feed<M: DeserializeOwned>(&mut self, bytes: &[u8]) -> Vec<Result<Envelope<M>, FrameError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            if byte != DELIMITER {
                if self.buf.len() < MAX_WIRE_FRAME_BYTES {
                    self.buf.push(byte);
                } else {
                    self.overflowed = true;
                }
                continue;
            }
            if self.overflowed {
                out.push(Err(FrameError::TooLarge));
            } else if !self.buf.is_empty() {
                out.push(decode_frame(&self.buf));
            }
            self.buf.clear();
            self.overflowed = false;
        }
        out
    }

    /// Bytes held of a frame not yet delimited.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{HelloRequest, HostToDevice, PingRequest, UploadChunkRequest};
    use crate::{DeviceToHost, ModelHash, PingResponse};
    use alloc::string::String;
    use alloc::vec;

    fn ping(seq: u32, nonce: u32) -> Envelope<HostToDevice> {
        Envelope { seq, msg: HostToDevice::Ping(PingRequest { nonce }) }
    }

    fn wire(envelope: &Envelope<HostToDevice>) -> Vec<u8> {
        encode_frame(envelope).expect("encode")
    }

    /// Frames a hand-made body (postcard bytes, then their CRC) without any checks.
    fn frame_raw(payload: &[u8]) -> Vec<u8> {
        let mut body = payload.to_vec();
        body.extend_from_slice(&crc32(payload).to_le_bytes());
        let mut out = cobs::encode_vec(&body);
        out.push(DELIMITER);
        out
    }

    /// Feeds `bad` then a valid ping frame; expects exactly one error, then the ping.
    fn assert_one_error_then_ping(bad: &[u8]) -> FrameError {
        let mut decoder = FrameDecoder::new();
        let mut stream = bad.to_vec();
        stream.extend_from_slice(&wire(&ping(9, 0xdead_beef)));
        let results = decoder.feed::<HostToDevice>(&stream);
        assert_eq!(results.len(), 2, "results: {results:?}");
        assert_eq!(results[1], Ok(ping(9, 0xdead_beef)));
        assert_eq!(decoder.pending(), 0);
        results[0].clone().expect_err("the bad frame must not decode")
    }

    #[test]
    fn garbage_is_one_error_and_the_stream_recovers() {
        let error = assert_one_error_then_ping(b"\x13\x37not a frame at all\xff\x01\x00");
        assert!(matches!(error, FrameError::Cobs | FrameError::Crc), "{error:?}");
    }

    #[test]
    fn truncated_frame_is_one_error_and_the_stream_recovers() {
        let full = wire(&ping(3, 70_000));
        for keep in 1..full.len() - 1 {
            let mut cut = full[..keep].to_vec();
            cut.push(DELIMITER);
            assert_one_error_then_ping(&cut);
        }
    }

    #[test]
    fn every_single_bit_flip_is_one_error_and_the_stream_recovers() {
        let full = wire(&Envelope {
            seq: 77,
            msg: HostToDevice::Hello(HelloRequest { protocol_version: 1, host_version: String::from("0.1.0") }),
        });
        let mut flips = 0;
        for index in 0..full.len() - 1 {
            for bit in 0..8 {
                let mut bad = full.clone();
                bad[index] ^= 1 << bit;
                if bad[index] == DELIMITER {
                    continue; // a new delimiter splits the frame in two: covered by truncation
                }
                assert_one_error_then_ping(&bad);
                flips += 1;
            }
        }
        assert!(flips > 8 * (full.len() - 2), "only {flips} flips tried");
    }

    #[test]
    fn oversized_run_is_one_error_and_memory_stays_bounded() {
        let mut decoder = FrameDecoder::new();
        let run = vec![0x55u8; 3 * MAX_WIRE_FRAME_BYTES];
        assert!(decoder.feed::<HostToDevice>(&run).is_empty());
        assert_eq!(decoder.pending(), MAX_WIRE_FRAME_BYTES);
        let mut stream = vec![DELIMITER];
        stream.extend_from_slice(&wire(&ping(1, 2)));
        let results = decoder.feed::<HostToDevice>(&stream);
        assert_eq!(results, vec![Err(FrameError::TooLarge), Ok(ping(1, 2))]);
    }

    #[test]
    fn empty_frames_are_skipped() {
        let mut stream = vec![DELIMITER, DELIMITER];
        stream.extend_from_slice(&wire(&ping(5, 6)));
        stream.push(DELIMITER);
        assert_eq!(FrameDecoder::new().feed::<HostToDevice>(&stream), vec![Ok(ping(5, 6))]);
    }

    #[test]
    fn byte_at_a_time_matches_one_feed() {
        let mut stream = b"junk\x00".to_vec();
        stream.extend_from_slice(&wire(&ping(1, 1)));
        stream.extend_from_slice(&wire(&ping(2, u32::MAX)));
        let whole = FrameDecoder::new().feed::<HostToDevice>(&stream);
        let mut decoder = FrameDecoder::new();
        let split: Vec<_> = stream.iter().flat_map(|b| decoder.feed::<HostToDevice>(&[*b])).collect();
        assert_eq!(whole, split);
        assert_eq!(whole.len(), 3);
    }

    fn chunk_envelope(bytes: usize) -> Envelope<HostToDevice> {
        let chunk = UploadChunkRequest { hash: ModelHash([7; 32]), index: 0, bytes: vec![0xa5; bytes] };
        Envelope { seq: 0, msg: HostToDevice::UploadChunk(chunk) }
    }

    #[test]
    fn largest_body_round_trips_and_one_more_byte_is_refused() {
        // seq 1 + variant 1 + hash 32 + index 1 + length 2 + CRC 4 = 41 bytes around the payload.
        let largest = chunk_envelope(MAX_FRAME_BYTES - 41);
        let frame = wire(&largest);
        assert!(frame.len() <= MAX_WIRE_FRAME_BYTES, "{} > {MAX_WIRE_FRAME_BYTES}", frame.len());
        assert_eq!(decode_frame::<HostToDevice>(&frame[..frame.len() - 1]), Ok(largest));
        assert_eq!(encode_frame(&chunk_envelope(MAX_FRAME_BYTES - 40)), Err(FrameError::TooLarge));
    }

    #[test]
    fn decoded_body_over_the_limit_is_too_large() {
        let frame = frame_raw(&vec![0x11; MAX_FRAME_BYTES - 3]);
        assert!(frame.len() - 1 <= MAX_WIRE_FRAME_BYTES);
        assert_eq!(decode_frame::<HostToDevice>(&frame[..frame.len() - 1]), Err(FrameError::TooLarge));
    }

    #[test]
    fn trailing_bytes_after_the_message_are_refused() {
        let mut payload = postcard::to_allocvec(&ping(4, 4)).expect("serialise");
        let frame = frame_raw(&payload);
        assert_eq!(decode_frame::<HostToDevice>(&frame[..frame.len() - 1]), Ok(ping(4, 4)));
        payload.push(0x01);
        let frame = frame_raw(&payload);
        assert_eq!(decode_frame::<HostToDevice>(&frame[..frame.len() - 1]), Err(FrameError::Decode));
    }

    #[test]
    fn unknown_variant_is_a_decode_error() {
        let frame = frame_raw(&[0x01, 0x7f, 0x00]);
        assert_eq!(decode_frame::<HostToDevice>(&frame[..frame.len() - 1]), Err(FrameError::Decode));
    }

    #[test]
    fn hello_version_is_read_even_from_a_future_layout() {
        let hello = wire(&Envelope {
            seq: 300,
            msg: HostToDevice::Hello(HelloRequest { protocol_version: 1, host_version: String::from("x") }),
        });
        assert_eq!(peek_hello_version(&hello[..hello.len() - 1]), Some(1));
        // seq 1, variant 0, version 513 (varint 81 04), then fields this version does not know.
        let future = frame_raw(&[0x01, 0x00, 0x81, 0x04, 0xff, 0xff, 0x03]);
        assert_eq!(decode_frame::<DeviceToHost>(&future[..future.len() - 1]), Err(FrameError::Decode));
        assert_eq!(peek_hello_version(&future[..future.len() - 1]), Some(513));
        let pong = encode_frame(&Envelope { seq: 1, msg: DeviceToHost::Pong(PingResponse { nonce: 0 }) });
        let pong = pong.expect("encode");
        assert_eq!(peek_hello_version(&pong[..pong.len() - 1]), None);
        let ping = wire(&ping(1, 1));
        let mut corrupt = ping[..ping.len() - 1].to_vec();
        corrupt[2] ^= 0x40;
        assert_eq!(peek_hello_version(&corrupt), None);
    }
}
