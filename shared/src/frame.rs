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
    let Some(split) = body.len().checked_sub(4) else {
        return Err(FrameError::Truncated);
    };
    let (payload, crc_bytes) = body.split_at(split);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(crc_bytes);
    if u32::from_le_bytes(crc) != crc32(payload) {
        return Err(FrameError::Crc);
    }
    postcard::from_bytes(payload).map_err(|_| FrameError::Decode)
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
