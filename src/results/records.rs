//! What a run records: the key columns every row of a run's tables starts
//! with ([`RunKey`]), the rows of epochs.csv and summary.csv, and the macros
//! that define a row type and its columns from one list of fields (the
//! recorders' tables, gradients.csv and the others, are in train/record/).
//! Field order is column order; every row starts with run_id, activation,
//! seed and lr, so each file stands alone in pandas or polars. Columns whose
//! name ends in `_seconds` are wall-clock time, the only columns that differ
//! between two runs of the same config and seed.

use serde::{Deserialize, Serialize};

use crate::results::dir::Table;

/// A CSV row type: its columns, in order, for the header of a file that may
/// have no rows yet. Written by [`columns!`] and [`run_row!`] from the
/// fields, so it cannot drift from what serde writes.
pub trait Columns {
    const COLUMNS: &'static [&'static str];
    /// Columns added since the first version: a file without them still
    /// reads (their fields take their serde default).
    const ADDED: &'static [&'static str] = &[];
}

/// A row of one of a run's tables, which names its run.
pub trait Row: Serialize + serde::de::DeserializeOwned + Columns + Swept {
    fn run_id(&self) -> &str;
}

/// A row type with the sweep's columns after `lr` (`sweep`, not in [`Columns::COLUMNS`]).
pub trait Swept {
    fn sweep_mut(&mut self) -> &mut Vec<String>;
}

/// The columns every row of a run's tables starts with, built once per run
/// (train) and copied into each row by [`keyed!`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunKey {
    pub run_id: String,
    pub activation: String,
    pub seed: u64,
    pub lr: f64,
    /// The run's value of each swept key (see [`run_row!`]).
    pub sweep: Vec<String>,
}

/// Defines a row type and its [`Columns`] from one list of fields, field
/// order being column order; the derives are the caller's.
macro_rules! columns {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty),* $(,)? }
    ) => {
        $(#[$meta])*
        pub struct $name { $($(#[$field_meta])* pub $field: $ty),* }

        impl $crate::results::records::Columns for $name {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }
    };
}
pub(crate) use columns;

/// Defines a row type of a run's tables: the [`RunKey`]'s fields, then the
/// given ones, with its [`Columns`] (an optional `added: [...]` names
/// [`Columns::ADDED`]), [`Row`] and [`Swept`]. The key's fields are written
/// here only, and filled by [`keyed!`].
macro_rules! run_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty),* $(,)? }
        $(added: [$($added:literal),* $(,)?])?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $name {
            pub run_id: String,
            pub activation: String,
            pub seed: u64,
            pub lr: f64,
            /// The run's value of each swept key, one CSV column per key (named by
            /// the key) after `lr`; none without a sweep (export/csv.rs).
            #[serde(skip_deserializing)]
            pub sweep: Vec<String>,
            $($(#[$field_meta])* pub $field: $ty),*
        }

        impl $crate::results::records::Columns for $name {
            const COLUMNS: &'static [&'static str] =
                &["run_id", "activation", "seed", "lr", $(stringify!($field)),*];
            $(const ADDED: &'static [&'static str] = &[$($added),*];)?
        }

        impl $crate::results::records::Row for $name {
            fn run_id(&self) -> &str {
                &self.run_id
            }
        }

        impl $crate::results::records::Swept for $name {
            fn sweep_mut(&mut self) -> &mut Vec<String> {
                &mut self.sweep
            }
        }
    };
}
pub(crate) use run_row;

/// A row of a run's table from the run's [`RunKey`] and the row's own
/// fields, `keyed!(&key, EpochRecord { epoch, train_loss, .. })`: the
/// compiler still checks that every own field is given.
macro_rules! keyed {
    ($key:expr, $name:ident { $($fields:tt)* }) => {{
        let key: &$crate::results::records::RunKey = $key;
        $name {
            run_id: key.run_id.clone(),
            activation: key.activation.clone(),
            seed: key.seed,
            lr: key.lr,
            sweep: key.sweep.clone(),
            $($fields)*
        }
    }};
}
pub(crate) use keyed;

run_row! {
    /// One row of epochs.csv.
    pub struct EpochRecord {
        pub epoch: usize,
        pub train_loss: f64,
        pub train_accuracy: f64,
        pub val_loss: f64,
        pub val_accuracy: f64,
        pub epoch_seconds: f64,
    }
}

run_row! {
    /// One row of summary.csv.
    pub struct RunSummary {
        /// Non-default activation parameters, `name=value` joined by `;`.
        pub params: String,
        pub init: String,
        pub test_accuracy: f64,
        pub test_loss: f64,
        pub best_val_accuracy: f64,
        pub best_val_epoch: usize,
        pub final_train_loss: f64,
        /// Mean over recorded steps of |grad layers.0.weight| / |grad output.weight|:
        /// far below 1 when gradients vanish on their way down (empty if no step was recorded).
        pub grad_ratio_first_last: Option<f64>,
        pub diverged: bool,
        /// Epoch and step at which the loss became NaN or infinite (empty if it did not).
        pub diverged_epoch: Option<usize>,
        pub diverged_step: Option<usize>,
        pub epochs_completed: usize,
        pub wall_seconds: f64,
    }
}

