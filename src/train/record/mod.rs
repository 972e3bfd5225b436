//! The records a run keeps besides its epochs and its summary, as a list of
//! recorders ([`KINDS`]). Each is one file here, with its row type, its
//! table and the hooks of the training loop it uses (at initialisation,
//! after backward with the gradients, after the optimizer step, after each
//! epoch); the loop calls every recorder at every hook and names none.
//!
//! Adding a record: a file here with its row type ([`run_row!`]) and its
//! recorder, its entry in [`KINDS`], and its file name in the list of a
//! results folder's files (results::dir's `Table`, with whether a run of an
//! earlier version may lack it).
//!
//! [`run_row!`]: crate::results::records

pub mod activation_steps;
pub mod activations;
pub mod gradients;
pub mod learned;
pub mod samples;

use std::cell::OnceCell;

use burn::tensor::{Device, Tensor};

use crate::config::Config;
use crate::data::Dataset;
use crate::export::csv::Schema;
use crate::grid::RunSpec;
use crate::model::Network;
use crate::results::checkpoint::{Saved, SavedTable};
use crate::results::dir::Table;
use crate::results::records::{RunKey, RunSummary};
use crate::train::metrics::Gradients;
use crate::train::probe::Probe;

/// Every recorder, in the order its hooks run.
pub const KINDS: [Kind; 5] = [gradients::KIND, activations::KIND, activation_steps::KIND, learned::KIND, samples::KIND];

/// A recorder: the table it writes, its row type, and how a run builds it.
#[derive(Clone, Copy)]
pub struct Kind {
    pub table: Table,
    pub schema: Schema,
    pub build: fn(&Setup) -> Box<dyn Recorder>,
}

/// The recorder of `table`.
pub fn kind(table: Table) -> Kind {
    KINDS
        .into_iter()
        .find(|k| k.table == table)
        .unwrap_or_else(|| panic!("{} has no recorder in train::record::KINDS", table.file_name()))
}

/// Where the training loop stands: `step` optimizer steps taken so far, the
/// last of them in `epoch` (0, 0 at initialisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub epoch: usize,
    pub step: usize,
}

/// One record of a run. Every hook but [`Recorder::body`] and
/// [`Recorder::restore`] does nothing unless the recorder says otherwise.
pub trait Recorder {
    /// Its rows so far from the checkpoint of a resumed run.
    fn restore(&mut self, saved: &SavedTable) -> anyhow::Result<()>;

    /// Before the first step of a run that starts from scratch (epoch 0, step 0).
    fn at_start(&mut self, _model: &Network) {}

    /// After backward, before clipping: device tensors to read back in the
    /// step's one transfer, pushed onto `read`; their values come to
    /// [`Recorder::read_back`].
    fn after_backward(&mut self, _at: At, _model: &Network, _gradients: &Gradients, _read: &mut Vec<Tensor<1>>) {}

    /// The values of what `after_backward` pushed, with the step's loss
    /// (finite: a step whose loss is not ends the run unrecorded).
    fn read_back(&mut self, _at: At, _loss: f64, _values: &[f32]) {}

    /// After the optimizer step.
    fn after_step(&mut self, _at: At, _model: &Network) {}

    /// After an epoch's validation.
    fn after_epoch(&mut self, _at: At, _model: &Network) {}

    /// Its columns of the run's summary.
    fn summarise(&self, _summary: &mut RunSummary) {}

    /// Its rows as CSV, without the header.
    fn body(&self) -> String;
}

/// What a recorder may take from its run when it is built.
pub struct Setup<'a> {
    pub config: &'a Config,
    pub spec: &'a RunSpec,
    pub key: &'a RunKey,
    /// The model as initialised (its parameters' names and shapes).
    pub model: &'a Network,
    validation: &'a Dataset,
    device: &'a Device,
    base_device: &'a Device,
    probe: OnceCell<Option<Probe>>,
}

impl<'a> Setup<'a> {
    /// `device` is the training (autodiff) device, `base_device` the one it wraps.
    pub fn new(
        config: &'a Config,
        spec: &'a RunSpec,
        key: &'a RunKey,
        model: &'a Network,
        validation: &'a Dataset,
        device: &'a Device,
        base_device: &'a Device,
    ) -> Self {
        Self { config, spec, key, model, validation, device, base_device, probe: OnceCell::new() }
    }

