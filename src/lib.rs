//! actbench: compare activation functions on real training runs.
//!
//! Data flows one way, and no two modules import each other:
//!
//! ```text
//! config (the TOML file; names checked against the activation and dataset tables)
//!   -> run::plan (the grid of runs, shared settings resolved)
//!   -> run::execute (the --jobs scheduler) -> train (one run: data + model + Burn)
//!   -> records -> run::store (per-run folders) -> run::finalize (combined tables)
//!   -> report (aggregate.csv, plots, report.md) -> check (regression verdicts)
//! ```
//!
//! The modules, leaves first:
//! - lists of things, one entry each: [`activation::catalog`] (the built-in
//!   activations), [`data::catalog`] (the datasets), [`results::dir`] (every
//!   file and folder of a results folder), `report`'s artifacts;
//! - numerics: [`maths`] (statistics, random streams, the identity hash,
//!   subnormal floats), [`fused`] (flex ops through Burn's backend extension
//!   API, and their kernels), [`chart`] (plotting helpers);
//! - the experiment: [`config`], [`data`], [`model`], [`grid`], [`train`]
//!   (with its probe and gradient metrics), [`results`] (records, manifest,
//!   checkpoint, folder layout), [`export`], [`run`] (plan, execution,
//!   workers, SLURM, rerun), [`progress`], [`interrupt`], [`backend`];
//! - after training: [`tuning`] (choices on validation data), [`report`],
//!   [`check`] (with baselines);
//! - the other commands: [`search`], [`bench`], [`data::fetch`]; and [`cli`], the one dispatch.
//!
//! `tests/it/structure.rs` checks that no module names itself through the
//! modules it names, over a circle of any length.

pub mod activation;
pub mod backend;
pub mod bench;
pub mod chart;
pub mod check;
pub mod cli;
pub mod config;
pub mod data;
pub mod export;
pub mod fused;
pub mod grid;
pub mod interrupt;
pub mod maths;
pub mod model;
pub mod progress;
pub mod report;
pub mod results;
pub mod run;
pub mod search;
pub mod train;
pub mod tuning;
