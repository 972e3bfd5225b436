//! Nothing lost: a grid killed with SIGKILL in the middle, run again, ends
//! with the same results as an uninterrupted one; finished runs are skipped;
//! a second writer on the same folder is refused.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TempDir, actbench};
use actbench::results::dir::{LOCK_FILE, ResultsDir, Table};

/// Four runs of about a second each on 2 cores.
const GRID: &str = r#"
activations = ["relu", "tanh"]
[experiment]
seeds = 2
[model]
hidden = [128, 128, 128]
[training]
epochs = 12
batch_size = 16
lr = 0.02
"#;

fn write_config(dir: &Path) -> String {
    let path = dir.join("grid.toml");
    fs::write(&path, GRID).unwrap();
    path.to_str().unwrap().to_string()
}

/// The experiment's CSV rows without the wall-time columns.
fn timeless(dir: &Path, file: &str) -> Vec<Vec<String>> {
    crate::common::timeless(&dir.join(file))
}

#[test]
fn a_grid_killed_with_sigkill_resumes_to_the_same_results() {
    let dir = TempDir::new();
    let config = write_config(dir.path());
    let (killed, whole) = (dir.path().join("killed"), dir.path().join("whole"));

    let mut child = actbench()
        .args(["--config", &config, "--out", killed.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first run has finished (its files and the experiment's
    // summary.csv written), while the second trains.
    let first = ResultsDir::new(&killed).run("relu-lr0.02-s0").table(Table::Summary);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(first.exists() && killed.join(Table::Summary.file_name()).exists()) {
        assert!(Instant::now() < deadline, "the first run never finished");
        assert!(child.try_wait().unwrap().is_none(), "the grid ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = fs::metadata(&first).unwrap().modified().unwrap();
    let summary: Vec<_> = timeless(&killed, Table::Summary.file_name());
    assert!(!summary.is_empty() && summary.len() < 4, "killed mid-grid: {} runs done", summary.len());
    // No half-written file under its final name: every table there parses. A
    // kill during a write can leave that write's temporary (`.name.tmp-PID`),
    // which the next run removes (checked below).
    for entry in walk(&killed) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".csv") && !name.starts_with('.') {
            assert!(csv::Reader::from_path(&entry).unwrap().records().all(|r| r.is_ok()), "{}", entry.display());
        }
    }

    let resumed = actbench().args(["--config", &config, "--out", killed.to_str().unwrap()]).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("relu-lr0.02-s0  already finished, skipped"));
    assert_eq!(fs::metadata(&first).unwrap().modified().unwrap(), before, "a finished run was trained again");

    let uninterrupted =
        actbench().args(["--config", &config, "--out", whole.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(uninterrupted.status.success());
    for file in Table::ALL.map(Table::file_name) {
        assert_eq!(timeless(&killed, file), timeless(&whole, file), "{file}");
    }
    assert!(!killed.join(LOCK_FILE).exists(), "the lock is released");
    for entry in walk(&killed) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp"), "temporary file left after the resume: {}", entry.display());
    }
}

#[test]
fn force_trains_finished_runs_again_and_a_changed_config_is_not_skipped() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let config = dir.path().join("tiny.toml");
    fs::write(&config, "activations = [\"relu\"]\n[model]\nhidden = [8]\n[training]\nepochs = 1\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = actbench().args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    run(&[]);
    assert!(run(&[]).contains("already finished"));
    assert!(!run(&["--force"]).contains("already finished"));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(ResultsDir::new(&out).run("relu-lr0.01-s0").manifest()).unwrap())
            .unwrap();
    for key in
        ["config_hash", "run_config", "burn_version", "backend", "device", "cpu_model", "started_at", "command_line"]
    {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(manifest["backend"], "flex");
    // More epochs: same run id, another config hash, so it trains again.
    fs::write(&config, "activations = [\"relu\"]\n[model]\nhidden = [8]\n[training]\nepochs = 2\n").unwrap();
    assert!(!run(&[]).contains("already finished"));
}

#[test]
fn a_damaged_manifest_or_checkpoint_is_said_and_the_run_trained_again() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let config = dir.path().join("tiny.toml");
    fs::write(&config, "activations = [\"relu\"]\n[model]\nhidden = [8]\n[training]\nepochs = 1\n").unwrap();
    let run = || {
        let o = actbench()
            .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let results = ResultsDir::new(&out);
    let one = results.run("relu-lr0.01-s0");
    assert_eq!(run(), "", "--quiet prints nothing when all is well");
    fs::write(one.manifest(), "{ not json").unwrap();
    let said = run();
    assert!(
        said.contains("warning:") && said.contains(one.manifest().to_str().unwrap()) && said.contains("trained again"),
        "{said}"
    );
    assert!(fs::read_to_string(one.manifest()).unwrap().contains("config_hash"), "the run was written again");

    // A checkpoint whose state cannot be read: said, and the run starts over.
    fs::remove_dir_all(one.path()).unwrap();
    let checkpoint = one.checkpoint();
    fs::create_dir_all(checkpoint.path()).unwrap();
    fs::write(checkpoint.state(), "garbage").unwrap();
    let said = run();
    assert!(said.contains("warning: checkpoint") && said.contains("damaged") && said.contains("starts over"), "{said}");
    assert!(one.table(Table::Summary).is_file());
    assert!(!checkpoint.path().exists(), "the checkpoint is removed at the end");
}

#[test]
fn a_second_writer_on_the_same_folder_is_refused() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    // A live process holds the folder: this test's own parent, the test harness.
    fs::write(out.join(LOCK_FILE), std::process::id().to_string()).unwrap();
    let o = actbench().args(["--config", "tiny", "--out", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("in use by another actbench") && stderr.contains(&std::process::id().to_string()),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1);
    assert!(!out.join(Table::Summary.file_name()).exists());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn rerun_reproduces_a_run_from_its_manifest_and_notices_a_change() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let o = actbench().args(["--config", "tiny", "--out", out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = ResultsDir::new(&out).run("relu-lr0.01-s0").path().to_path_buf();
    let same = actbench().args(["rerun", run.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&same.stdout);
    assert_eq!(same.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&same.stderr));
    assert!(text.contains("identical"), "{text}");
    // Alter one recorded loss: the rerun must notice.
    let epochs = run.join(Table::Epochs.file_name());
    let text = fs::read_to_string(&epochs).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[1].split(',').map(String::from).collect();
    fields[5] = "123.0".into(); // train_loss
    lines[1] = fields.join(",");
    fs::write(&epochs, lines.join("\n") + "\n").unwrap();
    let differs = actbench().args(["rerun", run.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&differs.stdout);
    assert_eq!(differs.status.code(), Some(1), "{text}");
    assert!(text.contains("DIFFER") && text.contains(Table::Epochs.file_name()), "{text}");
}

#[test]
fn ctrl_c_stops_cleanly_keeping_the_finished_runs() {
    let dir = TempDir::new();
    let config = write_config(dir.path());
    let out = dir.path().join("out");
    let child = actbench()
        .args(["--config", &config, "--out", out.to_str().unwrap(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = ResultsDir::new(&out).run("relu-lr0.02-s0").table(Table::Summary);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(first.exists() && out.join(Table::Summary.file_name()).exists()) {
        assert!(Instant::now() < deadline, "the first run never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted:") && stderr.contains("run the same command to resume"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let finished = timeless(&out, Table::Summary.file_name());
    assert!(!finished.is_empty() && finished.len() < 4, "{} runs saved", finished.len());
    assert!(!out.join(LOCK_FILE).exists());
    for entry in walk(&out) {
        assert!(!entry.to_string_lossy().contains(".tmp"), "{}", entry.display());
    }
}

#[test]
fn a_run_killed_mid_way_resumes_from_its_last_epoch_with_the_same_numbers() {
    let dir = TempDir::new();
    let config = dir.path().join("one.toml");
    // One run, Adam (its moments must survive the checkpoint), about 1 s per epoch here.
    fs::write(
        &config,
        "activations = [\"relu\"]\n[model]\nhidden = [256, 256, 256]\n[training]\nepochs = 6\nbatch_size = 16\noptimizer = \"adam\"\nlr = 0.001\npatience = 100\n[logging]\ncheckpoint_seconds = 0\nactivation_every_steps = 7\n",
    )
    .unwrap();
    let (killed, whole) = (dir.path().join("killed"), dir.path().join("whole"));
    let args = |out: &Path| {
        vec![
            "--config".to_string(),
            config.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--quiet".into(),
        ]
    };
    let mut child = actbench().args(args(&killed)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let state = ResultsDir::new(&killed).run("relu-lr0.001-s0").checkpoint().state();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !state.exists() {
        assert!(Instant::now() < deadline, "no checkpoint was written");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !ResultsDir::new(&killed).run("relu-lr0.001-s0").table(Table::Summary).exists(),
        "killed before the run finished"
    );
    let saved: serde_json::Value = serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    let probes = fs::read_to_string(state.with_file_name(Table::ActivationSteps.file_name())).unwrap();
    assert!(probes.lines().count() > 1, "the checkpoint keeps the probes so far: {probes}");
    let epoch = saved["epoch"].as_u64().unwrap();
    assert!((1..6).contains(&epoch), "checkpoint at epoch {epoch}");

    let uninterrupted = actbench().args(args(&whole)).output().unwrap();
    assert!(uninterrupted.status.success());

    // A damaged checkpoint (a batch-order index out of range, which would
    // reach a tensor op) starts the run over, with the same numbers.
    let run = ResultsDir::new(&killed).run("relu-lr0.001-s0");
    let pristine = dir.path().join("pristine");
    fs::rename(run.checkpoint().path(), &pristine).unwrap();
    copy_dir(&pristine, run.checkpoint().path());
    let mut damaged = saved.clone();
    damaged["order"][3] = serde_json::json!(1_000_000_000);
    fs::write(&state, damaged.to_string()).unwrap();
    let restarted = actbench().args(args(&killed)).output().unwrap();
    let said = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{said}");
    assert!(said.contains("damaged") && said.contains("not a permutation") && said.contains("starts over"), "{said}");
    for file in Table::ALL.map(Table::file_name) {
        assert_eq!(timeless(&killed, file), timeless(&whole, file), "{file} (started over)");
    }

    // The checkpoint as written resumes from its epoch, to the same numbers.
    fs::remove_dir_all(run.path()).unwrap();
    fs::create_dir_all(run.path()).unwrap();
    fs::rename(&pristine, run.checkpoint().path()).unwrap();
    let resumed = actbench().args(args(&killed)).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(resumed.stderr.is_empty(), "{}", String::from_utf8_lossy(&resumed.stderr));
    for file in Table::ALL.map(Table::file_name) {
        assert_eq!(timeless(&killed, file), timeless(&whole, file), "{file} (resumed after epoch {epoch})");
    }
    assert!(
        !ResultsDir::new(&killed).run("relu-lr0.001-s0").checkpoint().path().exists(),
        "the checkpoint is removed at the end"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A small tmpfs, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_one_line_error_that_leaves_no_partial_file() {
    let dir = TempDir::new();
    let mount = dir.path().join("small");
    fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=300k", "tmpfs", mount.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        // Needs root and mount(2); CI runs as root on these machines.
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let _disk = SmallDisk(mount.clone());
    let out = mount.join("out");
    let o = actbench()
        .args(["--config", "relu_vs_sigmoid.toml", "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("No space left on device") && stderr.contains("cannot write"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!out.join(LOCK_FILE).exists());
    for entry in walk(&out) {
        assert!(!entry.to_string_lossy().contains(".tmp"), "temporary file left: {}", entry.display());
    }
}

#[test]
fn two_jobs_give_the_same_files_as_one() {
    let dir = TempDir::new();
    let config = write_config(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let result = actbench()
            .args(["--config", &config, "--out", out.to_str().unwrap(), "--quiet", "--jobs", jobs])
            .output()
            .unwrap();
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    }
    // Same numbers, same (grid) order of the rows, whatever order the runs finished in.
    for file in Table::ALL.map(Table::file_name) {
        assert_eq!(timeless(&one, file), timeless(&two, file), "{file}");
    }
    let manifest = fs::read_to_string(ResultsDir::new(&two).run("relu-lr0.02-s0").manifest()).unwrap();
    let threads = (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1);
    assert!(manifest.contains(&format!("\"threads\": {threads}")), "{manifest}");
}
