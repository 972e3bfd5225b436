//! `[report]`: the baseline every activation is compared with, and what
//! counts as converged.

use serde::{Deserialize, Serialize};

use crate::config::values::Fraction;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Report {
    /// The activation (its label, e.g. "relu" or "leaky_relu(slope=0.1)")
    /// every other one is compared with; absent from the experiment = no comparison.
    pub baseline: String,
    /// Validation accuracy that counts as "converged" for epochs_to_target.
    pub target_accuracy: Fraction,
}

impl Default for Report {
    fn default() -> Self {
        Self { baseline: "relu".into(), target_accuracy: Fraction(0.9) }
    }
}
