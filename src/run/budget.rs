//! Sizes checked before anything is allocated: a grid, a dataset, a network
//! or a run's records too large for this machine are a one-line error naming
//! the key and the memory it would need, not a `capacity overflow` panic or
//! an allocation abort (which would leave a stale lock behind). The
//! estimates are in f64, so no count near the integer limits can overflow
//! them; they are deliberately rough (within a factor of about two) and are
//! compared with the machine's whole memory, so only a config that cannot
//! fit is refused.

use crate::config::Config;
use crate::data::split_sizes;
use crate::model::kind::inputs_of;
use crate::train::EVAL_CHUNK;

/// The most runs one experiment may hold (each is a folder of its own).
pub const MAX_RUNS: usize = 1_000_000;

/// Bytes of one f32.
const F32: f64 = 4.0;
/// Copies of the data alive while training: the dataset as read, its
/// normalised split, and the training, validation and test tensors.
const DATA_COPIES: f64 = 3.0;
/// Per parameter: the weight, its gradient and up to two optimizer moments (Adam).
const PARAMETER_COPIES: f64 = 4.0;
/// Per unit of a batch: the pre-activation, the output and their gradients.
const ACTIVATION_COPIES: f64 = 4.0;
/// In evaluation: a layer's input, its output and one more alive at once.
const EVAL_COPIES: f64 = 3.0;
/// A recorded row in memory: the struct, its strings, and its CSV text for the combined tables.
const ROW_BYTES: f64 = 400.0;

/// What part of a run needs the memory, and the key that sizes it.
struct Need {
    key: &'static str,
    what: String,
    bytes: f64,
    advice: String,
}

/// Checks `config` trained `jobs` runs at a time against this machine.
pub fn check(config: &Config, jobs: usize) -> anyhow::Result<()> {
    check_against(config, jobs, machine_memory())
}

/// Checks `config` against `memory` bytes (`None`: unknown, only the grid's size is checked).
fn check_against(config: &Config, jobs: usize, memory: Option<f64>) -> anyhow::Result<()> {
    let seeds = config.experiment.seeds.0.len() as f64;
    let points = config.sweep.len_each().max(1) as f64;
    let grid: f64 = config
        .activations
        .iter()
        .map(|a| a.lr.as_ref().unwrap_or(&config.training.lr).0.len() as f64 * seeds)
        .sum::<f64>()
        * points;
    if grid > MAX_RUNS as f64 {
        anyhow::bail!(
            "key `experiment.seeds`: the grid holds {grid:.0} runs (activations x sweep points x learning rates x seeds), more than the {MAX_RUNS} one experiment may hold: split it into several experiments"
        );
    }
    let Some(memory) = memory else { return Ok(()) };
    let jobs = jobs.max(1) as f64;
    // Each sweep point is checked as if the whole grid were its own.
    for point in config.points() {
        check_point(&point, grid, jobs, memory)?;
    }
    Ok(())
}

fn check_point(config: &Config, grid: f64, jobs: f64, memory: f64) -> anyhow::Result<()> {
    for need in needs(config, grid, jobs, memory) {
        if need.bytes > memory {
            anyhow::bail!(
                "key `{}`: {} would need about {} of memory, more than this machine's {}: {}",
                need.key,
                need.what,
                human(need.bytes),
                human(memory),
                need.advice
            );
        }
    }
    let total: f64 = needs(config, grid, jobs, memory).iter().map(|n| n.bytes).sum();
    if total > memory {
        anyhow::bail!(
            "the experiment would need about {} of memory in all (data, {jobs} network(s) in training and their records), more than this machine's {}: use smaller layers, fewer samples or fewer --jobs",
            human(total),
            human(memory)
        );
    }
    Ok(())
}

