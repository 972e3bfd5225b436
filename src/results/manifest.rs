//! manifest.json: what a run was and where it ran, enough to reproduce it
//! (the resolved config of that one run, its hash, the versions, the
//! machine, the command line).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::grid::RunSpec;

/// Burn's version, as pinned in Cargo.toml.
pub const BURN_VERSION: &str = "0.22.1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    /// FNV-1a 64 of `run_config`: equal hashes, same run.
    pub config_hash: String,
    /// The experiment config narrowed to this run (one activation, lr and seed), as TOML.
    pub run_config: String,
    pub actbench_version: String,
    /// Empty when not built from a git checkout; `-dirty` with uncommitted changes.
    pub git_revision: String,
    pub burn_version: String,
    pub backend: String,
    pub device: String,
    /// Whether a rerun on this backend gives identical numbers.
    pub deterministic: bool,
    pub cpu_model: String,
    pub threads: usize,
    pub started_at: String,
    pub finished_at: String,
    pub command_line: String,
    /// Size and checksum of each of the run's tables as written (the
    /// manifest is written after them): a file that no longer matches was
    /// damaged after the run finished, and the run is trained again. Absent from
    /// older manifests, whose tables are checked by parsing alone.
    #[serde(default)]
    pub files: BTreeMap<String, FileDigest>,
    /// The init scheme the run resolved `model.init` to (`he`, `gain(1.6807)`
    /// for a formula under `auto`). Absent from older manifests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub init: String,
    /// SLURM's job id and array task id when a SLURM job trained it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<String>,
}

/// What a file was when written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub bytes: u64,
    /// FNV-1a 64 of the bytes, as hex.
    pub fnv1a: String,
}

impl FileDigest {
    pub fn of(bytes: &[u8]) -> Self {
        Self { bytes: bytes.len() as u64, fnv1a: crate::maths::hash::fnv1a_bytes(bytes) }
    }
}

/// The experiment config narrowed to one run of its grid: its sweep point
/// (give the point's config, resolved, where the plan has one), one
/// activation, lr and seed, and no `[tuning]` (which chooses among runs,
/// never changes one).
pub fn run_config(config: &Config, spec: &RunSpec) -> Config {
    let mut one = if config.sweep.is_empty() { config.clone() } else { config.points().swap_remove(spec.point) };
    one.tuning = None;
    let mut entry = config
        .activations
        .iter()
        .find(|a| a.label() == spec.label)
        .cloned()
        .expect("every run comes from an activation entry");
    entry.lr = None;
    one.activations = vec![entry];
    one.experiment.seeds.0 = vec![spec.seed];
    one.training.lr.0 = vec![spec.lr];
    one
}

pub fn config_hash(config: &Config, spec: &RunSpec) -> String {
    let mut text = run_config(config, spec).to_toml();
    // `auto` for a formula is a gain computed from it (model/init.rs), not
    // in the config: the hash names it, so a run trained under the older
    // rule (Glorot) is trained again rather than taken for this one.
    if let crate::model::settings::InitScheme::Gain(_) = spec.init {
        text.push_str(&format!("# init {}\n", spec.init));
    }
    crate::maths::hash::fnv1a(&text)
}

/// A run's manifest; `None` when it is missing, unreadable, not a regular
/// file (`rerun` takes the folder from the user) or not a manifest.
pub fn read(path: &Path) -> Option<Manifest> {
    serde_json::from_str(&crate::input::read_text(path).ok()?).ok()
}

pub fn git_revision() -> &'static str {
    env!("ACTBENCH_GIT_REVISION")
}

/// The "model name" line of /proc/cpuinfo, or "unknown".
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Threads Burn's CPU backends may use: RAYON_NUM_THREADS, else SLURM's
/// SLURM_CPUS_PER_TASK, else the cores.
pub fn threads() -> usize {
    ["RAYON_NUM_THREADS", "SLURM_CPUS_PER_TASK"]
        .iter()
        .find_map(|k| std::env::var(k).ok().and_then(|v| v.parse().ok()).filter(|n: &usize| *n > 0))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `JOB_TASK` (an array task) or `JOB` when running under SLURM.
pub fn slurm_job() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID"), var("SLURM_JOB_ID")) {
        (Some(job), Some(task), _) => Some(format!("{job}_{task}")),
        (_, _, Some(job)) => Some(job),
        _ => None,
    }
}

/// Now, as an RFC 3339 UTC timestamp (second precision).
pub fn now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
