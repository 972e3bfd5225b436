//! `[search]` end to end on the embedded digits: the rungs keep the share
//! they should, the finalists are the best of the last rung and are
//! retrained against the baselines, search.csv agrees with the search
//! stage's own rows, the same file gives the same leaderboard, a killed
//! search resumes to it, two workers give what one process gives, and bad
//! `[search]` tables are one-line errors.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TempDir, actbench, timeless};

/// A search of 16 candidates on the digits (slurm.rs submits it too).
pub const SEARCH: &str = r#"activations = ["relu"]
[experiment]
seeds = 2
[data]
dataset = "digits"
validation_split = 0.2
[model]
hidden = [16, 16]
init = "pytorch"
[training]
epochs = 3
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.05
[logging]
every_steps = 0
activation_stats = false
[search]
unary = ["x", "-x", "tanh(x)", "sin(x)", "max(x, 0)", "x^2"]
binary = ["a + b", "a * b", "max(a, b)", "a * sigmoid(b)"]
candidates = 16
rungs = [1, 2, 4]
keep = 0.5
seeds = 1
finalists = 2
baselines = ["relu", "tanh"]
"#;

type Row = HashMap<String, String>;

fn read(path: &Path) -> Vec<Row> {
    csv::Reader::from_path(path).unwrap().deserialize().map(|r| r.unwrap()).collect()
}

fn search(dir: &Path, name: &str) -> (PathBuf, std::process::Output) {
    let config = dir.join("search.toml");
    fs::write(&config, SEARCH).unwrap();
    let out = dir.join(name);
    let o = actbench().args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (out, o)
}

