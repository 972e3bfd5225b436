//! The benchmark datasets: real MNIST and Fashion-MNIST files (fetched by
//! scripts/setup.sh through scripts/fetch-data.sh), CIFAR-10 in its binary
//! format written by the tests, and every kind of bad data file as a
//! one-line error with no results written.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use actbench::config::Config;
use actbench::data::DatasetKind;
use actbench::data::{self, Source, cifar};

use crate::common::{TempDir, actbench};
use actbench::results::dir::{CONFIG_FILE, REPORT_FILE, Table};

/// The repository's data folder, where scripts/setup.sh puts the real files.
fn real_data(dataset: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    assert!(
        root.join(dataset).join("train-images-idx3-ubyte").is_file(),
        "{dataset} is missing from {}: run `scripts/fetch-data.sh {dataset}` (scripts/setup.sh does) before the tests",
        root.display()
    );
    root
}

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml"), "test").unwrap()
}

fn fixed(source: Source) -> (data::Dataset, data::Dataset) {
    match source {
        Source::Fixed { train, test } => (train, test),
        _ => panic!("a benchmark set has an official test set"),
    }
}

#[test]
fn mnist_has_the_published_class_counts() {
    let dir = real_data("mnist");
    let started = Instant::now();
    let (train, test) = fixed(config("[data]\ndataset = \"mnist\"").data.load(&dir, 0).unwrap());
    eprintln!("MNIST (70000 images, checksums verified) loaded in {:.3} s", started.elapsed().as_secs_f64());
    // The published per-class counts of MNIST's training and test sets.
    assert_eq!(train.class_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(test.class_counts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert_eq!((train.n_features, train.image), (784, Some([1, 28, 28])));
    let stats = data::channel_stats(&train);
    // torchvision's MNIST example normalises with 0.1307 and 0.3081.
    assert!((stats.mean[0] - 0.1307).abs() < 5e-5 && (stats.std[0] - 0.3081).abs() < 5e-5, "{stats:?}");
}

#[test]
fn fashion_mnist_has_6000_and_1000_images_per_class() {
    let dir = real_data("fashion_mnist");
    let (train, test) = fixed(config("[data]\ndataset = \"fashion_mnist\"").data.load(&dir, 0).unwrap());
    assert_eq!(train.class_counts(), vec![6000; 10]);
    assert_eq!(test.class_counts(), vec![1000; 10]);
}

/// The real-data check of CI: one epoch of a small MLP on MNIST.
#[test]
fn one_epoch_of_a_small_mlp_on_mnist_passes_90_percent() {
    let dir = TempDir::new();
    let path = dir.path().join("mnist_epoch.toml");
    fs::write(
        &path,
        r#"activations = ["relu"]
[data]
dataset = "mnist"
validation_split = 0.1
[model]
hidden = [128]
[training]
epochs = 1
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.05
[logging]
every_steps = 50
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let data_dir = real_data("mnist");
    let result = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(["--data-dir", data_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let mut reader = csv::Reader::from_path(out.join(Table::Summary.file_name())).unwrap();
    let column = reader.headers().unwrap().iter().position(|h| h == "test_accuracy").unwrap();
    let accuracy: f64 = reader.records().next().unwrap().unwrap()[column].parse().unwrap();
    assert!(accuracy > 0.90, "test accuracy {accuracy} after one epoch");
    // The normalisation measured on the training set is in the resolved config.
    let resolved = fs::read_to_string(out.join(CONFIG_FILE)).unwrap();
    assert!(resolved.contains("normalize = \"standard\"") && resolved.contains("mean = [0.1306"), "{resolved}");
    // MNIST's test set is its own 10000 images, not a share of the pool.
    let report = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
    assert!(report.contains("| data | mnist (its own test set, validation share 0.1) |"), "{report}");
    assert!(report.contains("| model | MLP, hidden layers [128], init auto (he for all) |"), "{report}");
}

/// A data folder holding the given MNIST files (name, bytes).
fn mnist_folder(files: &[(&str, Vec<u8>)]) -> TempDir {
    let dir = TempDir::new();
    fs::create_dir_all(dir.path().join("mnist")).unwrap();
    for (name, bytes) in files {
        fs::write(dir.path().join("mnist").join(name), bytes).unwrap();
    }
    dir
}

/// Runs a one-epoch MNIST config against `data_dir`; returns (exit code, stderr, results folder).
fn run_on(data_dir: &Path, dataset: &str) -> (Option<i32>, String, PathBuf, TempDir) {
    let work = TempDir::new();
    let config = work.path().join("exp.toml");
    fs::write(
        &config,
        format!("activations = [\"relu\"]\n[data]\ndataset = \"{dataset}\"\n[model]\nhidden = [8]\n[training]\nepochs = 1\nbatch_size = 500\n"),
    )
    .unwrap();
    let out = work.path().join("out");
    let result = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(["--data-dir", data_dir.to_str().unwrap()])
        .output()
        .unwrap();
    (result.status.code(), String::from_utf8_lossy(&result.stderr).into_owned(), out, work)
}

/// One line naming `file`, exit 1, no panic, no results folder.
fn assert_clean_failure((code, stderr, out, _work): (Option<i32>, String, PathBuf, TempDir), file: &str, what: &str) {
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(file) && stderr.contains(what), "expected `{file}` and `{what}` in: {stderr}");
    assert!(!out.exists(), "nothing may be written on bad input");
}

fn real(name: &str) -> Vec<u8> {
    fs::read(real_data("mnist").join("mnist").join(name)).unwrap()
}

#[test]
fn a_missing_data_folder_says_how_to_fetch_it() {
    let empty = TempDir::new();
    assert_clean_failure(run_on(empty.path(), "mnist"), "mnist", "scripts/fetch-data.sh mnist");
    assert_clean_failure(run_on(empty.path(), "cifar10"), "cifar10", "actbench fetch cifar10");
}

#[test]
fn a_missing_file_is_named() {
    let dir = mnist_folder(&[("train-images-idx3-ubyte", real("train-images-idx3-ubyte"))]);
    assert_clean_failure(run_on(dir.path(), "mnist"), "train-labels-idx1-ubyte", "is missing");
}

#[test]
fn a_truncated_file_is_named_with_its_sizes() {
    let mut images = real("train-images-idx3-ubyte");
    images.truncate(1_000_000);
    let dir = mnist_folder(&[("train-images-idx3-ubyte", images)]);
    assert_clean_failure(
        run_on(dir.path(), "mnist"),
        "train-images-idx3-ubyte",
        "truncated: 1000000 of the 47040016 bytes it should hold",
    );
}

#[test]
fn a_gzip_bomb_is_refused_after_reading_no_more_than_the_file_can_hold() {
    let dir = mnist_folder(&[]);
    fs::write(dir.path().join("mnist").join("train-images-idx3-ubyte.gz"), crate::common::gzip_bomb()).unwrap();
    let work = TempDir::new();
    let config = work.path().join("exp.toml");
    fs::write(&config, "activations = [\"relu\"]\n[data]\ndataset = \"mnist\"\n").unwrap();
    let out = work.path().join("out");
    // Under a 700 MB address-space limit: inflating the 1 GiB whole would abort the process.
    let script = format!(
        "ulimit -v 700000 && exec '{}' --config '{}' --out '{}' --data-dir '{}' --quiet",
        env!("CARGO_BIN_EXE_actbench"),
        config.display(),
        out.display(),
        dir.path().display()
    );
    let result = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_clean_failure(
        (result.status.code(), stderr, out, work),
        "train-images-idx3-ubyte.gz",
        "holds more than the 47040016 bytes a file of `mnist` can",
    );
}

#[test]
fn a_wrong_magic_number_is_named() {
    let mut images = real("train-images-idx3-ubyte");
    images[1] = 0x08; // 0x00000803 -> 0x00080803
    let dir = mnist_folder(&[("train-images-idx3-ubyte", images)]);
    assert_clean_failure(
        run_on(dir.path(), "mnist"),
        "train-images-idx3-ubyte",
        "magic number 0x00080803, expected 0x00000803",
    );
}

#[test]
fn a_label_out_of_range_is_named() {
    let mut labels = real("train-labels-idx1-ubyte");
    labels[8 + 123] = 11;
    let dir = mnist_folder(&[
        ("train-images-idx3-ubyte", real("train-images-idx3-ubyte")),
        ("train-labels-idx1-ubyte", labels),
    ]);
    assert_clean_failure(run_on(dir.path(), "mnist"), "train-labels-idx1-ubyte", "label 11 at item 123, outside 0..10");
}

#[test]
fn a_checksum_mismatch_is_named() {
    let mut images = real("train-images-idx3-ubyte");
    images[16 + 5000] ^= 0x40; // one pixel: structure intact, content not
    let dir = mnist_folder(&[("train-images-idx3-ubyte", images)]);
    assert_clean_failure(run_on(dir.path(), "mnist"), "train-images-idx3-ubyte", "fails its checksum");
}

#[test]
fn gzipped_files_read_like_plain_ones() {
    let gz = |bytes: Vec<u8>| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        e.finish().unwrap()
    };
    let names =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
    let files: Vec<(String, Vec<u8>)> = names.iter().map(|n| (format!("{n}.gz"), gz(real(n)))).collect();
    let dir = mnist_folder(&files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect::<Vec<_>>());
    let source = config("[data]\ndataset = \"mnist\"").data.load(dir.path(), 0).unwrap();
    let plain = config("[data]\ndataset = \"mnist\"").data.load(&real_data("mnist"), 0).unwrap();
    assert!(source == plain, "the .gz files must give the same dataset");
}

/// Six CIFAR-10 batch files of seeded random images, labels cycling 0..9.
pub fn cifar_folder(nested: bool) -> TempDir {
    let dir = TempDir::new();
    let mut folder = dir.path().join("cifar10");
    if nested {
        folder = folder.join("cifar-10-batches-bin");
    }
    fs::create_dir_all(&folder).unwrap();
    let n = cifar::RECORDS_PER_FILE;
    let mut state = 12345u32;
    for (k, name) in cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]).enumerate() {
        let labels: Vec<u8> = (0..n).map(|i| ((i + k) % 10) as u8).collect();
        // A pixel brighter in the red channel for higher classes, so the set is learnable.
        let pixels: Vec<u8> = (0..n * 3072)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (state >> 24) as u8 / 4;
                if i % 3072 < 1024 { labels[i / 3072] * 18 + noise } else { noise }
            })
            .collect();
        fs::write(folder.join(name), cifar::encode(&labels, &pixels)).unwrap();
    }
    dir
}