    /// The validation split.
    pub fn validation(&self) -> &'a Dataset {
        self.validation
    }

    /// The device the training device wraps (evaluation runs there).
    pub fn base_device(&self) -> &'a Device {
        self.base_device
    }

    /// The probe batch (`logging.probe_samples` validation samples on the
    /// training device), built once for all the recorders that use it; none
    /// without validation samples.
    pub fn probe(&self) -> Option<Probe> {
        let samples = self.config.logging.probe_samples.0;
        let block = super::text_block(self.config);
        let build = || Probe::new(self.validation, samples, block, self.spec.activation, self.device, self.base_device);
        self.probe.get_or_init(build).clone()
    }
}

/// A run's recorders, one per entry of [`KINDS`], and each hook called on all of them.
pub struct Recorders {
    list: Vec<(Kind, Box<dyn Recorder>)>,
    /// How many values each recorder queued in this step's `after_backward`.
    queued: Vec<usize>,
}

impl Recorders {
    pub fn new(setup: &Setup) -> Self {
        let list = KINDS.into_iter().map(|kind| (kind, (kind.build)(setup))).collect();
        Self { list, queued: Vec::with_capacity(KINDS.len()) }
    }

    /// The recorders with their rows from a checkpoint.
    pub fn restored(setup: &Setup, saved: &Saved) -> anyhow::Result<Self> {
        let mut recorders = Self::new(setup);
        for (kind, recorder) in &mut recorders.list {
            recorder.restore(&saved.table(kind.table))?;
        }
        Ok(recorders)
    }

    pub fn at_start(&mut self, model: &Network) {
        self.list.iter_mut().for_each(|(_, r)| r.at_start(model));
    }

    /// Every recorder's tensors to read this step, pushed onto `read`.
    pub fn after_backward(&mut self, at: At, model: &Network, gradients: &Gradients, read: &mut Vec<Tensor<1>>) {
        self.queued.clear();
        for (_, recorder) in &mut self.list {
            let before = read.len();
            recorder.after_backward(at, model, gradients, read);
            self.queued.push(read[before..].iter().map(|t| t.dims()[0]).sum());
        }
    }

    /// `values`: what [`Recorders::after_backward`] pushed, read back, in order.
    pub fn read_back(&mut self, at: At, loss: f64, values: &[f32]) {
        let mut start = 0;
        for ((_, recorder), &n) in self.list.iter_mut().zip(&self.queued) {
            if n > 0 {
                recorder.read_back(at, loss, &values[start..start + n]);
                start += n;
            }
        }
    }

    pub fn after_step(&mut self, at: At, model: &Network) {
        self.list.iter_mut().for_each(|(_, r)| r.after_step(at, model));
    }

    pub fn after_epoch(&mut self, at: At, model: &Network) {
        self.list.iter_mut().for_each(|(_, r)| r.after_epoch(at, model));
    }

    pub fn summarise(&self, summary: &mut RunSummary) {
        self.list.iter().for_each(|(_, r)| r.summarise(summary));
    }

    /// Each table's rows as CSV without the header (a finished run).
    pub fn bodies(&self) -> Vec<(Table, String)> {
        self.list.iter().map(|(kind, r)| (kind.table, r.body())).collect()
    }

    /// Each table's header (with the sweep's `keys`) and rows, as a checkpoint saves them.
    pub fn tables(&self, keys: &[String]) -> Vec<(Table, String)> {
        self.list.iter().map(|(kind, r)| (kind.table, kind.schema.header(keys) + &r.body())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table but epochs.csv and summary.csv (the loop's own) is one recorder's.
    #[test]
    fn every_recorded_table_has_one_recorder() {
        for table in Table::ALL {
            let recorders = KINDS.iter().filter(|k| k.table == table).count();
            let own = matches!(table, Table::Epochs | Table::Summary);
            assert_eq!(recorders, usize::from(!own), "{}", table.file_name());
        }
    }
}
