//! One run: the custom training loop (forward, loss, backward, read the
//! gradients, optimizer step), evaluation after every epoch, and the records.

pub mod metrics;
mod optim;
pub mod logging;
pub mod probe;
pub mod settings;

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;

use crate::results::checkpoint as checkpoints;
use crate::config::Config;
use crate::data::Normalize;
use crate::model::settings::ModelKind;
use crate::data::{Dataset, Splits, augment};
use crate::grid::RunSpec;
use crate::model::{ConvSpec, Network, NetworkSpec};
use crate::results::records::{ActivationRecord, EpochRecord, GradientRecord, LearnedRecord, RunRecords, RunSummary};
use crate::maths::rng::{self, Stream};

/// Evaluation runs in chunks of this many samples to bound memory on large sets.
pub const EVAL_CHUNK: usize = 4096;

/// Told about progress inside a run (drives the per-run progress bar).
pub trait RunObserver {
    fn epoch_done(&mut self, _epoch: usize, _epochs: usize, _train_loss: f64, _val_accuracy: f64) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl RunObserver for Silent {}

/// Trains one grid point to the end (or until its loss is no longer
/// finite); `None` when a stop was requested (Ctrl-C) before it finished.
/// With `stop_after` below the config's epochs (a rung of successive
/// halving), it stops after that epoch instead: the records so far, the
/// test measured there, and a checkpoint kept to continue from.
pub fn run(
    config: &Config,
    spec: &RunSpec,
    splits: &Splits,
    base_device: &Device,
    checkpoint: Option<(&Path, &str)>,
    stop_after: Option<usize>,
    observer: &mut dyn RunObserver,
) -> Option<RunRecords> {
    let started = Instant::now();
    // Per thread: this one and the rayon pool the backend computes in.
    crate::maths::denormals::set_for_current_pool(config.training.flush_denormals());
    let device = base_device.clone().autodiff();
    device.seed(spec.seed);
    let mut model = Network::new(&network_spec(config, spec, &splits.train), spec.seed, &device);
    let mut optim = optim::build(&config.training);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let param_names = learned_names(metrics::parameter_names(&model), spec);

    let (train_x, train_y) = to_device(&splits.train, &device);
    let (val_x, val_y) = to_device(&splits.validation, base_device);
    let (test_x, test_y) = to_device(&splits.test, base_device);

    let epochs = config.training.epochs.0;
    let every = config.logging.every_steps;
    let clip = config.training.grad_clip_norm.map(|c| c.0);
    let mut order: Vec<i64> = (0..splits.train.len() as i64).collect();
    let mut shuffle = rng::stream(spec.seed, Stream::Shuffle);
    let mut augmentation = rng::stream(spec.seed, Stream::Augment);
    let fill = config.data.augment.then(|| black_pixel(config, &splits.train));

    // Resume from the last finished epoch when a checkpoint of this config exists.
    let mut resumed = None;
    if let Some((dir, hash)) = checkpoint {
        let expected = checkpoints::Expected {
            config_hash: hash,
            run_id: &spec.id,
            epochs,
            samples: splits.train.len(),
            steps_per_epoch: splits.train.len().div_ceil(config.training.batch_size.0),
        };
        let (m, o, c) = checkpoints::load(dir, &expected, model, optim);
        (model, optim, resumed) = (m, o, c);
    }
    let mut step_records = Vec::new();
    // Early stopping: the test split measured whenever validation improves.
    let patience = config.training.patience.map(|p| p.0);
    let mut test_at_best = None;
    let (mut epoch_records, mut gradient_records, mut activation_records, mut learned_records, first_epoch, mut step) =
        match resumed {
            Some(c) => {
                shuffle.set_word_pos(c.state.shuffle_word_pos);
                augmentation.set_word_pos(c.state.augment_word_pos);
                order = c.state.order;
                step_records = c.activation_steps;
                test_at_best = c.state.test_at_best;
                (c.epochs, c.gradients, c.activations, c.learned, c.state.epoch + 1, c.state.step)
            }
            None => (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 1, 0),
        };
    // The probe: the first validation samples (the split is already shuffled by the seed).
    let probe_every = config.logging.activation_every_steps;
    let per_epoch = config.logging.activation_stats;
    let probe = ((per_epoch || probe_every > 0) && !splits.validation.is_empty()).then(|| {
        let n = config.logging.probe_samples.0.min(splits.validation.len());
        let indices: Vec<usize> = (0..n).collect();
        let max_derivative = probe::max_derivative(spec.activation, base_device);
        (to_device(&splits.validation.subset(&indices), &device).0, max_derivative)
    });
    let record_probe = |model: &Network, epoch: usize, step: usize, records: &mut Vec<ActivationRecord>| {
        if let Some((x, max_derivative)) = &probe {
            for (layer, s) in probe::layer_stats(model, x, *max_derivative).into_iter().enumerate() {
                records.push(ActivationRecord {
                    run_id: spec.id.clone(),
                    activation: spec.label.clone(),
                    seed: spec.seed,
                    lr: spec.lr,
                    sweep: spec.sweep.clone(),
                    epoch,
                    step: Some(step),
                    layer,
                    units: s.units,
                    pre_mean: s.pre_mean,
                    pre_std: s.pre_std,
                    post_mean: s.post_mean,
                    post_std: s.post_std,
                    dead_fraction: s.dead_fraction,
                    saturated_fraction: s.saturated_fraction,
                });
            }
        }
    };
    let learned_names = spec.activation.learned_names();
    let record_learned = |model: &Network, epoch: usize, records: &mut Vec<LearnedRecord>| {
        for (prefix, activations) in
            [("conv_activations", &model.conv_activations), ("activations", &model.activations)]
        {
            for (i, activation) in activations.iter().enumerate() {
                for (param, name) in activation.learned.iter().zip(&learned_names) {
                    let values: Vec<f32> = param.val().into_data().iter::<f32>().collect();
                    // One row per value: `activations.0.beta`, or per unit `activations.0.beta.3`.
                    for (u, value) in values.iter().enumerate() {
                        let parameter = if values.len() == 1 {
                            format!("{prefix}.{i}.{name}")
                        } else {
                            format!("{prefix}.{i}.{name}.{u}")
                        };
                        records.push(LearnedRecord {
                            run_id: spec.id.clone(),
                            activation: spec.label.clone(),
                            seed: spec.seed,
                            lr: spec.lr,
                            sweep: spec.sweep.clone(),
                            epoch,
                            parameter,
                            value: *value as f64,
                        });
                    }
                }
            }
        }
    };
    if first_epoch == 1 {
        if per_epoch {
            record_probe(&model, 0, 0, &mut activation_records);
        }
        if probe_every > 0 {
            record_probe(&model, 0, 0, &mut step_records);
        }
        record_learned(&model, 0, &mut learned_records);
    }
    let mut diverged_at = None;
    let mut last_checkpoint = Instant::now();

    let last = stop_after.map_or(epochs, |r| r.min(epochs));
    'epochs: for epoch in first_epoch..=last {
        let epoch_started = Instant::now();
        order.shuffle(&mut shuffle);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0.0f64, 0usize);
        for batch in order.chunks(config.training.batch_size.0) {
            if crate::interrupt::requested() {
                return None;
            }
            step += 1;
            let index = Tensor::<1, Int>::from_data(TensorData::new(batch.to_vec(), [batch.len()]), &device);
            let x = match &fill {
                // Augmented batches are built on the host, one upload per step.
                Some(fill) => {
                    let features = augment::batch(&splits.train, batch, fill, &mut augmentation);
                    Tensor::<2>::from_data(TensorData::new(features, [batch.len(), splits.train.n_features]), &device)
                }
                None => crate::fused::gather::batch_rows(train_x.clone(), index.clone()), // [batch, inputs]
            };
            let y = train_y.clone().select(0, index); // [batch]
            let logits = model.forward(x); // [batch, classes]
            let loss = loss_fn.forward(logits.clone(), y.clone()); // [1]
            let hits = logits.inner().argmax(1).squeeze_dim::<1>(1).equal(y.inner()).float().sum();
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);

