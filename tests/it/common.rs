//! Helpers shared by the integration tests (in place of dev-dependencies, see Cargo.toml).
#![allow(dead_code)]

use actbench::results::dir::Table;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh folder under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("actbench-test-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The actbench binary built for these tests, run from the repository root.
pub fn actbench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actbench"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

pub fn run(args: &[&str]) -> Output {
    actbench().args(args).output().unwrap()
}

/// Trains `config` (written to DIR/exp.toml) into DIR/out with
/// RAYON_NUM_THREADS = `threads`; panics with actbench's stderr on failure.
pub fn train_with_threads(dir: &Path, config: &str, threads: &str) -> std::path::PathBuf {
    let path = dir.join("exp.toml");
    std::fs::write(&path, config).unwrap();
    let out = dir.join("out");
    let result = actbench()
        .env("RAYON_NUM_THREADS", threads)
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    out
}

/// The run files whose rows (wall times aside) must not depend on the machine's threads.
pub const RUN_FILES: [&str; 4] = [
    Table::Epochs.file_name(),
    Table::Gradients.file_name(),
    Table::Activations.file_name(),
    Table::Summary.file_name(),
];

/// A CSV file's rows without the wall-time (`*_seconds`) columns: what two
/// runs of the same config and seed must agree on.
pub fn timeless(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| !header[i].ends_with("_seconds")).collect();
    reader.records().map(|r| keep.iter().map(|&i| r.as_ref().unwrap()[i].to_string()).collect()).collect()
}

/// A gzip file of 1 GiB of zeros (about 1 MB compressed), made once per test binary.
pub fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap()
    })
}

/// A CSV file's rows, each a map from column to value.
pub fn csv_maps(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect()
}

/// `actbench check --expect` of `claims` (written to DIR/claims.toml)
/// against the results in `results`: the exit code, and stdout then stderr.
pub fn check_claims(dir: &Path, results: &Path, claims: &str) -> (Option<i32>, String) {
    let file = dir.join("claims.toml");
    std::fs::write(&file, claims).unwrap();
    let o = actbench().args(["check", "--expect", file.to_str().unwrap(), results.to_str().unwrap()]).output().unwrap();
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}
