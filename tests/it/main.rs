//! The integration tests, as one binary (ripgrep's layout): one link of
//! Burn instead of one per file. Each module is one area; `common` holds the
//! helpers (in place of dev-dependencies, see Cargo.toml). The wgpu test is
//! its own binary (tests/wgpu.rs) because it needs the `wgpu` feature.
//!
//! Run one area with `cargo test --release --test it cli::`.

mod common;

mod activations_reference;
mod budget;
mod check;
mod ci_docs;
mod cli;
mod cnn;
mod config_fuzz;
mod damaged_results;
mod datasets;
mod default_experiment;
mod docs;
mod early_stopping;
mod expect;
mod fetch;
mod formula;
mod input_fuzz;
mod language_model;
mod learned_shapes;
mod models_reference;
mod random_search;
mod reliability;
mod report;
mod residual;
mod resume;
mod search;
mod slurm;
mod stats_reference;
mod structure;
mod studies;
mod sweep;
mod verdict;
mod workers;