#[test]
fn cifar10_batches_load_and_train() {
    for nested in [false, true] {
        let dir = cifar_folder(nested);
        let source = config("[data]\ndataset = \"cifar10\"").data.load(dir.path(), 0).unwrap();
        let (train, test) = fixed(source);
        assert_eq!((train.len(), test.len(), train.image), (50_000, 10_000, Some([3, 32, 32])));
        assert_eq!(train.class_counts(), vec![5000; 10]);
    }
    let dir = cifar_folder(false);
    let (code, stderr, out, _work) = run_on(dir.path(), "cifar10");
    assert_eq!(code, Some(0), "{stderr}");
    let resolved = fs::read_to_string(out.join(CONFIG_FILE)).unwrap();
    assert!(resolved.contains("dataset = \"cifar10\"") && resolved.contains("std = ["), "{resolved}");
}

#[test]
fn a_truncated_cifar_file_is_named() {
    let dir = cifar_folder(false);
    let path = dir.path().join("cifar10").join("data_batch_3.bin");
    let mut bytes = fs::read(&path).unwrap();
    bytes.truncate(3073 * 100 + 7);
    fs::write(&path, bytes).unwrap();
    assert_clean_failure(run_on(dir.path(), "cifar10"), "data_batch_3.bin", "truncated");
}

