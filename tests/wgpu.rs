//! The wgpu backend (cargo feature `wgpu`) trains the same run as flex: on a
//! CPU-only machine through Mesa's lavapipe Vulkan driver
//! (`scripts/setup-wgpu.sh` installs it). Weights are initialised on the
//! host, so both backends start from the same numbers; the losses may differ
//! only by float rounding (reductions run in another order on the GPU).
#![cfg(feature = "wgpu")]

use std::fs;
use std::path::Path;

#[path = "it/common.rs"]
mod common;
use actbench::results::dir::ResultsDir;
use common::{TempDir, actbench};

// A formula with a learned parameter too: its tensor ops and their autodiff on wgpu.
const CONFIG: &str = r#"
activations = ["relu", "tanh", { name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }]
[model]
hidden = [32, 32]
[training]
epochs = 2
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.05
[logging]
every_steps = 5
activation_stats = false
"#;

/// Trains `config` into `out` on `backend`.
fn train(config: &Path, out: &Path, backend: &str) {
    let result = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(["--backend", backend])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(result.status.success(), "{} on {backend}: {}", config.display(), String::from_utf8_lossy(&result.stderr));
}

fn column(path: &Path, name: &str) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let i = reader.headers().unwrap().iter().position(|h| h == name).unwrap();
    reader.records().map(|r| r.unwrap()[i].parse().unwrap()).collect()
}

#[test]
fn wgpu_trains_the_same_run_as_flex() {
    let dir = TempDir::new();
    let config = dir.path().join("backends.toml");
    fs::write(&config, CONFIG).unwrap();
    for backend in ["flex", "wgpu"] {
        train(&config, &dir.path().join(backend), backend);
    }
    let manifest =
        fs::read_to_string(ResultsDir::new(dir.path().join("wgpu")).run("relu-lr0.05-s0").manifest()).unwrap();
    assert!(manifest.contains("\"backend\": \"wgpu\"") && manifest.contains("\"deterministic\": false"), "{manifest}");
    // Stated tolerance: |a - b| <= 1e-4 + 1e-3 |a| for every recorded step loss.
    let (flex, wgpu) = (
        column(&dir.path().join("flex/gradients.csv"), "loss"),
        column(&dir.path().join("wgpu/gradients.csv"), "loss"),
    );
    assert_eq!(flex.len(), wgpu.len());
    let worst = flex.iter().zip(&wgpu).map(|(a, b)| (a - b).abs() / (1e-4 + 1e-3 * a.abs())).fold(0.0, f64::max);
    let largest = flex.iter().zip(&wgpu).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    eprintln!(
        "wgpu vs flex over {} step losses: largest |difference| {largest:.2e} ({worst:.4} of the tolerance)",
        flex.len()
    );
    assert!(worst <= 1.0, "losses differ beyond 1e-4 + 1e-3|loss| (worst {worst:.2}x)");
}

/// The residual kinds on wgpu: a ResNet-8 with batch norm (option B, so a
/// strided 1x1 convolution too) and a residual MLP with layer norm and
/// dropout, with the per-site probes (sort and select on the device), train
/// the same runs as on flex.
const RESIDUAL: [&str; 2] = [
    r#"
activations = ["relu"]
[data]
train_samples = 512
[model]
kind = "resnet"
depth = 8
shortcut = "b"
[training]
epochs = 1
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.05
[logging]
every_steps = 1
activation_every_steps = 2
"#,
    r#"
activations = ["gelu"]
[data]
train_samples = 512
[model]
kind = "resmlp"
width = 32
blocks = 2
dropout = 0.1
[training]
epochs = 1
batch_size = 64
optimizer = "adam"
lr = 0.001
[logging]
every_steps = 1
activation_every_steps = 2
"#,
];

#[test]
fn wgpu_trains_the_residual_kinds_as_flex() {
    let dir = TempDir::new();
    for (i, text) in RESIDUAL.iter().enumerate() {
        let config = dir.path().join(format!("residual{i}.toml"));
        fs::write(&config, text).unwrap();
        for backend in ["flex", "wgpu"] {
            train(&config, &dir.path().join(format!("{i}-{backend}")), backend);
        }
        let read =
            |backend: &str, file: &str, name: &str| column(&dir.path().join(format!("{i}-{backend}/{file}")), name);
        let (flex, wgpu) = (read("flex", "gradients.csv", "loss"), read("wgpu", "gradients.csv", "loss"));
        assert!(!flex.is_empty() && flex.len() == wgpu.len(), "{i}: {} and {} rows", flex.len(), wgpu.len());
        let worst = flex.iter().zip(&wgpu).map(|(a, b)| (a - b).abs() / (1e-3 + 1e-2 * a.abs())).fold(0.0, f64::max);
        eprintln!("residual config {i}: wgpu vs flex over {} step losses, {worst:.4} of the tolerance", flex.len());
        assert!(worst <= 1.0, "{i}: losses differ beyond 1e-3 + 1e-2|loss| (worst {worst:.2}x)");
        // The probes' percentiles, per site, agree too.
        let (flex, wgpu) =
            (read("flex", "activation_steps.csv", "pre_p50"), read("wgpu", "activation_steps.csv", "pre_p50"));
        assert_eq!(flex.len(), wgpu.len());
        let worst = flex.iter().zip(&wgpu).map(|(a, b)| (a - b).abs() / (1e-2 + 1e-2 * a.abs())).fold(0.0, f64::max);
        assert!(worst <= 1.0, "{i}: median inputs differ (worst {worst:.2}x)");
    }
}

/// A small GPT (plain and gated feed-forward layers) on a text of its own,
/// trained by steps with AdamW, clipping and a cosine schedule: the same
/// step losses on wgpu and ndarray as on flex.
#[test]
fn wgpu_trains_a_gpt_as_flex() {
    let dir = TempDir::new();
    let text: String =
        (0..3000).map(|i| ["to be, ", "or not ", "to be: ", "that is ", "the question. "][i % 5]).collect();
    fs::write(dir.path().join("corpus.txt"), text).unwrap();
    let config = dir.path().join("gpt.toml");
    fs::write(
        &config,
        format!(
            r#"
activations = ["gelu", "gated(silu)"]
[data]
dataset = "text"
path = "{}"
test_split = 0.05
validation_split = 0.05
[model]
kind = "gpt"
layers = 2
heads = 2
width = 16
block_size = 16
[training]
optimizer = "adamw"
lr = 0.003
batch_size = 8
max_steps = 20
eval_every = 10
eval_batches = 2
schedule = "cosine"
warmup_steps = 4
grad_clip_norm = 1.0
[logging]
every_steps = 1
"#,
            dir.path().join("corpus.txt").display()
        ),
    )
    .unwrap();
    for backend in ["flex", "ndarray", "wgpu"] {
        train(&config, &dir.path().join(backend), backend);
    }
    let read = |backend: &str| column(&dir.path().join(format!("{backend}/gradients.csv")), "loss");
    let flex = read("flex");
    for backend in ["ndarray", "wgpu"] {
        let other = read(backend);
        assert!(!flex.is_empty() && flex.len() == other.len(), "{backend}: {} and {} rows", flex.len(), other.len());
        let worst = flex.iter().zip(&other).map(|(a, b)| (a - b).abs() / (1e-3 + 1e-2 * a.abs())).fold(0.0, f64::max);
        eprintln!("gpt: {backend} vs flex over {} step losses, {worst:.4} of the tolerance", flex.len());
        assert!(worst <= 1.0, "{backend}: losses differ beyond 1e-3 + 1e-2|loss| (worst {worst:.2}x)");
    }
}
