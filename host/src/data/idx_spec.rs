//! The IDX datasets wattevo knows: file names, sizes and checksums.
//!
//! Two MD5s per file: `gz_md5` is the one Zalando publishes for the `.gz` file (checked on
//! download); `raw_md5` is that of the decompressed IDX content (checked on every load, because
//! Debian's `dataset-fashion-mnist` recompresses the files with normalised gzip headers, so only
//! the decompressed bytes are identical). The `raw_md5` values were computed with
//! `zcat FILE.gz | md5sum` from the published files and agree with Debian's copies.

/// What one IDX file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxRole {
    /// Training images.
    TrainImages,
    /// Training labels.
    TrainLabels,
    /// Test images.
    TestImages,
    /// Test labels.
    TestLabels,
}

/// One official file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxFile {
    /// What it holds.
    pub role: IdxRole,
    /// File name without `.gz`.
    pub name: &'static str,
    /// Published MD5 of the `.gz` file (hex).
    pub gz_md5: &'static str,
    /// Size of the published `.gz` file in bytes.
    pub gz_bytes: u64,
    /// MD5 of the decompressed IDX bytes (hex).
    pub raw_md5: &'static str,
    /// Size of the decompressed IDX file in bytes.
    pub raw_bytes: u64,
}

/// An IDX dataset: where to look for it, how to download it, what its files must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxSpec {
    /// Name on the command line and in the cache directory (`fashion-mnist`).
    pub name: &'static str,
    /// Name for people (`Fashion-MNIST`).
    pub title: &'static str,
    /// Number of classes.
    pub num_classes: usize,
    /// Image side in pixels.
    pub side: usize,
    /// Where a system package installs it.
    pub system_dir: &'static str,
    /// The Debian package that installs it there.
    pub debian_package: &'static str,
    /// Base URLs to download from, tried in order (the file name is appended).
    pub base_urls: &'static [&'static str],
    /// The four files: train images, train labels, test images, test labels.
    pub files: [IdxFile; 4],
}

/// Fashion-MNIST (Zalando Research, MIT licence): 60000 + 10000 greyscale 28×28 images, 10 classes.
pub const FASHION_MNIST: IdxSpec = IdxSpec {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    num_classes: 10,
    side: 28,
    system_dir: "/usr/share/datasets/fashion-mnist",
    debian_package: "dataset-fashion-mnist",
    base_urls: &[
        // Zalando's repository (the files live in git, served over HTTPS by GitHub) ...
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        // ... and the S3 mirror its README links to (HTTP only: an S3 website endpoint).
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    files: [
        IdxFile {
            role: IdxRole::TrainImages,
            name: "train-images-idx3-ubyte",
            gz_md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            gz_bytes: 26_421_880,
            raw_md5: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            raw_bytes: 47_040_016,
        },
        IdxFile {
            role: IdxRole::TrainLabels,
            name: "train-labels-idx1-ubyte",
            gz_md5: "25c81989df183df01b3e8a0aad5dffbe",
            gz_bytes: 29_515,
            raw_md5: "9018921c3c673c538a1fc5bad174d6f9",
            raw_bytes: 60_008,
        },
        IdxFile {
            role: IdxRole::TestImages,
            name: "t10k-images-idx3-ubyte",
            gz_md5: "bef4ecab320f06d8554ea6380940ec79",
            gz_bytes: 4_422_102,
            raw_md5: "8181f5470baa50b63fa0f6fddb340f0a",
            raw_bytes: 7_840_016,
        },
        IdxFile {
            role: IdxRole::TestLabels,
            name: "t10k-labels-idx1-ubyte",
            gz_md5: "bb300cfdad3c16e7a12a480ee83cd310",
            gz_bytes: 5_148,
            raw_md5: "15d484375f8d13e6eb1aabb0c3f46965",
            raw_bytes: 10_008,
        },
    ],
};

/// Lower-case hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("{:x}", md5::Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_strings() {
        // RFC 1321, appendix A.5.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn raw_sizes_match_the_idx_headers() {
        let side = FASHION_MNIST.side as u64;
        let sizes: Vec<u64> = FASHION_MNIST.files.iter().map(|f| f.raw_bytes).collect();
        assert_eq!(sizes, vec![16 + 60_000 * side * side, 8 + 60_000, 16 + 10_000 * side * side, 8 + 10_000]);
    }
}