fn needs(config: &Config, grid: f64, jobs: f64, memory: f64) -> Vec<Need> {
    let data = &config.data;
    let dataset = data.dataset;
    let samples = dataset.samples(data.samples.0) as f64;
    let features = dataset.features() as f64;
    let model = &config.model;
    let network = (model.kind.info().sizes)(model, &inputs_of(data));
    let batch = config.training.batch_size.0 as f64;
    let (train, validation, test) =
        split_sizes(dataset.samples(data.samples.0), data.test_split.0, data.validation_split.0);
    let train = data.train_limit(train).max(1) as f64;
    // Evaluation runs in chunks: the largest block of samples through the network at once.
    let mut evaluated = validation.max(test).min(EVAL_CHUNK) as f64;
    let mut batch = batch.min(train);
    if let Some(block) = crate::train::text_block(config) {
        // A text's samples are windows of `block` tokens, evaluated EVAL_CHUNK tokens at a time.
        evaluated = (EVAL_CHUNK / block).max(1) as f64;
        batch = config.training.batch_size.0 as f64;
    }
    let steps = match config.training.steps() {
        Some((_, every)) => every as f64,
        None => (train / batch).ceil().max(1.0),
    };
    let every = config.logging.every_steps;
    let recorded_steps = if every == 0 { 0.0 } else { (steps / every as f64).ceil() };
    let layers = network.sites;
    let probe_rows = if config.logging.activation_stats { layers } else { 0.0 };
    let probes = match config.logging.activation_every_steps {
        0 => 0.0,
        n => (steps / n as f64).ceil(),
    };
    let rows_per_epoch = 1.0 + probe_rows + probes * layers + recorded_steps * network.tensors;
    let layer_key = network.key;
    vec![
        Need {
            key: "data.samples",
            what: format!("{samples:.0} samples of {features:.0} features"),
            bytes: samples * features * F32 * DATA_COPIES,
            advice: "generate fewer samples".into(),
        },
        Need {
            key: layer_key,
            what: format!("a network of {:.0} parameters{}", network.parameters, times(jobs)),
            bytes: network.parameters * F32 * PARAMETER_COPIES * jobs,
            advice: "use smaller layers".into(),
        },
        // Training keeps every layer's output for backward; evaluation, a
        // few layers' at a time, but of a chunk of up to EVAL_CHUNK samples.
        if evaluated * network.widest * EVAL_COPIES > batch * network.units * ACTIVATION_COPIES {
            Need {
                key: layer_key,
                what: format!(
                    "evaluating {evaluated:.0} samples at once through a layer of {:.0} units{}",
                    network.widest,
                    times(jobs)
                ),
                bytes: evaluated * network.widest * F32 * EVAL_COPIES * jobs,
                advice: "use smaller layers".into(),
            }
        } else {
            Need {
                key: "training.batch_size",
                what: format!("{batch:.0} samples at once through {:.0} units each{}", network.units, times(jobs)),
                bytes: batch * network.units * F32 * ACTIVATION_COPIES * jobs,
                advice: "use a smaller batch or smaller layers".into(),
            }
        },
        records_need(
            config,
            rows_per_epoch,
            (grid, jobs, memory),
            (probes * layers, recorded_steps * network.tensors, probe_rows),
        ),
    ]
}

/// Epochs whose records must fit for the logging to be what is too much:
/// when fewer fit, recording less often is the change to make; when this
/// many fit, the epoch count is.
const REASONABLE_EPOCHS: f64 = 100.0;

/// The recorded rows of a run: the key to change is `training.epochs`
/// when a reasonable number of epochs' records would fit (the count is the
/// problem, e.g. 10^12 epochs), else the logging key that records the most.
fn records_need(
    config: &Config,
    rows_per_epoch: f64,
    (grid, jobs, memory): (f64, f64, f64),
    (probe_rows_per_epoch, step_rows_per_epoch, epoch_probe_rows): (f64, f64, f64),
) -> Need {
    let rows = config.training.rounds() as f64 * rows_per_epoch;
    let per_epoch = rows_per_epoch * ROW_BYTES * (grid + jobs);
    let fit = (memory / per_epoch).floor();
    let (key, advice) = if fit >= REASONABLE_EPOCHS {
        ("training.epochs", format!("train fewer epochs: the records of at most {fit:.0} fit"))
    } else if probe_rows_per_epoch > step_rows_per_epoch.max(epoch_probe_rows + 1.0) {
        ("logging.activation_every_steps", "probe less often: a larger value, or 0 for never".to_string())
    } else if config.logging.every_steps > 0 && step_rows_per_epoch > epoch_probe_rows + 1.0 {
        ("logging.every_steps", "record gradients less often: a larger value, or 0 for never".to_string())
    } else {
        ("training.epochs", "train fewer epochs, or a smaller grid".to_string())
    };
    Need {
        key,
        what: format!("{rows:.0} recorded rows per run, {:.0} for the grid", rows * grid),
        bytes: rows * ROW_BYTES * (grid + jobs),
        advice,
    }
}

/// ` (x N jobs)` when several runs train at once.
fn times(jobs: f64) -> String {
    if jobs > 1.0 { format!(" (x {jobs} jobs)") } else { String::new() }
}

/// The memory this process may use: the machine's, or its cgroup's limit when lower.
fn machine_memory() -> Option<f64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb * 1024.0)
    })?;
    let limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<f64>().ok());
    Some(limit.map_or(total, |l| l.min(total)))
}

