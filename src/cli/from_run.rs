//! `--from-run RUN_DIR` of `activations` and `plot-activations`: a finished
//! run's activation at its starting values, then at the values it learned
//! by its last epoch, one per activation site (the mean over units where
//! each unit learns its own), read from its manifest and learned.csv.

use std::path::Path;

use anyhow::{Context, anyhow};

use crate::activation::ActivationKind;
use crate::config::Config;
use crate::export::csv::read_optional_rows;
use crate::report::learned_sites::{self, values_text};
use crate::results::dir::{MANIFEST_FILE, RunDir, Table};
use crate::results::manifest;
use crate::train::record::learned::LearnedRecord;

/// The run's shapes with their labels: `swish_beta start (beta=1)`, then
/// `swish_beta layer 0 (beta=1.371)` per site; its activation alone when it
/// learns nothing.
pub(super) fn shapes(dir: &Path) -> anyhow::Result<Vec<(String, ActivationKind)>> {
    let run = RunDir::new(dir);
    let not_a_run = || {
        format!(
            "--from-run '{}' is not a finished run's folder (no readable {MANIFEST_FILE}): give one such as results/NAME/runs/RUN_ID",
            dir.display()
        )
    };
    let manifest = manifest::read(&run.manifest()).with_context(not_a_run)?;
    let config = Config::parse(&manifest.run_config, &run.manifest(), &manifest.run_id)?;
    let kind = config.activations.first().map(|a| a.kind).with_context(not_a_run)?;
    let base = kind.display_name();
    let names = kind.learned_names();
    let rows: Vec<LearnedRecord> = read_optional_rows(&run.table(Table::Learned))?;
    let rows: Vec<&LearnedRecord> = rows.iter().collect();
    let sites = learned_sites::sites(&rows, &names);
    if names.is_empty() || sites.is_empty() {
        return Ok(vec![(format!("{base} ({} learned no parameter)", manifest.run_id), kind)]);
    }
    let start = kind.learned_values();
    let mut shown = vec![(format!("{base} start ({})", values_text(&names, &start)), kind)];
    for site in &sites {
        let at = learned_sites::at(&kind, &names, &site.end).map_err(|e| {
            anyhow!("--from-run '{}': {} at the values learned by {}: {e}", dir.display(), site.name(), manifest.run_id)
        })?;
        let units = if site.units.is_empty() { String::new() } else { format!(", mean of {} units", site.units.len()) };
        let label = format!("{base} {} ({}{units})", site.name(), values_text(&names, &site.end));
        shown.push((label, at));
    }
    Ok(shown)
}
