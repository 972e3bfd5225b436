//! `[logging]`: what a run records besides its epochs, and how often; and
//! how often a run in progress is checkpointed.

use serde::{Deserialize, Serialize};

use crate::config::values::{Count, NonNegative};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// Record the per-step metrics (loss, gradient and weight norms) every
    /// this many optimizer steps; 0 records none.
    pub every_steps: usize,
    /// Record activation statistics (activations.csv) at initialisation and after every epoch.
    pub activation_stats: bool,
    /// Also record them every this many optimizer steps, and at
    /// initialisation, in activation_steps.csv (Glorot & Bengio's figures
    /// follow training this closely); 0 records none.
    pub activation_every_steps: usize,
    /// Validation samples in the fixed probe batch for those statistics.
    pub probe_samples: Count,
    /// Checkpoint a run in progress after an epoch once this many seconds
    /// have passed since the last checkpoint (0 = after every epoch).
    pub checkpoint_seconds: NonNegative,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            every_steps: 1,
            activation_stats: true,
            activation_every_steps: 0,
            probe_samples: Count(256),
            checkpoint_seconds: NonNegative(30.0),
        }
    }
}
