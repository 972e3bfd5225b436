//! `actbench bench`: the reference workloads w1-w8 of PyTorch's
//! `scripts/torch_bench.py` (shapes, batch 128, optimizers, one epoch of
//! 60000 MNIST-shaped samples held in memory) trained by actbench's own
//! training loop, reporting samples/s and the time of an evaluation pass.
//! w6 is w1 with the per-parameter gradient statistics of every step, so
//! w6/w1 is the cost of the harness's recording. On a CPU backend each MLP
//! workload's rate is also given as a share of the machine's ceiling: its
//! floating-point operations per sample against the float32
//! matrix-multiply rate measured in the same run.

use std::time::Instant;

use anyhow::bail;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Device;
use rand::Rng;

use crate::config::Config;
use crate::data::{Dataset, Splits};
use crate::grid;
use crate::maths::rng::{self, Stream};
use crate::model::{Inputs, Network};
use crate::results::records::columns;
use crate::train;

pub const TRAIN_SAMPLES: usize = 60_000;
pub const TEST_SAMPLES: usize = 10_000;
const FEATURES: usize = 784;
const CLASSES: usize = 10;
const SEED: u64 = 1234;

/// (id, optimizer, description, experiment file). Same as torch_bench.py's
/// WORKLOADS. w9 trains on CIFAR-shaped data ([`synthetic_cifar`]), the
/// rest on MNIST-shaped data ([`synthetic_mnist`]).
pub const WORKLOADS: [(&str, &str, &str, &str); 11] = [
    ("w1", "sgd", "MLP 784-128-128-10 ReLU", MLP_SGD),
    ("w1", "adam", "MLP 784-128-128-10 ReLU", ADAM),
    ("w2", "sgd", "MLP 784-128-128-10 sigmoid", MLP_SGD),
    ("w3", "sgd", "MLP 784-128-128-10 GELU", MLP_SGD),
    ("w4", "sgd", "MLP 784-8x128-10 tanh", DEEP),
    ("w5", "sgd", "LeNet-like CNN ReLU", CNN),
    ("w6", "sgd", "w1 + per-layer grad L2 norms", MLP_SGD),
    ("w7", "sgd", "MLP 784-128-128-10 SiLU (built-in)", MLP_SGD),
    ("w8", "sgd", "MLP 784-128-128-10 x*sigmoid(beta x), beta learned per layer (a formula)", MLP_SGD),
    ("w9", "sgd", "ResNet-20 3x32x32 ReLU, batch norm", RESNET),
    ("w10", "adamw", "GPT 4 layers x 128, block 64, GELU (nanoGPT CPU recipe); samples = windows of 64 tokens", GPT),
];

/// w10: optimizer steps timed, each a batch of [`GPT_BATCH`] windows of
/// [`GPT_BLOCK`] tokens of a synthetic text of [`GPT_VOCAB`] symbols
/// (tiny-shakespeare's 65), as torch_bench.py.
pub const GPT_STEPS: usize = 200;
pub const GPT_BATCH: usize = 12;
pub const GPT_BLOCK: usize = 64;
const GPT_VOCAB: usize = 65;
const GPT_TOKENS: usize = 200_000;

/// The CIFAR-shaped workload's training and test samples: fewer than
/// MNIST's 60,000, as a ResNet-20 trains some hundred samples a second here
/// (torch_bench.py uses the same counts).
pub const CIFAR_TRAIN_SAMPLES: usize = 5_120;
pub const CIFAR_TEST_SAMPLES: usize = 1_000;
const CIFAR_IMAGE: [usize; 3] = [3, 32, 32];

/// Training samples of workload `id`'s epoch.
pub fn train_samples(id: &str) -> usize {
    match id {
        "w9" => CIFAR_TRAIN_SAMPLES,
        "w10" => GPT_STEPS * GPT_BATCH,
        _ => TRAIN_SAMPLES,
    }
}

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
// He et al. 2016's CIFAR ResNet-20 (option A shortcuts, batch norm), torch_bench.py's resnet20.
const RESNET: &str = r#"
[model]
kind = "resnet"
depth = 20
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

// nanoGPT's CPU recipe (configs/nanogpt_shakespeare.toml) for GPT_STEPS
// steps, one evaluation of one batch at the end; no gradient records.
const GPT: &str = r#"
[data]
dataset = "shakespeare_char"
test_split = 0.05
validation_split = 0.05
[model]
kind = "gpt"
bias = false
[training]
optimizer = "adamw"
lr = 0.001
max_steps = 200
eval_every = 200
eval_batches = 1
schedule = "cosine"
warmup_steps = 100
weight_decay = 0.1
beta2 = 0.99
grad_clip_norm = 1.0
"#;

