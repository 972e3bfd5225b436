//! `actbench slurm`: a grid as a SLURM job array of workers (`run
//! --worker`, claiming runs from the shared results folder) and a merge job
//! that depends on the array (`--dependency=afterany`). Writes
//! `<out>/slurm/array.sbatch` and `merge.sbatch`; with `--submit`, submits
//! them with `sbatch` and returns the job ids.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::export::atomic;

/// What the two job scripts ask SLURM for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The experiment file, the results folder and the data folder (absolute: jobs may start anywhere).
    pub config: PathBuf,
    pub out: PathBuf,
    pub data_dir: PathBuf,
    /// The experiment's name, for the job names.
    pub name: String,
    /// Array tasks (workers).
    pub tasks: usize,
    pub cpus_per_task: usize,
    pub time: Option<String>,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub mem: Option<String>,
    /// Backend flag passed to the workers, when given.
    pub backend: Option<String>,
    /// `--set KEY=VALUE` overrides passed to every worker.
    pub set: Vec<String>,
}

/// The two scripts, written.
#[derive(Debug)]
pub struct Scripts {
    pub array: PathBuf,
    pub merge: PathBuf,
}

/// Seconds before the time limit at which SLURM sends SIGTERM: the worker
/// then drops its run in progress (its checkpoint stays) and releases its claim.
const SIGNAL_BEFORE_LIMIT: u32 = 120;

/// The most array tasks one submission asks for (SLURM's default MaxArraySize is 1001).
pub const MAX_TASKS: usize = 1000;

/// Writes the array and merge scripts into `<out>/slurm/`.
pub fn write(request: &Request) -> anyhow::Result<Scripts> {
    if request.tasks == 0 || request.tasks > MAX_TASKS {
        bail!("--tasks {}: give 1 to {MAX_TASKS} workers", request.tasks);
    }
    if request.cpus_per_task == 0 {
        bail!("--cpus-per-task 0: give at least 1");
    }
    for (flag, value) in [
        ("--time", &request.time),
        ("--partition", &request.partition),
        ("--account", &request.account),
        ("--mem", &request.mem),
    ] {
        if let Some(v) = value
            && (v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\''))
        {
            bail!("{flag} `{}`: a SLURM value has no spaces or quotes", v.escape_debug());
        }
    }
    for (flag, path) in [("--out", &request.out), ("--config", &request.config), ("--data-dir", &request.data_dir)] {
        let text = path.display().to_string();
        if text.chars().any(char::is_control) {
            bail!(
                "{flag} `{}` holds a control character (a newline, ...), which a job script cannot carry: rename it",
                text.escape_debug()
            );
        }
    }
    let dir = request.out.join(crate::results::dir::SLURM_DIR);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create '{}': the workers must be able to write --out", dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the actbench binary to run in the jobs")?;
    let scripts = Scripts {
        array: dir.join(crate::results::dir::SLURM_ARRAY_SCRIPT),
        merge: dir.join(crate::results::dir::SLURM_MERGE_SCRIPT),
    };
    atomic::write_string(&scripts.array, &array_script(request, &exe, &dir))
        .with_context(|| format!("cannot write '{}'", scripts.array.display()))?;
    atomic::write_string(&scripts.merge, &merge_script(request, &exe, &dir))
        .with_context(|| format!("cannot write '{}'", scripts.merge.display()))?;
    Ok(scripts)
}

/// A path as one argument of an `#SBATCH` directive: SLURM splits a
/// directive at whitespace outside quotes, takes `\` as an escape and an
/// unquoted `#` as a comment (sbatch's `_get_argument`), and expands `%`
/// patterns in file names (`%%` is a `%`). `pattern` (`worker-%A_%a.log`)
/// is appended as is.
fn directive_path(dir: &Path, pattern: &str) -> String {
    let dir = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    format!("\"{dir}/{pattern}\"")
}

/// `'text'` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn quote_path(path: &Path) -> String {
    quote(&path.display().to_string())
}

fn header(out: &mut String, request: &Request, job: &str) {
    let _ = writeln!(out, "#!/bin/bash");
    let _ = writeln!(out, "# Written by `actbench slurm`; submit with sbatch (or `actbench slurm ... --submit`).");
    let _ = writeln!(out, "#SBATCH --job-name={job}");
    for (flag, value) in [("time", &request.time), ("partition", &request.partition), ("account", &request.account)] {
        if let Some(v) = value {
            let _ = writeln!(out, "#SBATCH --{flag}={v}");
        }
    }
}

