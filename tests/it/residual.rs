//! The residual and normalised kinds end to end: a ResNet with batch norm
//! and a residual MLP with dropout train, record every site under stable
//! names, and a run killed mid-way resumes to the numbers of an
//! uninterrupted one (batch norm's running statistics and the dropout masks
//! included); the keys of `[model]` are checked per kind.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{ResultsDir, Table};

const RESNET: &str = r#"
activations = ["relu"]
[model]
kind = "resnet"
depth = 8
shortcut = "b"
[training]
epochs = 4
batch_size = 32
optimizer = "sgd_momentum"
lr = 0.05
momentum = 0.9
[logging]
checkpoint_seconds = 0
activation_every_steps = 10
"#;

const RESMLP: &str = r#"
activations = ["gelu"]
[model]
kind = "resmlp"
width = 64
blocks = 3
dropout = 0.2
[training]
epochs = 5
batch_size = 16
optimizer = "adam"
lr = 0.001
[logging]
checkpoint_seconds = 0
"#;

/// Trains `config` (one run, `run_id`) twice: killed after its first
/// checkpoint and resumed, and uninterrupted; every table must agree.
fn killed_and_resumed_equals_uninterrupted(dir: &Path, config: &str, run_id: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{run_id}.toml"));
    fs::write(&path, config).unwrap();
    let (killed, whole) = (dir.join(format!("{run_id}-killed")), dir.join(format!("{run_id}-whole")));
    let args =
        |out: &Path| ["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"].map(String::from);
    let mut child = actbench().args(args(&killed)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let state = ResultsDir::new(&killed).run(run_id).checkpoint().state();
    let deadline = Instant::now() + Duration::from_secs(240);
    while !state.exists() {
        assert!(Instant::now() < deadline, "{run_id}: no checkpoint was written");
        assert!(child.try_wait().unwrap().is_none(), "{run_id}: the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!ResultsDir::new(&killed).run(run_id).table(Table::Summary).exists(), "{run_id}: killed before the end");
    let resumed = actbench().args(args(&killed)).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let uninterrupted = actbench().args(args(&whole)).output().unwrap();
    assert!(uninterrupted.status.success(), "{}", String::from_utf8_lossy(&uninterrupted.stderr));
    for file in Table::ALL.map(Table::file_name) {
        assert_eq!(timeless(&killed.join(file)), timeless(&whole.join(file)), "{run_id}: {file} (resumed)");
    }
    whole
}

/// Trains `config` into `out`, which must succeed.
fn train(config: &Path, out: &Path) {
    let o = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", config.display(), String::from_utf8_lossy(&o.stderr));
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(|r| r.unwrap()).collect()
}

fn column(path: &Path, name: &str) -> usize {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {}", path.display()))
}

#[test]
fn a_resnet_with_batch_norm_trains_records_its_sites_and_resumes_bit_for_bit() {
    let dir = TempDir::new();
    let out = killed_and_resumed_equals_uninterrupted(dir.path(), RESNET, "relu-lr0.05-s0");

    // Gradients under PyTorch's names; the running statistics are not parameters.
    let gradients = out.join(Table::Gradients.file_name());
    let p = column(&gradients, "parameter");
    let names: Vec<String> = rows(&gradients).iter().map(|r| r[p].to_string()).collect();
    for name in ["conv1.weight", "bn1.weight", "stages.1.blocks.0.shortcut.conv.weight", "stages.2.blocks.0.bn2.bias"] {
        assert!(names.iter().any(|n| n == name), "{name} in gradients.csv");
    }
    assert!(!names.iter().any(|n| n.contains("running")), "buffers are not parameters");

    // Every site, with its input's percentiles in order.
    let steps = out.join(Table::ActivationSteps.file_name());
    let (site, p15, p50, p85) =
        (column(&steps, "site"), column(&steps, "pre_p15"), column(&steps, "pre_p50"), column(&steps, "pre_p85"));
    let rows = rows(&steps);
    let mut sites: Vec<&str> = rows.iter().map(|r| &r[site]).collect();
    sites.dedup();
    sites.sort();
    sites.dedup();
    assert_eq!(sites.len(), 7, "act1 and two per block of ResNet-8: {sites:?}");
    assert!(sites.contains(&"stages.2.blocks.0.act2"), "{sites:?}");
    for r in &rows {
        let [a, b, c] = [p15, p50, p85].map(|i| r[i].parse::<f64>().unwrap());
        assert!(a <= b && b <= c && a < c, "percentiles in order: {a} {b} {c}");
    }

    // It learned: digits are easy.
    let summary = out.join(Table::Summary.file_name());
    let accuracy = rows_of(&summary, "test_accuracy")[0];
    assert!(accuracy > 0.8, "test accuracy {accuracy}");
    assert!(rows_of(&summary, "grad_ratio_first_last")[0] > 0.0);
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("ResNet-8") && report.contains("option B") && report.contains("batch norm"), "{report}");
}

fn rows_of(path: &Path, name: &str) -> Vec<f64> {
    let i = column(path, name);
    rows(path).iter().map(|r| r[i].parse().unwrap()).collect()
}

#[test]
fn a_residual_mlp_with_dropout_resumes_to_the_same_masks() {
    let dir = TempDir::new();
    let out = killed_and_resumed_equals_uninterrupted(dir.path(), RESMLP, "gelu-lr0.001-s0");
    let summary = out.join(Table::Summary.file_name());
    assert!(rows_of(&summary, "test_accuracy")[0] > 0.8);
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("residual MLP: 3 pre-norm blocks of width 64, layer norm, dropout 0.2"), "{report}");
}

#[test]
fn dropout_changes_training_and_is_off_in_evaluation() {
    // The same run with and without dropout: the training differs from the
    // first epoch; without dropout `norm = "none"` is the plain MLP's numbers.
    let dir = TempDir::new();
    let run = |name: &str, extra: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        let text = format!(
            "activations = [\"relu\"]\n[model]\nhidden = [64, 64]\n{extra}\n[training]\nepochs = 2\n[logging]\nevery_steps = 0\n"
        );
        fs::write(&path, text).unwrap();
        let out = dir.path().join(name);
        train(&path, &out);
        timeless(&out.join(Table::Epochs.file_name()))
    };
    let plain = run("plain", "");
    let none = run("none", "norm = \"none\"\ndropout = 0.0");
    let dropped = run("dropped", "dropout = 0.5");
    assert_eq!(plain, none, "norm none and dropout 0 are the plain MLP");
    assert_ne!(plain[1], dropped[1], "dropout changes the first epoch");
}

