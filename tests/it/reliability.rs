//! The classes of careless and hostile input of the reliability review,
//! each through the command line: two runs with one id, an output written
//! over an input, unbounded work before any training, a claim kept by a
//! reused PID, input misread or echoed raw, the wrong key named. Each case
//! fails on the code before the review; a refusal is one line, a non-zero
//! exit, and nothing written. (SLURM scripts with spaces: tests/it/slurm.rs.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::{TempDir, actbench};

/// A two-run experiment trained in about a second.
const TINY: &str = r#"activations = ["relu", "tanh"]
[experiment]
seeds = 1
[model]
hidden = [8]
[training]
epochs = 1
batch_size = 64
[logging]
every_steps = 0
activation_stats = false
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal: exit `code`, one line on stderr holding each of `words`.
fn refused(o: &Output, code: i32, words: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit {:?}: {err}", o.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for w in words {
        assert!(err.contains(w), "`{w}` missing: {err}");
    }
    err
}

fn train(dir: &Path, config: &str, out: &str) -> PathBuf {
    let config = write(dir, "exp.toml", config);
    let out = dir.join(out);
    let o = actbench().args(["--config", s(&config), "--out", s(&out), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// Every file under `dir` with its bytes, to see that a refusal wrote nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { files.push((p.clone(), fs::read(&p).unwrap())) }
        }
    }
    files.sort();
    files
}

