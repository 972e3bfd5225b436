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
}

impl Training {
    pub fn flush_denormals(&self) -> bool {
        self.flush_denormals.unwrap_or(true)
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
