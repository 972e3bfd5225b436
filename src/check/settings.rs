//! `[check]`: the tolerances of `actbench check` (read from the baseline's config).

use serde::{Deserialize, Serialize};

use crate::config::values::{Fraction, NonNegative};

/// Tolerances of `actbench check` (read from the baseline's config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// A drop of mean test accuracy smaller than this never counts.
    pub min_drop: Fraction,
    /// ...nor one within this many standard errors of the baseline's mean.
    pub standard_errors: NonNegative,
    /// Baseline orderings with a Welch p below this must hold in the current results.
    pub ranking_p: Fraction,
}

impl Default for Check {
    fn default() -> Self {
        Self { min_drop: Fraction(0.02), standard_errors: NonNegative(3.0), ranking_p: Fraction(0.01) }
    }
}
