//! Builds the optimizer from the `[training]` section, with PyTorch's
//! defaults where Burn's differ (SGD dampening 0, not 0.1; Adam epsilon 1e-8,
//! not 1e-5), so a config means what it would mean in PyTorch. SGD and Adam
//! are the fused ones (src/fused/optim.rs: Burn's step to the bit, Burn's
//! records); AdamW is Burn's.

use burn::optim::{AdamWConfig, ModuleOptimizer};

use super::settings::{OptimizerKind, Training};
use crate::fused::optim::{self as fused, Adam, Sgd, SgdMomentum};

pub fn build(t: &Training) -> ModuleOptimizer {
    let decay = (t.weight_decay.0 > 0.0).then_some(t.weight_decay.0 as f32);
    match t.optimizer {
        OptimizerKind::Sgd => fused::sgd(Sgd { weight_decay: decay, momentum: None }),
        OptimizerKind::SgdMomentum => fused::sgd(Sgd {
            weight_decay: decay,
            momentum: Some(SgdMomentum { momentum: t.momentum.0 as f32, dampening: 0.0, nesterov: t.nesterov }),
        }),
        OptimizerKind::Adam => fused::adam(Adam {
            beta_1: t.beta1.0 as f32,
            beta_2: t.beta2.0 as f32,
            epsilon: t.epsilon.0 as f32,
            weight_decay: decay.unwrap_or(0.0),
        }),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(t.beta1.0 as f32)
            .with_beta_2(t.beta2.0 as f32)
            .with_epsilon(t.epsilon.0 as f32)
            .with_weight_decay(t.weight_decay.0 as f32)
            .init(),
    }
}
