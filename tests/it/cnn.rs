//! The CNN end to end on the embedded digits (8x8, no download): it learns,
//! its convolutions are recorded per layer like the MLP's linear layers, and
//! augmentation is seeded (the same seed gives the same run).

use std::fs;
use std::path::Path;

use crate::common::{RUN_FILES, TempDir, actbench, timeless, train_with_threads};
use actbench::results::dir::{REPORT_FILE, Table};

const CNN: &str = r#"
activations = ["relu", "tanh"]
[experiment]
seeds = 1
[model]
kind = "cnn"
channels = [8, 16]
kernel_size = 3
hidden = [32]
[training]
epochs = 4
batch_size = 32
optimizer = "adam"
lr = 0.003
[logging]
every_steps = 5
"#;

fn run(dir: &Path, config: &str) -> std::path::PathBuf {
    let path = dir.join("cnn.toml");
    fs::write(&path, config).unwrap();
    let out = dir.join("out");
    let result = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    out
}

fn column(path: &Path, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let i = reader.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    reader.records().map(|r| r.unwrap()[i].to_string()).collect()
}

#[test]
fn a_cnn_learns_the_digits_and_records_its_convolutions() {
    let dir = TempDir::new();
    let out = run(dir.path(), CNN);
    for accuracy in column(&out.join(Table::Summary.file_name()), "test_accuracy") {
        let accuracy: f64 = accuracy.parse().unwrap();
        assert!(accuracy > 0.85, "test accuracy {accuracy}");
    }
    let parameters = column(&out.join(Table::Gradients.file_name()), "parameter");
    for name in ["convs.0.weight", "convs.0.bias", "convs.1.weight", "layers.0.weight", "output.weight"] {
        assert!(parameters.iter().any(|p| p == name), "{name} missing from gradients.csv");
    }
    // Three hidden layers (two convolution blocks, one linear); a convolution's units are its channels.
    let layers = column(&out.join(Table::Activations.file_name()), "layer");
    let units = column(&out.join(Table::Activations.file_name()), "units");
    let at_init: Vec<(String, String)> = layers.into_iter().zip(units).take(3).collect();
    assert_eq!(at_init, [("0", "8"), ("1", "16"), ("2", "32")].map(|(a, b)| (a.to_string(), b.to_string())));
    // The first/last gradient ratio starts at the first convolution.
    let ratios = column(&out.join(Table::Summary.file_name()), "grad_ratio_first_last");
    assert!(ratios.iter().all(|r| r.parse::<f64>().unwrap() > 0.0), "{ratios:?}");
    // The report describes the network that ran (digits: split from one pool).
    let report = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
    let model = "| model | CNN: conv blocks of [8, 16] channels, kernel 3, padding same, 2x2 max pooling; \
                 then hidden layers [32], init auto: he for relu; glorot for tanh |";
    assert!(report.contains(model), "{report}");
    assert!(report.contains("| data | digits (test share 0.2, validation share 0.1) |"), "{report}");
}

#[test]
fn augmentation_is_seeded() {
    let augmented = CNN.replace("[model]", "[data]\naugment = true\n[model]").replace("\"tanh\"", "");
    let plain = CNN.replace("\"tanh\"", "");
    let (a, b, c) = (TempDir::new(), TempDir::new(), TempDir::new());
    let (a, b, c) = (run(a.path(), &augmented), run(b.path(), &augmented), run(c.path(), &plain));
    assert_eq!(
        timeless(&a.join(Table::Epochs.file_name())),
        timeless(&b.join(Table::Epochs.file_name())),
        "same seed, same augmented run"
    );
    assert_ne!(
        timeless(&a.join(Table::Epochs.file_name())),
        timeless(&c.join(Table::Epochs.file_name())),
        "augmentation changes the run"
    );
}

/// The fused flex ops (src/fused/) split work
/// over threads; the files must not depend on how many. The hidden layer is
/// wide enough (batch 160 x 64 features x 2048 units) for the linear layer's
/// products to be cut into row blocks for the team (src/fused/team.rs): 3
/// uneven blocks of the batch forward and for the input gradient, 32 for the
/// output layer's weight gradient.
#[test]
fn cnn_results_do_not_depend_on_the_thread_count() {
    let config = CNN
        .replace("hidden = [32]", "hidden = [2048]")
        .replace("epochs = 4", "epochs = 1")
        .replace("batch_size = 32", "batch_size = 160");
    let dirs: Vec<TempDir> = (0..2).map(|_| TempDir::new()).collect();
    let outs: Vec<_> = dirs.iter().zip(["1", "3"]).map(|(d, t)| train_with_threads(d.path(), &config, t)).collect();
    for file in RUN_FILES {
        assert_eq!(timeless(&outs[0].join(file)), timeless(&outs[1].join(file)), "{file}: 1 and 3 threads differ");
    }
}
