//! `[training]`: epochs, batches, the optimizer and its settings, clipping,
//! early stopping.

use serde::{Deserialize, Serialize};

use crate::config::values::{Count, Fraction, LearningRates, NonNegative};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Training {
    pub epochs: Count,
    pub batch_size: Count,
    pub optimizer: OptimizerKind,
    /// A number, or a list to sweep (each value is a grid point).
    pub lr: LearningRates,
    /// `sgd_momentum` only.
    pub momentum: NonNegative,
    /// `sgd_momentum` only: Nesterov's variant.
    pub nesterov: bool,
    /// L2 penalty (sgd, sgd_momentum, adam) or decoupled decay (adamw).
    pub weight_decay: NonNegative,
    /// Adam and AdamW moment decay rates; PyTorch's defaults.
    pub beta1: Fraction,
    pub beta2: Fraction,
    /// Adam and AdamW denominator term; PyTorch's default (Burn's own is 1e-5).
    pub epsilon: NonNegative,
    /// Rescales all gradients together when their global L2 norm exceeds
    /// this (torch.nn.utils.clip_grad_norm_); absent = no clipping.
    pub grad_clip_norm: Option<NonNegative>,
    /// Flush subnormal floats to zero on the training threads (src/denormals.rs);
    /// absent = true.
    pub flush_denormals: Option<bool>,
    /// Early stopping: stop once this many epochs pass without a better
    /// validation accuracy, and measure the test split with the model of the
    /// best epoch (the UvA tutorial's recipe); absent = train every epoch.
    pub patience: Option<Count>,
    /// Train by steps instead of epochs (as nanoGPT's `max_iters`): this
    /// many optimizer steps, each on a batch drawn at random (windows of a
    /// text at random positions, samples of other sets with replacement),
    /// evaluated every `eval_every` steps. Each evaluation is one row of
    /// epochs.csv, whose `epoch` then counts evaluations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<Count>,
    /// With `max_steps`: steps between evaluations (default: a tenth of `max_steps`, rounded up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_every: Option<Count>,
    /// Text sets: the validation loss is measured on this many batches of
    /// windows, spread evenly over the validation text and the same at
    /// every evaluation (default 20; nanoGPT's `eval_iters` draws 200 at random).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_batches: Option<Count>,
    /// The learning rate over the steps: `constant` (the default) or
    /// `cosine` (nanoGPT's: linear warm-up over `warmup_steps`, then cosine
    /// decay to `min_lr_ratio` x the rate at the last step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Steps of linear warm-up (default 0): step i (0-based) of the first
    /// `warmup_steps` uses (i + 1) / (warmup_steps + 1) of the rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<usize>,
    /// `cosine`: the last step's rate as a share of `lr` (default 0.1, nanoGPT's `min_lr = lr / 10`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr_ratio: Option<Fraction>,
}

/// How the learning rate changes over the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Constant,
    Cosine,
}

impl Training {
    pub fn flush_denormals(&self) -> bool {
        self.flush_denormals.unwrap_or(true)
    }

    /// Training by steps: (max_steps, eval_every).
    pub fn steps(&self) -> Option<(usize, usize)> {
        let max = self.max_steps?.0;
        Some((max, self.eval_every.map_or(max.div_ceil(10), |e| e.0.min(max))))
    }

    /// Evaluations: the epochs, or with `max_steps` the rounds of `eval_every` steps.
    pub fn rounds(&self) -> usize {
        match self.steps() {
            Some((max, every)) => max.div_ceil(every),
            None => self.epochs.0,
        }
    }

    /// Validation batches of a text set.
    pub fn eval_batches(&self) -> usize {
        self.eval_batches.map_or(20, |b| b.0)
    }

    /// The rate of 1-based step `step` of `total`, `lr` the configured one.
    pub fn lr_at(&self, lr: f64, step: usize, total: usize) -> f64 {
        let warmup = self.warmup_steps.unwrap_or(0);
        let it = step.saturating_sub(1);
        if it < warmup {
            return lr * (it + 1) as f64 / (warmup + 1) as f64;
        }
        match self.schedule.unwrap_or_default() {
            Schedule::Constant => lr,
            Schedule::Cosine => {
                let min = lr * self.min_lr_ratio.map_or(0.1, |r| r.0);
                let span = total.saturating_sub(1).saturating_sub(warmup).max(1);
                let ratio = ((it - warmup) as f64 / span as f64).min(1.0);
                min + 0.5 * (1.0 + (std::f64::consts::PI * ratio).cos()) * (lr - min)
            }
        }
    }

    /// The checks of `[training]`'s step keys.
    pub fn validate(&self) -> Result<(), crate::config::error::KeyError> {
        use crate::config::error::KeyError;
        if self.max_steps.is_some() && self.epochs != Training::default().epochs {
            return KeyError::fail("training.epochs", "and training.max_steps both say how long to train: keep one");
        }
        if self.max_steps.is_some() && self.patience.is_some() {
            return KeyError::fail("training.patience", "counts epochs; with training.max_steps remove it");
        }
        for (key, set) in [("eval_every", self.eval_every.is_some()), ("eval_batches", self.eval_batches.is_some())] {
            if set && self.max_steps.is_none() {
                return KeyError::fail(
                    format!("training.{key}"),
                    "applies to training by steps: set training.max_steps, or remove it",
                );
            }
        }
        if self.schedule == Some(Schedule::Cosine) && self.min_lr_ratio.is_some_and(|r| r.0 > 1.0) {
            return KeyError::fail("training.min_lr_ratio", "must be at most 1");
        }
        if self.min_lr_ratio.is_some() && self.schedule != Some(Schedule::Cosine) {
            return KeyError::fail("training.min_lr_ratio", "applies to schedule = \"cosine\" only: remove it");
        }
        Ok(())
    }
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: Count(10),
            batch_size: Count(32),
            optimizer: OptimizerKind::Sgd,
            lr: LearningRates(vec![0.01]),
            momentum: NonNegative(0.9),
            nesterov: false,
            weight_decay: NonNegative(0.0),
            beta1: Fraction(0.9),
            beta2: Fraction(0.999),
            epsilon: NonNegative(1e-8),
            grad_clip_norm: None,
            flush_denormals: None,
            patience: None,
            max_steps: None,
            eval_every: None,
            eval_batches: None,
            schedule: None,
            warmup_steps: None,
            min_lr_ratio: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Sgd,
    SgdMomentum,
    Adam,
    Adamw,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::SgdMomentum => "sgd_momentum",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        }
    }
}
