//! The run folders of a results folder: writing a finished run (its tables,
//! then its manifest with their checksums), reading one back only when every
//! file is intact, and clearing what a killed writer left behind.

use std::path::Path;

use anyhow::Context;

use crate::backend::BackendKind;
use crate::config::Config;
use crate::export::atomic;
use crate::export::csv::{self, Schema};
use crate::results::dir::{ResultsDir, Table};
use crate::results::manifest::{FileDigest, Manifest};
use crate::results::records::{EpochRecord, RunRecords, RunSummary};
use crate::train::record;

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

/// A finished run as it is combined: each table's rows as CSV without the
/// header, in [`Table::ALL`]'s order (well-formed by construction: written
/// from records, or parsed and written again), and its summary.
#[derive(Debug, Clone)]
pub struct SavedRun {
    pub summary: RunSummary,
    pub bodies: [String; Table::ALL.len()],
}

impl SavedRun {
    pub fn new(records: &RunRecords) -> Self {
        let bodies = Table::ALL.map(|table| match table {
            Table::Epochs => csv::body(&records.epochs),
            Table::Summary => csv::body(std::slice::from_ref(&records.summary)),
            recorded => {
                records.recorded.iter().find(|(t, _)| *t == recorded).map_or_else(String::new, |(_, b)| b.clone())
            }
        });
        Self { summary: records.summary.clone(), bodies }
    }

    /// Its epochs.csv rows (the sweep's `keys` name its columns).
    pub fn epochs(&self, keys: &[String]) -> Vec<EpochRecord> {
        let text = header_of(Table::Epochs, keys) + self.body(Table::Epochs);
        csv::parse_rows(text.as_bytes()).expect("a saved run's rows were written from records")
    }

    pub fn body(&self, table: Table) -> &str {
        &self.bodies[Table::ALL.iter().position(|t| *t == table).expect("every table is in Table::ALL")]
    }
}

/// What a run's folder holds.
#[derive(Debug)]
pub enum Found {
    /// Nothing finished (no manifest): train it.
    Nothing,
    /// A run of another config (the config changed): train it again.
    Other,
    /// A finished run whose files were damaged since: what is wrong, naming the file.
    Damaged(String),
    Finished(Box<SavedRun>),
}

/// Reads `run` back from `out`: finished only when its manifest (written
/// last) has the run's config hash and every table is there, matches the
/// size and checksum the manifest recorded, and parses, every row naming the run.
pub fn finished(out: &ResultsDir, run: &PlannedRun) -> Found {
    let dir = out.run(&run.spec.id);
    let path = dir.manifest();
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Nothing,
        Err(e) => return Found::Damaged(format!("cannot read '{}': {e}", path.display())),
    };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&text) else {
        return Found::Damaged(format!("'{}' is not a valid manifest", path.display()));
    };
    if manifest.config_hash != run.hash {
        return Found::Other;
    }
    if manifest.run_id != run.spec.id {
        return Found::Damaged(format!("'{}' names run `{}`", path.display(), manifest.run_id));
    }
    let mut bodies: [String; Table::ALL.len()] = Default::default();
    let mut summary = None;
    for (i, table) in Table::ALL.into_iter().enumerate() {
        let path = dir.table(table);
        let damaged = |why: String| Found::Damaged(format!("'{}' {why}", path.display()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // A run written before this table existed had nothing for it.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && table.optional()
                    && !manifest.files.contains_key(table.file_name()) =>
            {
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return damaged("is missing".into()),
            Err(e) => return damaged(format!("cannot be read ({e})")),
        };
        if !manifest.files.is_empty() {
            let found = FileDigest::of(&bytes);
            match manifest.files.get(table.file_name()) {
                Some(written) if *written == found => {}
                Some(written) if written.bytes == found.bytes => {
                    return damaged("changed after the run finished (same size, other bytes)".into());
                }
                Some(written) => {
                    return damaged(format!(
                        "changed after the run finished ({} bytes; {} were written)",
                        found.bytes, written.bytes
                    ));
                }
                None => return damaged(format!("is not listed in '{}'", dir.manifest().display())),
            }
        }
        let spec = &run.spec;
        let parsed = match table {
            Table::Summary => {
                csv::rewrite::<RunSummary>(&bytes, &spec.id, &spec.sweep_keys, &spec.sweep).and_then(|(b, rows)| {
                    match <[_; 1]>::try_from(rows) {
                        Ok([one]) => {
                            summary = Some(one);
                            Ok(b)
                        }
                        Err(rows) => Err(format!("holds {} rows, not one", rows.len())),
                    }
                })
            }
            other => schema(other).rewrite(&bytes, &spec.id, &spec.sweep_keys, &spec.sweep),
        };
        match parsed {
            Ok(body) => bodies[i] = body,
            Err(why) => return damaged(why),
        }
    }
    let summary = summary.expect("the summary is one of the tables");
    Found::Finished(Box::new(SavedRun { summary, bodies }))
}

/// Writes a finished run: its tables first, then the manifest with their
/// checksums (its presence marks the run finished). A manifest already
/// there is removed first, so a run cut off half-way is never taken for
/// the old one.
pub fn write_run(out: &ResultsDir, run: &PlannedRun, saved: &SavedRun, mut manifest: Manifest) -> anyhow::Result<()> {
    let dir = out.run(&run.spec.id);
    std::fs::create_dir_all(dir.path()).with_context(|| format!("cannot create '{}'", dir.path().display()))?;
    match std::fs::remove_file(dir.manifest()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot replace '{}'", dir.manifest().display()));
        }
        _ => {}
    }
    manifest.files.clear();
    for table in Table::ALL {
        let text = header_of(table, &run.spec.sweep_keys) + saved.body(table);
        write(&dir.table(table), |p| atomic::write_string(p, &text))?;
        manifest.files.insert(table.file_name().to_string(), FileDigest::of(text.as_bytes()));
    }
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    write(&dir.manifest(), |p| atomic::write_string(p, &(json + "\n")))
}

/// The header line of a table, with the sweep's `keys`.
pub fn header_of(table: Table, keys: &[String]) -> String {
    schema(table).header(keys)
}

/// A table's row type: the training loop's own for epochs.csv and
/// summary.csv, a recorder's for the others (train::record::KINDS).
pub fn schema(table: Table) -> Schema {
    match table {
        Table::Epochs => Schema::of::<EpochRecord>(),
        Table::Summary => Schema::of::<RunSummary>(),
        recorded => record::kind(recorded).schema,
    }
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

pub(super) fn write(path: &Path, f: impl FnOnce(&Path) -> std::io::Result<()>) -> anyhow::Result<()> {
    f(path).with_context(|| format!("cannot write '{}'", path.display()))
}
