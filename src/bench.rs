//! `actbench bench`: the reference workloads w1-w8 of PyTorch's
//! `scripts/torch_bench.py` (shapes, batch 128, optimizers, one epoch of
//! 60000 MNIST-shaped samples held in memory) trained by actbench's own
//! training loop, reporting samples/s and the time of an evaluation pass.
//! w6 is w1 with the per-parameter gradient statistics of every step, so
//! w6/w1 is the cost of the harness's recording.

use std::time::Instant;

use anyhow::bail;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Device;
use rand::Rng;

use crate::config::Config;
use crate::data::{Dataset, Splits};
use crate::grid;
use crate::model::Network;
use crate::rng::{self, Stream};
use crate::train;

pub const TRAIN_SAMPLES: usize = 60_000;
pub const TEST_SAMPLES: usize = 10_000;
const FEATURES: usize = 784;
const CLASSES: usize = 10;
const SEED: u64 = 1234;

/// (id, optimizer, description, experiment file). Same as torch_bench.py's WORKLOADS.
pub const WORKLOADS: [(&str, &str, &str, &str); 9] = [
    ("w1", "sgd", "MLP 784-128-128-10 ReLU", MLP_SGD),
    ("w1", "adam", "MLP 784-128-128-10 ReLU", ADAM),
    ("w2", "sgd", "MLP 784-128-128-10 sigmoid", MLP_SGD),
    ("w3", "sgd", "MLP 784-128-128-10 GELU", MLP_SGD),
    ("w4", "sgd", "MLP 784-8x128-10 tanh", DEEP),
    ("w5", "sgd", "LeNet-like CNN ReLU", CNN),
    ("w6", "sgd", "w1 + per-layer grad L2 norms", MLP_SGD),
    ("w7", "sgd", "MLP 784-128-128-10 SiLU (built-in)", MLP_SGD),
    ("w8", "sgd", "MLP 784-128-128-10 x*sigmoid(beta x), beta learned per layer (a formula)", MLP_SGD),
];

// torch_bench.py: SGD lr 0.1 momentum 0.9, or Adam lr 1e-3; batch 128; one epoch.
const MLP_SGD: &str = r#"
[model]
hidden = [128, 128]
[training]
optimizer = "sgd_momentum"
lr = 0.1
momentum = 0.9
"#;
const ADAM: &str = r#"
[model]
hidden = [128, 128]
[training]
optimizer = "adam"
lr = 0.001
"#;
const DEEP: &str = r#"
[model]
hidden = [128, 128, 128, 128, 128, 128, 128, 128]
[training]
optimizer = "sgd_momentum"
lr = 0.1
momentum = 0.9
"#;
// conv 1->16 5x5, act, maxpool 2, conv 16->32 5x5, act, maxpool 2, fc 512->128, act, fc 128->10.
const CNN: &str = r#"
[data]
dataset = "mnist"
[model]
kind = "cnn"
channels = [16, 32]
kernel_size = 5
padding = "valid"
pool = "max"
hidden = [128]
[training]
optimizer = "sgd_momentum"
lr = 0.1
momentum = 0.9
"#;

/// One workload's figures over its repeats.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    pub workload: String,
    pub optimizer: String,
    pub description: String,
    pub samples_per_s_median: f64,
    pub samples_per_s_min: f64,
    pub samples_per_s_max: f64,
    pub eval_ms_median: f64,
    pub test_accuracy: f64,
}

/// The config of a workload: the snippet, plus one epoch of batch 128 and,
/// for w6 only, recording at every step.
pub fn workload_config(id: &str, snippet: &str) -> Config {
    let activation = match id {
        "w2" => "\"sigmoid\"",
        "w3" => "\"gelu\"",
        "w4" => "\"tanh\"",
        "w7" => "\"silu\"",
        // What a user types to try Swish with a learned beta (Ramachandran et al. 2017).
        "w8" => r#"{ name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }"#,
        _ => "\"relu\"",
    };
    let every = if id == "w6" { 1 } else { 0 };
    let mut text = format!("activations = [{activation}]\n{snippet}");
    text = text.replace("[training]", "[training]\nepochs = 1\nbatch_size = 128");
    text.push_str(&format!("[logging]\nevery_steps = {every}\nactivation_stats = false\n"));
    Config::parse(&text, std::path::Path::new(id), id).expect("the bench workloads are valid configs")
}

/// MNIST-shaped synthetic data, torch_bench.py's recipe: a random sparse
/// binary prototype per class; a sample keeps 30% of its prototype's pixels,
/// lights 30% random pixels, and is scaled by a random intensity in [0.5, 1];
/// then standardised with the training set's scalar mean and std.
pub fn synthetic_mnist() -> Splits {
    let mut rng = rng::stream(SEED, Stream::DataGeneration);
    let n = TRAIN_SAMPLES + TEST_SAMPLES;
    let prototypes: Vec<bool> = (0..CLASSES * FEATURES).map(|_| rng.random::<f32>() < 0.2).collect();
    let mut features = Vec::with_capacity(n * FEATURES);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.random_range(0..CLASSES);
        let intensity = 0.5 + 0.5 * rng.random::<f32>();
        for j in 0..FEATURES {
            let keep = prototypes[label * FEATURES + j] && rng.random::<f32>() < 0.3;
            let noise = rng.random::<f32>() < 0.3;
            features.push(if keep || noise { intensity } else { 0.0 });
        }
        labels.push(label as i64);
    }
    let train_values = &features[..TRAIN_SAMPLES * FEATURES];
    let mean = train_values.iter().map(|&v| v as f64).sum::<f64>() / train_values.len() as f64;
    let var = train_values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / train_values.len() as f64;
    let (mean, inv_std) = (mean as f32, (1.0 / var.sqrt()) as f32);
    features.iter_mut().for_each(|v| *v = (*v - mean) * inv_std);
    let part = |from: usize, to: usize| Dataset {
        features: features[from * FEATURES..to * FEATURES].to_vec(),
        labels: labels[from..to].to_vec(),
        n_features: FEATURES,
        n_classes: CLASSES,
        image: Some([1, 28, 28]),
    };
    Splits { train: part(0, TRAIN_SAMPLES), validation: part(0, 0), test: part(TRAIN_SAMPLES, n) }
}

