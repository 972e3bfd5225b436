//! The IDX format of MNIST and Fashion-MNIST (LeCun et al., "THE MNIST
//! DATABASE", yann.lecun.com/exdb/mnist): a big-endian header (magic number
//! 0x00000803 for images, 0x00000801 for labels, then the item count, then
//! rows and columns for images) followed by one unsigned byte per pixel or
//! label. One loader serves both datasets; each has its own file list with
//! the SHA-256 of the uncompressed files (published with the
//! registries' copies; docs/src/data.md lists them).

use std::path::Path;

use super::DatasetKind;
use super::files::{self, DataError, DataFile};
use super::{Dataset, Source};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const SIDE: usize = 28;
const CLASSES: usize = 10;

/// The four files of an MNIST-like dataset, each `(file name, SHA-256 of
/// its uncompressed bytes)`, in the order training images, training labels,
/// test images, test labels.
pub struct IdxFiles {
    pub files: [(&'static str, &'static str); 4],
    /// Training and test items.
    pub counts: (usize, usize),
}

impl IdxFiles {
    /// Bytes of the largest of the four files (the training images).
    pub const fn largest_file(&self) -> usize {
        let most = if self.counts.0 > self.counts.1 { self.counts.0 } else { self.counts.1 };
        file_len(IMAGES_MAGIC, most)
    }
}

/// Bytes of an IDX file of `count` items: the header, then the items.
const fn file_len(magic: u32, count: usize) -> usize {
    if magic == IMAGES_MAGIC { 16 + count * SIDE * SIDE } else { 8 + count }
}

pub const MNIST: IdxFiles = IdxFiles {
    files: [
        ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ],
    counts: (60_000, 10_000),
};

pub const FASHION_MNIST: IdxFiles = IdxFiles {
    files: [
        ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ],
    counts: (60_000, 10_000),
};

/// The official training and test sets of `dataset` (whose files `files`
/// lists), pixels scaled to [0, 1].
pub fn load(dataset: DatasetKind, files: &IdxFiles, data_dir: &Path) -> Result<Source, DataError> {
    let dir = files::dataset_dir(data_dir, dataset);
    let [train_images, train_labels, test_images, test_labels] = files.files;
    let part = |(images, labels): ((&str, &str), (&str, &str)), count: usize| -> Result<Dataset, DataError> {
        let images = read_checked(dataset, &dir, images, count)?;
        let labels = read_checked(dataset, &dir, labels, count)?;
        parse(dataset, &images, &labels, count)
    };
    let train = part((train_images, train_labels), files.counts.0)?;
    let test = part((test_images, test_labels), files.counts.1)?;
    Ok(Source::Fixed { train, test })
}

/// Reads a file; its structure is checked by `parse`, its checksum here
/// (after the structure, so a cut file reads as truncated, not as "corrupt").
fn read_checked(
    dataset: DatasetKind,
    dir: &Path,
    (name, sha256): (&str, &str),
    count: usize,
) -> Result<DataFile, DataError> {
    let magic = if name.contains("images") { IMAGES_MAGIC } else { LABELS_MAGIC };
    // No more than the file of `count` items holds: a longer one is not this dataset's.
    let file = files::read(dataset, dir, name, file_len(magic, count))?;
    header(dataset, &file, magic)?;
    if magic == LABELS_MAGIC {
        check_labels(dataset, &file)?;
    }
    files::verify(dataset, &file, sha256)?;
    Ok(file)
}

/// Checks the magic number and that the file holds what its header promises;
/// returns the item count.
fn header(dataset: DatasetKind, file: &DataFile, magic: u32) -> Result<usize, DataError> {
    let corrupt = |what: String| DataError::Corrupt { path: file.path.clone(), dataset, what };
    let header_len = if magic == IMAGES_MAGIC { 16 } else { 8 };
    let bytes = &file.bytes;
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: file.path.clone(),
            dataset,
            expected: header_len,
            found: bytes.len(),
        });
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")) as usize;
    if word(0) as u32 != magic {
        return Err(corrupt(format!(
            "magic number 0x{:08x}, expected 0x{magic:08x} (not an IDX {} file)",
            word(0),
            if magic == IMAGES_MAGIC { "image" } else { "label" }
        )));
    }
    let count = word(1);
    let per_item = if magic == IMAGES_MAGIC {
        let (rows, cols) = (word(2), word(3));
        if (rows, cols) != (SIDE, SIDE) {
            return Err(corrupt(format!("images are {rows}x{cols}, expected {SIDE}x{SIDE}")));
        }
        rows * cols
    } else {
        1
    };
    let expected = header_len + count * per_item;
    if bytes.len() < expected {
        return Err(DataError::Truncated { path: file.path.clone(), dataset, expected, found: bytes.len() });
    }
    if bytes.len() > expected {
        return Err(corrupt(format!("{} bytes after the last of its {count} items", bytes.len() - expected)));
    }
    Ok(count)
}