#[test]
fn entries_whose_run_ids_coincide_are_refused_naming_both() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    for (activations, words) in [
        // A name equal to another entry's run-id stem.
        (
            r#"["relu", { name = "step-straight_through", formula = "max(x, x / 10)" }, { name = "step", straight_through = true }]"#,
            &["activations[2]", "activations[1]", "step-straight_through"][..],
        ),
        // Two unnamed formulas whose 32-bit hashes agree (found by search: FNV-1a's top 32 bits).
        (
            r#"[{ formula = "x + 243493" }, { formula = "x + 852220" }]"#,
            &["activations[1]", "formula_01b041b0", "give it a `name`"],
        ),
        // Names that differ only in case name one folder on macOS and Windows.
        (
            r#"[{ name = "MyAct", formula = "tanh(x)" }, { name = "myact", formula = "x" }]"#,
            &["activations[1]", "MyAct"],
        ),
        // A name that is another entry's id with its init.
        (r#"["relu", { name = "relu", init = "he" }, { name = "relu-init_he", formula = "x" }]"#, &["relu-init_he"]),
    ] {
        let config = write(dir.path(), "ids.toml", &TINY.replace(r#"["relu", "tanh"]"#, activations));
        for command in [&["plan", "--config"][..], &["run", "--config"]] {
            let o = actbench().args(command).arg(&config).args(["--out", s(&out)]).output().unwrap();
            refused(&o, 1, words);
            assert!(!out.exists(), "{activations}: nothing written");
        }
    }
    // Entries whose stems only look alike keep distinct ids: accepted.
    let fine = r#"["elu", { name = "elu", alpha = 2.0 }, { name = "elu-alpha2", formula = "x", lr = [0.5] }]"#;
    let config = write(dir.path(), "ids.toml", &TINY.replace(r#"["relu", "tanh"]"#, fine));
    let o = actbench().args(["plan", "--config", s(&config), "--out", s(&out)]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // The baselines of a search, too.
    let search = format!(
        "{TINY}[search]\nrungs = [1]\ncandidates = 2\nbaselines = [\"relu\", {{ formula = \"x + 243493\" }}, {{ formula = \"x + 852220\" }}]\n"
    );
    let config = write(dir.path(), "search.toml", &search);
    let o = actbench().args(["plan", "--config", s(&config)]).output().unwrap();
    refused(&o, 1, &["search.baselines[2]", "x + 243493"]);
}

/// A search whose baselines are among its own finalists: each such
/// finalist is trained once, as the baseline, and the folder's config loads
/// again (before, it listed the function twice and no command could read it).
#[test]
fn a_finalist_that_is_a_baseline_is_trained_once_and_the_results_load_again() {
    let dir = TempDir::new();
    // Six distinct candidates (x * tanh(x) and tanh(x) * x are one), all finalists;
    // `x * x` and `tanh(x) + tanh(x)` are written as the walk writes them.
    let config = format!(
        "{}[search]\nunary = [\"x\", \"tanh(x)\"]\nbinary = [\"a * b\", \"a + b\"]\ncandidates = 8\nrungs = [1]\nseeds = 1\nfinalists = 6\nbaselines = [{{ formula = \"x * x\" }}, {{ formula = \"tanh(x) + tanh(x)\" }}]\n",
        TINY.replace(r#"["relu", "tanh"]"#, r#"["relu"]"#)
    );
    let out = train(dir.path(), &config, "out");
    let o = actbench().args(["plan", "--config", s(&out.join("config.toml")), "--out", s(&out)]).output().unwrap();
    assert!(o.status.success(), "the results' config loads: {}", stderr(&o));
    let mut labels: Vec<String> = csv::Reader::from_path(out.join("summary.csv"))
        .unwrap()
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(|row| row.unwrap()["activation"].clone())
        .collect();
    labels.sort();
    let mut unique = labels.clone();
    unique.dedup();
    assert_eq!(unique, labels, "each function once");
    assert_eq!(labels.len(), 6, "the two baselines and the four other candidates: {labels:?}");
    for label in ["x * x", "tanh(x) + tanh(x)", "x + x", "tanh(x) * tanh(x)"] {
        assert!(labels.iter().any(|l| l == label), "{label}: {labels:?}");
    }
    let o = actbench().args(["report", s(&out)]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn no_command_writes_over_what_it_reads_or_a_results_folder_it_was_not_given() {
    let dir = TempDir::new();
    let results = train(dir.path(), TINY, "results");
    let claims = write(
        dir.path(),
        "claims.toml",
        "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nat_least = 0.0\n",
    );
    let baseline = dir.path().join("baseline");
    let o = actbench().args(["baseline", "update", "--from", s(&results), "--to", s(&baseline)]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mine = dir.path().join("mine");
    fs::create_dir_all(&mine).unwrap();
    fs::write(mine.join("config.toml"), "# my own notes\n").unwrap();
    let before = snapshot(dir.path());
    // Each case a command line (`{c}` the claims file, `{r}` the results folder,
    // `{b}` the baseline, `{e}` the experiment file, `{m}` the user's folder), its exit code, its words.
    let cases: [(&str, i32, &str); 16] = [
        // The claims file it reads, and the tables of the folder it checks.
        ("check --expect {c} {r} --output {c}", 2, "which this command reads"),
        ("check --expect {c} {r} --output {r}/summary.csv", 2, "summary.csv of the results folder"),
        ("check --baseline {b} --current {r} --output {b}/config.toml", 2, "config.toml of the results folder"),
        ("check --expect {c} {r} --output {r}/runs/relu-lr0.01-s0/x.json", 2, "runs of the results folder"),
        ("check --expect {c} {r} --output {r}", 2, "is a folder"),
        // Another results folder's table: bench refuses before its minutes of training.
        ("bench --workloads w1 --csv {r}/epochs.csv", 1, "epochs.csv of the results folder"),
        ("plot-activations --out {r}/plots", 1, "plots of the results folder"),
        // A user's folder holding a config.toml of their own is not a results folder; a baseline is not one either.
        ("run --config {e} --out {m}", 1, "config.toml of its own"),
        ("run --config {e} --out {b}", 1, "is a baseline"),
        ("run --config {e} --out {r}/runs/new", 1, "lies in runs"),
        ("slurm --config {e} --out {b}", 1, "is a baseline"),
        ("rerun {r}/runs/relu-lr0.01-s0 --out {r}/plots/again", 1, "lies in plots"),
        ("baseline update --from {r} --to {r}/runs/base", 1, "lies in runs"),
        ("report {b}", 1, "is a baseline"),
        ("merge {b}", 1, "is a baseline"),
        ("check --expect {c} {r} --output {r}/report.md", 2, "report.md of the results folder"),
    ];
    let exp = dir.path().join("exp.toml");
    let places = [("{c}", &claims), ("{r}", &results), ("{b}", &baseline), ("{e}", &exp), ("{m}", &mine)];
    let cases = cases.map(|(line, code, words)| {
        let args: Vec<String> = line
            .split(' ')
            .map(|word| places.iter().fold(word.to_string(), |w, (name, path)| w.replace(name, s(path))))
            .collect();
        (args, code, words)
    });
    for (args, code, words) in &cases {
        let o = actbench().args(args).output().unwrap();
        refused(&o, *code, &[words]);
        assert!(snapshot(dir.path()) == before, "{args:?} wrote or changed a file");
    }
    // A file of one's own name in the results folder is fine.
    let own = results.join("check.json");
    let o = actbench()
        .args(["check", "--expect", s(&claims), s(&results), "--format", "json", "--output", s(&own)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read_to_string(&own).unwrap().contains("\"claims\""));
}

/// Runs `args` and returns its output and how long it took (at most `limit`: a hang fails the test).
fn timed(args: &[&str], limit: Duration) -> (Output, Duration) {
    let mut child = actbench()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

#[test]
fn every_size_is_bounded_before_it_is_used() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let numbers = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let rates = (1..=100_000).map(|i| format!("{i}e-9")).collect::<Vec<_>>().join(", ");
    let cases: Vec<(String, &str)> = vec![
        // Allocated up front before: an allocation abort.
        (format!("{TINY}[search]\ncandidates = 1000000000000\n"), "search.candidates"),
        (format!("{TINY}[search]\nseeds = 1000000000000\n"), "search.seeds"),
        // Refused after 26 s before, growing with the square of the length.
        (format!("{TINY}[sweep]\n\"training.epochs\" = [{}]\n", numbers(100_000)), "100000 values"),
        (TINY.replace("batch_size = 64", &format!("batch_size = 64\nlr = [{rates}]")), "training.lr"),
        // 200,000 layers of one unit fit in memory but would take hours to build.
        (TINY.replace("hidden = [8]", &format!("hidden = [{}]", vec!["1"; 200_000].join(", "))), "model.hidden"),
    ];
    for (text, key) in &cases {
        let config = write(dir.path(), "big.toml", text);
        let (o, took) = timed(&["run", "--config", s(&config), "--out", s(&out)], Duration::from_secs(60));
        refused(&o, 1, &[key]);
        assert!(took < Duration::from_secs(5), "{key}: {took:?}");
        assert!(!out.exists());
    }
    // A config file of 20 MB is refused before it is read.
    let huge = dir.path().join("huge.toml");
    let mut text = TINY.to_string();
    text.push_str(&"# padding padding padding padding padding padding padding\n".repeat(350_000));
    fs::write(&huge, text).unwrap();
    let (o, took) = timed(&["plan", "--config", s(&huge)], Duration::from_secs(60));
    refused(&o, 1, &["huge.toml", "bytes, more than"]);
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A search asking for more candidates than its space holds walks the space once and ends.
    let small = format!(
        "{}[search]\nunary = [\"x\", \"tanh(x)\"]\nbinary = [\"a + b\"]\ncandidates = 10000\nrungs = [1]\nseeds = 1\nfinalists = 1\nbaselines = [\"relu\"]\n",
        TINY.replace(r#"["relu", "tanh"]"#, r#"["relu"]"#)
    );
    let config = write(dir.path(), "small.toml", &small);
    let (o, _) = timed(&["run", "--config", s(&config), "--out", s(&out), "--quiet"], Duration::from_secs(120));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// One claim file written by a worker that is gone: a live PID of this
/// host (PID 1 always runs) must not keep it.
fn claim(run: &Path, json: &str, age: Duration) {
    fs::create_dir_all(run).unwrap();
    let file = run.join(".claim");
    fs::write(&file, json).unwrap();
    let when = std::time::SystemTime::now() - age;
    fs::OpenOptions::new().write(true).open(&file).unwrap().set_modified(when).unwrap();
}

#[test]
fn a_claim_or_lock_whose_pid_was_reused_is_taken_over() {
    let dir = TempDir::new();
    let config = write(dir.path(), "exp.toml", TINY);
    let out = dir.path().join("out");
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let stat = fs::read_to_string("/proc/1/stat").unwrap();
    let start: u64 = stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap().parse().unwrap();
    // relu's claim: PID 1 runs, but started at another time (its PID was reused), fresh.
    claim(
        &out.join("runs/relu-lr0.01-s0"),
        &format!(r#"{{"host":"{host}","pid":1,"started_at":"t","process_start":{}}}"#, start + 1),
        Duration::ZERO,
    );
    // tanh's: an older version's claim (no start time) of a live PID, not refreshed for 10 minutes.
    claim(
        &out.join("runs/tanh-lr0.01-s0"),
        &format!(r#"{{"host":"{host}","pid":1,"started_at":"t"}}"#),
        Duration::from_secs(600),
    );
    let o = actbench().args(["run", "--config", s(&config), "--out", s(&out), "--worker"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("trained 2 of the 2 runs"), "{said}");
    for id in ["relu-lr0.01-s0", "tanh-lr0.01-s0"] {
        assert!(out.join("runs").join(id).join("summary.csv").is_file(), "{id}");
    }
    // The one-writer lock of a plain run: PID 1 with another start time is not the writer.
    fs::write(out.join(".actbench.lock"), format!("1 {} {host}", start + 1)).unwrap();
    let o = actbench().args(["run", "--config", s(&config), "--out", s(&out), "--force", "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // A live claim (PID 1, its own start time, fresh) still holds.
    claim(
        &out.join("runs/relu-lr0.01-s0"),
        &format!(r#"{{"host":"{host}","pid":1,"started_at":"t","process_start":{start}}}"#),
        Duration::ZERO,
    );
    let o = actbench().args(["run", "--config", s(&config), "--out", s(&out), "--force", "--quiet"]).output().unwrap();
    refused(&o, 1, &["claimed by a worker"]);
}

#[test]
fn input_is_never_misread_or_echoed_raw() {
    let dir = TempDir::new();
    let config = write(dir.path(), "exp.toml", TINY);
    let out = dir.path().join("out");
    // A value with a line break kept its first line before.
    let o = actbench()
        .args(["run", "--config", s(&config), "--out", s(&out), "--set", "training.epochs=1\nexperiment.seeds=7"])
        .output()
        .unwrap();
    refused(&o, 1, &["--set", "line break"]);
    assert!(!out.exists());
    // Control characters in a formula are shown escaped, never sent to the terminal.
    let o = actbench().args(["activations", "--formula", "x\u{1b}[31m + 1"]).output().unwrap();
    let err = refused(&o, 1, &["\\u{1b}"]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let bad = write(dir.path(), "bad.toml", &TINY.replace(r#""tanh""#, r#"{ formula = "x\u0007\u001b[2J" }"#));
    let o = actbench().args(["plan", "--config", s(&bad)]).output().unwrap();
    let err = refused(&o, 1, &["activations[1]"]);
    assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
    // A NaN bound of `where` made a claim about it hold.
    let results = train(dir.path(), TINY, "results");
    let nan = write(
        dir.path(),
        "claims.toml",
        "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nseeds = \"share\"\nwhere = { at_least = nan }\nat_most = 0.5\n",
    );
    let o = actbench().args(["check", "--expect", s(&nan), s(&results)]).output().unwrap();
    refused(&o, 2, &["claims.toml", "`where`", "finite"]);
    // What a config path is, when it is not a file: not "not found".
    let fifo = dir.path().join("fifo.toml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (a, b) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    for (path, what) in [(fifo.as_path(), "FIFO"), (Path::new("/dev/zero"), "device"), (a.as_path(), "loop")] {
        for command in ["plan", "run", "slurm"] {
            let (o, _) = timed(&[command, "--config", s(path), "--out", s(&out)], Duration::from_secs(10));
            refused(&o, 1, &[what]);
        }
        let (o, _) = timed(&["check", "--expect", s(path), s(&results)], Duration::from_secs(10));
        refused(&o, 2, &[what]);
    }
}

#[test]
fn a_key_too_large_is_named_for_what_to_change() {
    let dir = TempDir::new();
    let config = write(dir.path(), "exp.toml", &TINY.replace("epochs = 1", "epochs = 1000000000000"));
    let out = dir.path().join("out");
    let o = actbench().args(["run", "--config", s(&config), "--out", s(&out)]).output().unwrap();
    let err = refused(&o, 1, &["key `training.epochs`", "train fewer epochs"]);
    assert!(!err.contains("logging"), "{err}");
    assert!(!out.exists());
}