/// Runs the selected workloads (`w1` selects both of its optimizers), each `repeats` times.
pub fn run(
    selected: &[String],
    repeats: usize,
    device: &Device,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<BenchRow>> {
    if let Some(unknown) = selected.iter().find(|w| !WORKLOADS.iter().any(|(id, ..)| id == &w.as_str())) {
        let mut ids: Vec<&str> = WORKLOADS.iter().map(|w| w.0).collect();
        ids.dedup();
        bail!("unknown workload `{unknown}`: choose from {}", ids.join(", "));
    }
    if repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let splits = synthetic_mnist();
    let mut rows = Vec::new();
    for (id, optimizer, description, snippet) in WORKLOADS {
        if !selected.is_empty() && !selected.iter().any(|s| s == id) {
            continue;
        }
        let config = workload_config(id, snippet);
        let spec = &grid::expand(&config)[0];
        let mut rates = Vec::with_capacity(repeats);
        let mut evals = Vec::with_capacity(repeats);
        let mut accuracy = f64::NAN;
        for _ in 0..repeats {
            let records = train::run(&config, spec, &splits, device, None, None, &mut train::Silent)
                .ok_or_else(|| anyhow::anyhow!("interrupted"))?;
            let epoch = &records.epochs[0];
            rates.push(TRAIN_SAMPLES as f64 / epoch.epoch_seconds);
            accuracy = records.summary.test_accuracy;
            evals.push(eval_seconds(&config, spec, &splits, device) * 1e3);
        }
        let row = BenchRow {
            workload: id.into(),
            optimizer: optimizer.into(),
            description: description.into(),
            samples_per_s_median: median(&mut rates.clone()),
            samples_per_s_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
            samples_per_s_max: rates.iter().copied().fold(0.0, f64::max),
            eval_ms_median: median(&mut evals),
            test_accuracy: accuracy,
        };
        log(&format!("  done {id:<3} {optimizer:<5} {:>10.0} samples/s", row.samples_per_s_median));
        rows.push(row);
    }
    Ok(rows)
}

/// One evaluation pass over the test set (inference only), after one warm-up pass.
fn eval_seconds(config: &Config, spec: &grid::RunSpec, splits: &Splits, device: &Device) -> f64 {
    let model = Network::new(&train::network_spec(config, spec, &splits.train), spec.seed, device);
    let loss = CrossEntropyLossConfig::new().init(device);
    let (x, y) = train::to_device(&splits.test, device);
    train::evaluate(&model, &loss, &x, &y);
    let started = Instant::now();
    train::evaluate(&model, &loss, &x, &y);
    started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// The table printed by `actbench bench`.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:<3} {:<5} {:>10} {:>9} {:>9} {:>8} {:>6}  description\n",
        "wl", "opt", "samples/s", "min", "max", "eval ms", "acc"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<3} {:<5} {:>10.0} {:>9.0} {:>9.0} {:>8.1} {:>6.3}  {}\n",
            r.workload,
            r.optimizer,
            r.samples_per_s_median,
            r.samples_per_s_min,
            r.samples_per_s_max,
            r.eval_ms_median,
            r.test_accuracy,
            r.description
        ));
    }
    let rate =
        |id: &str| rows.iter().find(|r| r.workload == id && r.optimizer == "sgd").map(|r| r.samples_per_s_median);
    if let (Some(w1), Some(w6)) = (rate("w1"), rate("w6")) {
        out.push_str(&format!(
            "recording cost: w6 (gradient statistics every step) runs at {:.3} of w1's speed ({:+.1}% time)\n",
            w6 / w1,
            (w1 / w6 - 1.0) * 100.0
        ));
    }
    out
}

impl crate::records::Columns for BenchRow {
    const COLUMNS: &'static [&'static str] = &[
        "workload",
        "optimizer",
        "description",
        "samples_per_s_median",
        "samples_per_s_min",
        "samples_per_s_max",
        "eval_ms_median",
        "test_accuracy",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_have_torch_benchs_shapes() {
        let cnn = workload_config("w5", CNN);
        let spec = &grid::expand(&cnn)[0];
        let data =
            Dataset { features: vec![], labels: vec![], n_features: 784, n_classes: 10, image: Some([1, 28, 28]) };
        let net = train::network_spec(&cnn, spec, &data);
        // 28 -> conv5 24 -> pool 12 -> conv5 8 -> pool 4: 32 x 4 x 4 = 512 into fc 128.
        assert_eq!(net.conv.unwrap().flat_features(), Ok(512));
        assert_eq!(workload_config("w4", DEEP).model.hidden.len(), 8);
        assert_eq!(workload_config("w6", MLP_SGD).logging.every_steps, 1);
        assert_eq!(workload_config("w1", MLP_SGD).logging.every_steps, 0);
    }
}