fn array_script(request: &Request, exe: &Path, dir: &Path) -> String {
    let mut out = String::new();
    header(&mut out, request, &format!("actbench-{}", job_name(&request.name)));
    let _ = writeln!(out, "#SBATCH --array=0-{}", request.tasks - 1);
    let _ = writeln!(out, "#SBATCH --cpus-per-task={}", request.cpus_per_task);
    if let Some(mem) = &request.mem {
        let _ = writeln!(out, "#SBATCH --mem={mem}");
    }
    let _ = writeln!(out, "#SBATCH --output={}", directive_path(dir, "worker-%A_%a.log"));
    let _ = writeln!(out, "#SBATCH --open-mode=append");
    // SIGTERM to the batch shell, which exec replaced with actbench.
    let _ = writeln!(out, "#SBATCH --signal=B:TERM@{SIGNAL_BEFORE_LIMIT}");
    let _ = writeln!(out, "#SBATCH --requeue");
    let _ = writeln!(out, "export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"");
    let mut extra = request.backend.as_ref().map_or(String::new(), |b| format!(" --backend {b}"));
    for set in &request.set {
        extra.push_str(&format!(" --set {}", quote(set)));
    }
    let _ = writeln!(
        out,
        "exec {} run --config {} --out {} --data-dir {} --worker --quiet{extra}",
        quote_path(exe),
        quote_path(&request.config),
        quote_path(&request.out),
        quote_path(&request.data_dir)
    );
    out
}

fn merge_script(request: &Request, exe: &Path, dir: &Path) -> String {
    let mut out = String::new();
    header(&mut out, request, &format!("actbench-{}-merge", job_name(&request.name)));
    let _ = writeln!(out, "#SBATCH --cpus-per-task=1");
    let _ = writeln!(out, "#SBATCH --output={}", directive_path(dir, "merge-%j.log"));
    let _ = writeln!(
        out,
        "exec {} merge {} --data-dir {}",
        quote_path(exe),
        quote_path(&request.out),
        quote_path(&request.data_dir)
    );
    out
}

/// A job name of letters, digits, `-` and `_`.
fn job_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(40).collect()
}

/// Whether `sbatch` is on PATH.
pub fn sbatch_available() -> bool {
    Command::new("sbatch").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Submits the array, then the merge job after it; returns both job ids.
pub fn submit(scripts: &Scripts) -> anyhow::Result<(String, String)> {
    let array = sbatch(&[], &scripts.array)?;
    let merge = sbatch(&[format!("--dependency=afterany:{array}")], &scripts.merge)?;
    Ok((array, merge))
}

fn sbatch(extra: &[String], script: &Path) -> anyhow::Result<String> {
    let out = Command::new("sbatch").arg("--parsable").args(extra).arg(script).output().context("cannot run sbatch")?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().replace('\n', " ");
        bail!("sbatch {} failed: {why}", script.display());
    }
    // `--parsable` prints `jobid[;cluster]`.
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch {} printed no job id: `{}`", script.display(), text.trim());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            config: "/x/exp.toml".into(),
            out: "/x/it's out".into(),
            data_dir: "/x/data".into(),
            name: "relu vs/sigmoid".into(),
            tasks: 4,
            cpus_per_task: 2,
            time: Some("01:00:00".into()),
            partition: None,
            account: None,
            mem: Some("4G".into()),
            backend: None,
            set: vec!["training.epochs=2".into(), "data.dataset=it's".into()],
        }
    }

    #[test]
    fn the_array_script_asks_for_the_workers_and_runs_them() {
        let text = array_script(&request(), Path::new("/bin/actbench"), Path::new("/x/out/slurm"));
        for line in [
            "#SBATCH --job-name=actbench-relu_vs_sigmoid",
            "#SBATCH --array=0-3",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --time=01:00:00",
            "#SBATCH --mem=4G",
            "#SBATCH --signal=B:TERM@120",
            "#SBATCH --requeue",
            "exec '/bin/actbench' run --config '/x/exp.toml' --out '/x/it'\\''s out' --data-dir '/x/data' --worker --quiet --set 'training.epochs=2' --set 'data.dataset=it'\\''s'",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(!text.contains("--partition"));
        let merge = merge_script(&request(), Path::new("/bin/actbench"), Path::new("/x/out/slurm"));
        assert!(
            merge.lines().any(|l| l == "exec '/bin/actbench' merge '/x/it'\\''s out' --data-dir '/x/data'"),
            "{merge}"
        );
    }

    #[test]
    fn bad_requests_are_refused_before_anything_is_written() {
        let mut r = request();
        r.tasks = 0;
        assert!(write(&r).unwrap_err().to_string().contains("--tasks 0"));
        let mut r = request();
        r.time = Some("1 day".into());
        assert!(write(&r).unwrap_err().to_string().contains("--time"));
    }
}