#[test]
fn the_data_folder_comes_from_the_flag_then_the_environment() {
    // ACTBENCH_DATA names the folder when --data-dir is absent.
    let empty = TempDir::new();
    let work = TempDir::new();
    let config = work.path().join("exp.toml");
    fs::write(&config, "activations = [\"relu\"]\n[data]\ndataset = \"fashion_mnist\"\n").unwrap();
    let result = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", work.path().join("out").to_str().unwrap()])
        .env("ACTBENCH_DATA", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains(&empty.path().join("fashion_mnist").display().to_string()), "{stderr}");
    assert_eq!(DatasetKind::named("fashion_mnist").name(), "fashion_mnist");
}

#[test]
fn a_command_run_from_another_folder_finds_the_data_above_its_config() {
    // A project: project/data/cifar10 and project/experiments/x/exp.toml, run from elsewhere.
    let project = cifar_folder(false);
    fs::create_dir_all(project.path().join("data")).unwrap();
    fs::rename(project.path().join("cifar10"), project.path().join("data/cifar10")).unwrap();
    let experiment = project.path().join("experiments/x");
    fs::create_dir_all(&experiment).unwrap();
    fs::write(experiment.join("exp.toml"), "activations = [\"relu\"]\n[data]\ndataset = \"cifar10\"\n").unwrap();
    let elsewhere = TempDir::new();
    let result = actbench()
        .current_dir(elsewhere.path())
        .env_remove("ACTBENCH_DATA")
        .args(["plan", "--config", experiment.join("exp.toml").to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    assert!(result.status.success(), "{stderr}");
    assert!(stdout.contains("relu-lr0.01-s0") && stdout.contains("to train"), "{stdout}");
    // Without a data/ above the config, ./data is named (and missing).
    let lone = TempDir::new();
    fs::write(lone.path().join("exp.toml"), "activations = [\"relu\"]\n[data]\ndataset = \"cifar10\"\n").unwrap();
    let result = actbench()
        .current_dir(elsewhere.path())
        .env_remove("ACTBENCH_DATA")
        .args(["plan", "--config", lone.path().join("exp.toml").to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        !result.status.success() && stderr.contains("data folder 'data/cifar10' for dataset `cifar10` does not exist"),
        "{stderr}"
    );
}

#[test]
fn keys_of_another_kind_of_dataset_are_refused_not_ignored() {
    let work = TempDir::new();
    let cases = [
        ("dataset = \"mnist\"\nsamples = 5000", "data.samples", "applies to generated datasets only"),
        ("dataset = \"digits\"\nnoise = 0.3", "data.noise", "applies to generated datasets only"),
        ("dataset = \"fashion_mnist\"\ntest_split = 0.3", "data.test_split", "has its own test set"),
        ("train_share = 0.0", "data.train_share", "must be a share in (0, 1]"),
        ("train_share = 1.5", "data.train_share", "must be a share in (0, 1]"),
        ("train_share = 0.5\ntrain_samples = 10", "data.train_share", "keep one"),
    ];
    for (data, key, why) in cases {
        let config = work.path().join("exp.toml");
        fs::write(&config, format!("activations = [\"relu\"]\n[data]\n{data}\n")).unwrap();
        let result = actbench().args(["plan", "--config", config.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{data}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(why) && stderr.lines().count() == 1, "{data}: {stderr}");
    }
    // The generated sets take them.
    let config = work.path().join("exp.toml");
    fs::write(&config, "activations = [\"relu\"]\n[data]\ndataset = \"spirals\"\nsamples = 300\nnoise = 0.2\n")
        .unwrap();
    let result = actbench().args(["plan", "--config", config.to_str().unwrap()]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
}

#[test]
fn train_share_trains_on_that_share_of_the_training_split() {
    let steps_of = |data: &str| {
        let work = TempDir::new();
        let text = format!(
            "activations = [\"relu\"]\n[data]\n{data}\n[model]\nhidden = [8]\n[training]\nepochs = 1\nbatch_size = 64\n[logging]\nevery_steps = 1\n"
        );
        let out = crate::common::train_with_threads(work.path(), &text, "1");
        let mut reader = csv::Reader::from_path(out.join(Table::Gradients.file_name())).unwrap();
        let header = reader.headers().unwrap().clone();
        let step = header.iter().position(|h| h == "step").unwrap();
        let steps: std::collections::BTreeSet<usize> =
            reader.records().map(|r| r.unwrap()[step].parse().unwrap()).collect();
        steps.len()
    };
    let (train, _, _) = data::split_sizes(1797, 0.2, 0.1);
    assert_eq!(steps_of(""), train.div_ceil(64));
    let share = (0.25 * train as f64).round() as usize;
    assert_eq!(steps_of("train_share = 0.25"), share.div_ceil(64), "{share} of {train} samples");
    assert_eq!(steps_of("train_samples = 100"), 2);
}
