//! Workers sharing one results folder (`run --worker`, `--shard`), then
//! `merge`: no run trained twice, a killed worker's claim taken over, no
//! finished run lost, and the merged tables equal one local run's.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{ResultsDir, Table};

/// Eight quick runs.
const QUICK: &str =
    "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 4\n[model]\nhidden = [32, 32]\n[training]\nepochs = 3\n";
/// Four runs of about a second each on 2 cores (resume.rs's grid).
const SLOW: &str = "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 2\n[model]\nhidden = [128, 128, 128]\n[training]\nepochs = 12\nbatch_size = 16\nlr = 0.02\n";

/// A temporary folder with `text` as its experiment file, and the results folder to use.
fn setup(text: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new();
    let config = dir.path().join("grid.toml");
    fs::write(&config, text).unwrap();
    let out = dir.path().join("out");
    (dir, config, out)
}

fn worker(config: &Path, out: &Path, extra: &[&str]) -> Child {
    actbench()
        .env("RAYON_NUM_THREADS", "1")
        .args(["run", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--worker"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The run ids a worker's per-run lines say it trained.
fn trained(o: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&o.stderr);
    stderr
        .lines()
        .filter(|l| l.contains("  test acc "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(String::from)
        .collect()
}

fn merge(out: &Path) -> Output {
    actbench().args(["merge", out.to_str().unwrap()]).output().unwrap()
}

/// The combined tables of `out` equal a local `run` of `config` (wall times aside).
fn assert_same_as_local(config: &Path, out: &Path, dir: &Path) {
    let local = dir.join("local");
    let o = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", local.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for table in Table::ALL {
        let (a, b) = (ResultsDir::new(out).table(table), ResultsDir::new(&local).table(table));
        assert_eq!(timeless(&a), timeless(&b), "{}", table.file_name());
    }
}

#[test]
fn two_workers_on_one_folder_never_train_the_same_run_twice() {
    let (dir, config, out) = setup(QUICK);
    let (a, b) = (worker(&config, &out, &[]), worker(&config, &out, &[]));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let (ta, tb) = (trained(&a), trained(&b));
    let all: BTreeSet<&String> = ta.iter().chain(&tb).collect();
    assert_eq!(ta.len() + tb.len(), 8, "trained twice or not at all: {ta:?} {tb:?}");
    assert_eq!(all.len(), 8, "{ta:?} {tb:?}");
    assert!(!ResultsDir::new(&out).table(Table::Summary).exists(), "workers write no combined table");
    let m = merge(&out);
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&m.stdout),
        String::from_utf8_lossy(&m.stderr)
    );
    assert!(String::from_utf8_lossy(&m.stdout).contains("8 of 8 runs finished"));
    assert_same_as_local(&config, &out, dir.path());
}

#[test]
fn a_killed_workers_claim_is_taken_over_and_no_finished_run_is_lost() {
    let (dir, config, out) = setup(SLOW);
    let mut child = worker(&config, &out, &["--quiet"]);
    let results = ResultsDir::new(&out);
    let first = results.run("relu-lr0.02-s0").manifest();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first.exists() {
        assert!(Instant::now() < deadline, "the first run never finished");
        assert!(child.try_wait().unwrap().is_none(), "the worker ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Killed while it trains the second run, whose claim it holds.
    let second = results.run("relu-lr0.02-s1");
    while !second.path().join(".claim").exists() {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = fs::metadata(&first).unwrap().modified().unwrap();

    // merge names what is missing, and exits 1 without writing.
    let m = merge(&out);
    let said = String::from_utf8_lossy(&m.stdout);
    assert_eq!(m.status.code(), Some(1), "{said}");
    assert!(said.contains("relu-lr0.02-s1: claimed by") && said.contains("tanh-lr0.02-s1: missing"), "{said}");
    assert!(
        String::from_utf8_lossy(&m.stderr).contains("1 of 4 runs finished"),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    assert!(!results.table(Table::Summary).exists());

    // A new worker takes the dead one's claim over and trains only what is missing.
    let again = worker(&config, &out, &[]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("took over the claim"), "{stderr}");
    assert_eq!(trained(&again).len(), 3, "{stderr}");
    assert_eq!(fs::metadata(&first).unwrap().modified().unwrap(), before, "a finished run was trained again");
    assert!(!second.path().join(".claim").exists(), "claims are released");
    assert_eq!(merge(&out).status.code(), Some(0));
    assert_same_as_local(&config, &out, dir.path());
}

#[test]
fn shards_split_the_grid_and_a_bad_one_is_refused() {
    let (dir, config, out) = setup(QUICK);
    let one = worker(&config, &out, &["--shard", "1/2"]).wait_with_output().unwrap();
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    assert_eq!(trained(&one), ["relu-lr0.01-s0", "relu-lr0.01-s2", "tanh-lr0.01-s0", "tanh-lr0.01-s2"]);
    let m = merge(&out);
    assert_eq!(m.status.code(), Some(1));
    let partial = actbench().args(["merge", out.to_str().unwrap(), "--partial"]).output().unwrap();
    assert_eq!(partial.status.code(), Some(0), "{}", String::from_utf8_lossy(&partial.stderr));
    assert_eq!(
        timeless(&ResultsDir::new(&out).table(Table::Summary)).len(),
        4,
        "the partial tables hold the finished runs"
    );
    let two = worker(&config, &out, &["--shard", "2/2"]).wait_with_output().unwrap();
    assert_eq!(trained(&two).len(), 4);
    assert_eq!(merge(&out).status.code(), Some(0));

    let bad = worker(&config, &out, &["--shard", "3/2"]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr.trim_end().lines().count() == 1 && stderr.contains("--shard `3/2`"), "{stderr}");
    let none = merge(dir.path());
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("is not a results folder"));
}

#[test]
fn plan_lists_every_run_and_what_is_finished() {
    let (_dir, config, out) = setup(QUICK);
    let _ = worker(&config, &out, &["--shard", "1/2"]).wait_with_output().unwrap();
    let o = actbench()
        .args(["plan", "--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.lines().any(|l| l.starts_with("relu-lr0.01-s0") && l.ends_with("finished")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("relu-lr0.01-s1") && l.ends_with("to train")), "{text}");
    assert!(text.contains("8 runs; 4 finished"), "{text}");
}

/// The PID in a run's claim, if one is held.
fn claimant(results: &ResultsDir, id: &str) -> Option<u32> {
    let text = fs::read_to_string(results.run(id).path().join(".claim")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["pid"].as_u64().map(|p| p as u32)
}

#[test]
fn a_run_another_worker_drops_is_trained_in_a_later_pass() {
    let (dir, config, out) = setup(SLOW);
    let results = ResultsDir::new(&out);
    let mut workers = [worker(&config, &out, &["--quiet"]), worker(&config, &out, &["--quiet"])];
    // Wait until one worker holds a run while the other holds a later one (each
    // claims in grid order, so the other has passed the first): the first worker
    // is stopped, and the other can train its run only in a later pass. Which
    // runs those are depends on which worker finishes first.
    let ids = ["relu-lr0.02-s0", "relu-lr0.02-s1", "tanh-lr0.02-s0", "tanh-lr0.02-s1"];
    let deadline = Instant::now() + Duration::from_secs(120);
    let (stopped, other) = 'wait: loop {
        assert!(Instant::now() < deadline, "the workers never got there");
        let holders: Vec<Option<u32>> = ids.iter().map(|id| claimant(&results, id)).collect();
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                if let (Some(h), Some(l)) = (holders[i], holders[j])
                    && h != l
                {
                    let i = workers.iter().position(|w| w.id() == h).expect("a worker's claim");
                    break 'wait (i, 1 - i);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // SIGTERM, as SLURM sends at a time limit: the run is dropped and its claim released.
    let pid = workers[stopped].id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped =
        std::mem::replace(&mut workers[stopped], actbench().arg("--version").stdout(Stdio::null()).spawn().unwrap());
    let stopped = stopped.wait_with_output().unwrap();
    assert_eq!(stopped.status.code(), Some(1), "{}", String::from_utf8_lossy(&stopped.stderr));
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("claim released"));
    let other =
        std::mem::replace(&mut workers[other], actbench().arg("--version").stdout(Stdio::null()).spawn().unwrap());
    let other = other.wait_with_output().unwrap();
    assert!(other.status.success(), "{}", String::from_utf8_lossy(&other.stderr));
    for w in &mut workers {
        w.wait().unwrap();
    }
    // The remaining worker went back for the dropped run: the grid is complete without a third.
    let m = merge(&out);
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&m.stdout),
        String::from_utf8_lossy(&m.stderr)
    );
    assert_same_as_local(&config, &out, dir.path());
}

/// What `out`'s run `id` has trained so far (its saved summary), 0 when none is saved.
fn epochs_completed(results: &ResultsDir, id: &str) -> usize {
    let Ok(text) = fs::read_to_string(results.run(id).table(Table::Summary)) else { return 0 };
    // The manifest is removed before the tables are written and written after
    // them: there after the summary was read, it is the summary's run's.
    if !results.run(id).manifest().exists() {
        return 0;
    }
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let at = rows.headers().unwrap().iter().position(|h| h == "epochs_completed").unwrap();
    rows.records().next().and_then(|r| r.ok()).and_then(|r| r[at].parse().ok()).unwrap_or(0)
}

/// Successive halving by workers: killed in its second rung, `merge` names
/// the runs that rung takes on and has not, a new worker trains only those
/// and what follows, and the result is one local run's.
#[test]
fn a_worker_killed_in_a_rung_of_successive_halving_is_resumed_by_another() {
    let text = "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 2\n[model]\nhidden = [128, 128, 128]\n[training]\nepochs = 9\nbatch_size = 16\nlr = [0.005, 0.02, 0.05]\n[logging]\ncheckpoint_seconds = 1000\n[tuning]\ntune = [\"training.lr\"]\nhalving = { eta = 3, min_epochs = 1 }\n";
    let (dir, config, out) = setup(text);
    let results = ResultsDir::new(&out);
    let ids: Vec<String> = ["relu", "tanh"]
        .iter()
        .flat_map(|a| ["0.005", "0.02", "0.05"].map(move |lr| (a, lr)))
        .flat_map(|(a, lr)| [0, 1].map(move |s| format!("{a}-lr{lr}-s{s}")))
        .collect();
    let mut child = worker(&config, &out, &["--quiet"]);
    // Killed once the first run of rung 2 (epochs 1 to 3) is saved: its others are not.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ids.iter().any(|id| epochs_completed(&results, id) >= 3) {
        assert!(Instant::now() < deadline, "rung 2 never started");
        assert!(child.try_wait().unwrap().is_none(), "the worker ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let m = merge(&out);
    let said = String::from_utf8_lossy(&m.stdout);
    assert_eq!(m.status.code(), Some(1), "{said}{}", String::from_utf8_lossy(&m.stderr));
    assert!(said.contains("stopped at epoch 1: successive halving takes it on to epoch 3"), "{said}");
    assert!(!results.table(Table::Summary).exists());
    let finished: Vec<String> = ids.iter().filter(|id| epochs_completed(&results, id) >= 3).cloned().collect();
    let again = worker(&config, &out, &[]).wait_with_output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    // The rest of rung 2 (each activation's best setting, its two seeds), then rung 3 (the same four runs).
    let retrained = trained(&again);
    let rest = 4 - finished.len();
    assert_eq!(retrained.len(), rest + 4, "{retrained:?} after {finished:?}");
    assert!(retrained[..rest].iter().all(|id| !finished.contains(id)), "{retrained:?} retrains one of {finished:?}");
    assert_eq!(merge(&out).status.code(), Some(0));
    assert_same_as_local(&config, &out, dir.path());
}

#[test]
fn a_plain_run_refuses_a_folder_workers_are_training() {
    let (_dir, config, out) = setup(QUICK);
    let run = ResultsDir::new(&out).run("tanh-lr0.01-s1");
    fs::create_dir_all(run.path()).unwrap();
    // PID 1 of this host always runs: a live worker's claim.
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let claim = serde_json::json!({ "host": host, "pid": 1, "started_at": "2026-12-01T00:00:00Z" });
    fs::write(run.path().join(".claim"), claim.to_string()).unwrap();
    let o = actbench().args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.trim_end().lines().count() == 1 && stderr.contains("claimed by a worker") && stderr.contains("PID 1"),
        "{stderr}"
    );
    assert!(fs::read_dir(ResultsDir::new(&out).runs()).unwrap().count() == 1, "nothing trained");
    // A claim whose owner is gone does not stand in the way.
    let dead = serde_json::json!({ "host": host, "pid": 4_294_967, "started_at": "2026-12-01T00:00:00Z" });
    fs::write(run.path().join(".claim"), dead.to_string()).unwrap();
    let o = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
