//! The binary as a user runs it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::activations_reference::NOT_IN_TORCH;
use crate::common::{RUN_FILES, TempDir, actbench, timeless, train_with_threads};
use actbench::activation::catalog;
use actbench::results::dir::{CONFIG_FILE, ResultsDir, Table};

/// Writes `config` into `dir/exp.toml` and runs it into `dir/out`.
fn run_config(dir: &Path, config: &str) -> std::process::Output {
    let path = dir.join("exp.toml");
    fs::write(&path, config).unwrap();
    actbench()
        .args(["--config", path.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap(), "--quiet"])
        .output()
        .unwrap()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows =
        reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect();
    (header, rows)
}

const TINY: &str = r#"
activations = ["relu", "tanh"]
[experiment]
seeds = 1
[model]
hidden = [16, 16]
[training]
epochs = 2
batch_size = 64
optimizer = "adam"
lr = 0.01
"#;

#[test]
fn a_tiny_config_writes_the_documented_files() {
    let dir = TempDir::new();
    let out = run_config(dir.path(), TINY);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results = dir.path().join("out");

    let (header, epochs) = read_csv(&results.join(Table::Epochs.file_name()));
    assert_eq!(
        header,
        [
            "run_id",
            "activation",
            "seed",
            "lr",
            "epoch",
            "train_loss",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "epoch_seconds"
        ]
    );
    assert_eq!(epochs.len(), 4, "2 runs x 2 epochs");

    let (header, gradients) = read_csv(&results.join(Table::Gradients.file_name()));
    assert_eq!(
        header,
        [
            "run_id",
            "activation",
            "seed",
            "lr",
            "epoch",
            "step",
            "loss",
            "parameter",
            "grad_l2",
            "grad_max_abs",
            "weight_l2"
        ]
    );
    let mut params: Vec<&str> = gradients.iter().map(|r| r["parameter"].as_str()).collect();
    params.sort();
    params.dedup();
    assert_eq!(
        params,
        ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight", "output.bias", "output.weight"]
    );
    // digits: 1797 - 359 test - 179 validation = 1259 training samples -> 20 steps of 64 per epoch.
    let relu_steps = gradients.iter().filter(|r| r["run_id"] == "relu-lr0.01-s0").count();
    assert_eq!(relu_steps, 2 * 20 * 6);
    assert!(gradients.iter().all(|r| r["grad_l2"].parse::<f64>().unwrap() >= 0.0));

    let (header, summary) = read_csv(&results.join(Table::Summary.file_name()));
    assert_eq!(header[..4], ["run_id", "activation", "seed", "lr"]);
    assert!(header.contains(&"test_accuracy".to_string()) && header.contains(&"diverged".to_string()));
    let ids: Vec<&str> = summary.iter().map(|r| r["run_id"].as_str()).collect();
    assert_eq!(ids, ["relu-lr0.01-s0", "tanh-lr0.01-s0"]);
    assert!(results.join(CONFIG_FILE).is_file());
    assert!(ResultsDir::new(&results).run("relu-lr0.01-s0").table(Table::Summary).is_file());
    // No temporary file is left behind.
    let leftovers: Vec<_> = fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn training_on_digits_beats_chance_by_far() {
    let dir = TempDir::new();
    let out = run_config(
        dir.path(),
        r#"activations = ["relu"]
        [model]
        hidden = [64]
        [training]
        epochs = 5
        optimizer = "adam"
        lr = 0.005"#,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, summary) = read_csv(&dir.path().join("out/summary.csv"));
    let acc: f64 = summary[0]["test_accuracy"].parse().unwrap();
    assert!(acc > 0.85, "test accuracy {acc}, chance is 0.1");
}

#[test]
fn the_same_config_and_seed_give_identical_csvs() {
    let a = TempDir::new();
    let b = TempDir::new();
    for dir in [&a, &b] {
        let out = run_config(dir.path(), TINY);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for table in Table::ALL {
        let file = table.file_name();
        let (rows_a, rows_b) = (timeless(&a.path().join("out").join(file)), timeless(&b.path().join("out").join(file)));
        // learned.csv has rows only for formulas with `learn` (tests/it/formula.rs).
        assert!(!rows_a.is_empty() || table.optional(), "{file} is empty");
        assert_eq!(rows_a, rows_b, "{file} differs");
    }
}

#[test]
fn a_diverging_run_is_marked_and_the_others_go_on() {
    let dir = TempDir::new();
    let out = run_config(
        dir.path(),
        r#"activations = [{ name = "relu", lr = 1e6 }, "tanh"]
        [model]
        hidden = [32, 32]
        [training]
        epochs = 2
        lr = 0.05"#,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, summary) = read_csv(&dir.path().join("out/summary.csv"));
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0]["diverged"], "true");
    assert!(!summary[0]["diverged_step"].is_empty());
    assert_eq!(summary[1]["diverged"], "false");
    assert_eq!(summary[1]["epochs_completed"], "2");
}

#[test]
fn a_bare_name_is_found_in_configs() {
    let dir = TempDir::new();
    let out = actbench().args(["--config", "tiny", "--out", dir.path().to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join(Table::Summary.file_name()).is_file());
}

#[test]
fn run_subcommand_is_the_same_as_the_bare_form() {
    let dir = TempDir::new();
    let out = actbench()
        .args(["run", "--config", "configs/tiny.toml", "--out", dir.path().to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join(Table::Summary.file_name()).is_file());
}

/// Bad input: one line on stderr naming the problem, exit code 1, nothing written.
fn assert_clean_failure(out: &std::process::Output, expected: &[&str], results: &Path) {
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "`{e}` missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!results.exists(), "nothing is written on bad input");
}

#[test]
fn config_errors_are_one_line_with_file_and_line() {
    let dir = TempDir::new();
    let out = run_config(dir.path(), "activations = [\"relu\", \"sigmiod\"]\n");
    assert_clean_failure(&out, &["exp.toml:1:", "did you mean `sigmoid`"], &dir.path().join("out"));
    let out = run_config(dir.path(), "[training]\nepochs = 3\nlr = -0.1\n");
    assert_clean_failure(&out, &["exp.toml:3:", "training.lr", "> 0"], &dir.path().join("out"));
    let out = run_config(dir.path(), "[trainig]\nepochs = 3\n");
    assert_clean_failure(&out, &["exp.toml:1:", "trainig"], &dir.path().join("out"));
}

#[test]
fn missing_config_and_missing_backend_are_clear_errors() {
    let dir = TempDir::new();
    let out = actbench().args(["--config", "nope.toml"]).output().unwrap();
    assert_clean_failure(&out, &["nope.toml", "not found", "configs/nope.toml"], &dir.path().join("out"));
    if !cfg!(feature = "wgpu") {
        let out = actbench()
            .args(["--config", "tiny", "--backend", "wgpu", "--out", dir.path().join("out").to_str().unwrap()])
            .output()
            .unwrap();
        assert_clean_failure(&out, &["--features wgpu"], &dir.path().join("out"));
    }
    if !cfg!(feature = "cuda") {
        let out = actbench()
            .args(["--config", "tiny", "--backend", "cuda", "--out", dir.path().join("out").to_str().unwrap()])
            .output()
            .unwrap();
        assert_clean_failure(&out, &["backend `cuda`", "--features cuda"], &dir.path().join("out"));
        // The same from the file's own `experiment.backend`.
        let config = dir.path().join("cuda.toml");
        std::fs::write(&config, "[experiment]\nbackend = \"cuda\"\n[training]\nepochs = 1\n").unwrap();
        let out = actbench()
            .args(["--config", config.to_str().unwrap(), "--out", dir.path().join("out").to_str().unwrap()])
            .output()
            .unwrap();
        assert_clean_failure(&out, &["backend `cuda`", "--features cuda"], &dir.path().join("out"));
    }
}

#[test]
fn activations_csv_prints_every_activation_at_every_point() {
    let out = actbench().args(["activations", "--csv", "--points", "-3,-0.5,0.5,3"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("activation,x,value,derivative"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), catalog::CATALOG.len() * 4);
    // Same numbers as the PyTorch reference at the points it shares.
    let mut reference =
        csv::Reader::from_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/activations_torch.csv")).unwrap();
    let mut matched = 0;
    for r in reference.records().map(Result::unwrap) {
        let x: f64 = r[1].parse().unwrap();
        if let Some(row) = rows.iter().find(|row| row[0] == &r[0] && row[1].parse::<f64>().unwrap() == x) {
            for (got, want) in [(row[2], &r[2]), (row[3], &r[3])] {
                let (got, want): (f64, f64) = (got.parse().unwrap(), want.parse().unwrap());
                assert!((got - want).abs() <= 1e-5 + 1e-5 * want.abs(), "{row:?} vs {r:?}");
            }
            matched += 1;
        }
    }
    assert_eq!(matched, (catalog::CATALOG.len() - NOT_IN_TORCH.len()) * 4);
}

#[test]
fn activations_lists_formulas() {
    let out = actbench().arg("activations").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("hard_sigmoid") && text.contains("relu6(x + 3) / 6"), "{text}");
    assert!(text.contains("slope = 0.01"), "{text}");
}

#[test]
fn every_kind_of_bad_input_is_one_line_and_writes_nothing() {
    let dir = TempDir::new();
    let results = dir.path().join("out");
    for (config, expected) in [
        ("[training\nepochs = 2\n", vec!["exp.toml:1:"]),
        ("[data]\ndataset = \"imagenet\"\n", vec!["exp.toml:2:", "data.dataset", "digits"]),
        ("[training]\nepochs = 0\n", vec!["exp.toml:2:", "training.epochs", "at least 1"]),
        ("activations = []\n", vec!["`activations`", "at least one"]),
        ("[training]\nbatch_size = 5000\n", vec!["training.batch_size", "larger than the training split"]),
        ("[experiment]\nbackend = \"tpu\"\n", vec!["exp.toml:2:", "experiment.backend"]),
    ] {
        let out = run_config(dir.path(), config);
        assert_clean_failure(&out, &expected, &results);
    }
}

#[test]
fn an_unwritable_results_folder_is_a_clear_error() {
    let dir = TempDir::new();
    let out = actbench().args(["--config", "tiny", "--out", "/dev/null/results", "--quiet"]).output().unwrap();
    assert_clean_failure(&out, &["cannot create results folder '/dev/null/results'"], &dir.path().join("none"));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new()).collect();
    let outs: Vec<_> = dirs.iter().zip(["2", "2", "1"]).map(|(d, t)| train_with_threads(d.path(), TINY, t)).collect();
    for file in RUN_FILES {
        let rows: Vec<Vec<Vec<String>>> = outs.iter().map(|out| timeless(&out.join(file))).collect();
        assert_eq!(rows[0], rows[1], "{file}: two runs with 2 threads differ");
        assert_eq!(rows[0], rows[2], "{file}: 1 and 2 threads differ");
    }
}

#[test]
fn extreme_learning_rates_train_into_short_run_ids() {
    let dir = TempDir::new();
    let config = "activations = [\"relu\"]\n[model]\nhidden = [8]\n[training]\nepochs = 1\nlr = [1e308, 1e-300]\n";
    let out = train_with_threads(dir.path(), config, "1");
    let results = ResultsDir::new(&out);
    for id in ["relu-lr1e308-s0", "relu-lr1e-300-s0"] {
        assert!(results.run(id).table(Table::Summary).is_file(), "{id}");
    }
}

#[test]
fn sizes_no_machine_can_hold_are_one_line_errors_before_anything_is_allocated() {
    let dir = TempDir::new();
    let results = dir.path().join("out");
    let max = i64::MAX;
    for (config, expected) in [
        ("[experiment]\nseeds = 1000000000\n".to_string(), vec!["exp.toml:2:", "experiment.seeds", "100000"]),
        (format!("[experiment]\nseeds = {max}\n"), vec!["experiment.seeds"]),
        ("[model]\nhidden = [100000000000]\n".to_string(), vec!["`model.hidden`", "parameters", "memory"]),
        (format!("[model]\nhidden = [{max}, {max}]\n"), vec!["`model.hidden`", "memory"]),
        (format!("[training]\nepochs = {max}\n"), vec!["`training.epochs`", "recorded rows", "train fewer epochs"]),
        ("[training]\nepochs = 1000000000000000\n[logging]\nevery_steps = 0\n".to_string(), vec!["`training.epochs`"]),
        ("[data]\ndataset = \"spirals\"\nsamples = 100000000000000000\n".to_string(), vec!["`data.samples`"]),
        (format!("[data]\ndataset = \"spirals\"\nsamples = {max}\n"), vec!["`data.samples`"]),
        (
            "[model]\nkind = \"cnn\"\nchannels = [1000000000]\nhidden = []\n".to_string(),
            vec!["`model.channels`", "memory"],
        ),
        (
            "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 100000\n[training]\nlr = [1, 2, 3, 4, 5, 6]\n"
                .to_string(),
            vec!["1200000 runs", "split it"],
        ),
    ] {
        let out = run_config(dir.path(), &config);
        assert_clean_failure(&out, &expected, &results);
    }
}

#[test]
fn a_config_path_that_is_a_folder_says_so() {
    let dir = TempDir::new();
    let out = actbench().args(["--config", dir.path().to_str().unwrap()]).output().unwrap();
    assert_clean_failure(&out, &["is a folder, not a file", dir.path().to_str().unwrap()], &dir.path().join("out"));
}

#[test]
fn set_overrides_keys_from_the_command_line_and_is_recorded() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let o = actbench()
        .args(["--config", "tiny", "--out", out.to_str().unwrap(), "--quiet"])
        .args(["--set", "training.epochs=1", "--set", "model.hidden=[8]", "--set", "training.optimizer=sgd"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let resolved = fs::read_to_string(ResultsDir::new(&out).config()).unwrap();
    for line in ["epochs = 1", "hidden = [8]", "optimizer = \"sgd\""] {
        assert!(resolved.lines().any(|l| l == line), "{line} not in:\n{resolved}");
    }
    let epochs = timeless(&ResultsDir::new(&out).table(Table::Epochs));
    assert_eq!(epochs.len(), 2, "one epoch per run: {epochs:?}");
    let manifest = fs::read_to_string(ResultsDir::new(&out).run("relu-lr0.01-s0").manifest()).unwrap();
    assert!(manifest.contains("--set 'training.epochs=1'"), "{manifest}");

    let results = dir.path().join("none");
    for (set, said) in [
        ("training.epoch=1", "unknown field `epoch`"),
        ("training.epochs=x", "expected i64"),
        ("training.epochs", "give KEY=VALUE"),
        ("training.epochs=0", "at least 1"),
        ("training.epochs.x=1", "--set `training.epochs.x=1`"),
    ] {
        let o =
            actbench().args(["--config", "tiny", "--out", results.to_str().unwrap(), "--set", set]).output().unwrap();
        assert_clean_failure(&o, &[&format!("--set `{set}`"), said], &results);
    }
}

#[test]
fn the_config_reference_lists_the_he_family_as_the_catalog_has_it() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/reference/config.md")).unwrap();
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find("to the ReLU family (").expect("the config reference names the ReLU family")
        + "to the ReLU family (".len();
    let listed = &flat[start..start + flat[start..].find(';').unwrap()];
    let mut listed: Vec<&str> = listed.split(", ").collect();
    let mut he: Vec<&str> =
        catalog::CATALOG.iter().filter(|a| a.auto_init == catalog::AutoInit::He).map(|a| a.name).collect();
    listed.sort();
    he.sort();
    assert_eq!(listed, he, "the config reference's ReLU family vs the catalog's auto_init He entries");
}
