//! The run folders of a results folder: writing a finished run (its
//! manifest, then its tables, the summary last), recognising one already
//! finished, and clearing what a killed writer left behind.

use std::path::Path;

use anyhow::Context;

use crate::config::{BackendKind, Config};
use crate::export::{atomic, csv};
use crate::manifest::{self, Manifest};
use crate::records::{RunRecords, RunSummary};
use crate::results_dir::{ResultsDir, Table};

use super::plan::PlannedRun;

/// Creates the results folder and its `runs/` folder.
pub fn create(out: &ResultsDir) -> anyhow::Result<()> {
    std::fs::create_dir_all(out.runs())
        .with_context(|| format!("cannot create results folder '{}'", out.root().display()))
}

/// The resolved config, as run on `backend`, at the top of the folder.
pub fn write_config(out: &ResultsDir, config: &Config, backend: BackendKind) -> anyhow::Result<()> {
    let mut resolved = config.clone();
    resolved.experiment.backend = backend;
    write(&out.config(), |p| atomic::write_string(p, &resolved.to_toml()))
}

/// The summary of `run` when it is already in `out` with the same config
/// hash; `None` means "train it". A manifest that exists but cannot be read
/// is said on stderr, as the run is then trained again.
pub fn finished(out: &ResultsDir, run: &PlannedRun) -> Option<RunSummary> {
    let dir = out.run(&run.spec.id);
    let path = dir.manifest();
    if !path.is_file() {
        return None;
    }
    let Some(manifest) = manifest::read(&path) else {
        eprintln!("warning: '{}' is damaged; run `{}` is trained again", path.display(), run.spec.id);
        return None;
    };
    if manifest.config_hash != run.hash {
        return None;
    }
    let mut reader = ::csv::Reader::from_path(dir.table(Table::Summary)).ok()?;
    reader.deserialize().next()?.ok()
}

pub fn write_run(out: &ResultsDir, run: &PlannedRun, records: &RunRecords, manifest: &Manifest) -> anyhow::Result<()> {
    let dir = out.run(&run.spec.id);
    std::fs::create_dir_all(dir.path()).with_context(|| format!("cannot create '{}'", dir.path().display()))?;
    let json = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
    write(&dir.manifest(), |p| atomic::write_string(p, &(json + "\n")))?;
    for table in Table::ALL {
        // In Table::ALL's order: the summary last, its presence marks a finished run.
        write(&dir.table(table), |p| write_table(records, table, p))?;
    }
    Ok(())
}

/// Temporary files a killed writer left behind (export::atomic's
/// `.<name>.tmp-<pid>`, chart's `.<stem>.tmp.<ext>`); safe to remove while
/// holding the folder's lock.
pub fn remove_stale_temporaries(out: &ResultsDir) {
    let mut dirs = vec![out.root().to_path_buf(), out.plots()];
    if let Ok(runs) = std::fs::read_dir(out.runs()) {
        dirs.extend(runs.flatten().map(|e| e.path()));
    }
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// One of a run's tables, as CSV.
fn write_table(records: &RunRecords, table: Table, path: &Path) -> std::io::Result<()> {
    match table {
        Table::Epochs => csv::write_rows(path, &records.epochs),
        Table::Gradients => csv::write_rows(path, &records.gradients),
        Table::Activations => csv::write_rows(path, &records.activations),
        Table::Summary => csv::write_rows(path, std::slice::from_ref(&records.summary)),
    }
}

pub(super) fn write(path: &Path, f: impl FnOnce(&Path) -> std::io::Result<()>) -> anyhow::Result<()> {
    f(path).with_context(|| format!("cannot write '{}'", path.display()))
}
