//! Damaged results folders: a run folder counts as finished only when every
//! file is intact (checksums in the manifest, rows that parse), a damaged run
//! is named and trained again, the combined tables are never malformed, and
//! `--force` always recovers. A fuzz test damages run folders at random.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use rand::{Rng, SeedableRng};

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{MANIFEST_FILE, ResultsDir, Table};

/// Four runs of a few hundredths of a second each.
const GRID: &str = r#"
activations = ["relu", "tanh"]
[experiment]
seeds = 2
[model]
hidden = [8]
init = "glorot"    # one scheme for both: no fairness warning among the lines checked
[training]
epochs = 2
"#;

struct Experiment {
    _dir: TempDir,
    config: PathBuf,
    out: PathBuf,
}

impl Experiment {
    fn new() -> Self {
        let dir = TempDir::new();
        let config = dir.path().join("grid.toml");
        fs::write(&config, GRID).unwrap();
        let out = dir.path().join("out");
        let e = Experiment { _dir: dir, config, out };
        let o = e.run(&[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        e
    }

    fn run(&self, extra: &[&str]) -> Output {
        actbench()
            .args(["--config", self.config.to_str().unwrap(), "--out", self.out.to_str().unwrap(), "--quiet"])
            .args(extra)
            .output()
            .unwrap()
    }

    fn results(&self) -> ResultsDir {
        ResultsDir::new(&self.out)
    }

    /// The combined tables, wall-time columns aside.
    fn combined(&self) -> Vec<Vec<Vec<String>>> {
        Table::ALL.iter().map(|t| timeless(&self.results().table(*t))).collect()
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = fs::read_dir(self.results().runs()).unwrap().map(|e| e.unwrap().path()).collect();
        dirs.sort();
        dirs
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_damaged_run_is_named_trained_again_and_the_combined_tables_stay_whole() {
    let e = Experiment::new();
    let golden = e.combined();
    let runs = e.results();
    let [a, b, c, d] = ["relu-lr0.01-s0", "relu-lr0.01-s1", "tanh-lr0.01-s0", "tanh-lr0.01-s1"].map(|id| runs.run(id));
    // One damage of each kind, one per run: deleted, cut mid-row, a row appended, not UTF-8.
    fs::remove_file(a.table(Table::Gradients)).unwrap();
    let epochs = fs::read(b.table(Table::Epochs)).unwrap();
    fs::write(b.table(Table::Epochs), &epochs[..epochs.len() - 7]).unwrap();
    let mut activations = fs::read_to_string(c.table(Table::Activations)).unwrap();
    activations.push_str("tanh-lr0.01-s1,tanh,1,0.01,9,0,8,0,0,0,0,0,0\n");
    fs::write(c.table(Table::Activations), activations).unwrap();
    let mut summary = fs::read(d.table(Table::Summary)).unwrap();
    let at = summary.len() - 3;
    summary[at] = 0xff;
    fs::write(d.table(Table::Summary), summary).unwrap();

    let o = e.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = stderr(&o);
    for (run, table) in [(&a, Table::Gradients), (&b, Table::Epochs), (&c, Table::Activations), (&d, Table::Summary)] {
        let path = run.table(table);
        assert!(
            said.lines().any(|l| l.contains(path.to_str().unwrap()) && l.contains("trained again")),
            "{} not named: {said}",
            path.display()
        );
    }
    assert_eq!(said.lines().count(), 4, "{said}");
    assert_eq!(e.combined(), golden, "the retrained runs give the same combined tables");

    // Nothing damaged: every run is skipped and nothing is said.
    let o = e.run(&[]);
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn a_manifest_from_before_the_checksums_is_still_a_finished_run() {
    let e = Experiment::new();
    for dir in e.run_dirs() {
        let path = dir.join(MANIFEST_FILE);
        let mut manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert!(manifest.as_object_mut().unwrap().remove("files").is_some());
        fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    }
    let o =
        actbench().args(["--config", e.config.to_str().unwrap(), "--out", e.out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches("already finished, skipped").count(), 4, "{}", stderr(&o));
    // Without a checksum a table is still parsed: garbage is noticed.
    let epochs = e.results().run("relu-lr0.01-s0").table(Table::Epochs);
    fs::write(&epochs, "run_id,garbage\n").unwrap();
    let o = e.run(&[]);
    assert!(o.status.success() && stderr(&o).contains(epochs.to_str().unwrap()), "{}", stderr(&o));
}

#[test]
fn force_recovers_whatever_the_run_folders_hold() {
    let e = Experiment::new();
    let golden = e.combined();
    for dir in e.run_dirs() {
        for entry in fs::read_dir(&dir).unwrap() {
            fs::write(entry.unwrap().path(), [0xff, 0xfe, 0x00, b'\n']).unwrap();
        }
    }
    // The combined tables too.
    for table in Table::ALL {
        fs::write(e.results().table(table), [0xff]).unwrap();
    }
    let o = e.run(&["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "--force reads nothing back: {}", stderr(&o));
    assert_eq!(e.combined(), golden);
}

/// One random damage to a file: cut, a byte changed, deleted, or bytes appended.
fn damage(rng: &mut impl Rng, path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    match rng.random_range(0..4) {
        0 => {
            let at = rng.random_range(0..=bytes.len());
            fs::write(path, &bytes[..at]).unwrap();
            format!("cut {} at {at}", path.display())
        }
        1 if !bytes.is_empty() => {
            let mut bytes = bytes;
            let at = rng.random_range(0..bytes.len());
            bytes[at] = rng.random();
            fs::write(path, &bytes).unwrap();
            format!("byte {at} of {} changed", path.display())
        }
        2 => {
            let _ = fs::remove_file(path);
            format!("{} deleted", path.display())
        }
        _ => {
            let mut bytes = bytes;
            let tail: Vec<u8> = match rng.random_range(0..3) {
                0 => b"relu-lr0.01-s0,relu,0,0.01,1,1,1,1,1,1,1,1,1\n".to_vec(),
                1 => (0..rng.random_range(1..40)).map(|_| rng.random()).collect(),
                _ => b"\n\n,,,\n".to_vec(),
            };
            bytes.extend(tail);
            fs::write(path, &bytes).unwrap();
            format!("bytes appended to {}", path.display())
        }
    }
}

#[test]
fn random_damage_to_run_folders_ends_in_the_same_tables_or_a_one_line_error() {
    let e = Experiment::new();
    let golden = e.combined();
    let seed: u64 = std::env::var("ACTBENCH_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(18);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..40 {
        let mut done = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            let dirs = e.run_dirs();
            let dir = &dirs[rng.random_range(0..dirs.len())];
            let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            if files.is_empty() {
                continue;
            }
            let file = files[rng.random_range(0..files.len())].clone();
            done.push(damage(&mut rng, &file));
        }
        let o = e.run(&[]);
        let said = stderr(&o);
        let what = format!("seed {seed}, round {round}: {}", done.join("; "));
        assert!(!said.contains("panicked"), "{what}: {said}");
        if o.status.success() {
            assert_eq!(e.combined(), golden, "{what}: {said}");
            assert!(said.lines().all(|l| l.starts_with("warning: run `")), "{what}: {said}");
        } else {
            let lines: Vec<&str> = said.lines().collect();
            assert!(lines.len() == 1 && lines[0].contains(e.out.to_str().unwrap()), "{what}: {said}");
        }
    }
}

#[test]
fn rerun_never_writes_over_an_experiment() {
    let e = Experiment::new();
    let files: Vec<PathBuf> = Table::ALL.iter().map(|t| e.results().table(*t)).chain([e.results().config()]).collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    let run = e.results().run("relu-lr0.01-s0");
    let o =
        actbench().args(["rerun", run.path().to_str().unwrap(), "--out", e.out.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("not an empty folder"), "{}", stderr(&o));
    let after: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    assert!(before == after, "the experiment's files were written over");
    // A new folder is fine.
    let new = e.out.with_file_name("again");
    let o = actbench().args(["rerun", run.path().to_str().unwrap(), "--out", new.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(ResultsDir::new(&new).run("relu-lr0.01-s0").manifest().is_file());
}

#[test]
fn report_and_check_name_a_damaged_combined_table() {
    let e = Experiment::new();
    let summary = e.results().table(Table::Summary);
    for garbage in [&b"\xff\xfe garbage\n"[..], b"run_id,activation\nx,y\n", b""] {
        fs::write(&summary, garbage).unwrap();
        for args in [
            vec!["report", e.out.to_str().unwrap()],
            vec!["check", "--baseline", e.out.to_str().unwrap(), "--current", e.out.to_str().unwrap()],
        ] {
            let o = actbench().args(&args).output().unwrap();
            let said = stderr(&o);
            assert!(!o.status.success() && said.trim_end().lines().count() == 1, "{args:?}: {said}");
            assert!(said.contains(summary.to_str().unwrap()), "{args:?}: {said}");
        }
    }
    // Running the experiment again rebuilds the combined tables from the run folders.
    let o = e.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(timeless(&summary).len(), 4);
}

#[test]
fn a_run_written_before_learned_csv_existed_still_counts_as_finished() {
    let e = Experiment::new();
    let golden = e.combined();
    // As an earlier version wrote it: no learned.csv, and the manifest does not list one.
    for dir in e.run_dirs() {
        fs::remove_file(dir.join(Table::Learned.file_name())).unwrap();
        let path = dir.join(MANIFEST_FILE);
        let mut manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        manifest["files"].as_object_mut().unwrap().remove(Table::Learned.file_name()).unwrap();
        fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    }
    let o = e.run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert!(e.run_dirs().iter().all(|d| !d.join(Table::Learned.file_name()).exists()), "nothing was trained again");
    assert_eq!(e.combined(), golden);
    // Listed in the manifest but gone: that is damage.
    let first = &e.run_dirs()[0];
    let o = e.run(&["--force"]);
    assert!(o.status.success());
    fs::remove_file(first.join(Table::Learned.file_name())).unwrap();
    let o = e.run(&[]);
    assert!(stderr(&o).contains("learned.csv' is missing"), "{}", stderr(&o));
}