columns! {
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
        /// `samples/s x FLOP per sample / matmul peak` (MLPs on a CPU backend).
        pub peak_share: Option<f64>,
    }
}

/// What `actbench bench` measured.
pub struct Bench {
    pub rows: Vec<BenchRow>,
    /// The float32 matrix-multiply rate (GFLOP/s), when measured.
    pub peak_gflops: Option<f64>,
}

/// Floating-point operations of one training sample of a workload, where
/// its model kind counts them (the MLP: w1, 784-128-128-10, 0.51 MFLOP).
pub fn flop_per_sample(config: &Config) -> Option<f64> {
    let classes = if config.data.dataset.is_text() { GPT_VOCAB } else { CLASSES };
    let inputs = Inputs { features: FEATURES, image: None, classes };
    (config.model.kind.info().flop_per_sample)(&config.model, &inputs)
}

/// The float32 matrix-multiply rate of this machine, in GFLOP/s: gemm (the
/// crate flex's products use) on 1024 x 1024 x 1024 on every thread of the
/// current rayon pool, the best of 5 after a warm-up.
pub fn matmul_peak_gflops() -> f64 {
    const N: usize = 1024;
    let a: Vec<f32> = (0..N * N).map(|i| ((i % 251) as f32 - 125.0) / 125.0).collect();
    let b: Vec<f32> = (0..N * N).map(|i| ((i % 241) as f32 - 120.0) / 120.0).collect();
    let mut c = vec![0.0f32; N * N];
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for i in 0..6 {
        let started = Instant::now();
        // SAFETY: three row-major N x N matrices (column stride 1, row stride N), each N * N long.
        unsafe {
            gemm::gemm(
                N,
                N,
                N,
                c.as_mut_ptr(),
                1,
                N as isize,
                false,
                a.as_ptr(),
                1,
                N as isize,
                b.as_ptr(),
                1,
                N as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            );
        }
        if i > 0 {
            best = best.min(started.elapsed().as_secs_f64());
        }
    }
    std::hint::black_box(&c);
    2.0 * (N * N * N) as f64 / best / 1e9
}

/// The config of a workload: the snippet, plus one epoch of batch 128 and,
/// for w6 only, recording at every step.
pub fn workload_config(id: &str, snippet: &str) -> Config {
    let activation = match id {
        "w2" => "\"sigmoid\"",
        "w3" | "w10" => "\"gelu\"",
        "w4" => "\"tanh\"",
        "w7" => "\"silu\"",
        // What a user types to try Swish with a learned beta (Ramachandran et al. 2017).
        "w8" => r#"{ name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }"#,
        _ => "\"relu\"",
    };
    let every = if id == "w6" { 1 } else { 0 };
    let mut text = format!("activations = [{activation}]\n{snippet}");
    text = if id == "w10" {
        text.replace("[training]", &format!("[training]\nbatch_size = {GPT_BATCH}"))
    } else {
        text.replace("[training]", "[training]\nepochs = 1\nbatch_size = 128")
    };
    text.push_str(&format!("[logging]\nevery_steps = {every}\nactivation_stats = false\n"));
    Config::parse(&text, std::path::Path::new(id), id).expect("the bench workloads are valid configs")
}

/// MNIST-shaped synthetic data (see [`synthetic`]).
pub fn synthetic_mnist() -> Splits {
    synthetic(TRAIN_SAMPLES, TEST_SAMPLES, [1, 28, 28])
}

/// w10's text: tokens drawn uniformly from [`GPT_VOCAB`] symbols, cut 90/5/5.
pub fn synthetic_text() -> Splits {
    let mut rng = rng::stream(SEED, Stream::DataGeneration);
    let ids: Vec<i64> = (0..GPT_TOKENS).map(|_| rng.random_range(0..GPT_VOCAB) as i64).collect();
    let symbols = (0..GPT_VOCAB as u32).map(|i| char::from_u32(0x21 + i).expect("printable ASCII")).collect();
    let all = crate::data::text::stream(ids, crate::data::text::Vocab::Chars(symbols));
    crate::data::text::split(&all, 0.05, 0.05)
}

