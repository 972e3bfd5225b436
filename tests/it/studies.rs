//! The studies in experiments/: each one's quick variant (quick.toml)
//! trains, and its claims (expected-quick.toml) hold under
//! `actbench check --expect` (scripts/run-studies.sh --quick does the
//! same). Every study has the files the experiments README promises and
//! is listed there.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{TempDir, actbench};

fn studies() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

#[test]
fn every_study_has_its_files_and_a_line_in_the_list() {
    let list = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/README.md")).unwrap();
    assert!(studies().len() >= 3, "{:?}", studies());
    for dir in studies() {
        for file in ["config.toml", "quick.toml", "expected.toml", "expected-quick.toml", "README.md"] {
            assert!(dir.join(file).is_file(), "{} lacks {file}", dir.display());
        }
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        assert!(list.contains(&format!("[{name}]({name}/")), "experiments/README.md does not list {name}");
        // The full variant is a valid config (it is trained by scripts/run-studies.sh, not here);
        // a CIFAR-10 study is planned on generated files of its format (no registry holds it).
        let mut plan = actbench();
        plan.args(["plan", "--config"]).arg(dir.join("config.toml"));
        let cifar = uses_cifar10(&dir.join("config.toml")).then(|| crate::datasets::cifar_folder(false));
        if let Some(data) = &cifar {
            plan.arg("--data-dir").arg(data.path());
        }
        let o = plan.output().unwrap();
        assert!(o.status.success(), "{}: {}", dir.display(), String::from_utf8_lossy(&o.stderr));
    }
}

fn quick(study: &str) {
    variant(study, "quick");
}

/// Whether a config trains on CIFAR-10.
fn uses_cifar10(config: &Path) -> bool {
    fs::read_to_string(config).unwrap().contains("dataset = \"cifar10\"")
}

/// Trains `experiments/<study>/<name>.toml` and checks `expected-<name>.toml`
/// on it; a CIFAR-10 variant on generated files of its format.
fn variant(study: &str, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments").join(study);
    let tmp = TempDir::new();
    let out = tmp.path().join("out");
    let config = dir.join(format!("{name}.toml"));
    let mut train = actbench();
    train.args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    let cifar = uses_cifar10(&config).then(|| crate::datasets::cifar_folder(false));
    if let Some(data) = &cifar {
        train.arg("--data-dir").arg(data.path());
    }
    let o = train.output().unwrap();
    assert!(o.status.success(), "{study}: {}", String::from_utf8_lossy(&o.stderr));
    let claims = dir.join(format!("expected-{name}.toml"));
    let o = actbench().args(["check", "--expect"]).arg(claims).arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{study}: a claim fails:\n{table}{}", String::from_utf8_lossy(&o.stderr));
    assert!(!table.contains("FAILS") && table.contains("claims hold"), "{table}");
}

#[test]
fn dying_relu_quick_claims_hold() {
    quick("dying_relu");
}

#[test]
fn selu_self_normalisation_quick_claims_hold() {
    quick("selu_self_normalisation");
}

#[test]
fn uva_activation_functions_quick_claims_hold() {
    quick("uva_activation_functions");
}

/// The tutorial's 10-layer network: dead units at initialisation.
#[test]
fn uva_activation_functions_deep_claims_hold() {
    variant("uva_activation_functions", "deep");
}

#[test]
fn your_own_activation_quick_claims_hold() {
    quick("your_own_activation");
}

#[test]
fn gelu_mnist_quick_claims_hold() {
    quick("gelu_mnist");
}

#[test]
fn glorot_saturation_quick_claims_hold() {
    quick("glorot_saturation");
}

#[test]
fn activation_search_quick_claims_hold() {
    quick("activation_search");
}

#[test]
fn batchnorm_mnist_quick_claims_hold() {
    quick("batchnorm_mnist");
}

#[test]
fn residual_depth_quick_claims_hold() {
    quick("residual_depth");
}

/// Sigmoid and tanh in a batch-normalised ResNet-20 against the ReLU family.
#[test]
fn residual_depth_activations_claims_hold() {
    variant("residual_depth", "activations");
}

/// The Mish table's pipeline on generated CIFAR-10 files (quick.toml).
#[test]
fn mish_cifar10_quick_claims_hold() {
    quick("mish_cifar10");
}

#[test]
fn tuning_budget_quick_claims_hold() {
    quick("tuning_budget");
}

/// A GPT's feed-forward layer, plain against gated, on Shakespeare (quick.toml).
#[test]
fn glu_variants_quick_claims_hold() {
    quick("glu_variants");
}
