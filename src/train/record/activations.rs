//! activations.csv: each activation site's statistics on the probe
//! batch (train::probe) at initialisation and after every epoch, with
//! `logging.activation_stats`. The row type is shared with
//! activation_steps.csv (activation_steps.rs).

use super::{At, Kind, Recorder, Setup};
use crate::export::csv::{self, Schema};
use crate::model::Network;
use crate::results::checkpoint::SavedTable;
use crate::results::dir::Table;
use crate::results::records::{RunKey, keyed, run_row};
use crate::train::probe::Probe;

run_row! {
    /// One row of activations.csv: one hidden layer on the probe batch after
    /// one epoch (epoch 0 = at initialisation); and of activation_steps.csv,
    /// the same statistics every `logging.activation_every_steps` steps, with
    /// `epoch` the epoch the step belongs to.
    pub struct ActivationRecord {
        pub epoch: usize,
        /// Optimizer steps taken before the statistics were read (0 at
        /// initialisation); empty in a file of an earlier version.
        #[serde(default)]
        pub step: Option<usize>,
        /// 0 = the hidden layer nearest the input.
        pub layer: usize,
        pub units: usize,
        pub pre_mean: f64,
        pub pre_std: f64,
        pub post_mean: f64,
        pub post_std: f64,
        pub dead_fraction: f64,
        pub saturated_fraction: f64,
        /// The activation site (`layers.0`, `stages.1.blocks.2.act1`); empty
        /// in a file of an earlier version.
        #[serde(default)]
        pub site: String,
        /// The 15th, 50th and 85th percentiles of the inputs of the site's
        /// first unit (train::probe::PERCENTILES); empty in a file of an earlier version.
        #[serde(default)]
        pub pre_p15: Option<f64>,
        #[serde(default)]
        pub pre_p50: Option<f64>,
        #[serde(default)]
        pub pre_p85: Option<f64>,
        /// Outliers of the site's outputs, pooled over units and probe
        /// values (what low-precision training cares about): the largest
        /// |output|, the excess kurtosis (scipy's, 0 for a normal), and the
        /// share beyond 6 standard deviations from the mean. Empty in a file
        /// of an earlier version.
        #[serde(default)]
        pub post_max_abs: Option<f64>,
        #[serde(default)]
        pub post_kurtosis: Option<f64>,
        #[serde(default)]
        pub post_beyond_6std: Option<f64>,
    }
    added: ["step", "site", "pre_p15", "pre_p50", "pre_p85", "post_max_abs", "post_kurtosis", "post_beyond_6std"]
}

pub const KIND: Kind = Kind { table: Table::Activations, schema: Schema::of::<ActivationRecord>(), build };

struct PerEpoch {
    key: RunKey,
    /// None when not recorded (or without validation samples).
    probe: Option<Probe>,
    rows: Vec<ActivationRecord>,
}

fn build(setup: &Setup) -> Box<dyn Recorder> {
    let probe = if setup.config.logging.activation_stats { setup.probe() } else { None };
    Box::new(PerEpoch { key: setup.key.clone(), probe, rows: Vec::new() })
}

impl Recorder for PerEpoch {
    fn restore(&mut self, saved: &SavedTable) -> anyhow::Result<()> {
        self.rows = saved.rows()?;
        Ok(())
    }

    fn at_start(&mut self, model: &Network) {
        self.after_epoch(At { epoch: 0, step: 0 }, model);
    }

    fn after_epoch(&mut self, at: At, model: &Network) {
        if let Some(probe) = &self.probe {
            push_layers(&self.key, probe, model, at, &mut self.rows);
        }
    }

    fn body(&self) -> String {
        csv::body(&self.rows)
    }
}

/// One row per activation site of `model`, measured on `probe` at `at`.
pub fn push_layers(key: &RunKey, probe: &Probe, model: &Network, at: At, rows: &mut Vec<ActivationRecord>) {
    let sites = model.site_names();
    for ((layer, s), site) in probe.layer_stats(model).into_iter().enumerate().zip(sites) {
        let [p15, p50, p85] = s.pre_percentiles;
        rows.push(keyed!(
            key,
            ActivationRecord {
                epoch: at.epoch,
                step: Some(at.step),
                layer,
                units: s.units,
                pre_mean: s.pre_mean,
                pre_std: s.pre_std,
                post_mean: s.post_mean,
                post_std: s.post_std,
                dead_fraction: s.dead_fraction,
                saturated_fraction: s.saturated_fraction,
                site,
                pre_p15: Some(p15),
                pre_p50: Some(p50),
                pre_p85: Some(p85),
                post_max_abs: Some(s.post_max_abs),
                post_kurtosis: Some(s.post_kurtosis),
                post_beyond_6std: Some(s.post_beyond_6std),
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::records::Columns;

    #[test]
    fn columns_are_the_key_then_the_fields_and_step_was_added() {
        assert_eq!(
            ActivationRecord::COLUMNS.join(","),
            "run_id,activation,seed,lr,epoch,step,layer,units,pre_mean,pre_std,post_mean,post_std,dead_fraction,saturated_fraction,site,pre_p15,pre_p50,pre_p85,post_max_abs,post_kurtosis,post_beyond_6std"
        );
        assert_eq!(
            ActivationRecord::ADDED,
            ["step", "site", "pre_p15", "pre_p50", "pre_p85", "post_max_abs", "post_kurtosis", "post_beyond_6std"]
        );
    }
}
