//! The grid: activations x sweep points x learning rates x seeds, one run per point, each
//! with an id that depends only on what the run is (stable across
//! invocations and across edits that add or remove other grid points).

use crate::activation::ActivationKind;
use crate::config::Config;
use crate::model::settings::InitScheme;

#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// e.g. `relu-lr0.1-s0`, `leaky_relu-slope=0.1-lr0.05-s2`.
    pub id: String,
    /// The activation entry's label as written in every CSV, e.g. `leaky_relu(slope=0.1)`.
    pub label: String,
    pub activation: ActivationKind,
    /// Index of its sweep point (`Config::points`; 0 without a sweep).
    pub point: usize,
    /// The swept keys (`Config::sweep`), one CSV column each.
    pub sweep_keys: Vec<String>,
    /// The point's value of each swept key, as its CSV column shows it.
    pub sweep: Vec<String>,
    pub lr: f64,
    pub seed: u64,
    /// Resolved for this activation (never `Auto`).
    pub init: InitScheme,
    /// The entry's own feed-forward layer (`gated(silu)`), overriding `model.ffn`.
    pub ffn: Option<crate::model::settings::Ffn>,
}

/// Every run of the config, activation-major, then sweep point, then learning rate, then seed.
pub fn expand(config: &Config) -> Vec<RunSpec> {
    let keys = config.sweep.keys();
    let points: Vec<(Vec<String>, String, Option<usize>, Config)> = config
        .sweep
        .points()
        .into_iter()
        .zip(config.points())
        .map(|(point, c)| (config.sweep.shown(&point), config.sweep.id_part(&point), config.sweep.owner(&point), c))
        .collect();
    let mut runs = Vec::new();
    for (a, entry) in config.activations.iter().enumerate() {
        for (p, (shown, id, owner, point_config)) in points.iter().enumerate() {
            // Random search with `shared = false`: each activation runs its own trials.
            if owner.is_some_and(|o| o != a) {
                continue;
            }
            expand_point(entry, p, point_config, (&keys, shown, id), &mut runs);
        }
    }
    runs
}

/// The runs of one activation entry at sweep point `point` (whose config is
/// `config`, whose values are `sweep` of `keys`, whose run-id part is `sweep_id`).
fn expand_point(
    entry: &crate::config::ActivationEntry,
    point: usize,
    config: &Config,
    (keys, sweep, sweep_id): (&[String], &[String], &str),
    runs: &mut Vec<RunSpec>,
) {
    let lrs = entry.lr.as_ref().unwrap_or(&config.training.lr);
    let init = crate::model::resolve_init(entry.init.unwrap_or(config.model.init), entry.kind, config.model.kind);
    for &lr in &lrs.0 {
        for &seed in &config.experiment.seeds.0 {
            let mut id = entry.id_stem();
            id.push_str(sweep_id);
            id.push_str(&format!("-lr{}-s{seed}", crate::activation::format_number(lr)));
            runs.push(RunSpec {
                id,
                label: entry.label(),
                activation: entry.kind,
                point,
                sweep_keys: keys.to_vec(),
                sweep: sweep.to_vec(),
                lr,
                seed,
                init,
                ffn: entry.ffn,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("t.toml"), "t").unwrap()
    }

    #[test]
    fn grid_is_activations_by_lrs_by_seeds() {
        let c = config(
            r#"activations = ["relu", { name = "leaky_relu", slope = 0.1, lr = [0.5, 0.05] }]
            [experiment]
            seeds = 2
            [training]
            lr = 0.1"#,
        );
        let ids: Vec<String> = expand(&c).into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "relu-lr0.1-s0",
                "relu-lr0.1-s1",
                "leaky_relu-slope=0.1-lr0.5-s0",
                "leaky_relu-slope=0.1-lr0.5-s1",
                "leaky_relu-slope=0.1-lr0.05-s0",
                "leaky_relu-slope=0.1-lr0.05-s1",
            ]
        );
    }

    #[test]
    fn init_is_matched_to_the_activation_unless_overridden() {
        let c = config(
            r#"activations = ["relu", "selu", "tanh", { name = "sigmoid", init = "he" }, { name = "step", straight_through = true }]"#,
        );
        let inits: Vec<_> = expand(&c).into_iter().map(|r| (r.label, r.init)).collect();
        assert_eq!(
            inits,
            [
                ("relu".to_string(), InitScheme::He),
                ("selu".to_string(), InitScheme::Lecun),
                ("tanh".to_string(), InitScheme::Glorot),
                ("sigmoid[init=he]".to_string(), InitScheme::He),
                ("step(straight_through=true)".to_string(), InitScheme::Glorot),
            ]
        );
        let ids: Vec<_> = expand(&c).into_iter().map(|r| r.id).collect();
        assert_eq!(ids[3], "sigmoid-init_he-lr0.01-s0");
        assert_eq!(ids[4], "step-straight_through-lr0.01-s0");
    }

    #[test]
    fn extreme_numbers_keep_ids_short() {
        let c = config(
            "activations = [{ name = \"leaky_relu\", slope = 1e-300 }]\n[training]\nlr = [1e308, 1e-300, 0.05]\n",
        );
        let ids: Vec<String> = expand(&c).into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "leaky_relu-slope=1e-300-lr1e308-s0",
                "leaky_relu-slope=1e-300-lr1e-300-s0",
                "leaky_relu-slope=1e-300-lr0.05-s0"
            ]
        );
    }

    #[test]
    fn a_sweep_is_a_grid_axis_between_activation_and_lr() {
        let c = config(
            r#"activations = ["relu", { name = "tanh", init = "he" }]
            [training]
            lr = [0.1, 0.01]
            [sweep]
            "training.optimizer" = ["adam", "sgd"]
            "model.hidden" = [[8], [16, 16]]"#,
        );
        let runs = expand(&c);
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 16);
        assert_eq!(
            ids[..5],
            [
                "relu-optimizer_adam-hidden_8-lr0.1-s0",
                "relu-optimizer_adam-hidden_8-lr0.01-s0",
                "relu-optimizer_adam-hidden_16x16-lr0.1-s0",
                "relu-optimizer_adam-hidden_16x16-lr0.01-s0",
                "relu-optimizer_sgd-hidden_8-lr0.1-s0",
            ]
        );
        assert_eq!(ids[8], "tanh-init_he-optimizer_adam-hidden_8-lr0.1-s0");
        assert_eq!(runs[2].sweep_keys, ["training.optimizer", "model.hidden"]);
        assert_eq!(runs[2].sweep, ["adam", "[16, 16]"]);
        let points = c.points();
        assert_eq!(points.len(), 4);
        assert_eq!(points[runs[2].point].model.hidden.iter().map(|h| h.0).collect::<Vec<_>>(), [16, 16]);
        assert_eq!(points[runs[4].point].training.optimizer, crate::train::settings::OptimizerKind::Sgd);
        assert!(points.iter().all(|p| p.sweep.is_empty()));
    }
}
