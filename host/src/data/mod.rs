//! Datasets: the embedded 8×8 digits and IDX files (Fashion-MNIST), loaded as [`Dataset`]s
//! (NCHW `f32` in [0, 1]) and split as the paper does into [`DataSplits`].
//!
//! - [`load_splits`] is the one call training and evolution need: it loads a [`DatasetName`],
//!   splits it (seeded, stratified, 70 / 20 / 10 plus the test set, see [`split`]) and optionally
//!   resizes to 32×32.
//! - IDX files are searched for in `--data-dir`, `$WATTEVO_DATA`, the Debian package's directory
//!   and the user's cache ([`locate`]), and verified against hard-coded MD5s ([`idx_spec`]).
//! - [`fetch`] downloads the official files; [`batch`] iterates over batches without allocating.

pub mod batch;
pub mod dataset;
pub mod digits;
pub mod fetch;
pub mod idx;
pub mod idx_load;
pub mod idx_spec;
pub mod locate;
pub mod resize;
pub mod split;

use std::path::{Path, PathBuf};

pub use batch::{BatchBuffer, EpochOrder};
pub use dataset::{Dataset, DatasetError};
pub use idx::IdxError;
pub use idx_spec::FASHION_MNIST;
pub use locate::SearchEnv;
pub use split::{DataSplits, SplitConfig, SplitError};

/// The datasets wattevo can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// The embedded 8×8 handwritten digits (1797 samples, no download).
    Digits,
    /// Fashion-MNIST (IDX files, 28×28, 60000 + 10000).
    FashionMnist,
}

impl crate::named::Named for DatasetName {
    const KIND: &'static str = "dataset";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Digits, digits::NAME, "the embedded 8×8 handwritten digits (1797 samples, no download)"),
        (Self::FashionMnist, FASHION_MNIST.name, "Fashion-MNIST (IDX files, 28×28, 60000 + 10000)"),
    ];
}
crate::named::named_enum_text!(DatasetName);

impl DatasetName {
    /// The name on the command line and in configs.
    pub fn as_str(self) -> &'static str {
        crate::named::Named::name(self)
    }
}

/// Anything that stops a dataset from loading.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No searched directory holds all four files.
    #[error(
        "{title} not found. Searched, in order:\n{report}Get it with `sudo apt-get install {package}` \
         (Debian/Ubuntu), or on a machine with internet access run `wattevo data fetch {name}` (it writes to \
         {cache}); or point --data-dir or $WATTEVO_DATA at a directory holding the four IDX files"
    )]
    NotFound {
        /// Dataset title.
        title: &'static str,
        /// Dataset name.
        name: &'static str,
        /// Debian package.
        package: &'static str,
        /// One line per directory searched, saying what it lacked.
        report: String,
        /// Where `wattevo data fetch` writes.
        cache: String,
    },
    /// A file's decompressed content is not the official one.
    #[error(
        "{}: MD5 of the decompressed content is {found}, expected {expected}: the file is corrupt or not \
         the official one. Delete it and run `wattevo data fetch {name}`, or reinstall `{package}`",
        path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Official MD5.
        expected: &'static str,
        /// MD5 found.
        found: String,
        /// Dataset name.
        name: &'static str,
        /// Debian package.
        package: &'static str,
    },
    /// An IDX file is malformed.
    #[error(transparent)]
    Idx(#[from] IdxError),
    /// The loaded pieces do not fit together.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// The split cannot be made.
    #[error(transparent)]
    Split(#[from] SplitError),
}

/// How to load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// `--data-dir`, searched first for IDX datasets.
    pub data_dir: Option<PathBuf>,
    /// Resize every image to `(height, width)` (the paper uses 32×32); `None` keeps the size.
    pub resize_to: Option<(usize, usize)>,
    /// Split fractions and seed.
    pub split: SplitConfig,
}

/// The official training set and, if the dataset has one, the official test set.
pub fn load_official(name: DatasetName, data_dir: Option<&Path>) -> Result<(Dataset, Option<Dataset>), DataError> {
    match name {
        DatasetName::Digits => Ok((digits::load()?, None)),
        DatasetName::FashionMnist => {
            let loaded = idx_load::load_idx(&FASHION_MNIST, data_dir, &SearchEnv::from_process())?;
            tracing::info!("loaded {} from {}", FASHION_MNIST.title, loaded.located.dir.path.display());
            Ok((loaded.train, Some(loaded.test)))
        }
    }
}

/// Loads `name`, splits it into train / validation / fitness / test and resizes if asked.
pub fn load_splits(name: DatasetName, options: &LoadOptions) -> Result<DataSplits, DataError> {
    let (train, test) = load_official(name, options.data_dir.as_deref())?;
    let splits = split::split(&train, test, &options.split)?;
    drop(train);
    Ok(match options.resize_to {
        None => splits,
        Some((height, width)) => DataSplits {
            train: splits.train.resized(height, width),
            validation: splits.validation.resized(height, width),
            fitness: splits.fitness.resized(height, width),
            test: splits.test.resized(height, width),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_splits_hold_out_a_test_set() {
        let splits = load_splits(DatasetName::Digits, &LoadOptions::default()).expect("embedded digits");
        // test round(0.2·1797) = 359; fitness round(0.1·1438) = 144; validation round(0.2/0.9·1294) = 288.
        let sizes = [splits.train.len(), splits.validation.len(), splits.fitness.len(), splits.test.len()];
        assert_eq!(sizes, [1006, 288, 144, 359]);
        assert_eq!(splits.test.name(), "digits/test");
    }

    #[test]
    fn resize_option_gives_32_by_32() {
        let options = LoadOptions { resize_to: Some((32, 32)), ..LoadOptions::default() };
        let splits = load_splits(DatasetName::Digits, &options).expect("embedded digits");
        assert_eq!(splits.fitness.input_shape(), crate::netspec::Shape::Image { channels: 1, height: 32, width: 32 });
        assert_eq!(splits.test.images().len(), 359 * 32 * 32);
    }
}
