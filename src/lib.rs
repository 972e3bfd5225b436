//! actbench: compare activation functions on real training runs.
//!
//! Data flows one way. No module reaches itself through the modules it
//! names, directly or around a circle of any length (a module is a Rust
//! module: a file, or a folder's `mod.rs`; `tests/it/structure.rs` checks it):
//!
//! ```text
//! maths, input, config::values, config::error (leaves: no other module of the crate)
//!   -> activation, data, model, fused (the parts of a network)
//!   -> <feature>::settings (one [section] each, beside what it configures)
//!   -> config (the whole TOML document: its sections, `activations`, the sweep;
//!      the one place that adds file:line:column to a failing key)
//!   -> grid, run::plan (the runs of a config, shared settings resolved)
//!   -> run::execute (the --jobs scheduler) -> train (one run, step by step in
//!      phases; train::record: the recorders of what it writes)
//!   -> results (records, manifest, checkpoint, folder layout) -> run::store
//!      (per-run folders) -> run::finalize (combined tables)
//!   -> tuning (choices on validation data) -> report (aggregate.csv, plots,
//!      report.md) -> check (regression verdicts, claims)
//!   -> cli (one handler file per command, one dispatch)
//! ```
//!
//! A `settings` module never names `config` itself (the whole document),
//! only its value types (`config::values`, `config::error`,
//! `config::activations`) and the settings it is checked against (`[model]`
//! against `[data]`, `[tuning]` against `[training]`); the rest of its
//! feature may read the whole config. That keeps the two directions apart
//! (also checked by tests/it/structure.rs).
//!
//! The modules, leaves first:
//! - lists of things, one entry each: [`activation::catalog`] (the built-in
//!   activations), [`data::catalog`] (the datasets), [`model::kinds`] (the
//!   kinds of network, a file each), [`results::dir`] (every
//!   file and folder of a results folder), `report`'s artifacts;
//! - reading a file a user names: [`input`] (a regular file, of bounded size);
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
pub mod heap;
pub mod input;
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
