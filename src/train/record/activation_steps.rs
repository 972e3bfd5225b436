//! activation_steps.csv: the statistics of activations.csv (its row type)
//! every `logging.activation_every_steps` optimizer steps, and at
//! initialisation, to see how they move inside the first epochs.

use super::activations::{ActivationRecord, push_layers};
use super::{At, Kind, Recorder, Setup};
use crate::export::csv::{self, Schema};
use crate::model::Network;
use crate::results::checkpoint::SavedTable;
use crate::results::dir::Table;
use crate::results::records::RunKey;
use crate::train::probe::Probe;

pub const KIND: Kind = Kind { table: Table::ActivationSteps, schema: Schema::of::<ActivationRecord>(), build };

struct EverySteps {
    key: RunKey,
    /// Record every this many steps (0: never).
    every: usize,
    /// None when not recorded (or without validation samples).
    probe: Option<Probe>,
    rows: Vec<ActivationRecord>,
}

fn build(setup: &Setup) -> Box<dyn Recorder> {
    let every = setup.config.logging.activation_every_steps;
    let probe = if every > 0 { setup.probe() } else { None };
    Box::new(EverySteps { key: setup.key.clone(), every, probe, rows: Vec::new() })
}

impl Recorder for EverySteps {
    fn restore(&mut self, saved: &SavedTable) -> anyhow::Result<()> {
        self.rows = saved.rows()?;
        Ok(())
    }

    fn at_start(&mut self, model: &Network) {
        if let Some(probe) = &self.probe {
            push_layers(&self.key, probe, model, At { epoch: 0, step: 0 }, &mut self.rows);
        }
    }

    fn after_step(&mut self, at: At, model: &Network) {
        if let Some(probe) = self.probe.as_ref().filter(|_| at.step.is_multiple_of(self.every)) {
            push_layers(&self.key, probe, model, at, &mut self.rows);
        }
    }

    fn body(&self) -> String {
        csv::body(&self.rows)
    }
}
