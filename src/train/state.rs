//! A run in training: what it holds between steps (data on the device, the
//! optimizer, the batch order, the epochs so far, the recorders) and its
//! phases as methods: batch, loss, record, optimizer step, evaluation, then
//! checkpoint and finish. train::run strings them together with forward and
//! backward; the model is kept out of the state, as Burn's optimizer step
//! takes it by value and gives it back.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::metrics::Gradients;
use super::record::{At, Recorders, Setup};
use super::{best_epoch, evaluate, network_spec, optim, read, text_block, to_device};
use crate::config::Config;
use crate::config::experiment::Source;
use crate::data::{Dataset, Normalize, Splits, augment, text};
use crate::export::csv;
use crate::grid::RunSpec;
use crate::maths::rng::{self, Stream};
use crate::model::{Mode, Network};
use crate::results::checkpoint as checkpoints;
use crate::results::dir::Table;
use crate::results::records::{EpochRecord, RunKey, RunRecords, RunSummary, keyed};

/// The forward phase, in training mode: logits `[batch, classes]` of
/// features `[batch, inputs]`, the dropout masks picked by `seed` and `at`.
pub fn forward(model: &Network, x: Tensor<2>, seed: u64, at: At) -> Tensor<2> {
    model.forward(x, Mode::Train { seed, step: at.step })
}

/// The backward phase: the gradients of `loss` (`[1]`) for every parameter.
pub fn backward(model: &Network, loss: &Tensor<1>) -> Gradients {
    Gradients::new(GradientsParams::from_grads(loss.backward(), model))
}

/// A step's loss and correct predictions, read back.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub loss: f64,
    pub hits: f64,
}

/// An epoch's training so far: sums over its steps.
#[derive(Debug, Default)]
pub struct Totals {
    loss_sum: f64,
    correct: f64,
    seen: usize,
}

impl Totals {
    pub fn add(&mut self, step: Measured, samples: usize) {
        self.loss_sum += step.loss * samples as f64;
        self.correct += step.hits;
        self.seen += samples;
    }
}

/// What the loop needs of an epoch's evaluation.
pub struct Evaluated {
    pub train_loss: f64,
    pub val_accuracy: f64,
    /// `training.patience` epochs passed without a better validation accuracy.
    pub patience_spent: bool,
}

pub struct RunState<'a> {
    config: &'a Config,
    spec: &'a RunSpec,
    key: RunKey,
    checkpoint: Option<(&'a Path, &'a str)>,
    /// The config's epochs, and the first this process trains (after a resumed checkpoint's).
    pub epochs: usize,
    pub first_epoch: usize,
    device: Device,
    train: &'a Dataset,
    train_x: Tensor<2>,
    train_y: Tensor<1, Int>,
    val_x: Tensor<2>,
    val_y: Tensor<1, Int>,
    test_x: Tensor<2>,
    test_y: Tensor<1, Int>,
    loss_fn: CrossEntropyLoss,
    optim: ModuleOptimizer,
    order: Vec<i64>,
    shuffle: ChaCha8Rng,
    augmentation: ChaCha8Rng,
    /// With augmentation: each channel's value of a black pixel.
    fill: Option<Vec<f32>>,
    /// Optimizer steps taken.
    step: usize,
    epoch_rows: Vec<EpochRecord>,
    /// Early stopping: the test split measured whenever validation improves.
    test_at_best: Option<(f64, f64)>,
    recorders: Recorders,
    last_checkpoint: Instant,
    /// Training by steps: (max_steps, eval_every).
    steps: Option<(usize, usize)>,
    /// A text set: the window length the batches are cut to.
    block: Option<usize>,
    /// Steps in the whole run, for the learning-rate schedule.
    total_steps: usize,
}