            let record = every > 0 && step % every == 0;
            let reductions =
                if record || clip.is_some() { metrics::gradient_reductions(&model, &grads) } else { Vec::new() };
            if let Some(max_norm) = clip {
                // Each parameter's squared gradient sum: the first value of its first tensor.
                let sum_sq =
                    Tensor::cat(reductions.iter().step_by(2).map(|r| r.clone().slice(0..1)).collect(), 0).sum();
                grads = metrics::clip_global_norm(&model, grads, sum_sq, max_norm);
            }
            // One device-to-host transfer per step: loss, hits, then (when recorded) the statistics.
            let mut parts = vec![loss.inner(), hits];
            if record {
                parts.extend(reductions);
            }
            let values = read(Tensor::cat(parts, 0));
            let batch_loss = values[0] as f64;
            if !batch_loss.is_finite() {
                diverged_at = Some((epoch, step));
                break 'epochs;
            }
            loss_sum += batch_loss * batch.len() as f64;
            correct += values[1] as f64;
            seen += batch.len();
            if record {
                for (name, stats) in param_names.iter().zip(metrics::unpack(&values[2..])) {
                    gradient_records.push(GradientRecord {
                        run_id: spec.id.clone(),
                        activation: spec.label.clone(),
                        seed: spec.seed,
                        lr: spec.lr,
                        sweep: spec.sweep.clone(),
                        epoch,
                        step,
                        loss: batch_loss,
                        parameter: name.clone(),
                        grad_l2: stats.grad_l2,
                        grad_max_abs: stats.grad_max_abs,
                        weight_l2: stats.weight_l2,
                    });
                }
            }
            model = optim.step(spec.lr, model, grads);
            if probe_every > 0 && step % probe_every == 0 {
                record_probe(&model, epoch, step, &mut step_records);
            }
        }
        let valid = model.valid();
        let (val_loss, val_accuracy) = evaluate(&valid, &loss_fn, &val_x, &val_y);
        let train_loss = loss_sum / seen as f64;
        epoch_records.push(EpochRecord {
            run_id: spec.id.clone(),
            activation: spec.label.clone(),
            seed: spec.seed,
            lr: spec.lr,
            sweep: spec.sweep.clone(),
            epoch,
            train_loss,
            train_accuracy: correct / seen as f64,
            val_loss,
            val_accuracy,
            epoch_seconds: epoch_started.elapsed().as_secs_f64(),
        });
        if per_epoch {
            record_probe(&model, epoch, step, &mut activation_records);
        }
        record_learned(&model, epoch, &mut learned_records);
        let mut patience_spent = false;
        if let Some(patience) = patience {
            let best = best_epoch(&epoch_records).map_or(epoch, |b| b.epoch);
            if best == epoch {
                test_at_best = Some(evaluate(&valid, &loss_fn, &test_x, &test_y));
            }
            patience_spent = epoch >= best + patience;
        }
        observer.epoch_done(epoch, epochs, train_loss, val_accuracy);
        let due = last_checkpoint.elapsed().as_secs_f64() >= config.logging.checkpoint_seconds.0;
        if patience_spent {
            break;
        }
        if let Some((dir, hash)) = checkpoint.filter(|_| (due || epoch == last) && epoch < epochs) {
            last_checkpoint = Instant::now();
            let state = checkpoints::State {
                config_hash: hash.to_string(),
                epoch,
                step,
                shuffle_word_pos: shuffle.get_word_pos(),
                augment_word_pos: augmentation.get_word_pos(),
                order: order.clone(),
                layout: checkpoints::LAYOUT,
                test_at_best,
            };
            // A checkpoint that cannot be written costs only the ability to resume.
            let _ = checkpoints::save(
                dir,
                &state,
                &model,
                &optim,
                checkpoints::RowsSoFar {
                    epochs: &epoch_records,
                    gradients: &gradient_records,
                    activations: &activation_records,
                    activation_steps: &step_records,
                    learned: &learned_records,
                },
                &spec.sweep_keys,
            );
        }
    }

    // With patience the test is the best epoch's; a diverged run's is its last model's, as without.
    let (test_loss, test_accuracy) = match test_at_best.filter(|_| diverged_at.is_none()) {
        Some(test) => test,
        None => evaluate(&model.valid(), &loss_fn, &test_x, &test_y),
    };
    let best = best_epoch(&epoch_records);
    let summary = RunSummary {
        run_id: spec.id.clone(),
        activation: spec.label.clone(),
        seed: spec.seed,
        lr: spec.lr,
        sweep: spec.sweep.clone(),
        params: spec.activation.params_string(),
        init: spec.init.name().to_string(),
        test_accuracy,
        test_loss,
        best_val_accuracy: best.map_or(f64::NAN, |b| b.val_accuracy),
        best_val_epoch: best.map_or(0, |b| b.epoch),
        final_train_loss: epoch_records.last().map_or(f64::NAN, |e| e.train_loss),
        grad_ratio_first_last: first_to_last_ratio(&param_names, &gradient_records),
        diverged: diverged_at.is_some(),
        diverged_epoch: diverged_at.map(|d| d.0),
        diverged_step: diverged_at.map(|d| d.1),
        epochs_completed: epoch_records.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let stopped = last < epochs && diverged_at.is_none();
    if let Some((dir, _)) = checkpoint.filter(|_| !stopped) {
        checkpoints::remove(dir);
    }
    Some(RunRecords {
        epochs: epoch_records,
        gradients: gradient_records,
        activations: activation_records,
        activation_steps: step_records,
        learned: learned_records,
        summary,
    })
}

