//! The activations that `activations` and `plot-activations` show: the
//! `--formula`s, the `--config`'s entries and a `--from-run`'s learned
//! shapes, else the whole catalog; `--param NAME=VALUE` sets a parameter of
//! every one of them (the run's aside) that has it.

use std::path::Path;

use anyhow::{Context, anyhow, bail};

use super::config_path::find_config;
use crate::activation::formula::names_used;
use crate::activation::{ActivationKind, catalog};
use crate::config::Config;

/// An activation to show, and its name in tables, legends and CSV rows.
pub(super) struct Shown {
    pub(super) label: String,
    pub(super) kind: ActivationKind,
}

impl Shown {
    pub(super) fn new(kind: ActivationKind) -> Self {
        Self { label: kind.label(), kind }
    }
}

/// What the command line asks to show.
pub(super) struct Asked<'a> {
    pub(super) formulas: &'a [String],
    pub(super) config: Option<&'a Path>,
    /// `--param`s as given (`NAME=VALUE`).
    pub(super) params: &'a [String],
    pub(super) from_run: Option<&'a Path>,
}

/// The activations to show, in order: formulas, the config's entries, the
/// run's (its starting shape, then one per layer); the catalog when none
/// of them is given.
pub(super) fn shown(asked: &Asked) -> anyhow::Result<Vec<Shown>> {
    let params = parse_params(asked.params)?;
    let mut used = vec![false; params.len()];
    let names: Vec<String> = params.iter().map(|p| p.0.clone()).collect();
    let mut kinds = Vec::new();
    for formula in asked.formulas {
        let wrong = |e: String| {
            // The parser speaks of config entries; on the command line a parameter is a --param.
            let e = e
                .trim_start_matches("`formula` ")
                .replace(
                    "declare a parameter as a key of the entry, e.g. beta = 1.0",
                    "give its value with --param NAME=VALUE",
                )
                .replace("the entry's parameters are", "the --param names are");
            anyhow!("--formula `{formula}`: {e}")
        };
        let took = names_used(formula, &names).map_err(|e| wrong(e.to_string()))?;
        let values: Vec<(String, f64, bool)> = took
            .iter()
            .map(|name| {
                let i = names.iter().position(|n| n == name).expect("names_used picks among the names");
                used[i] = true;
                (name.clone(), params[i].1, false)
            })
            .collect();
        kinds.push(ActivationKind::from_formula(None, formula, &values).map_err(wrong)?);
    }
    if let Some(path) = asked.config {
        for entry in &Config::load(&find_config(path)?)?.activations {
            kinds.push(set(entry.kind, &params, &mut used)?);
        }
    }
    let run = match asked.from_run {
        Some(dir) => super::from_run::shapes(dir)?,
        None => Vec::new(),
    };
    if kinds.is_empty() && run.is_empty() {
        for info in catalog::CATALOG {
            kinds.push(set(ActivationKind::default_for(info), &params, &mut used)?);
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        if kinds.is_empty() {
            bail!(
                "--param {}: --param sets parameters of --formula, --config or the catalog's activations; --from-run shows the values its run learned",
                params[i].0
            );
        }
        bail!("--param {}: no activation shown has a parameter `{}`; {}", params[i].0, params[i].0, theirs(&kinds));
    }
    let run = run.into_iter().map(|(label, kind)| Shown { label, kind });
    Ok(kinds.into_iter().map(Shown::new).chain(run).collect())
}

/// `kind` with the `--param`s it has set (marked used).
fn set(kind: ActivationKind, params: &[(String, f64)], used: &mut [bool]) -> anyhow::Result<ActivationKind> {
    let mut given = Vec::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if kind.params().iter().any(|(n, _)| n == name) {
            given.push((name.as_str(), *value));
            used[i] = true;
        }
    }
    if given.is_empty() {
        return Ok(kind);
    }
    kind.with_values(&given).with_context(|| format!("--param for `{}`", kind.label()))
}

/// The shown activations' parameters, each with the activations that have
/// it: `their parameters are: beta (x * sigmoid(beta * x)), slope (leaky_relu, prelu)`.
fn theirs(kinds: &[ActivationKind]) -> String {
    let mut params: Vec<(&str, Vec<String>)> = Vec::new();
    for kind in kinds {
        for (name, _) in kind.params() {
            match params.iter_mut().find(|(n, _)| *n == name) {
                Some((_, owners)) => owners.push(kind.display_name()),
                None => params.push((name, vec![kind.display_name()])),
            }
        }
    }
    if params.is_empty() {
        return "none of them takes a parameter".into();
    }
    let parts: Vec<String> = params.iter().map(|(n, owners)| format!("{n} ({})", owners.join(", "))).collect();
    format!("their parameters are: {}", parts.join(", "))
}

/// `--param NAME=VALUE`s as (name, value), booleans as 1 or 0; each name once.
fn parse_params(given: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    let mut params: Vec<(String, f64)> = Vec::new();
    for arg in given {
        let Some((name, value)) = arg.split_once('=').map(|(n, v)| (n.trim(), v.trim())).filter(|(n, _)| !n.is_empty())
        else {
            bail!("--param `{arg}`: give NAME=VALUE, e.g. --param beta=1.5");
        };
        let value = match value {
            "true" => 1.0,
            "false" => 0.0,
            _ => value.parse::<f64>().ok().filter(|v| v.is_finite()).with_context(|| {
                format!(
                    "--param `{arg}`: `{value}` is not a finite number (nor true or false), e.g. --param {name}=1.5"
                )
            })?,
        };
        if params.iter().any(|(n, _)| n == name) {
            bail!("--param `{name}` is given twice: give each parameter once");
        }
        params.push((name.to_string(), value));
    }
    Ok(params)
}