impl<'a> RunState<'a> {
    /// The device, the data on it, the model, the optimizer and the
    /// recorders; resumed from the last finished epoch when a checkpoint of
    /// this config exists, else with the recorders' rows at initialisation.
    pub fn start(
        config: &'a Config,
        spec: &'a RunSpec,
        splits: &'a Splits,
        base_device: &Device,
        checkpoint: Option<(&'a Path, &'a str)>,
    ) -> (Self, Network) {
        let device = base_device.clone().autodiff();
        let init = config.experiment.seed_for(Source::Init, spec.seed);
        device.seed(init);
        let mut model = Network::new(&network_spec(config, spec, &splits.train), init, &device);
        let optim = optim::build(&config.training);
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let block = text_block(config);
        let ((train_x, train_y), (val_x, val_y), (test_x, test_y)) = match block {
            // A text's batches are cut from the stream on the host at each step;
            // validation reads a fixed set of windows, the test every whole window.
            Some(block) => {
                let windows = config.training.eval_batches() * config.training.batch_size.0;
                (
                    (Tensor::zeros([0, block], &device), Tensor::zeros([0], &device)),
                    windows_on(text::windows(&splits.validation.labels, block, Some(windows)), block, base_device),
                    windows_on(text::windows(&splits.test.labels, block, None), block, base_device),
                )
            }
            None => (
                to_device(&splits.train, &device),
                to_device(&splits.validation, base_device),
                to_device(&splits.test, base_device),
            ),
        };
        let steps = config.training.steps();
        let steps_per_epoch = match steps {
            Some((_, every)) => every,
            None => splits.train.len().div_ceil(config.training.batch_size.0),
        };
        let total_steps = match steps {
            Some((max, _)) => max,
            None => steps_per_epoch * config.training.epochs.0,
        };
        let key = RunKey {
            run_id: spec.id.clone(),
            activation: spec.label.clone(),
            seed: spec.seed,
            lr: spec.lr,
            sweep: spec.sweep.clone(),
        };
        let epochs = config.training.rounds();
        let (recorders, resumed) = {
            let setup = Setup::new(config, spec, &key, &model, &splits.validation, &device, base_device);
            let resumed = checkpoint.and_then(|(dir, hash)| {
                let expected = checkpoints::Expected {
                    config_hash: hash,
                    run_id: &spec.id,
                    epochs,
                    // A text's batches are drawn from the stream, with no order to keep.
                    samples: if block.is_some() { 0 } else { splits.train.len() },
                    steps_per_epoch,
                };
                checkpoints::load(dir, &expected, &model, &optim, |saved| Recorders::restored(&setup, saved))
            });
            match resumed {
                Some(r) => (r.restored, Some((r.model, r.optim, r.state, r.epochs))),
                None => (Recorders::new(&setup), None),
            }
        };
        let mut state = RunState {
            config,
            spec,
            key,
            checkpoint,
            epochs,
            first_epoch: 1,
            device,
            train: &splits.train,
            train_x,
            train_y,
            val_x,
            val_y,
            test_x,
            test_y,
            loss_fn,
            optim,
            order: if block.is_some() { Vec::new() } else { (0..splits.train.len() as i64).collect() },
            shuffle: rng::stream(config.experiment.seed_for(Source::Order, spec.seed), Stream::Shuffle),
            augmentation: rng::stream(config.experiment.seed_for(Source::Augment, spec.seed), Stream::Augment),
            fill: config.data.augment.then(|| black_pixel(config, &splits.train)),
            step: 0,
            epoch_rows: Vec::new(),
            test_at_best: None,
            recorders,
            last_checkpoint: Instant::now(),
            steps,
            block,
            total_steps,
        };
        match resumed {
            Some((resumed_model, optim, saved, epoch_rows)) => {
                model = resumed_model;
                state.optim = optim;
                state.shuffle.set_word_pos(saved.shuffle_word_pos);
                state.augmentation.set_word_pos(saved.augment_word_pos);
                state.order = saved.order;
                state.first_epoch = saved.epoch + 1;
                state.step = saved.step;
                state.test_at_best = saved.test_at_best;
                state.epoch_rows = epoch_rows;
            }
            None => state.recorders.at_start(&model),
        }
        (state, model)
    }

    /// Shuffles the batch order for an epoch: the epoch's batches. Training
    /// by steps: the round's steps, each batch drawn when it is cut.
    pub fn shuffled_batches(&mut self) -> Range<usize> {
        if let Some((max, every)) = self.steps {
            return 0..every.min(max.saturating_sub(self.step));
        }
        self.order.shuffle(&mut self.shuffle);
        0..self.order.len().div_ceil(self.config.training.batch_size.0)
    }

    /// Counts the step about to be taken, in `epoch`.
    pub fn next_step(&mut self, epoch: usize) -> At {
        self.step += 1;
        At { epoch, step: self.step }
    }