#[test]
fn model_keys_are_checked_per_kind() {
    let dir = TempDir::new();
    let cases = [
        ("[model]\nkind = \"resnet\"\ndepth = 21\n", "model.depth", "6n + 2"),
        ("[model]\nkind = \"resnet\"\ndepth = 2\n", "model.depth", "6n + 2"),
        ("[model]\nkind = \"plain\"\nshortcut = \"a\"\n", "model.shortcut", "is not a key of `kind = \"plain\"`"),
        ("[model]\ndepth = 20\n", "model.depth", "is not a key of `kind = \"mlp\"`"),
        ("[model]\nkind = \"resnet\"\nhidden = [32]\n", "model.hidden", "is not a key of `kind = \"resnet\"`"),
        ("[data]\ndataset = \"spirals\"\n[model]\nkind = \"resnet\"\n", "model.kind", "needs an image dataset"),
        ("[model]\nnorm = \"group\"\n", "model.norm", "unknown variant"),
        ("[model]\ndropout = 1.0\n", "model.dropout", "fraction"),
        ("[model]\nkind = \"resmlp\"\nwidth = 0\n", "model.width", ""),
    ];
    for (i, (section, key, says)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        fs::write(&path, format!("activations = [\"relu\"]\n{section}")).unwrap();
        let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{section}: {err}");
        assert!(err.contains(&format!("`{key}`")) && err.contains(says), "{section}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn the_book_lists_every_model_kind_with_its_keys() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/model-kinds.md")).unwrap();
    for info in &actbench::model::kinds::KINDS {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", info.name)))
            .unwrap_or_else(|| panic!("the book's model kinds table has no row for `{}`", info.name));
        let cells: Vec<&str> = row.split(" | ").collect();
        let keys: Vec<&str> = cells[2].split(", ").map(|k| k.split(' ').next().unwrap()).collect();
        assert_eq!(keys, info.keys, "the book's keys of `{}`", info.name);
        let [first, last] = (info.ratio)(&actbench::model::settings::Model::default());
        assert!(cells[3].starts_with(&format!("{first} / {last}")), "the book's ratio of `{}`: {row}", info.name);
    }
}

#[test]
fn a_sweep_of_the_kind_leaves_each_point_the_keys_of_its_own_kind() {
    // The file writes the keys of every kind swept; each point takes its own.
    let dir = TempDir::new();
    let path = dir.path().join("kinds.toml");
    fs::write(
        &path,
        "activations = [\"relu\"]\n[model]\nhidden = [32]\nwidth = 16\ndepth = 8\n[training]\nepochs = 1\n[sweep]\n\"model.kind\" = [\"mlp\", \"resmlp\", \"plain\"]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    train(&path, &out);
    let summary = out.join(Table::Summary.file_name());
    assert_eq!(rows(&summary).len(), 3);
    let resolved = |run: &str| {
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(ResultsDir::new(&out).run(run).manifest()).unwrap()).unwrap();
        manifest["run_config"].as_str().unwrap().to_string()
    };
    let mlp = resolved("relu-kind_mlp-lr0.01-s0");
    assert!(mlp.contains("hidden = [32]") && !mlp.contains("width") && !mlp.contains("depth"), "{mlp}");
    let plain = resolved("relu-kind_plain-lr0.01-s0");
    assert!(plain.contains("depth = 8") && !plain.contains("width"), "{plain}");
    // Outside such a sweep a key of another kind is still an error.
    fs::write(&path, "activations = [\"relu\"]\n[model]\nkind = \"resmlp\"\ndepth = 8\n").unwrap();
    let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("`model.depth` is not a key of `kind = \"resmlp\"`"));
}