/// The epoch of the best validation accuracy, the first of equals.
fn best_epoch(epochs: &[EpochRecord]) -> Option<&EpochRecord> {
    epochs.iter().fold(None::<&EpochRecord>, |best, e| match best {
        Some(b) if b.val_accuracy >= e.val_accuracy => Some(b),
        _ => Some(e),
    })
}

/// Parameter paths with a formula's learned parameters named as in the
/// config: `activations.0.learned.1` -> `activations.0.beta`.
fn learned_names(names: Vec<String>, spec: &RunSpec) -> Vec<String> {
    let learned = spec.activation.learned_names();
    names
        .into_iter()
        .map(|n| {
            let parts: Vec<&str> = n.split('.').collect();
            match parts.as_slice() {
                [prefix @ ("activations" | "conv_activations"), layer, "learned", j] => {
                    match j.parse::<usize>().ok().and_then(|j| learned.get(j)) {
                        Some(name) => format!("{prefix}.{layer}.{name}"),
                        None => n,
                    }
                }
                _ => n,
            }
        })
        .collect()
}

/// The network a config and run describe.
pub fn network_spec(config: &Config, spec: &RunSpec, train: &Dataset) -> NetworkSpec {
    let model = &config.model;
    let conv = (model.kind == ModelKind::Cnn).then(|| ConvSpec {
        image: train.image.expect("the config check requires images for a CNN"),
        channels: model.channels.iter().map(|c| c.0).collect(),
        kernel_sizes: model.kernel_sizes(),
        padding: model.padding,
        pool: model.pool,
    });
    NetworkSpec {
        inputs: train.n_features,
        conv,
        hidden: model.hidden.iter().map(|c| c.0).collect(),
        classes: train.n_classes,
        activation: spec.activation,
        init: spec.init,
    }
}

