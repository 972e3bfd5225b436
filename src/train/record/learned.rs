//! learned.csv: the learned parameters of the activations (a formula's
//! `learn`, PReLU's slope) at initialisation and after every epoch, one row
//! per value; header only for an activation that learns none.

use super::{At, Kind, Recorder, Setup};
use crate::export::csv::{self, Schema};
use crate::model::Network;
use crate::results::checkpoint::SavedTable;
use crate::results::dir::Table;
use crate::results::records::{RunKey, keyed, run_row};

run_row! {
    /// One row of learned.csv: a learned parameter of a formula activation at
    /// initialisation (epoch 0) and after every epoch.
    pub struct LearnedRecord {
        pub epoch: usize,
        /// As in gradients.csv: `activations.<layer>.<name>`, `conv_activations.<block>.<name>`,
        /// `stages.<s>.blocks.<b>.act1.<name>` (the activation's path in the model).
        pub parameter: String,
        pub value: f64,
    }
}

pub const KIND: Kind = Kind { table: Table::Learned, schema: Schema::of::<LearnedRecord>(), build };

struct LearnedRecorder {
    key: RunKey,
    /// The learned parameters' names in the config, in the activation's order.
    names: Vec<&'static str>,
    rows: Vec<LearnedRecord>,
}

fn build(setup: &Setup) -> Box<dyn Recorder> {
    Box::new(LearnedRecorder { key: setup.key.clone(), names: setup.spec.activation.learned_names(), rows: Vec::new() })
}

impl Recorder for LearnedRecorder {
    fn restore(&mut self, saved: &SavedTable) -> anyhow::Result<()> {
        self.rows = saved.rows()?;
        Ok(())
    }

    fn at_start(&mut self, model: &Network) {
        self.after_epoch(At { epoch: 0, step: 0 }, model);
    }

    fn after_epoch(&mut self, at: At, model: &Network) {
        for (path, activation) in model.activations() {
            for (param, name) in activation.learned.iter().zip(&self.names) {
                let values: Vec<f32> = param.val().into_data().iter::<f32>().collect();
                // One row per value: `activations.0.beta`, or per unit `activations.0.beta.3`.
                for (u, value) in values.iter().enumerate() {
                    let parameter =
                        if values.len() == 1 { format!("{path}.{name}") } else { format!("{path}.{name}.{u}") };
                    let value = *value as f64;
                    self.rows.push(keyed!(&self.key, LearnedRecord { epoch: at.epoch, parameter, value }));
                }
            }
        }
    }

    fn body(&self) -> String {
        csv::body(&self.rows)
    }
}
