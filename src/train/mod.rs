//! One run: the custom training loop as named phases, each step batch,
//! forward, loss, backward, record (the step's one device-to-host read) and
//! optimizer step, each epoch evaluation and checkpoint (state.rs). The
//! records besides the epochs and the summary are a list of recorders
//! (record/) that the loop calls at its hooks without naming them.

pub mod logging;
pub mod metrics;
mod optim;
pub mod probe;
pub mod record;
pub mod settings;
mod state;

use std::path::Path;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLoss;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::Config;
use crate::data::{Dataset, Splits};
use crate::grid::RunSpec;
use crate::model::{Inputs, Mode, Network, NetworkSpec};
use crate::results::records::{EpochRecord, RunRecords};
use state::{RunState, Totals, backward, forward};

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
    let (mut run, mut model) = RunState::start(config, spec, splits, base_device, checkpoint);
    let last = stop_after.map_or(run.epochs, |r| r.min(run.epochs));
    let mut diverged = None;
    'epochs: for epoch in run.first_epoch..=last {
        let epoch_started = Instant::now();
        let mut totals = Totals::default();
        for batch in run.shuffled_batches() {
            if crate::interrupt::requested() {
                return None;
            }
            let at = run.next_step(epoch);
            let (x, y) = run.batch(batch); // [batch, inputs], [batch]
            // Dropout's masks: part of the order's randomness (`experiment.vary`).
            let dropout = config.experiment.seed_for(crate::config::experiment::Source::Order, spec.seed);
            let logits = forward(&model, x, dropout, at); // [batch, classes]
            let (loss, hits) = run.loss(logits, &y); // [1], [1]
            let gradients = backward(&model, &loss);
            let Some(measured) = run.record(at, &model, &gradients, loss.inner(), hits) else {
                diverged = Some(at);
                break 'epochs;
            };
            totals.add(measured, y.dims()[0]);
            model = run.optimizer_step(at, model, gradients);
        }
        let evaluated = run.evaluation(epoch, &model, totals, epoch_started);
        observer.epoch_done(epoch, run.epochs, evaluated.train_loss, evaluated.val_accuracy);
        if evaluated.patience_spent {
            break;
        }
        run.checkpoint(epoch, last, &model);
    }
    Some(run.finish(&model, diverged, last, started))
}

/// The epoch of the best validation accuracy, the first of equals.
fn best_epoch(epochs: &[EpochRecord]) -> Option<&EpochRecord> {
    epochs.iter().fold(None::<&EpochRecord>, |best, e| match best {
        Some(b) if b.val_accuracy >= e.val_accuracy => Some(b),
        _ => Some(e),
    })
}

/// The window length of a text set's batches (the model kind's, e.g. the
/// `gpt`'s block size), `None` for other data.
pub fn text_block(config: &Config) -> Option<usize> {
    let window = config.model.kind.info().window?;
    config.data.dataset.is_text().then(|| window(&config.model))
}

/// The network a config and run describe.
pub fn network_spec(config: &Config, spec: &RunSpec, train: &Dataset) -> NetworkSpec {
    let mut model = config.model.clone();
    model.ffn = spec.ffn.or(model.ffn);
    NetworkSpec {
        model,
        inputs: Inputs { features: train.n_features, image: train.image, classes: train.n_classes },
        activation: spec.activation,
        init: spec.init,
    }
}

/// Mean loss and accuracy over a whole split in evaluation mode, `NaN` for
/// an empty one. A text's `x` holds windows `[windows, block]` and `y` the
/// next token at each of their positions, `[windows * block]`: the mean is
/// per token.
pub fn evaluate(model: &Network, loss_fn: &CrossEntropyLoss, x: &Tensor<2>, y: &Tensor<1, Int>) -> (f64, f64) {
    let n = y.dims()[0];
    let rows = x.dims()[0];
    if n == 0 || rows == 0 {
        return (f64::NAN, f64::NAN);
    }
    let per_row = n / rows;
    let chunk = (EVAL_CHUNK / per_row).max(1);
    let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let xs = x.clone().slice(start..end);
        let ys = y.clone().slice(start * per_row..end * per_row);
        let logits = model.forward(xs, Mode::Eval);
        let loss = loss_fn.forward(logits.clone(), ys.clone()).mul_scalar(((end - start) * per_row) as f64);
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

/// The values of a float tensor on the host (one device-to-host transfer).
fn read(t: Tensor<1>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float tensors read as f32")
}
