//! Builds Burn's optimizer from the `[training]` section, with PyTorch's
//! defaults where Burn's differ (SGD dampening 0, not 0.1; Adam epsilon 1e-8,
//! not 1e-5), so a config means what it would mean in PyTorch.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};

use crate::config::{OptimizerKind, Training};

pub fn build(t: &Training) -> ModuleOptimizer {
    let decay = (t.weight_decay.0 > 0.0).then(|| WeightDecayConfig::new(t.weight_decay.0 as f32));
    match t.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().with_weight_decay(decay).init(),
        OptimizerKind::SgdMomentum => SgdConfig::new()
            .with_weight_decay(decay)
            .with_momentum(Some(
                MomentumConfig::new().with_momentum(t.momentum.0).with_dampening(0.0).with_nesterov(t.nesterov),
            ))
            .init(),
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(t.beta1.0 as f32)
            .with_beta_2(t.beta2.0 as f32)
            .with_epsilon(t.epsilon.0 as f32)
            .with_weight_decay(decay)
            .init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(t.beta1.0 as f32)
            .with_beta_2(t.beta2.0 as f32)
            .with_epsilon(t.epsilon.0 as f32)
            .with_weight_decay(t.weight_decay.0 as f32)
            .init(),
    }
}
