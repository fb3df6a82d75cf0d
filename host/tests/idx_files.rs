//! IDX reading end to end: the real Fashion-MNIST files, and malformed files made in a temp dir.
//!
//! The real files are taken from `/usr/share/datasets/fashion-mnist` (Debian's
//! `dataset-fashion-mnist`), else `/work/shared/data/fashion-mnist`. When neither holds them the
//! real-data tests are skipped with a message, except under CI (`$CI` set), where `.ci/run`
//! installs the package and a missing file is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wattevo::data::idx_load::{self, ChecksumPolicy, IdxLoaded};
use wattevo::data::locate::{SearchDir, SearchEnv};
use wattevo::data::{DataError, FASHION_MNIST, SplitConfig, split};

const REAL_DIRS: [&str; 2] = ["/usr/share/datasets/fashion-mnist", "/work/shared/data/fashion-mnist"];

/// The real Fashion-MNIST, loaded with checksums enforced; `None` (skip) only outside CI.
fn real_fashion() -> Option<IdxLoaded> {
    let dirs: Vec<SearchDir> = REAL_DIRS.iter().map(|d| SearchDir { origin: "test", path: PathBuf::from(d) }).collect();
    match idx_load::find_in(&FASHION_MNIST, &dirs, &SearchEnv::default()) {
        Ok(located) => {
            let start = Instant::now();
            let loaded = idx_load::load_located(&FASHION_MNIST, located, ChecksumPolicy::Enforce)
                .expect("the real Fashion-MNIST files load with their checksums");
            eprintln!("loaded Fashion-MNIST from {} in {:?}", loaded.located.dir.path.display(), start.elapsed());
            Some(loaded)
        }
        Err(err) if std::env::var_os("CI").is_some() => panic!("CI must have Fashion-MNIST installed: {err}"),
        Err(err) => {
            eprintln!("skipping: {err}");
            None
        }
    }
}

#[test]
fn real_fashion_mnist_has_the_official_counts_and_balance() {
    let Some(data) = real_fashion() else { return };
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!(data.train.image_dims(), (1, 28, 28));
    assert_eq!(data.train.class_counts(), vec![6000; 10]);
    assert_eq!(data.test.class_counts(), vec![1000; 10]);
    assert!(data.files.iter().all(|f| f.checksum_ok));
    assert!(data.train.images().iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(data.train.images().contains(&1.0) && data.train.images().contains(&0.0));
}

#[test]
fn real_fashion_mnist_splits_70_20_10_exactly_per_class() {
    let Some(data) = real_fashion() else { return };
    let config = SplitConfig { seed: 5, ..SplitConfig::default() };
    let splits = split::split(&data.train, Some(data.test.clone()), &config).expect("splittable");
    assert_eq!(splits.train.class_counts(), vec![4200; 10]);
    assert_eq!(splits.validation.class_counts(), vec![1200; 10]);
    assert_eq!(splits.fitness.class_counts(), vec![600; 10]);
    assert_eq!(splits.test.len(), 10_000);
    let again = split::split(&data.train, Some(data.test.clone()), &config).expect("splittable");
    assert_eq!(splits.fitness, again.fitness);
    let other = split::split(&data.train, None, &SplitConfig { seed: 6, ..config }).expect("splittable");
    assert_ne!(splits.fitness.images(), other.fitness.images());
}

/// Writes a small Fashion-MNIST-shaped set (`count` images of `rows × cols`, labels given) to `dir`.
fn write_set(dir: &Path, image_magic: u32, (count, rows, cols): (u32, u32, u32), pixels: usize, labels: &[u8]) {
    let mut images = Vec::new();
    for word in [image_magic, count, rows, cols] {
        images.extend_from_slice(&word.to_be_bytes());
    }
    images.extend((0..pixels).map(|i| (i % 256) as u8));
    let mut label_bytes = Vec::new();
    for word in [2049, labels.len() as u32] {
        label_bytes.extend_from_slice(&word.to_be_bytes());
    }
    label_bytes.extend_from_slice(labels);
    for prefix in ["train", "t10k"] {
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), &images).expect("write images");
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), &label_bytes).expect("write labels");
    }
}