/// Images and labels into a dataset; checks counts and label range.
fn parse(dataset: DatasetKind, images: &DataFile, labels: &DataFile, expected: usize) -> Result<Dataset, DataError> {
    let n_images = header(dataset, images, IMAGES_MAGIC)?;
    let n_labels = header(dataset, labels, LABELS_MAGIC)?;
    for (file, n) in [(images, n_images), (labels, n_labels)] {
        if n != expected {
            return Err(DataError::Corrupt {
                path: file.path.clone(),
                dataset,
                what: format!("{n} items, expected {expected}"),
            });
        }
    }
    check_labels(dataset, labels)?;
    let label_bytes = &labels.bytes[8..];
    // x / 255, as torchvision's ToTensor.
    let features = images.bytes[16..].iter().map(|&p| p as f32 / 255.0).collect();
    Ok(Dataset {
        features,
        labels: label_bytes.iter().map(|&l| l as i64).collect(),
        n_features: SIDE * SIDE,
        n_classes: CLASSES,
        image: Some([1, SIDE, SIDE]),
        vocab: None,
    })
}

/// Every label names one of the classes.
fn check_labels(dataset: DatasetKind, labels: &DataFile) -> Result<(), DataError> {
    match labels.bytes[8..].iter().enumerate().find(|(_, l)| **l as usize >= CLASSES) {
        Some((index, &label)) => {
            Err(DataError::Label { path: labels.path.clone(), dataset, index, label, classes: CLASSES })
        }
        None => Ok(()),
    }
}

/// An IDX file as bytes (for tests and tools that write the format).
pub fn encode_images(images: &[u8], count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.len());
    for word in [IMAGES_MAGIC, count as u32, SIDE as u32, SIDE as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(images);
    out
}

pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    for word in [LABELS_MAGIC, labels.len() as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(bytes: Vec<u8>) -> DataFile {
        DataFile { path: PathBuf::from("x"), bytes }
    }

    #[test]
    fn reads_what_it_writes() {
        let images: Vec<u8> = (0..3 * 784).map(|i| (i % 256) as u8).collect();
        let d =
            parse(DatasetKind::named("mnist"), &file(encode_images(&images, 3)), &file(encode_labels(&[7, 0, 9])), 3)
                .unwrap();
        assert_eq!(d.labels, vec![7, 0, 9]);
        assert_eq!(d.features.len(), 3 * 784);
        assert_eq!(d.features[255], 1.0);
        assert_eq!(d.features[1], 1.0f32 / 255.0);
    }

    #[test]
    fn structural_errors_are_named() {
        let images = encode_images(&vec![0; 2 * 784], 2);
        let labels = encode_labels(&[1, 2]);
        let mut cut = images.clone();
        cut.truncate(100);
        let err = parse(DatasetKind::named("mnist"), &file(cut), &file(labels.clone()), 2).unwrap_err();
        assert!(matches!(err, DataError::Truncated { expected: 1584, found: 100, .. }), "{err}");
        let mut magic = images.clone();
        magic[3] = 0x01;
        let err = parse(DatasetKind::named("mnist"), &file(magic), &file(labels.clone()), 2).unwrap_err();
        assert!(err.to_string().contains("magic number 0x00000801, expected 0x00000803"), "{err}");
        let err =
            parse(DatasetKind::named("mnist"), &file(images.clone()), &file(encode_labels(&[1, 12])), 2).unwrap_err();
        assert!(matches!(err, DataError::Label { index: 1, label: 12, .. }), "{err}");
        let err = parse(DatasetKind::named("mnist"), &file(images), &file(labels), 3).unwrap_err();
        assert!(err.to_string().contains("2 items, expected 3"), "{err}");
    }
}
