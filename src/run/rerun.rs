//! `actbench rerun RUN_DIR`: trains one run again from its manifest.json and
//! says whether its CSVs come out identical (wall-time columns aside).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::backend::BackendKind;
use crate::config::Config;
use crate::progress::Mode;
use crate::results::dir::{ResultsDir, RunDir, Table};
use crate::results::manifest;
use crate::run::{self, Options};

pub struct Rerun {
    pub run_id: String,
    /// Files whose rows differ, with the first differing row.
    pub differences: Vec<String>,
    pub out: PathBuf,
}

/// Trains the run in `run_dir` again into `out`, which must be a new or
/// empty folder: a rerun never writes over an experiment (`--out` naming the
/// run's own experiment would replace its tables with the one run's).
pub fn rerun(run_dir: &Path, out: &Path, data_dir: &Path) -> anyhow::Result<Rerun> {
    if out.exists() && (!out.is_dir() || std::fs::read_dir(out).map_or(true, |mut d| d.next().is_some())) {
        anyhow::bail!(
            "--out '{}' already exists and is not an empty folder: a rerun writes a results folder of its own; give a new path",
            out.display()
        );
    }
    let given = RunDir::new(run_dir);
    let path = given.manifest();
    let manifest = manifest::read(&path).with_context(|| {
        format!("'{}' is missing or unreadable: give a run folder such as results/NAME/runs/RUN_ID", path.display())
    })?;
    let config = Config::parse(&manifest.run_config, &path, "rerun")?;
    let backend = match manifest.backend.as_str() {
        "ndarray" => BackendKind::Ndarray,
        "wgpu" => BackendKind::Wgpu,
        "cuda" => BackendKind::Cuda,
        _ => BackendKind::Flex,
    };
    let options = Options {
        out: out.to_path_buf(),
        backend,
        progress: Mode::Quiet,
        force: true,
        command_line: format!("actbench rerun {}", run_dir.display()),
        data_dir: data_dir.to_path_buf(),
        jobs: 1,
    };
    run::run(&config, &options)?;
    let again = ResultsDir::new(out).run(&manifest.run_id);
    let mut differences = Vec::new();
    for table in Table::ALL {
        if let Some(diff) = first_difference(&given.table(table), &again.table(table))? {
            differences.push(format!("{}: {diff}", table.file_name()));
        }
    }
    Ok(Rerun { run_id: manifest.run_id, differences, out: out.to_path_buf() })
}

/// The first row where two CSVs differ outside the `*_seconds` columns.
pub fn first_difference(a: &Path, b: &Path) -> anyhow::Result<Option<String>> {
    let rows = |p: &Path| -> anyhow::Result<Vec<Vec<String>>> {
        let mut reader = csv::Reader::from_path(p).with_context(|| format!("cannot read '{}'", p.display()))?;
        let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
        let keep: Vec<usize> = (0..header.len()).filter(|&i| !header[i].ends_with("_seconds")).collect();
        let mut out = vec![keep.iter().map(|&i| header[i].clone()).collect()];
        for record in reader.records() {
            let record = record?;
            out.push(keep.iter().map(|&i| record[i].to_string()).collect());
        }
        Ok(out)
    };
    let (x, y) = (rows(a)?, rows(b)?);
    if let Some(i) = (0..x.len().min(y.len())).find(|&i| x[i] != y[i]) {
        return Ok(Some(format!("row {} differs: {} vs {}", i + 1, x[i].join(","), y[i].join(","))));
    }
    Ok((x.len() != y.len()).then(|| format!("{} rows vs {}", x.len(), y.len())))
}
