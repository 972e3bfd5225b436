//! `[search]`: the space of formulas searched (core units b(u1(x), u2(x)),
//! Ramachandran, Zoph and Le 2017), and the successive halving that trains
//! its candidates.

use serde::{Deserialize, Serialize};

use crate::config::activations::{self, ActivationEntry};
use crate::config::error::KeyError;
use crate::config::values::{Count, Fraction};

/// The most candidates a search trains (and finalists it keeps): the
/// candidates met are screened and compared with each other before any
/// training, up to 50 met per one kept.
pub const MAX_CANDIDATES: usize = 10_000;
/// The most unary or binary functions (and rungs) a search lists.
pub const MAX_FUNCTIONS: usize = 1_000;

/// `[search]`: a space of activations built from "core units" b(u1(x), u2(x))
/// (Ramachandran, Zoph and Le 2017), trained by successive halving on the
/// rest of the file, the finalists then compared with the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Search {
    /// Unary functions, formulas in `x`.
    pub unary: Vec<String>,
    /// Binary functions, formulas in `a` and `b`.
    pub binary: Vec<String>,
    /// Core units per candidate: 1 (b(u1(x), u2(x))) or 2 (b2(u3(core1), u4(x))).
    pub units: Count,
    /// Candidates trained (sampled from the space with `seed`; all when it is smaller).
    pub candidates: Count,
    /// Epochs each rung of successive halving trains to, increasing; with
    /// `training.max_steps`, evaluations of `training.eval_every` steps.
    pub rungs: Vec<Count>,
    /// Share of the candidates still in that goes on after each rung.
    pub keep: Fraction,
    /// Seeds per candidate during the search.
    pub seeds: Count,
    /// Best candidates of the last rung retrained with `experiment.seeds` against the baselines.
    pub finalists: Count,
    /// Activations the finalists are compared with (entries as in `activations`).
    #[serde(deserialize_with = "activations::entries")]
    pub baselines: Vec<ActivationEntry>,
    /// Seed of the candidates' sampling.
    pub seed: u64,
}

impl Search {
    /// The checks of `[search]` across its keys: the space must parse.
    pub fn validate(&self) -> Result<(), KeyError> {
        let search = self;
        let fail = |key: &str, msg: String| Err(KeyError::new(format!("search.{key}"), msg));
        for (list, key, vars, uses_x) in
            [(&search.unary, "unary", &["x"][..], true), (&search.binary, "binary", &["a", "b"][..], false)]
        {
            if list.is_empty() {
                return fail(
                    key,
                    format!("lists no function: e.g. [{}]", if uses_x { "\"x\", \"tanh(x)\"" } else { "\"a + b\"" }),
                );
            }
            if list.len() > MAX_FUNCTIONS {
                return fail(key, format!("lists {} functions, more than the {MAX_FUNCTIONS} it may hold", list.len()));
            }
            for (i, text) in list.iter().enumerate() {
                let params: &[&str] = if uses_x { &[] } else { vars };
                if let Err(e) = crate::activation::formula::check_expression(text, params, uses_x) {
                    return fail(&format!("{key}[{i}]"), format!("`{text}`: {e}"));
                }
                if list[..i].contains(text) {
                    return fail(&format!("{key}[{i}]"), format!("lists `{text}` twice"));
                }
            }
        }
        for (key, value, most) in [
            ("candidates", search.candidates.0, MAX_CANDIDATES),
            ("finalists", search.finalists.0, MAX_CANDIDATES),
            ("seeds", search.seeds.0, crate::config::values::MAX_SEEDS),
            ("rungs", search.rungs.len(), MAX_FUNCTIONS),
        ] {
            if value > most {
                return fail(key, format!("is {value}, more than the {most} a search may have"));
            }
        }
        if !(1..=2).contains(&search.units.0) {
            return fail("units", format!("is {}; a candidate has 1 or 2 core units", search.units.0));
        }
        if search.rungs.is_empty() {
            return fail("rungs", "lists no rung: e.g. [1, 3, 9] (epochs per rung)".into());
        }
        if let Some(w) = search.rungs.windows(2).find(|w| w[1].0 <= w[0].0) {
            return fail("rungs", format!("must increase: {} is followed by {}", w[0].0, w[1].0));
        }
        if search.keep.0 <= 0.0 {
            return fail("keep", "is 0: keep a share in (0, 1) of the candidates after each rung, e.g. 0.33".into());
        }
        if search.baselines.is_empty() {
            return fail("baselines", "lists no activation to compare the finalists with: e.g. [\"relu\"]".into());
        }
        let labels: Vec<String> = search.baselines.iter().map(ActivationEntry::label).collect();
        if let Some((j, label)) = labels.iter().enumerate().find(|(j, l)| labels[..*j].contains(l)) {
            return fail(&format!("baselines[{j}]"), format!("lists `{label}` twice: each entry must differ"));
        }
        // `training.lr` is not known here: an entry without a rate of its own may have any.
        let mut any: Vec<f64> = search.baselines.iter().flat_map(|b| b.lr.iter().flat_map(|l| l.0.clone())).collect();
        any.push(1.0);
        let shared = crate::config::values::LearningRates(any);
        if let Some((i, j)) = activations::run_id_clash(&search.baselines, &[], &shared) {
            return fail(
                &format!("baselines[{j}]"),
                format!(
                    "`{}` would share its run ids with `baselines[{i}]` `{}`: give the formula a `name` of its own",
                    labels[j], labels[i]
                ),
            );
        }
        Ok(())
    }
}

impl Default for Search {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self {
            // Ramachandran, Zoph and Le 2017, Table 1: a subset of its unary and binary functions.
            unary: strings(&[
                "x",
                "-x",
                "abs(x)",
                "x^2",
                "x^3",
                "sqrt(abs(x))",
                "exp(x)",
                "sin(x)",
                "cos(x)",
                "tanh(x)",
                "sigmoid(x)",
                "softplus(x)",
                "erf(x)",
                "atan(x)",
                "asinh(x)",
                "max(x, 0)",
                "min(x, 0)",
            ]),
            binary: strings(&["a + b", "a - b", "a * b", "max(a, b)", "min(a, b)", "a * sigmoid(b)"]),
            units: Count(1),
            candidates: Count(200),
            rungs: vec![Count(1), Count(3), Count(9)],
            keep: Fraction(0.33),
            seeds: Count(2),
            finalists: Count(5),
            baselines: ["relu", "silu", "gelu"]
                .into_iter()
                .map(|n| ActivationEntry::try_from(toml::Value::String(n.into())).expect("known names"))
                .collect(),
            seed: 0,
        }
    }
}
