//! CIFAR-10's binary version (Krizhevsky 2009, www.cs.toronto.edu/~kriz/cifar.html):
//! `data_batch_1.bin` .. `data_batch_5.bin` (training) and `test_batch.bin`,
//! each 10000 records of 1 label byte and 3072 pixel bytes (1024 red, 1024
//! green, 1024 blue, each 32x32 row-major), i.e. already channel-major.
//! Its authors publish only the MD5 of the archive (checked by `actbench
//! fetch`); here every file's size and labels are checked.

use std::path::{Path, PathBuf};

use super::DatasetKind;
use super::files::{self, DataError, DataFile};
use super::{Dataset, Source};

pub const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
pub const TEST_FILE: &str = "test_batch.bin";
/// Every batch file, training first.
pub const FILES: [&str; 6] =
    [TRAIN_FILES[0], TRAIN_FILES[1], TRAIN_FILES[2], TRAIN_FILES[3], TRAIN_FILES[4], TEST_FILE];
pub const RECORDS_PER_FILE: usize = 10_000;
const CHANNELS: usize = 3;
const SIDE: usize = 32;
const PIXELS: usize = CHANNELS * SIDE * SIDE;
const RECORD: usize = 1 + PIXELS;
const CLASSES: usize = 10;
/// Bytes of every batch file.
pub const FILE_BYTES: usize = RECORDS_PER_FILE * RECORD;

/// The folder with the batch files: `<data>/cifar10`, or the folder the
/// archive unpacks to inside it (`cifar-10-batches-bin`).
pub fn batches_dir(dataset: DatasetKind, data_dir: &Path) -> PathBuf {
    let dir = files::dataset_dir(data_dir, dataset);
    let unpacked = dir.join("cifar-10-batches-bin");
    if !dir.join(TEST_FILE).exists() && unpacked.join(TEST_FILE).exists() { unpacked } else { dir }
}

/// The 50000 training and 10000 test images, pixels scaled to [0, 1].
pub fn load(dataset: DatasetKind, data_dir: &Path) -> Result<Source, DataError> {
    let dir = batches_dir(dataset, data_dir);
    let mut train = empty(RECORDS_PER_FILE * TRAIN_FILES.len());
    for name in TRAIN_FILES {
        append(&mut train, dataset, &files::read(dataset, &dir, name, FILE_BYTES)?)?;
    }
    let mut test = empty(RECORDS_PER_FILE);
    append(&mut test, dataset, &files::read(dataset, &dir, TEST_FILE, FILE_BYTES)?)?;
    Ok(Source::Fixed { train, test })
}

fn empty(capacity: usize) -> Dataset {
    Dataset {
        features: Vec::with_capacity(capacity * PIXELS),
        labels: Vec::with_capacity(capacity),
        n_features: PIXELS,
        n_classes: CLASSES,
        image: Some([CHANNELS, SIDE, SIDE]),
        vocab: None,
    }
}

/// Appends the records of one batch file, after checking its size and labels.
fn append(into: &mut Dataset, dataset: DatasetKind, file: &DataFile) -> Result<(), DataError> {
    let expected = FILE_BYTES;
    if file.bytes.len() < expected {
        return Err(DataError::Truncated { path: file.path.clone(), dataset, expected, found: file.bytes.len() });
    }
    if file.bytes.len() > expected {
        return Err(DataError::Corrupt {
            path: file.path.clone(),
            dataset,
            what: format!("{} bytes, expected {expected} ({RECORDS_PER_FILE} records of {RECORD})", file.bytes.len()),
        });
    }
    for (index, record) in file.bytes.chunks_exact(RECORD).enumerate() {
        let label = record[0];
        if label as usize >= CLASSES {
            return Err(DataError::Label { path: file.path.clone(), dataset, index, label, classes: CLASSES });
        }
        into.labels.push(label as i64);
        into.features.extend(record[1..].iter().map(|&p| p as f32 / 255.0));
    }
    Ok(())
}

/// One batch file's bytes from labels and channel-major pixels (for tests).
pub fn encode(labels: &[u8], pixels: &[u8]) -> Vec<u8> {
    assert_eq!(pixels.len(), labels.len() * PIXELS, "3072 pixel bytes per label");
    let mut out = Vec::with_capacity(labels.len() * RECORD);
    for (label, image) in labels.iter().zip(pixels.chunks_exact(PIXELS)) {
        out.push(*label);
        out.extend_from_slice(image);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: Vec<u8>) -> DataFile {
        DataFile { path: PathBuf::from("data_batch_1.bin"), bytes }
    }

    #[test]
    fn records_round_trip_and_bad_files_are_named() {
        let labels: Vec<u8> = (0..RECORDS_PER_FILE).map(|i| (i % 10) as u8).collect();
        let pixels: Vec<u8> = (0..RECORDS_PER_FILE * PIXELS).map(|i| (i % 251) as u8).collect();
        let bytes = encode(&labels, &pixels);
        let mut d = empty(RECORDS_PER_FILE);
        append(&mut d, DatasetKind::named("cifar10"), &file(bytes.clone())).unwrap();
        assert_eq!(d.labels[..3], [0, 1, 2]);
        assert_eq!(d.features[PIXELS + 1], ((PIXELS + 1) % 251) as f32 / 255.0);
        assert_eq!(d.class_counts(), vec![1000; 10]);

        let err =
            append(&mut empty(1), DatasetKind::named("cifar10"), &file(bytes[..RECORD * 3 + 5].to_vec())).unwrap_err();
        assert!(matches!(err, DataError::Truncated { found, .. } if found == RECORD * 3 + 5), "{err}");
        let mut bad = bytes;
        bad[RECORD * 4] = 10;
        let err = append(&mut empty(1), DatasetKind::named("cifar10"), &file(bad)).unwrap_err();
        assert!(matches!(err, DataError::Label { index: 4, label: 10, .. }), "{err}");
    }
}
