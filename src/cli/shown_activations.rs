//! The activations that `activations` and `plot-activations` show.

use std::path::Path;

use super::config_path::find_config;
use crate::activation::{ActivationKind, catalog};
use crate::config::Config;

/// The activations `activations` and `plot-activations` show: the
/// `--formula`s and the `--config`'s entries, else the whole catalog at
/// default parameters.
pub(super) fn shown_kinds(formulas: &[String], config: Option<&Path>) -> anyhow::Result<Vec<ActivationKind>> {
    let mut kinds = Vec::new();
    for formula in formulas {
        let kind = ActivationKind::from_formula(None, formula, &[])
            .map_err(|e| anyhow::anyhow!("--formula `{formula}`: {}", e.trim_start_matches("`formula` ")))?;
        kinds.push(kind);
    }
    if let Some(path) = config {
        kinds.extend(Config::load(&find_config(path)?)?.activations.iter().map(|a| a.kind));
    }
    if kinds.is_empty() {
        kinds = catalog::CATALOG.iter().map(ActivationKind::default_for).collect();
    }
    Ok(kinds)
}