/// CIFAR-shaped synthetic data for w9 (see [`synthetic`]).
pub fn synthetic_cifar() -> Splits {
    synthetic(CIFAR_TRAIN_SAMPLES, CIFAR_TEST_SAMPLES, CIFAR_IMAGE)
}

/// Synthetic images, torch_bench.py's recipe: a random sparse
/// binary prototype per class; a sample keeps 30% of its prototype's pixels,
/// lights 30% random pixels, and is scaled by a random intensity in [0.5, 1];
/// then standardised with the training set's scalar mean and std.
fn synthetic(train: usize, test: usize, image: [usize; 3]) -> Splits {
    let features_per_sample: usize = image.iter().product();
    let mut rng = rng::stream(SEED, Stream::DataGeneration);
    let n = train + test;
    let prototypes: Vec<bool> = (0..CLASSES * features_per_sample).map(|_| rng.random::<f32>() < 0.2).collect();
    let mut features = Vec::with_capacity(n * features_per_sample);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.random_range(0..CLASSES);
        let intensity = 0.5 + 0.5 * rng.random::<f32>();
        for j in 0..features_per_sample {
            let keep = prototypes[label * features_per_sample + j] && rng.random::<f32>() < 0.3;
            let noise = rng.random::<f32>() < 0.3;
            features.push(if keep || noise { intensity } else { 0.0 });
        }
        labels.push(label as i64);
    }
    let train_values = &features[..train * features_per_sample];
    let mean = train_values.iter().map(|&v| v as f64).sum::<f64>() / train_values.len() as f64;
    let var = train_values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / train_values.len() as f64;
    let (mean, inv_std) = (mean as f32, (1.0 / var.sqrt()) as f32);
    features.iter_mut().for_each(|v| *v = (*v - mean) * inv_std);
    let part = |from: usize, to: usize| Dataset {
        features: features[from * features_per_sample..to * features_per_sample].to_vec(),
        labels: labels[from..to].to_vec(),
        n_features: features_per_sample,
        n_classes: CLASSES,
        image: Some(image),
        vocab: None,
    };
    Splits { train: part(0, train), validation: part(0, 0), test: part(train, n) }
}

