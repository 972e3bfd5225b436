//! actbench: compare activation functions on real training runs.
//!
//! Data flows one way: `config` (the TOML file) -> `grid` (one run per
//! point) -> `data` + `model` + `train` (Burn) -> `records` -> `export`.

pub mod activation;
pub mod backend;
pub mod bench;
pub mod chart;
pub mod check;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod denormals;
pub mod experiment;
pub mod export;
pub mod fetch;
pub mod fused;
pub mod grid;
pub mod interrupt;
pub mod lock;
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
pub mod stats;
pub mod train;
