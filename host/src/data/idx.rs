//! Reader for the IDX format of MNIST and Fashion-MNIST (raw or gzip-compressed).
//!
//! Layout (big-endian): a magic number (`0x0000_0803` = 2051 for `u8` images with three
//! dimensions, `0x0000_0801` = 2049 for `u8` labels with one), one `u32` per dimension, then the
//! data. The file's length must match the header exactly; every error names the file.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of `u8` images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of `u8` labels (1 dimension).
pub const LABELS_MAGIC: u32 = 2049;

/// An IDX file that cannot be read or does not hold what it should.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// Reading the file failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The gzip stream is corrupt or cut short.
    #[error("cannot decompress {} (the download may be incomplete; delete the file and fetch it again)", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The magic number is not the expected one.
    #[error("{}: wrong magic number {found} (0x{found:08x}), expected {expected} (0x{expected:08x}); is this the right file?", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// What the file should start with.
        expected: u32,
        /// What it starts with.
        found: u32,
    },
    /// The file is shorter (or longer) than its header says.
    #[error("{}: {what}: header announces {expected_bytes} bytes, file holds {found_bytes}", path.display())]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// `truncated` or `trailing bytes`.
        what: &'static str,
        /// Length implied by the header.
        expected_bytes: usize,
        /// Decompressed length found.
        found_bytes: usize,
    },
    /// Images and labels disagree on the number of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Images in it.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Labels in it.
        labels: usize,
    },
    /// A label is not below the number of classes.
    #[error("{}: label {label} at index {index} is out of range (expected 0..{num_classes})", path.display())]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// Position of the label.
        index: usize,
        /// Its value.
        label: u8,
        /// Number of classes.
        num_classes: usize,
    },
    /// An image dimension is zero or not the expected one.
    #[error("{}: images are {rows}×{cols}, expected {expected}", path.display())]
    BadDims {
        /// The image file.
        path: PathBuf,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
        /// What was expected.
        expected: String,
    },
}

/// The content of an IDX image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` pixels, row-major, 0..=255.
    pub pixels: Vec<u8>,
}

/// Reads a whole file and decompresses it if it is gzip (detected by its magic bytes, not its
/// name), returning the raw IDX bytes.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, IdxError> {
    let bytes = std::fs::read(path).map_err(|source| IdxError::Io { path: path.to_owned(), source })?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| IdxError::Gzip { path: path.to_owned(), source })?;
    Ok(out)
}

/// Parses IDX image bytes read from `path` (the path is only used in errors).
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let dims = parse_header(path, bytes, IMAGES_MAGIC, 3)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(IdxError::BadDims { path: path.to_owned(), rows, cols, expected: "non-zero sides".into() });
    }
    let header_len = 4 + 4 * 3;
    check_length(path, bytes.len(), count.saturating_mul(rows).saturating_mul(cols).saturating_add(header_len))?;
    Ok(IdxImages { count, rows, cols, pixels: bytes[header_len..].to_vec() })
}

/// Parses IDX label bytes read from `path` (the path is only used in errors).
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let dims = parse_header(path, bytes, LABELS_MAGIC, 1)?;
    let header_len = 4 + 4;
    check_length(path, bytes.len(), header_len + dims[0])?;
    Ok(bytes[header_len..].to_vec())
}

/// Checks that images and labels pair up and that every label is below `num_classes`.
pub fn check_pair(
    images_path: &Path,
    images: &IdxImages,
    labels_path: &Path,
    labels: &[u8],
    num_classes: usize,
) -> Result<(), IdxError> {
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch {
            images_path: images_path.to_owned(),
            images: images.count,
            labels_path: labels_path.to_owned(),
            labels: labels.len(),
        });
    }
    match labels.iter().enumerate().find(|&(_, &l)| usize::from(l) >= num_classes) {
        Some((index, &label)) => {
            Err(IdxError::LabelOutOfRange { path: labels_path.to_owned(), index, label, num_classes })
        }
        None => Ok(()),
    }
}

/// Reads the magic number and `ndims` dimensions.
fn parse_header(path: &Path, bytes: &[u8], magic: u32, ndims: usize) -> Result<Vec<usize>, IdxError> {
    let header_len = 4 * (1 + ndims);
    if bytes.len() < header_len {
        return Err(IdxError::WrongLength {
            path: path.to_owned(),
            what: "truncated header",
            expected_bytes: header_len,
            found_bytes: bytes.len(),
        });
    }
    let words: Vec<u32> =
        bytes[..header_len].chunks_exact(4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]])).collect();
    if words[0] != magic {
        return Err(IdxError::BadMagic { path: path.to_owned(), expected: magic, found: words[0] });
    }
    Ok(words[1..].iter().map(|&d| d as usize).collect())
}

fn check_length(path: &Path, found_bytes: usize, expected_bytes: usize) -> Result<(), IdxError> {
    if found_bytes == expected_bytes {
        return Ok(());
    }
    let what = if found_bytes < expected_bytes { "truncated" } else { "trailing bytes" };
    Err(IdxError::WrongLength { path: path.to_owned(), what, expected_bytes, found_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images_bytes(count: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [IMAGES_MAGIC, count, rows, cols] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend(std::iter::repeat_n(7u8, pixels));
        b
    }

    #[test]
    fn parses_well_formed_images() {
        let img = parse_images(Path::new("x"), &images_bytes(2, 3, 4, 24)).expect("well formed");
        assert_eq!((img.count, img.rows, img.cols, img.pixels.len()), (2, 3, 4, 24));
    }

    #[test]
    fn reports_truncated_and_trailing() {
        let err = parse_images(Path::new("a.idx"), &images_bytes(2, 3, 4, 23)).expect_err("one byte short");
        assert!(err.to_string().contains("a.idx: truncated: header announces 40 bytes, file holds 39"), "{err}");
        let err = parse_images(Path::new("a.idx"), &images_bytes(2, 3, 4, 25)).expect_err("one byte long");
        assert!(err.to_string().contains("trailing bytes"), "{err}");
        let err = parse_labels(Path::new("l.idx"), &[0, 0, 8]).expect_err("short header");
        assert!(err.to_string().contains("truncated header"), "{err}");
    }

    #[test]
    fn reports_images_given_as_labels() {
        let err = parse_labels(Path::new("l.idx"), &images_bytes(1, 1, 1, 1)).expect_err("wrong magic");
        assert!(err.to_string().contains("wrong magic number 2051"), "{err}");
        assert!(err.to_string().contains("expected 2049"), "{err}");
    }

    #[test]
    fn check_pair_finds_count_and_range_errors() {
        let img = parse_images(Path::new("i"), &images_bytes(2, 1, 1, 2)).expect("well formed");
        let err = check_pair(Path::new("i"), &img, Path::new("l"), &[0], 10).expect_err("2 vs 1");
        assert!(err.to_string().contains("i holds 2 images but l holds 1 labels"), "{err}");
        let err = check_pair(Path::new("i"), &img, Path::new("l"), &[0, 10], 10).expect_err("label 10");
        assert!(err.to_string().contains("label 10 at index 1"), "{err}");
        check_pair(Path::new("i"), &img, Path::new("l"), &[0, 9], 10).expect("valid pair");
    }
}
