//! `actbench slurm --submit` on a real one-node SLURM cluster
//! (scripts/slurm-up.sh starts it; it is idempotent): a 2-task array and its
//! merge job equal a local run, for a grid and for a search; a cancelled
//! task loses no finished run and a resubmission trains only the rest; bad
//! input submits nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{ResultsDir, Table};

/// One test at a time on the cluster: its 2 CPUs are shared.
static CLUSTER: Mutex<()> = Mutex::new(());

fn cluster_up() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-up.sh");
    let o = Command::new("bash").arg(script).output().unwrap();
    assert!(
        o.status.success(),
        "slurm-up.sh: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Submits `config` as `tasks` workers into `out`; returns (array job, merge job).
fn submit(config: &str, out: &Path, tasks: &str) -> (String, String) {
    let o = actbench()
        .args(["slurm", "--config", config, "--out", out.to_str().unwrap(), "--tasks", tasks, "--submit"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{said}{}", String::from_utf8_lossy(&o.stderr));
    // "submitted array job A (N workers) and merge job M (after it)": the words after each "job".
    let words: Vec<&str> = said.split_whitespace().collect();
    let ids: Vec<String> = words.windows(2).filter(|w| w[0] == "job").map(|w| w[1].to_string()).collect();
    assert_eq!(ids.len(), 2, "{said}");
    (ids[0].clone(), ids[1].clone())
}

/// Waits until none of `jobs` is queued or running.
fn wait_for(jobs: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let o = Command::new("squeue").args(["-h", "-j", &jobs.join(",")]).output().unwrap();
        if String::from_utf8_lossy(&o.stdout).trim().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "jobs {jobs:?} still queued: {}", String::from_utf8_lossy(&o.stdout));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn local(config: &str, out: &Path) {
    let o = actbench().args(["--config", config, "--out", out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn assert_same_tables(a: &Path, b: &Path) {
    for table in Table::ALL {
        assert_eq!(
            timeless(&ResultsDir::new(a).table(table)),
            timeless(&ResultsDir::new(b).table(table)),
            "{}",
            table.file_name()
        );
    }
}

fn merge_log(out: &Path, job: &str) -> String {
    fs::read_to_string(out.join("slurm").join(format!("merge-{job}.log"))).unwrap_or_default()
}

#[test]
fn a_two_task_array_and_its_merge_equal_a_local_run() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster_up();
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let (array, merge) = submit("configs/ci_regression.toml", &out, "2");
    wait_for(&[&array, &merge]);
    let log = merge_log(&out, &merge);
    assert!(log.contains("9 of 9 runs finished"), "merge log: {log}");
    let manifests: Vec<String> = fs::read_dir(ResultsDir::new(&out).runs())
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path().join("manifest.json")).unwrap())
        .collect();
    let tasks: std::collections::BTreeSet<String> = manifests
        .iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(m).ok()?["slurm_job"].as_str().map(String::from))
        .collect();
    assert!(tasks.iter().all(|t| t.starts_with(&format!("{array}_"))) && !tasks.is_empty(), "{tasks:?}");
    let here = dir.path().join("local");
    local("configs/ci_regression.toml", &here);
    assert_same_tables(&out, &here);
}

/// Random search with halving (issue 35): the array's tasks draw the same
/// trials as a local run and take the rungs as it does.
#[test]
fn a_random_search_with_halving_as_an_array_equals_a_local_run() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster_up();
    let dir = TempDir::new();
    let config = dir.path().join("random.toml");
    fs::write(
        &config,
        "activations = [\"relu\", \"tanh\"]\n[model]\nhidden = [16]\n[training]\nepochs = 2\noptimizer = \"adam\"\n\
         [sweep]\n\"training.lr\" = { log_uniform = [0.001, 0.1] }\n\"training.batch_size\" = [32, 64]\n\
         [tuning]\ntune = [\"training.lr\", \"training.batch_size\"]\nbudget = 4\nshared = false\n\
         halving = { eta = 2, min_epochs = 1 }\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = dir.path().join("out");
    let (array, merge) = submit(config, &out, "2");
    wait_for(&[&array, &merge]);
    let log = merge_log(&out, &merge);
    assert!(log.contains("8 of 8 runs finished"), "merge log: {log}");
    let here = dir.path().join("local");
    local(config, &here);
    assert_same_tables(&out, &here);
}

#[test]
fn a_cancelled_task_loses_no_finished_run_and_a_resubmission_trains_only_the_rest() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster_up();
    let dir = TempDir::new();
    // Six runs of about a second each.
    let config = dir.path().join("grid.toml");
    fs::write(
        &config,
        "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 3\n[model]\nhidden = [128, 128, 128]\n[training]\nepochs = 12\nbatch_size = 16\nlr = 0.02\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = dir.path().join("out");
    let runs = ResultsDir::new(&out).runs();
    let finished = || -> Vec<(PathBuf, SystemTime)> {
        let mut v: Vec<(PathBuf, SystemTime)> = fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("manifest.json"))
            .filter_map(|m| Some((m.clone(), fs::metadata(&m).ok()?.modified().ok()?)))
            .collect();
        v.sort();
        v
    };
    let (array, merge) = submit(config, &out, "2");
    let deadline = Instant::now() + Duration::from_secs(300);
    while finished().is_empty() {
        assert!(Instant::now() < deadline, "no run finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = Command::new("scancel").arg(format!("{array}_1")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for(&[&array, &merge]);
    let kept = finished();
    assert!(!kept.is_empty());
    assert!(
        fs::read_dir(&runs).unwrap().flatten().all(|e| !e.path().join(".claim").exists()),
        "a claim was left behind"
    );

    let (array, merge) = submit(config, &out, "2");
    wait_for(&[&array, &merge]);
    let log = merge_log(&out, &merge);
    assert!(log.contains("6 of 6 runs finished"), "merge log: {log}");
    let after = finished();
    for (manifest, modified) in &kept {
        let now = after.iter().find(|(m, _)| m == manifest).map(|(_, t)| *t);
        assert_eq!(now, Some(*modified), "{} was trained again", manifest.display());
    }
    let here = dir.path().join("local");
    local(config, &here);
    assert_same_tables(&out, &here);
}

/// A `[search]` as an array: the workers take its rungs (each waiting for
/// the other's runs) and its finalists, the merge job combines both
/// folders, and the leaderboard is a local run's.
#[test]
fn a_search_runs_as_an_array_and_finds_what_a_local_run_finds() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster_up();
    let dir = TempDir::new();
    let config = dir.path().join("search.toml");
    fs::write(&config, crate::search::SEARCH).unwrap();
    let config = config.to_str().unwrap();
    let out = dir.path().join("out");
    let (array, merge) = submit(config, &out, "2");
    wait_for(&[&array, &merge]);
    let log = merge_log(&out, &merge);
    assert!(log.contains("24 of 24 runs finished"), "merge log: {log}");
    let here = dir.path().join("local");
    local(config, &here);
    assert_same_tables(&out, &here);
    assert_same_tables(&out.join("search"), &here.join("search"));
    assert_eq!(
        fs::read_to_string(out.join("search.csv")).unwrap(),
        fs::read_to_string(here.join("search.csv")).unwrap()
    );
}

/// SLURM splits an `#SBATCH` directive at spaces, takes `#` as a comment
/// and `%` as a file-name pattern: a results folder named with all three
/// still gets its logs and its merged tables where they belong.
#[test]
fn a_results_folder_with_spaces_quotes_and_percent_signs_gets_its_logs_and_tables() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster_up();
    let dir = TempDir::new();
    let config = dir.path().join("grid.toml");
    fs::write(
        &config,
        "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 1\n[model]\nhidden = [8]\n[training]\nepochs = 1\nbatch_size = 64\n",
    )
    .unwrap();
    let out = dir.path().join("my results #1 (100% \"real\")").join("x y");
    let (array, merge) = submit(config.to_str().unwrap(), &out, "1");
    wait_for(&[&array, &merge]);
    let logs = out.join("slurm");
    let worker = logs.join(format!("worker-{array}_0.log"));
    assert!(
        worker.is_file(),
        "no worker log at '{}': {:?}",
        worker.display(),
        fs::read_dir(&logs).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    let log = merge_log(&out, &merge);
    assert!(log.contains("2 of 2 runs finished"), "merge log: {log}");
    assert_eq!(fs::read_to_string(out.join("summary.csv")).unwrap().lines().count(), 3);
}

#[test]
fn bad_slurm_requests_are_one_line_errors_and_submit_nothing() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let one_line = |o: &Output, said: &str| {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(said), "`{said}` missing: {stderr}");
    };
    let o = actbench()
        .args(["slurm", "--config", "tiny", "--out", out.to_str().unwrap(), "--tasks", "0"])
        .output()
        .unwrap();
    one_line(&o, "--tasks 0");
    let o = actbench()
        .env("PATH", "/nonexistent")
        .args(["slurm", "--config", "tiny", "--out", out.to_str().unwrap(), "--submit"])
        .output()
        .unwrap();
    one_line(&o, "sbatch was not found");
    assert!(!out.exists(), "nothing written");
    let o = actbench().args(["slurm", "--config", "tiny", "--out", "/dev/null/x"]).output().unwrap();
    one_line(&o, "the workers must be able to write --out");
    // Without --submit the scripts are written, whether or not SLURM is installed.
    let o = actbench()
        .env("PATH", "/nonexistent")
        .args(["slurm", "--config", "tiny", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("slurm/array.sbatch").is_file() && out.join("slurm/merge.sbatch").is_file());
}