#[test]
fn a_search_halves_its_candidates_and_retrains_the_best_against_the_baselines() {
    let dir = TempDir::new();
    let (out, _) = search(dir.path(), "out");
    let table = out.join("search.csv");
    let head = fs::read_to_string(&table).unwrap();
    assert!(
        head.starts_with("candidate,formula,dropped,rung,epochs,val_accuracy,val_loss,went_on,finalist\n"),
        "{head}"
    );
    let rows = read(&table);
    let trained: Vec<&Row> = rows.iter().filter(|r| r["dropped"].is_empty()).collect();
    let at = |rung: &str| trained.iter().filter(|r| r["rung"] == rung).collect::<Vec<_>>();
    let (one, two, four) = (at("1"), at("2"), at("3"));
    assert_eq!(one.len(), 16, "16 candidates trained at the first rung");
    assert_eq!((two.len(), four.len()), (8, 4), "half go on each time");
    for r in &one {
        let went_on = two.iter().any(|t| t["candidate"] == r["candidate"]);
        assert_eq!(r["went_on"], went_on.to_string(), "{r:?}");
    }
    // Those that went on are the best half by validation accuracy.
    // Empty for a candidate that trained in a rung but diverged there.
    let val = |r: &Row| r["val_accuracy"].parse::<f64>().unwrap_or(f64::NAN);
    let worst_kept =
        two.iter().map(|t| val(one.iter().find(|r| r["candidate"] == t["candidate"]).unwrap())).fold(1.0, f64::min);
    let best_dropped = one.iter().filter(|r| r["went_on"] == "false").map(|r| val(r)).fold(0.0, f64::max);
    assert!(worst_kept >= best_dropped, "kept {worst_kept} < dropped {best_dropped}");
    // search.csv's numbers are the search stage's own validation accuracy (one seed).
    let stage = read(&out.join("search/epochs.csv"));
    for r in four.iter().filter(|r| !r["val_accuracy"].is_empty()) {
        let formula = &r["formula"];
        let e = stage.iter().find(|e| &e["activation"] == formula && e["epoch"] == "4").unwrap();
        assert_eq!(e["val_accuracy"].parse::<f64>().unwrap(), val(r), "{formula}");
        assert_eq!(r["epochs"], "4");
    }
    // The finalists: the best two of the last rung, retrained with the experiment's seeds with the baselines.
    let mut last: Vec<&Row> = four.iter().map(|r| **r).collect();
    last.sort_by(|a, b| val(b).total_cmp(&val(a)));
    let finalists: Vec<&str> = four.iter().filter(|r| r["finalist"] == "true").map(|r| r["formula"].as_str()).collect();
    assert_eq!(finalists.len(), 2);
    assert!(finalists.contains(&last[0]["formula"].as_str()), "{finalists:?}");
    let summary = read(&out.join("summary.csv"));
    let mut groups: Vec<&str> = summary.iter().map(|s| s["activation"].as_str()).collect();
    groups.dedup();
    assert_eq!(groups[..2], ["relu", "tanh"]);
    assert_eq!(groups.len(), 4);
    assert!(finalists.iter().all(|f| groups.contains(f)), "{groups:?}");
    assert_eq!(summary.len(), 8, "two seeds each");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Search") && report.contains("### Leaderboard"), "{report}");
    assert!(report.contains("| 1 | 1 | 16 | 8 |") && report.contains("| 3 | 4 | 4 | - |"), "{report}");
    assert!(out.join("plots/search_finalists.svg").is_file());
    // The candidates stopped at a rung keep no checkpoint once the search is through its rungs.
    let runs: Vec<PathBuf> = fs::read_dir(out.join("search/runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 16);
    assert!(runs.iter().all(|r| r.join("manifest.json").is_file() && !r.join("checkpoint").exists()), "{runs:?}");

    // The same file again: nothing trains. Into another folder: the same leaderboard.
    let config = dir.path().join("search.toml");
    let again =
        actbench().args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(!said.contains("trained in"), "{said}");
    assert_eq!(said.matches("already finished, skipped").count(), 16 + 8, "{said}");
    let (other, _) = search(dir.path(), "other");
    assert_eq!(fs::read_to_string(other.join("search.csv")).unwrap(), head, "the same leaderboard");

    // Killed mid-search, it resumes to the same leaderboard.
    let killed = dir.path().join("killed");
    let mut child = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", killed.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = killed.join("search/runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished =
        || fs::read_dir(&runs).map_or(0, |d| d.flatten().filter(|e| e.path().join("manifest.json").exists()).count());
    while finished() < 3 {
        assert!(Instant::now() < deadline, "no run finished");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let o =
        actbench().args(["--config", config.to_str().unwrap(), "--out", killed.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read_to_string(killed.join("search.csv")).unwrap(), head, "resumed to the same leaderboard");
}

#[test]
fn bad_search_tables_are_one_line_errors_naming_the_key() {
    let dir = TempDir::new();
    for (change, key) in [
        (("units = 1", "units = 3"), "search.units"),
        (("rungs = [1, 2, 4]", "rungs = [2, 1]"), "search.rungs"),
        (("keep = 0.5", "keep = 0.0"), "search.keep"),
        (("\"sin(x)\"", "\"sine(x)\""), "search.unary[3]"),
        (("\"a * b\"", "\"a * x\""), "search.binary[1]"),
        (("baselines = [\"relu\", \"tanh\"]", "baselines = []"), "search.baselines"),
        (("lr = 0.05", "lr = [0.05, 0.1]"), "training.lr"),
        (("[search]", "[tuning]\ntune = [\"training.lr\"]\n[search]"), "tuning"),
    ] {
        let text = SEARCH.replacen("candidates = 16", "candidates = 16\nunits = 1", 1).replacen(change.0, change.1, 1);
        assert_ne!(text, SEARCH);
        let config = dir.path().join("bad.toml");
        fs::write(&config, &text).unwrap();
        let out = dir.path().join("out");
        let o =
            actbench().args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{change:?}: {err}");
        assert!(err.contains(&format!("`{key}`")) && err.trim_end().lines().count() == 1, "{change:?}: {err}");
        assert!(!out.exists(), "{change:?}: nothing written");
    }
}

/// Two workers sharing a folder take a search's rungs and its finalists
/// between them (each waiting at a rung for the other's runs), and `merge`
/// gives what one process gives: the leaderboard, both stages' tables.
#[test]
fn two_workers_take_a_search_between_them_and_merge_equals_one_run() {
    let dir = TempDir::new();
    let (local, _) = search(dir.path(), "local");
    let config = dir.path().join("search.toml");
    let out = dir.path().join("workers");
    let worker = |extra: &[&str]| {
        actbench()
            .env("RAYON_NUM_THREADS", "1")
            .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--worker"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (worker(&[]), worker(&["--jobs", "2"]));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // 16 + 8 + 4 trainings over the rungs, then 8 finalist runs: each once.
    let trained = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).matches("  test acc ").count();
    assert_eq!(trained(&a) + trained(&b), 28 + 8);
    assert!(!out.join("search.csv").exists() || !out.join("summary.csv").exists(), "no combined table yet");
    let m = actbench().args(["merge", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(m.status.code(), Some(0), "{}", String::from_utf8_lossy(&m.stderr));
    assert!(String::from_utf8_lossy(&m.stdout).contains("24 of 24 runs finished"), "{m:?}");
    assert_eq!(
        fs::read_to_string(out.join("search.csv")).unwrap(),
        fs::read_to_string(local.join("search.csv")).unwrap()
    );
    for table in ["summary.csv", "epochs.csv", "search/summary.csv", "search/epochs.csv"] {
        assert_eq!(timeless(&out.join(table)), timeless(&local.join(table)), "{table}");
    }
    assert!(fs::read_to_string(out.join("report.md")).unwrap().contains("## Search"));
}