    /// The batch phase: the features `[batch, inputs]` (augmented on the
    /// host when configured, one upload per step) and labels `[batch]` of
    /// the `i`-th batch of the order.
    pub fn batch(&mut self, i: usize) -> (Tensor<2>, Tensor<1, Int>) {
        let size = self.config.training.batch_size.0;
        if let Some(block) = self.block {
            // nanoGPT's get_batch: windows at positions drawn uniformly.
            let stream = &self.train.labels;
            let last = stream.len() - block - 1;
            let starts: Vec<usize> = (0..size).map(|_| self.shuffle.random_range(0..=last)).collect();
            let (x, y) = text::window_at(stream, block, &starts);
            let x = Tensor::<2>::from_data(TensorData::new(x, [size, block]), &self.device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(y, [size * block]), &self.device);
            return (x, y);
        }
        let drawn: Vec<i64>;
        let rows = if self.steps.is_some() {
            // By steps: samples drawn with replacement.
            let n = self.order.len();
            drawn = (0..size.min(n)).map(|_| self.shuffle.random_range(0..n) as i64).collect();
            &drawn[..]
        } else {
            &self.order[i * size..((i + 1) * size).min(self.order.len())]
        };
        let index = Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [rows.len()]), &self.device);
        let x = match &self.fill {
            Some(fill) => {
                let features = augment::batch(self.train, rows, fill, &mut self.augmentation);
                Tensor::<2>::from_data(TensorData::new(features, [rows.len(), self.train.n_features]), &self.device)
            }
            None => crate::fused::gather::batch_rows(self.train_x.clone(), index.clone()),
        };
        let y = self.train_y.clone().select(0, index);
        (x, y)
    }

    /// The loss phase: the mean cross-entropy `[1]` (to backpropagate) and
    /// the correct predictions `[1]` of `logits` `[batch, classes]`.
    pub fn loss(&self, logits: Tensor<2>, y: &Tensor<1, Int>) -> (Tensor<1>, Tensor<1>) {
        let loss = self.loss_fn.forward(logits.clone(), y.clone());
        let hits = logits.inner().argmax(1).squeeze_dim::<1>(1).equal(y.clone().inner()).float().sum();
        (loss, hits)
    }

    /// The record phase: the loss, the hits and what the recorders ask for
    /// after backward, read in the step's one device-to-host transfer, and
    /// handed to the recorders; `None` when the loss is no longer finite.
    pub fn record(
        &mut self,
        at: At,
        model: &Network,
        gradients: &Gradients,
        loss: Tensor<1>,
        hits: Tensor<1>,
    ) -> Option<Measured> {
        let mut parts = vec![loss, hits];
        self.recorders.after_backward(at, model, gradients, &mut parts);
        let values = read(Tensor::cat(parts, 0));
        let loss = values[0] as f64;
        if !loss.is_finite() {
            return None;
        }
        self.recorders.read_back(at, loss, &values[2..]);
        Some(Measured { loss, hits: values[1] as f64 })
    }

    /// The optimizer step phase, the gradients clipped first
    /// (`training.grad_clip_norm`); then the recorders' `after_step`.
    pub fn optimizer_step(&mut self, at: At, model: Network, gradients: Gradients) -> Network {
        let grads = gradients.into_params(&model, self.config.training.grad_clip_norm.map(|c| c.0));
        let lr = self.config.training.lr_at(self.spec.lr, at.step, self.total_steps);
        let model = self.optim.step(lr, model, grads);
        self.recorders.after_step(at, &model);
        model
    }

    /// The evaluation phase after `epoch`: validation, the epoch's row, the
    /// recorders' `after_epoch`, and with `training.patience` the test
    /// split whenever validation improved.
    pub fn evaluation(&mut self, epoch: usize, model: &Network, totals: Totals, started: Instant) -> Evaluated {
        let valid = model.valid();
        let (val_loss, val_accuracy) = evaluate(&valid, &self.loss_fn, &self.val_x, &self.val_y);
        let train_loss = totals.loss_sum / totals.seen as f64;
        self.epoch_rows.push(keyed!(
            &self.key,
            EpochRecord {
                epoch,
                train_loss,
                train_accuracy: totals.correct / totals.seen as f64,
                val_loss,
                val_accuracy,
                epoch_seconds: started.elapsed().as_secs_f64(),
            }
        ));
        self.recorders.after_epoch(At { epoch, step: self.step }, model);
        let mut patience_spent = false;
        if let Some(patience) = self.config.training.patience.map(|p| p.0) {
            let best = best_epoch(&self.epoch_rows).map_or(epoch, |b| b.epoch);
            if best == epoch {
                self.test_at_best = Some(evaluate(&valid, &self.loss_fn, &self.test_x, &self.test_y));
            }
            patience_spent = epoch >= best + patience;
        }
        Evaluated { train_loss, val_accuracy, patience_spent }
    }

    /// Saves a checkpoint after `epoch` when one is due
    /// (`logging.checkpoint_seconds`) or the run stops after it (`last`)
    /// before its end. One that cannot be written costs only the ability to resume.
    pub fn checkpoint(&mut self, epoch: usize, last: usize, model: &Network) {
        let due = self.last_checkpoint.elapsed().as_secs_f64() >= self.config.logging.checkpoint_seconds.0;
        let Some((dir, hash)) = self.checkpoint.filter(|_| (due || epoch == last) && epoch < self.epochs) else {
            return;
        };
        self.last_checkpoint = Instant::now();
        let state = checkpoints::State {
            config_hash: hash.to_string(),
            epoch,
            step: self.step,
            shuffle_word_pos: self.shuffle.get_word_pos(),
            augment_word_pos: self.augmentation.get_word_pos(),
            order: self.order.clone(),
            layout: checkpoints::LAYOUT,
            test_at_best: self.test_at_best,
        };
        let keys = &self.spec.sweep_keys;
        let epochs = (Table::Epochs, csv::header::<EpochRecord>(keys) + &csv::body(&self.epoch_rows));
        let tables: Vec<(Table, String)> = [epochs].into_iter().chain(self.recorders.tables(keys)).collect();
        let _ = checkpoints::save(dir, &state, model, &self.optim, &tables);
    }

    /// The test measure and the summary, after the last epoch (`last`), or
    /// the step at which the loss `diverged`; the checkpoint removed unless
    /// successive halving stopped the run before its end.
    pub fn finish(self, model: &Network, diverged: Option<At>, last: usize, started: Instant) -> RunRecords {
        // With patience the test is the best epoch's; a diverged run's is its last model's, as without.
        let (test_loss, test_accuracy) = match self.test_at_best.filter(|_| diverged.is_none()) {
            Some(test) => test,
            None => evaluate(&model.valid(), &self.loss_fn, &self.test_x, &self.test_y),
        };
        let best = best_epoch(&self.epoch_rows);
        let mut summary = keyed!(
            &self.key,
            RunSummary {
                params: self.spec.activation.params_string(),
                init: self.spec.init.to_string(),
                test_accuracy,
                test_loss,
                best_val_accuracy: best.map_or(f64::NAN, |b| b.val_accuracy),
                best_val_epoch: best.map_or(0, |b| b.epoch),
                final_train_loss: self.epoch_rows.last().map_or(f64::NAN, |e| e.train_loss),
                grad_ratio_first_last: None,
                diverged: diverged.is_some(),
                diverged_epoch: diverged.map(|d| d.epoch),
                diverged_step: diverged.map(|d| d.step),
                epochs_completed: self.epoch_rows.len(),
                wall_seconds: 0.0,
            }
        );
        self.recorders.summarise(&mut summary);
        summary.wall_seconds = started.elapsed().as_secs_f64();
        let stopped = last < self.epochs && diverged.is_none();
        if let Some((dir, _)) = self.checkpoint.filter(|_| !stopped) {
            checkpoints::remove(dir);
        }
        RunRecords { epochs: self.epoch_rows, recorded: self.recorders.bodies(), summary }
    }
}

/// Windows `(ids, targets)` of `block` tokens on `device`: `[windows, block]` and `[windows * block]`.
fn windows_on((x, y): (Vec<f32>, Vec<i64>), block: usize, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let n = y.len();
    (
        Tensor::<2>::from_data(TensorData::new(x, [n / block, block]), device),
        Tensor::<1, Int>::from_data(TensorData::new(y, [n]), device),
    )
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