/// Loads the set in `dir` (checksums as `policy`) and returns the error message.
fn load_error(dir: &Path, policy: ChecksumPolicy) -> String {
    let dirs = [SearchDir { origin: "test", path: dir.to_owned() }];
    let located = idx_load::find_in(&FASHION_MNIST, &dirs, &SearchEnv::default()).expect("all four files present");
    idx_load::load_located(&FASHION_MNIST, located, policy).expect_err("malformed set").to_string()
}

#[test]
fn wrong_magic_names_the_file_and_both_numbers() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2049, (2, 28, 28), 2 * 784, &[0, 1]);
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(message.contains("images-idx3-ubyte: wrong magic number 2049"), "{message}");
    assert!(message.contains("expected 2051"), "{message}");
}

#[test]
fn truncated_file_says_how_much_is_missing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2051, (3, 28, 28), 2 * 784, &[0, 1, 2]);
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(
        message.contains("images-idx3-ubyte: truncated: header announces 2368 bytes, file holds 1584"),
        "{message}"
    );
}

#[test]
fn truncated_gzip_is_a_decompression_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2051, (2, 28, 28), 2 * 784, &[0, 1]);
    let raw_path = tmp.path().join("train-images-idx3-ubyte");
    let raw = std::fs::read(&raw_path).expect("read");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&raw).expect("compress");
    let gz = encoder.finish().expect("compress");
    std::fs::remove_file(&raw_path).expect("remove raw");
    std::fs::write(tmp.path().join("train-images-idx3-ubyte.gz"), &gz[..gz.len() / 2]).expect("write half");
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(message.contains("cannot decompress") && message.contains("train-images-idx3-ubyte.gz"), "{message}");
}

#[test]
fn count_mismatch_names_both_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2051, (3, 28, 28), 3 * 784, &[0, 1]);
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(message.contains("images-idx3-ubyte holds 3 images but"), "{message}");
    assert!(message.contains("labels-idx1-ubyte holds 2 labels"), "{message}");
}

#[test]
fn label_out_of_range_and_wrong_size_are_reported() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2051, (2, 28, 28), 2 * 784, &[3, 10]);
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(message.contains("labels-idx1-ubyte: label 10 at index 1 is out of range (expected 0..10)"), "{message}");
    write_set(tmp.path(), 2051, (2, 27, 28), 2 * 27 * 28, &[3, 4]);
    let message = load_error(tmp.path(), ChecksumPolicy::Report);
    assert!(message.contains("images are 27×28, expected 28×28 for Fashion-MNIST"), "{message}");
}

#[test]
fn well_formed_but_unofficial_files_fail_the_checksum() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_set(tmp.path(), 2051, (2, 28, 28), 2 * 784, &[3, 4]);
    let message = load_error(tmp.path(), ChecksumPolicy::Enforce);
    assert!(message.contains("MD5 of the decompressed content is"), "{message}");
    assert!(message.contains(", expected f4a8712d7a061bf5bd6d2ca38dc4d50a"), "{message}");
    assert!(message.contains("wattevo data fetch fashion-mnist"), "{message}");
}

#[test]
fn missing_data_names_every_directory_and_both_remedies() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dirs = [
        SearchDir { origin: "--data-dir", path: tmp.path().join("flag") },
        SearchDir { origin: "user cache", path: tmp.path().to_owned() },
    ];
    let env = SearchEnv { xdg_cache_home: Some(tmp.path().join("xdg")), ..SearchEnv::default() };
    let err = idx_load::find_in(&FASHION_MNIST, &dirs, &env).expect_err("nothing there");
    assert!(matches!(err, DataError::NotFound { .. }));
    let message = err.to_string();
    assert!(message.contains(&format!("{} (--data-dir): no such directory", tmp.path().join("flag").display())));
    assert!(message.contains(&format!("{} (user cache): missing train-images-idx3-ubyte", tmp.path().display())));
    assert!(message.contains("sudo apt-get install dataset-fashion-mnist"), "{message}");
    assert!(message.contains("wattevo data fetch fashion-mnist"), "{message}");
    assert!(message.contains(&tmp.path().join("xdg/wattevo/fashion-mnist").display().to_string()), "{message}");
}
