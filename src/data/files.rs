//! Dataset files on disk: where they are (`--data-dir`, else `ACTBENCH_DATA`,
//! else `./data`, else the nearest `data/` above the config or results
//! folder, one folder per dataset), reading them plain or gzipped,
//! and the errors that name the file, say what is wrong and how to get it.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::DatasetKind;

/// The environment variable that names the data folder when `--data-dir` is absent.
pub const DATA_ENV: &str = "ACTBENCH_DATA";
/// The data folder when neither is given.
pub const DEFAULT_DATA_DIR: &str = "data";

/// The folder that holds the dataset folders: `--data-dir`, else
/// `ACTBENCH_DATA`, else `./data` when it exists, else the nearest `data/`
/// folder above `near` (the config file, or the results folder a command
/// reads), so that a command run from another folder (`cd experiments/x &&
/// actbench plan --config config.toml`) finds the repository's data as
/// `cargo` finds its manifest; else `./data` (whose absence the loader names).
pub fn data_dir(flag: Option<&Path>, near: Option<&Path>) -> PathBuf {
    match (flag, std::env::var_os(DATA_ENV)) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(dir)) if !dir.is_empty() => PathBuf::from(dir),
        _ if Path::new(DEFAULT_DATA_DIR).is_dir() => PathBuf::from(DEFAULT_DATA_DIR),
        _ => near
            .and_then(|p| std::path::absolute(p).ok())
            .and_then(|p| p.ancestors().skip(1).map(|a| a.join(DEFAULT_DATA_DIR)).find(|d| d.is_dir()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
    }
}

/// The folder of one dataset inside the data folder.
pub fn dataset_dir(data_dir: &Path, dataset: DatasetKind) -> PathBuf {
    data_dir.join(dataset.name())
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "data folder '{}' for dataset `{}` does not exist: {}, or point --data-dir or {DATA_ENV} at the folder that holds `{}/`",
        .dir.display(), .dataset.name(), .dataset.fetch_hint(), .dataset.name()
    )]
    MissingFolder { dir: PathBuf, dataset: DatasetKind },
    #[error("data file '{}' is missing (nor is there a .gz of it): {}", .path.display(), .dataset.fetch_hint())]
    MissingFile { path: PathBuf, dataset: DatasetKind },
    #[error("cannot read data file '{}': {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("data file '{}' is not valid gzip ({source}): delete it and {}", .path.display(), .dataset.fetch_hint())]
    Gzip { path: PathBuf, dataset: DatasetKind, source: std::io::Error },
    #[error(
        "data file '{}' is truncated: {found} of the {expected} bytes it should hold; delete it and {}",
        .path.display(), .dataset.fetch_hint()
    )]
    Truncated { path: PathBuf, dataset: DatasetKind, expected: usize, found: usize },
    #[error(
        "data file '{}' holds more than the {limit} bytes a file of `{}` can (read no further): it is corrupt or another dataset's; delete it and {}",
        .path.display(), .dataset.name(), .dataset.fetch_hint()
    )]
    TooLarge { path: PathBuf, dataset: DatasetKind, limit: usize },
    #[error("data file '{}' is corrupt: {what}; delete it and {}", .path.display(), .dataset.fetch_hint())]
    Corrupt { path: PathBuf, dataset: DatasetKind, what: String },
    #[error(
        "data file '{}' has label {label} at item {index}, outside 0..{classes}: the file is corrupt; delete it and {}",
        .path.display(), .dataset.fetch_hint()
    )]
    Label { path: PathBuf, dataset: DatasetKind, index: usize, label: u8, classes: usize },
    #[error(
        "data file '{}' fails its checksum (SHA-256 {found}, expected {expected}): it is corrupt or another version; delete it and {}",
        .path.display(), .dataset.fetch_hint()
    )]
    Checksum { path: PathBuf, dataset: DatasetKind, expected: String, found: String },
}

/// A file of a dataset, as read: its bytes (decompressed) and where they came from.
pub struct DataFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Reads `<dir>/<name>`, or `<dir>/<name>.gz` decompressed, holding at most
/// `max_len` bytes: a plain file is measured before it is read, and a gzip
/// stream is inflated as it is read and stops once it passes `max_len`, so a
/// small file that inflates to gigabytes costs no more memory than a good one.
pub fn read(dataset: DatasetKind, dir: &Path, name: &str, max_len: usize) -> Result<DataFile, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingFolder { dir: dir.to_path_buf(), dataset });
    }
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let (path, gzipped) = if plain.is_file() {
        (plain, false)
    } else if gz.is_file() {
        (gz, true)
    } else {
        return Err(DataError::MissingFile { path: plain, dataset });
    };
    let io = |source| DataError::Io { path: path.clone(), source };
    let file = std::fs::File::open(&path).map_err(io)?;
    let too_large = || DataError::TooLarge { path: path.clone(), dataset, limit: max_len };
    if !gzipped && file.metadata().map_err(io)?.len() > max_len as u64 {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let limit = max_len as u64 + 1;
    let read = if gzipped {
        flate2::read::GzDecoder::new(std::io::BufReader::new(file)).take(limit).read_to_end(&mut bytes)
    } else {
        file.take(limit).read_to_end(&mut bytes)
    };
    read.map_err(|source| if gzipped { DataError::Gzip { path: path.clone(), dataset, source } } else { io(source) })?;
    if bytes.len() > max_len {
        return Err(too_large());
    }
    Ok(DataFile { path, bytes })
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the bytes of a file against the published SHA-256 of its uncompressed content.
pub fn verify(dataset: DatasetKind, file: &DataFile, expected: &str) -> Result<(), DataError> {
    let found = sha256_hex(&file.bytes);
    if found == expected {
        Ok(())
    } else {
        Err(DataError::Checksum { path: file.path.clone(), dataset, expected: expected.into(), found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        // FIPS 180-2 appendix B.1 test vector.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn flag_wins_over_environment_and_default() {
        assert_eq!(data_dir(Some(Path::new("/x")), None), PathBuf::from("/x"));
    }
}
