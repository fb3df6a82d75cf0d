//! Loading an IDX dataset (Fashion-MNIST) from the first directory that holds it, with its
//! checksums verified on the decompressed content.
//!
//! The training and test pairs are read on two threads (decompressing the 26 MB training images
//! is most of the cost).

use std::path::{Path, PathBuf};

use super::DataError;
use super::dataset::Dataset;
use super::idx::{self, IdxError};
use super::idx_spec::{IdxFile, IdxSpec, md5_hex};
use super::locate::{Located, SearchDir, SearchEnv, locate, search_dirs};

/// What to do when a file's checksum is not the published one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Fail with [`DataError::Checksum`] (loading for training).
    Enforce,
    /// Record it in [`FileCheck::checksum_ok`] and go on (`wattevo data info`).
    Report,
}

/// One file as found and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The file (raw or `.gz`).
    pub path: PathBuf,
    /// Decompressed size in bytes.
    pub raw_bytes: usize,
    /// MD5 of the decompressed content (hex).
    pub raw_md5: String,
    /// Whether it equals the official one.
    pub checksum_ok: bool,
}

/// An IDX dataset as loaded.
#[derive(Debug, Clone)]
pub struct IdxLoaded {
    /// Where it was found.
    pub located: Located,
    /// The official training set.
    pub train: Dataset,
    /// The official test set.
    pub test: Dataset,
    /// The four files, in [`IdxSpec::files`] order.
    pub files: Vec<FileCheck>,
}

/// Searches the default directories (see [`super::locate`]) and loads `spec` from the first
/// complete one, enforcing the checksums.
pub fn load_idx(spec: &IdxSpec, data_dir: Option<&Path>, env: &SearchEnv) -> Result<IdxLoaded, DataError> {
    let located = find(spec, data_dir, env)?;
    load_located(spec, located, ChecksumPolicy::Enforce)
}

/// Finds the directory holding `spec`, or the not-found error naming every directory searched
/// and both ways to get the data.
pub fn find(spec: &IdxSpec, data_dir: Option<&Path>, env: &SearchEnv) -> Result<Located, DataError> {
    // a directory the user named is the only one searched: lacking the files is an error, not
    // a reason to quietly load another copy
    let dirs = search_dirs(spec, data_dir, env);
    let dirs: Vec<_> = match data_dir {
        Some(_) => dirs.into_iter().filter(|d| d.origin == "--data-dir").collect(),
        None => dirs,
    };
    find_in(spec, &dirs, env)
}

/// The first of `dirs` holding `spec`, or [`DataError::NotFound`] naming each of them.
pub fn find_in(spec: &IdxSpec, dirs: &[SearchDir], env: &SearchEnv) -> Result<Located, DataError> {
    locate(spec, dirs).map_err(|report| DataError::NotFound {
        title: spec.title,
        name: spec.name,
        package: spec.debian_package,
        report,
        cache: env.cache_dir(spec.name).map_or_else(|| "~/.cache/wattevo".to_owned(), |p| p.display().to_string()),
    })
}

/// Loads the four files of `located`, training and test pairs in parallel.
pub fn load_located(spec: &IdxSpec, located: Located, policy: ChecksumPolicy) -> Result<IdxLoaded, DataError> {
    let [train_images, train_labels, test_images, test_labels] = &located.files;
    let [f0, f1, f2, f3] = &spec.files;
    let train_name = format!("{}/train", spec.name);
    let test_name = format!("{}/test", spec.name);
    let (train, test) = std::thread::scope(|scope| {
        let test = scope
            .spawn(|| load_pair(spec, (test_images.as_path(), f2), (test_labels.as_path(), f3), &test_name, policy));
        let train = load_pair(spec, (train_images.as_path(), f0), (train_labels.as_path(), f1), &train_name, policy);
        (train, test.join())
    });
    let (train, mut files) = train?;
    let (test, test_files) = match test {
        Ok(result) => result?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    files.extend(test_files);
    Ok(IdxLoaded { located, train, test, files })
}

fn load_pair(
    spec: &IdxSpec,
    (images_path, images_file): (&Path, &IdxFile),
    (labels_path, labels_file): (&Path, &IdxFile),
    name: &str,
    policy: ChecksumPolicy,
) -> Result<(Dataset, Vec<FileCheck>), DataError> {
    let (images_raw, images_check) = read_and_hash(images_path, images_file)?;
    let (labels_raw, labels_check) = read_and_hash(labels_path, labels_file)?;
    // Structure first: "truncated" or "wrong magic" says more than a checksum mismatch.
    let images = idx::parse_images(images_path, &images_raw)?;
    drop(images_raw);
    let labels = idx::parse_labels(labels_path, &labels_raw)?;
    if images.rows != spec.side || images.cols != spec.side {
        let expected = format!("{0}×{0} for {1}", spec.side, spec.title);
        return Err(
            IdxError::BadDims { path: images_path.to_owned(), rows: images.rows, cols: images.cols, expected }.into()
        );
    }
    idx::check_pair(images_path, &images, labels_path, &labels, spec.num_classes)?;
    if policy == ChecksumPolicy::Enforce {
        for (check, file) in [(&images_check, images_file), (&labels_check, labels_file)] {
            if !check.checksum_ok {
                return Err(DataError::Checksum {
                    path: check.path.clone(),
                    expected: file.raw_md5,
                    found: check.raw_md5.clone(),
                    name: spec.name,
                    package: spec.debian_package,
                });
            }
        }
    }
    let pixels = images.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let dataset = Dataset::new(name, pixels, labels, spec.num_classes, (1, images.rows, images.cols))?;
    Ok((dataset, vec![images_check, labels_check]))
}

fn read_and_hash(path: &Path, file: &IdxFile) -> Result<(Vec<u8>, FileCheck), IdxError> {
    let raw = idx::read_decompressed(path)?;
    let raw_md5 = md5_hex(&raw);
    let checksum_ok = raw_md5 == file.raw_md5;
    let check = FileCheck { path: path.to_owned(), raw_bytes: raw.len(), raw_md5, checksum_ok };
    Ok((raw, check))
}
