//! [`ModelHash`]: the SHA-256 of a model's ONNX bytes, the one key both sides use for a model.
//!
//! The host computes it before an upload (and announces it in `UploadBegin`); the agent
//! recomputes it over the assembled bytes at `UploadCommit` and stores the model under it. Both
//! call [`ModelHash::of`], so the two can never disagree on how a model is named. On the wire it
//! is exactly 32 raw bytes (no length prefix).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// SHA-256 of a model's ONNX bytes: the key under which the agent stores a model.
///
/// `Debug` shows the first 8 bytes in hex (enough for logs), `Display` all 32.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModelHash(pub [u8; 32]);

impl ModelHash {
    /// The hash of `model` (its ONNX bytes).
    ///
    /// ```
    /// use wattevo_proto::ModelHash;
    ///
    /// // SHA-256 of the empty string (FIPS 180-2 test vector).
    /// let empty = ModelHash::of(b"");
    /// assert!(empty.to_string().starts_with("e3b0c44298fc1c149afbf4c8996fb924"));
    /// ```
    pub fn of(model: &[u8]) -> Self {
        Self(Sha256::digest(model).into())
    }
}

impl core::fmt::Debug for ModelHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl core::fmt::Display for ModelHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn of_matches_the_fips_test_vector() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        let abc = ModelHash::of(b"abc");
        assert_eq!(format!("{abc}"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(format!("{abc:?}"), "ba7816bf8f01cfea");
    }

    #[test]
    fn different_bytes_give_different_hashes() {
        assert_ne!(ModelHash::of(b"model a"), ModelHash::of(b"model b"));
        assert_eq!(ModelHash::of(b"same"), ModelHash::of(b"same"));
    }
}
