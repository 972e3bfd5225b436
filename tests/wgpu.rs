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
        let out = dir.path().join(backend);
        let result = actbench()
            .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .args(["--backend", backend])
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(result.status.success(), "{backend}: {}", String::from_utf8_lossy(&result.stderr));
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