columns! {
    /// One row of search.csv (`[search]`): a candidate of the space, dropped
    /// before training (one row, `dropped` says why), or trained (one row per
    /// rung it reached).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SearchRecord {
        /// The candidate's place in the walk of the space (0-based).
        pub candidate: usize,
        pub formula: String,
        /// Why it was not trained (empty when it was).
        pub dropped: String,
        /// 1-based rung, and the epochs trained by its end (empty when dropped).
        pub rung: Option<usize>,
        pub epochs: Option<usize>,
        /// Mean validation accuracy over the search's seeds after those epochs.
        pub val_accuracy: Option<f64>,
        /// Mean validation loss likewise: what a language model's search
        /// ranks by (`Select::of_task`). Absent from search.csv files written
        /// before it was added, read as empty.
        #[serde(default)]
        pub val_loss: Option<f64>,
        /// Whether it went on to the next rung.
        pub went_on: bool,
        /// Whether it was retrained against the baselines (its last row only).
        pub finalist: bool,
    }
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecords {
    pub epochs: Vec<EpochRecord>,
    /// Each recorder's table (train/record/): its rows as CSV without the
    /// header; a table missing here has no rows.
    pub recorded: Vec<(Table, String)>,
    pub summary: RunSummary,
}

#[cfg(test)]
impl RunSummary {
    /// A run that trained one epoch at lr 0.1 without diverging, for the unit tests' fixtures.
    pub fn example(run_id: &str, activation: &str, seed: u64) -> RunSummary {
        let key = RunKey { run_id: run_id.into(), activation: activation.into(), seed, lr: 0.1, sweep: Vec::new() };
        keyed!(
            &key,
            RunSummary {
                params: String::new(),
                init: "pytorch".into(),
                test_accuracy: 0.5,
                test_loss: 1.0,
                best_val_accuracy: 0.5,
                best_val_epoch: 1,
                final_train_loss: 1.0,
                grad_ratio_first_last: None,
                diverged: false,
                diverged_epoch: None,
                diverged_step: None,
                epochs_completed: 1,
                wall_seconds: 1.0,
            }
        )
    }
}

#[cfg(test)]
impl EpochRecord {
    /// `summary`'s row after `epoch` with validation accuracy `val`, for the unit tests' fixtures.
    pub fn example(summary: &RunSummary, epoch: usize, val: f64) -> EpochRecord {
        EpochRecord {
            run_id: summary.run_id.clone(),
            activation: summary.activation.clone(),
            seed: summary.seed,
            lr: summary.lr,
            sweep: summary.sweep.clone(),
            epoch,
            train_loss: 1.0,
            train_accuracy: val,
            val_loss: 1.0,
            val_accuracy: val,
            epoch_seconds: 0.1,
        }
    }
}

impl RunSummary {
    /// Whether the run went as far as its config takes it: every one of its
    /// `epochs`, until its loss diverged, or until `patience` epochs passed
    /// without a better validation accuracy (training.patience). A run that
    /// successive halving stopped did not.
    pub fn ran_to_its_end(&self, epochs: usize, patience: Option<usize>) -> bool {
        self.diverged
            || self.epochs_completed >= epochs
            || patience.is_some_and(|p| self.epochs_completed >= self.best_val_epoch.saturating_add(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived lists are the ones written by hand before the macros.
    #[test]
    fn columns_are_the_fields_in_order_with_the_key_first() {
        assert_eq!(
            EpochRecord::COLUMNS.join(","),
            "run_id,activation,seed,lr,epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_seconds"
        );
        assert_eq!(
            RunSummary::COLUMNS.join(","),
            "run_id,activation,seed,lr,params,init,test_accuracy,test_loss,best_val_accuracy,best_val_epoch,\
             final_train_loss,grad_ratio_first_last,diverged,diverged_epoch,diverged_step,epochs_completed,wall_seconds"
        );
        assert_eq!(
            SearchRecord::COLUMNS.join(","),
            "candidate,formula,dropped,rung,epochs,val_accuracy,val_loss,went_on,finalist"
        );
        assert!(EpochRecord::ADDED.is_empty() && RunSummary::ADDED.is_empty());
    }

    #[test]
    fn a_keyed_row_takes_the_key_and_its_own_fields() {
        let key = RunKey { run_id: "r".into(), activation: "relu".into(), seed: 3, lr: 0.5, sweep: vec!["x".into()] };
        let row = keyed!(
            &key,
            EpochRecord {
                epoch: 2,
                train_loss: 1.0,
                train_accuracy: 0.5,
                val_loss: 1.0,
                val_accuracy: 0.5,
                epoch_seconds: 0.0,
            }
        );
        assert_eq!((row.run_id.as_str(), row.activation.as_str(), row.seed, row.lr), ("r", "relu", 3, 0.5));
        assert_eq!((row.sweep, row.epoch), (vec!["x".to_string()], 2));
    }
}
