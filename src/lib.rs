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
//!   activations), [`data::catalog`] (the datasets), [`results_dir`] (every
//!   file and folder of a results folder), `report`'s artifacts;
//! - numerics: [`fused`] (flex ops through Burn's backend extension API, and
//!   their kernels), [`denormals`], [`rng`], [`stats`], [`chart`] (plotting helpers);
//! - the experiment: [`config`], [`data`], [`model`], [`grid`], [`metrics`],
//!   [`probe`], [`checkpoint`], [`train`], [`records`], [`export`],
//!   [`manifest`], [`run`], [`progress`], [`interrupt`], [`backend`];
//! - after training: [`tuning`] (choices on validation data), [`report`], [`check`], [`rerun`];
//! - the other commands: [`fetch`], [`bench`]; and [`cli`], the one dispatch.

pub mod activation;
pub mod backend;
pub mod baseline;
pub mod bench;
pub mod chart;
pub mod check;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod denormals;
pub mod export;
pub mod fetch;
pub mod fused;
pub mod grid;
pub mod interrupt;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod probe;
pub mod progress;
pub mod records;
pub mod report;
pub mod rerun;
pub mod results_dir;
pub mod rng;
pub mod run;
pub mod search;
pub mod slurm;
pub mod stats;
pub mod train;
pub mod tuning;