/// Runs the selected workloads (`w1` selects both of its optimizers), each
/// `repeats` times; with `cpu`, the matrix-multiply peak is measured before
/// and after them (the better counts: the machine is shared) and each MLP
/// row gets its share of it.
pub fn run(
    selected: &[String],
    repeats: usize,
    device: &Device,
    cpu: bool,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<Bench> {
    if let Some(unknown) = selected.iter().find(|w| !WORKLOADS.iter().any(|(id, ..)| id == &w.as_str())) {
        let mut ids: Vec<&str> = WORKLOADS.iter().map(|w| w.0).collect();
        ids.dedup();
        bail!("unknown workload `{unknown}`: choose from {}", ids.join(", "));
    }
    if repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let (mut mnist, mut cifar, mut text) = (None, None, None);
    let before = cpu.then(matmul_peak_gflops);
    let mut rows = Vec::new();
    let mut flop = Vec::new();
    for (id, optimizer, description, snippet) in WORKLOADS {
        if !selected.is_empty() && !selected.iter().any(|s| s == id) {
            continue;
        }
        let config = workload_config(id, snippet);
        let spec = &grid::expand(&config)[0];
        let splits: &Splits = match id {
            "w9" => cifar.get_or_insert_with(synthetic_cifar),
            "w10" => text.get_or_insert_with(synthetic_text),
            _ => mnist.get_or_insert_with(synthetic_mnist),
        };
        let mut rates = Vec::with_capacity(repeats);
        let mut evals = Vec::with_capacity(repeats);
        let mut accuracy = f64::NAN;
        for _ in 0..repeats {
            let records = train::run(&config, spec, splits, device, None, None, &mut train::Silent)
                .ok_or_else(|| anyhow::anyhow!("interrupted"))?;
            let epoch = &records.epochs[0];
            rates.push(train_samples(id) as f64 / epoch.epoch_seconds);
            accuracy = records.summary.test_accuracy;
            evals.push(eval_seconds(&config, spec, splits, device) * 1e3);
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
            peak_share: None,
        };
        flop.push(flop_per_sample(&config));
        log(&format!("  done {id:<3} {optimizer:<5} {:>10.0} samples/s", row.samples_per_s_median));
        rows.push(row);
    }
    let peak = before.map(|b| b.max(matmul_peak_gflops()));
    for (row, flop) in rows.iter_mut().zip(flop) {
        row.peak_share = flop.zip(peak).map(|(flop, peak)| row.samples_per_s_median * flop / (peak * 1e9));
    }
    Ok(Bench { rows, peak_gflops: peak })
}

/// One evaluation pass over the test set (inference only), after one warm-up pass.
fn eval_seconds(config: &Config, spec: &grid::RunSpec, splits: &Splits, device: &Device) -> f64 {
    let model = Network::new(&train::network_spec(config, spec, &splits.train), spec.seed, device);
    let loss = CrossEntropyLossConfig::new().init(device);
    let (x, y) = match train::text_block(config) {
        // 20 batches of windows (nanoGPT's eval_iters for this recipe, 240 windows).
        Some(block) => {
            let (x, y) = crate::data::text::windows(&splits.test.labels, block, Some(20 * GPT_BATCH));
            let n = y.len();
            (
                burn::tensor::Tensor::<2>::from_data(burn::tensor::TensorData::new(x, [n / block, block]), device),
                burn::tensor::Tensor::<1, burn::tensor::Int>::from_data(burn::tensor::TensorData::new(y, [n]), device),
            )
        }
        None => train::to_device(&splits.test, device),
    };
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
pub fn table(bench: &Bench) -> String {
    let rows = &bench.rows;
    let mut out = format!(
        "{:<3} {:<5} {:>10} {:>9} {:>9} {:>8} {:>6} {:>7}  description\n",
        "wl", "opt", "samples/s", "min", "max", "eval ms", "acc", "of peak"
    );
    for r in rows {
        let share = r.peak_share.map_or("-".to_string(), |s| format!("{:.0}%", s * 100.0));
        out.push_str(&format!(
            "{:<3} {:<5} {:>10.0} {:>9.0} {:>9.0} {:>8.1} {:>6.3} {:>7}  {}\n",
            r.workload,
            r.optimizer,
            r.samples_per_s_median,
            r.samples_per_s_min,
            r.samples_per_s_max,
            r.eval_ms_median,
            r.test_accuracy,
            share,
            r.description
        ));
    }
    if let Some(peak) = bench.peak_gflops {
        out.push_str(&format!(
            "of peak: samples/s x the MLP's FLOP per sample (products only) / {peak:.1} GFLOP/s, the float32 matrix-multiply rate measured here (gemm, 1024^3, {} threads, best of 10)\n",
            rayon::current_num_threads()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_have_torch_benchs_shapes() {
        let cnn = workload_config("w5", CNN);
        let spec = &grid::expand(&cnn)[0];
        let data = Dataset {
            features: vec![],
            labels: vec![],
            n_features: 784,
            n_classes: 10,
            image: Some([1, 28, 28]),
            vocab: None,
        };
        let net = train::network_spec(&cnn, spec, &data);
        // 28 -> conv5 24 -> pool 12 -> conv5 8 -> pool 4: 32 x 4 x 4 = 512 into fc 128.
        let sizes = (net.model.kind.info().sizes)(&net.model, &net.inputs);
        assert_eq!(sizes.parameters, (25 * 16 + 16 + 16 * 25 * 32 + 32 + 512 * 128 + 128 + 128 * 10 + 10) as f64);
        assert_eq!(workload_config("w4", DEEP).model.hidden.len(), 8);
        assert_eq!(workload_config("w6", MLP_SGD).logging.every_steps, 1);
        assert_eq!(workload_config("w1", MLP_SGD).logging.every_steps, 0);
        // w1 (784-128-128-10) counted by hand above: 0.51 MFLOP per sample.
        assert_eq!(flop_per_sample(&workload_config("w1", MLP_SGD)), Some(507_392.0));
        assert_eq!(flop_per_sample(&cnn), None);
        let gpt = workload_config("w10", GPT);
        let (layers, heads, width, block, _, bias) = crate::model::gpt::shape_of(&gpt.model);
        assert_eq!((layers, heads, width, block, bias, gpt.training.batch_size.0), (4, 4, 128, 64, false, 12));
        assert_eq!(gpt.training.steps(), Some((GPT_STEPS, GPT_STEPS)));
    }

    /// The peak is a rate a CPU reaches: above 1 GFLOP/s (one core of any
    /// x86-64 of the last decade does tens), finite.
    #[test]
    fn the_matmul_peak_is_a_plausible_rate() {
        let peak = matmul_peak_gflops();
        assert!(peak.is_finite() && peak > 1.0, "{peak}");
    }
}