/// Each channel's value of a black pixel after the (resolved) normalisation:
/// what the padding of a random crop shows.
fn black_pixel(config: &Config, train: &Dataset) -> Vec<f32> {
    let channels = train.image.map_or(1, |[c, _, _]| c);
    match config.data.normalize.unwrap_or(config.data.dataset.default_normalize()) {
        Normalize::None => vec![0.0; channels],
        Normalize::Symmetric => vec![-1.0; channels],
        Normalize::Standard => {
            let (mean, std) = (config.data.mean.as_deref().unwrap_or(&[]), config.data.std.as_deref().unwrap_or(&[]));
            (0..channels).map(|c| (-mean.get(c).unwrap_or(&0.0) / std.get(c).unwrap_or(&1.0)) as f32).collect()
        }
    }
}

/// Mean over recorded steps of the first hidden layer's weight-gradient norm
/// (the first convolution's in a CNN) divided by the output layer's.
fn first_to_last_ratio(names: &[String], records: &[GradientRecord]) -> Option<f64> {
    fn norms<'a>(records: &'a [GradientRecord], name: &'a str) -> impl Iterator<Item = f64> + 'a {
        records.iter().filter(move |r| r.parameter == name).map(|r| r.grad_l2)
    }
    let first = names.iter().find(|n| n.ends_with(".weight"))?;
    let ratios: Vec<f64> = norms(records, first)
        .zip(norms(records, "output.weight"))
        .filter(|(_, last)| *last > 0.0)
        .map(|(first, last)| first / last)
        .collect();
    (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
}

/// Mean loss and accuracy over a whole split, `NaN` for an empty one.
pub fn evaluate(model: &Network, loss_fn: &CrossEntropyLoss, x: &Tensor<2>, y: &Tensor<1, Int>) -> (f64, f64) {
    let n = y.dims()[0];
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let xs = x.clone().slice(start..end);
        let ys = y.clone().slice(start..end);
        let logits = model.forward(xs);
        let loss = loss_fn.forward(logits.clone(), ys.clone()).mul_scalar((end - start) as f64);
        let hits = logits.argmax(1).squeeze_dim::<1>(1).equal(ys).float().sum();
        let values = read(Tensor::cat(vec![loss, hits], 0));
        loss_sum += values[0] as f64;
        correct += values[1] as f64;
    }
    (loss_sum / n as f64, correct / n as f64)
}

/// Features `[n, n_features]` and labels `[n]` of a split on a device.
pub fn to_device(data: &Dataset, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let x = Tensor::<2>::from_data(TensorData::new(data.features.clone(), [data.len(), data.n_features]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(data.labels.clone(), [data.len()]), device);
    (x, y)
}

fn read(t: Tensor<1>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float tensors read as f32")
}