/// Bytes in binary units, e.g. `1.2 TiB`.
fn human(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 1024.0 { format!("{bytes:.1e} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("t.toml"), "t").unwrap()
    }

    #[test]
    fn the_parameter_count_is_the_networks() {
        let of = |c: &Config| (c.model.kind.info().sizes)(&c.model, &inputs_of(&c.data));
        // 64 -> 32 -> 10 on the 8x8 digits: 64*32 + 32 + 32*10 + 10.
        let n = of(&config("activations = [\"relu\"]\n[model]\nhidden = [32]\n"));
        assert_eq!(n.parameters, (64 * 32 + 32 + 32 * 10 + 10) as f64);
        assert_eq!(n.tensors, 4.0);
        // LeNet-like on MNIST, `same` padding: 1->6 (5x5), pool to 14x14; 6->16, pool to 7x7; 784 -> 10.
        let cnn = config(
            "activations = [\"relu\"]\n[data]\ndataset = \"mnist\"\n[model]\nkind = \"cnn\"\nchannels = [6, 16]\nhidden = []\n",
        );
        let n = of(&cnn);
        assert_eq!(n.parameters, (6 * 25 + 6 + 6 * 16 * 25 + 16 + 16 * 7 * 7 * 10 + 10) as f64);
    }

    #[test]
    fn a_resnet_20_has_its_papers_parameter_count() {
        // He et al. 2016, table 6: 0.27M; 269,722 with 10 classes (convolutions
        // without bias, two norm parameters per channel, option A adds none).
        let text = "activations = [\"relu\"]\n[data]\ndataset = \"cifar10\"\n[model]\nkind = \"resnet\"\ndepth = 20\n";
        let c = config(text);
        let n = (c.model.kind.info().sizes)(&c.model, &inputs_of(&c.data));
        assert_eq!(n.parameters, 269_722.0);
        assert_eq!(n.sites, 19.0);
        // Option B adds two 1x1 projections with their norms.
        let b = config(&text.replace("depth = 20\n", "depth = 20\nshortcut = \"b\"\n"));
        let nb = (b.model.kind.info().sizes)(&b.model, &inputs_of(&b.data));
        assert_eq!(nb.parameters, 269_722.0 + (16 * 32 + 64 + 32 * 64 + 128) as f64);
    }

    #[test]
    fn sizes_are_in_binary_units() {
        assert_eq!(human(512.0), "512.0 bytes");
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(3.0 * 1024f64.powi(4)), "3.0 TiB");
        assert_eq!(human(1e30), "1.0e30 bytes");
    }

    const SIXTEEN_GIB: Option<f64> = Some(16.0 * 1024.0 * 1024.0 * 1024.0);

    #[test]
    fn what_cannot_fit_names_its_key() {
        let big = |section: &str, line: &str| {
            let text = format!("activations = [\"relu\"]\n[{section}]\n{line}\n");
            check_against(&config(&text), 1, SIXTEEN_GIB).map_err(|e| e.to_string())
        };
        assert!(big("model", "hidden = [32]").is_ok());
        assert!(big("model", "hidden = [100000000]").unwrap_err().contains("`model.hidden`"));
        // 10^12 epochs: the count is the mistake, not how often each records.
        let epochs = big("training", "epochs = 1000000000000").unwrap_err();
        assert!(epochs.contains("`training.epochs`") && epochs.contains("at most"), "{epochs}");
        let often = "activations = [\"relu\"]\n[training]\nepochs = 100\nbatch_size = 1\n[data]\ndataset = \"spirals\"\nsamples = 10000000\n[logging]\nevery_steps = 1\n";
        let err = check_against(&config(often), 1, SIXTEEN_GIB).unwrap_err().to_string();
        assert!(err.contains("`logging.every_steps`"), "{err}");
        assert!(
            check_against(
                &config("activations = [\"relu\"]\n[training]\nepochs = 1000000000000\n[logging]\nevery_steps = 0\n"),
                1,
                SIXTEEN_GIB
            )
            .unwrap_err()
            .to_string()
            .contains("`training.epochs`")
        );
        let probes = "activations = [\"relu\"]\n[training]\nepochs = 100\nbatch_size = 1\n[data]\ndataset = \"spirals\"\nsamples = 10000000\n[logging]\nevery_steps = 0\nactivation_every_steps = 1\n";
        assert!(
            check_against(&config(probes), 1, SIXTEEN_GIB)
                .unwrap_err()
                .to_string()
                .contains("`logging.activation_every_steps`")
        );
        let spirals = "activations = [\"relu\"]\n[data]\ndataset = \"spirals\"\nsamples = 9223372036854775807\n";
        assert!(check_against(&config(spirals), 1, SIXTEEN_GIB).unwrap_err().to_string().contains("`data.samples`"));
        let grid = "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 100000\n[training]\nlr = [0.1, 0.01, 0.001, 0.0001, 0.00001, 0.000001]\n";
        assert!(check_against(&config(grid), 1, None).unwrap_err().to_string().contains("1200000 runs"));
    }
}
