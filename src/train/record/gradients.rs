//! gradients.csv: every parameter's gradient L2 norm, largest |gradient|
//! and weight L2 norm every `logging.every_steps` steps, read with the
//! step's loss in its one device-to-host transfer; and the summary's
//! `grad_ratio_first_last`. The reductions are the ones clipping uses
//! (metrics::Gradients computes them once).

use burn::tensor::Tensor;

use super::{At, Kind, Recorder, Setup};
use crate::export::csv::{self, Schema};
use crate::grid::RunSpec;
use crate::model::Network;
use crate::results::checkpoint::SavedTable;
use crate::results::dir::Table;
use crate::results::records::{RunKey, RunSummary, keyed, run_row};
use crate::train::metrics::{self, Gradients};

run_row! {
    /// One row of gradients.csv: one parameter at one recorded step.
    pub struct GradientRecord {
        pub epoch: usize,
        pub step: usize,
        pub loss: f64,
        pub parameter: String,
        pub grad_l2: f64,
        pub grad_max_abs: f64,
        pub weight_l2: f64,
    }
}

pub const KIND: Kind = Kind { table: Table::Gradients, schema: Schema::of::<GradientRecord>(), build };

struct GradientRecorder {
    key: RunKey,
    /// Record every this many steps (0: never).
    every: usize,
    /// The parameters' names, in the order of the reductions.
    names: Vec<String>,
    /// The weights `grad_ratio_first_last` compares (the model kind's).
    ratio: [&'static str; 2],
    rows: Vec<GradientRecord>,
}

fn build(setup: &Setup) -> Box<dyn Recorder> {
    Box::new(GradientRecorder {
        key: setup.key.clone(),
        every: setup.config.logging.every_steps,
        names: learned_names(metrics::parameter_names(setup.model), setup.spec),
        ratio: (setup.config.model.kind.info().ratio)(&setup.config.model),
        rows: Vec::new(),
    })
}

impl Recorder for GradientRecorder {
    fn restore(&mut self, saved: &SavedTable) -> anyhow::Result<()> {
        self.rows = saved.rows()?;
        Ok(())
    }

    fn after_backward(&mut self, at: At, model: &Network, gradients: &Gradients, read: &mut Vec<Tensor<1>>) {
        if self.every > 0 && at.step.is_multiple_of(self.every) {
            read.extend(gradients.reductions(model).iter().cloned());
        }
    }

    fn read_back(&mut self, at: At, loss: f64, values: &[f32]) {
        for (name, stats) in self.names.iter().zip(metrics::unpack(values)) {
            self.rows.push(keyed!(
                &self.key,
                GradientRecord {
                    epoch: at.epoch,
                    step: at.step,
                    loss,
                    parameter: name.clone(),
                    grad_l2: stats.grad_l2,
                    grad_max_abs: stats.grad_max_abs,
                    weight_l2: stats.weight_l2,
                }
            ));
        }
    }

    fn summarise(&self, summary: &mut RunSummary) {
        summary.grad_ratio_first_last = first_to_last_ratio(self.ratio, &self.rows);
    }

    fn body(&self) -> String {
        csv::body(&self.rows)
    }
}

/// Parameter paths with a formula's learned parameters named as in the
/// config: `activations.0.learned.1` -> `activations.0.beta`,
/// `stages.0.blocks.1.act2.learned.0` -> `stages.0.blocks.1.act2.slope`.
fn learned_names(names: Vec<String>, spec: &RunSpec) -> Vec<String> {
    let learned = spec.activation.learned_names();
    names
        .into_iter()
        .map(|n| {
            let parts: Vec<&str> = n.split('.').collect();
            match parts.as_slice() {
                [site @ .., "learned", j] if !site.is_empty() => {
                    match j.parse::<usize>().ok().and_then(|j| learned.get(j)) {
                        Some(name) => format!("{}.{name}", site.join(".")),
                        None => n,
                    }
                }
                _ => n,
            }
        })
        .collect()
}

/// Mean over recorded steps of the first weight's gradient norm divided by
/// the last's (`[first, last]`, the model kind's: `layers.0.weight` or
/// `convs.0.weight` or `conv1.weight`, and `output.weight`).
fn first_to_last_ratio([first, last]: [&str; 2], records: &[GradientRecord]) -> Option<f64> {
    fn norms<'a>(records: &'a [GradientRecord], name: &'a str) -> impl Iterator<Item = f64> + 'a {
        records.iter().filter(move |r| r.parameter == name).map(|r| r.grad_l2)
    }
    let ratios: Vec<f64> = norms(records, first)
        .zip(norms(records, last))
        .filter(|(_, last)| *last > 0.0)
        .map(|(first, last)| first / last)
        .collect();
    (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::records::Columns;

    #[test]
    fn columns_are_the_key_then_the_fields() {
        assert_eq!(
            GradientRecord::COLUMNS.join(","),
            "run_id,activation,seed,lr,epoch,step,loss,parameter,grad_l2,grad_max_abs,weight_l2"
        );
    }
}
