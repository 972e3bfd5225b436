//! `actbench check --expect experiments/<study>/expected.toml RESULTS`: a
//! study's claims, written as `[[claim]]` tables, checked against a finished
//! experiment. Each claim names a metric (check/metric.rs), the group(s) it
//! is about and a test:
//!
//! - about one group (`activation = "relu"`): a statistic over its runs
//!   (`seeds = "mean"`, the default; `median`, `min`, `max`, `std`, `each`:
//!   every run, or `share`: the share of runs whose value passes `where`)
//!   must pass `at_least`, `at_most` or `between = [lo, hi]`;
//! - two groups (`better = "tanh"`, `worse = "sigmoid"`): the first's mean
//!   is better (higher accuracy, lower loss), and with `p_below` Welch's
//!   one-sided p of that is below it;
//! - the best group (`best = "gelu_tanh"`, optionally `among = [...]`): its
//!   statistic is the best of them.
//!
//! `layer` (per-layer metrics: an index, "last", "each", "max", "min"),
//! `epoch`, `step`, `parameter`, `lr` and `at` (a sweep point, `{ "model.hidden" = [2, 2] }`)
//! say where the value is read. A claim that does not hold fails (exit 1);
//! a claim that cannot be read (a group or metric the results do not have)
//! is an error naming the file and the claim (exit 2).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::metric::{self, At, Layers, Metric};
use crate::maths::stats;
use crate::report::load::Results;
use crate::results::dir::ResultsDir;
use crate::results::records::RunSummary;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsFile {
    #[serde(default)]
    claim: Vec<Spec>,
}

/// A `[[claim]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// The claim in words, shown in the table (default: one made from the keys).
    claim: Option<String>,
    /// Every claim but `fair` names one.
    metric: Option<String>,
    /// The fairness guards (report/fairness.rs) find nothing: no tuned
    /// choice on the edge of its range, one init scheme, equal finished runs.
    fair: Option<bool>,
    activation: Option<String>,
    better: Option<String>,
    worse: Option<String>,
    best: Option<String>,
    among: Option<Vec<String>>,
    lr: Option<f64>,
    #[serde(default)]
    at: BTreeMap<String, toml::Value>,
    epoch: Option<usize>,
    step: Option<usize>,
    layer: Option<toml::Value>,
    parameter: Option<String>,
    seeds: Option<String>,
    at_least: Option<f64>,
    at_most: Option<f64>,
    between: Option<[f64; 2]>,
    p_below: Option<f64>,
    /// A margin claim: `activation` against this group, on the 95% interval of the difference.
    relative_to: Option<String>,
    /// Non-inferiority: the interval's worse end within this margin of `relative_to`.
    not_worse_by: Option<f64>,
    /// Superiority by a margin: the interval's worse end beyond this margin (0: plainly better).
    better_by: Option<f64>,
    /// Equivalence: the whole interval within plus or minus this margin.
    within: Option<f64>,
    /// Pair the runs by seed (the same split, order and initial draws): the paired t-test.
    paired: Option<bool>,
    /// The probability of improvement: P(a run of `activation` is better
    /// than one of `relative_to`), ties counting half, at least this.
    p_improvement: Option<f64>,
    /// With `[tuning]`: at every budget of this many settings or more,
    /// `activation`'s expected best selection score is at least `relative_to`'s.
    from_budget: Option<usize>,
    /// With `[tuning]`: the same, at every budget from `from_budget` (or 1) up to this many settings.
    up_to_budget: Option<usize>,
    /// With a sweep of `experiment.vary`: this source's share of the
    /// variance of `activation`'s test accuracy (report/spread.rs), within the bounds.
    source: Option<String>,
    #[serde(rename = "where")]
    where_: Option<Bounds>,
    /// A source's number for a study's side-by-side table; not checked.
    paper: Option<toml::Value>,
}

/// `at_least` / `at_most` / `between`, any of them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    pub between: Option<[f64; 2]>,
}

impl Bounds {
    fn is_empty(&self) -> bool {
        self.at_least.is_none() && self.at_most.is_none() && self.between.is_none()
    }

    /// Every bound a finite number (a NaN would make every comparison false,
    /// and a claim about it hold or fail by accident), `between` not empty.
    fn check(&self, prefix: &str) -> Result<(), String> {
        let values = [self.at_least, self.at_most].into_iter().flatten().chain(self.between.into_iter().flatten());
        for v in values {
            if !v.is_finite() {
                return Err(format!("{prefix}a bound must be a finite number, not {v}"));
            }
        }
        if let Some([lo, hi]) = self.between
            && lo > hi
        {
            return Err(format!("{prefix}`between = [{lo}, {hi}]` is empty: write the smaller bound first"));
        }
        Ok(())
    }

    fn holds(&self, x: f64) -> bool {
        x.is_finite()
            && self.at_least.is_none_or(|lo| x >= lo)
            && self.at_most.is_none_or(|hi| x <= hi)
            && self.between.is_none_or(|[lo, hi]| x >= lo && x <= hi)
    }

    fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(lo) = self.at_least {
            parts.push(format!(">= {}", num(lo)));
        }
        if let Some(hi) = self.at_most {
            parts.push(format!("<= {}", num(hi)));
        }
        if let Some([lo, hi]) = self.between {
            parts.push(format!("in [{}, {}]", num(lo), num(hi)));
        }
        parts.join(" and ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Seeds {
    Mean,
    Median,
    Min,
    Max,
    Std,
    Each,
    Share,
}

const SEEDS: [(&str, Seeds); 7] = [
    ("mean", Seeds::Mean),
    ("median", Seeds::Median),
    ("min", Seeds::Min),
    ("max", Seeds::Max),
    ("std", Seeds::Std),
    ("each", Seeds::Each),
    ("share", Seeds::Share),
];

/// What one claim is about.
#[derive(Debug, Clone)]
enum Kind {
    Group {
        label: String,
        seeds: Seeds,
        bounds: Bounds,
        runs_where: Bounds,
    },
    Order {
        better: String,
        worse: String,
        p_below: Option<f64>,
    },
    Best {
        label: String,
        among: Option<Vec<String>>,
        seeds: Seeds,
    },
    Margin {
        label: String,
        relative_to: String,
        test: Margin,
        paired: bool,
    },
    /// Expected best validation score (report/expected.rs) from budget `from` on.
    Budget {
        label: String,
        relative_to: String,
        from: usize,
        /// The last budget the claim covers (`None`: every budget tried).
        to: Option<usize>,
    },
    /// A source's share of the variance over seeds (report/spread.rs).
    Share {
        label: String,
        source: String,
        bounds: Bounds,
    },
}

/// What a margin claim asks of the 95% interval of `activation - relative_to`
/// (turned so that positive is better, for a metric where lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Margin {
    /// Non-inferiority: worse end above -margin.
    NotWorseBy(f64),
    /// Superiority by a margin: worse end above +margin.
    BetterBy(f64),
    /// Equivalence: the whole interval inside (-margin, +margin).
    Within(f64),
    /// Not an interval: the probability of improvement at least this.
    Chance(f64),
}

impl Margin {
    /// Whether the interval `[lo, hi]` (positive: better) meets it.
    fn holds(self, lo: f64, hi: f64) -> bool {
        match self {
            Margin::NotWorseBy(m) => lo > -m,
            Margin::BetterBy(m) => lo > m,
            Margin::Within(m) => lo > -m && hi < m,
            Margin::Chance(p) => lo >= p,
        }
    }

    /// The condition, as the table and the failure messages state it.
    fn needs(self) -> String {
        match self {
            Margin::NotWorseBy(m) => format!("the interval's lower end above -{}", num(m)),
            Margin::BetterBy(m) => format!("the interval's lower end above {}", num(m)),
            Margin::Within(m) => format!("the interval inside (-{0}, {0})", num(m)),
            Margin::Chance(p) => format!("P(better) >= {}", num(p)),
        }
    }
}

/// A checked claim, ready to evaluate.
#[derive(Debug, Clone)]
struct Claim {
    text: String,
    paper: Option<String>,
    metric: &'static Metric,
    kind: Kind,
    lr: Option<f64>,
    point: BTreeMap<String, String>,
    at: At,
}

/// One claim's outcome: a row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimResult {
    pub claim: String,
    pub measured: String,
    /// What the measured value had to meet (`>= 0.85`, `the interval's lower end above -0.01`).
    pub needed: String,
    pub holds: bool,
    /// The source's number, when the claim gives one (`paper = ...`).
    pub paper: Option<String>,
}

/// Every claim of a file against one results folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub expected: String,
    pub results: String,
    pub claims: Vec<ClaimResult>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.claims.iter().all(|c| c.holds)
    }

    /// The table printed on stdout: claim, measured (and the source's number where given), verdict.
    pub fn table(&self) -> String {
        let papers = self.claims.iter().any(|c| c.paper.is_some());
        let widest =
            |f: &dyn Fn(&ClaimResult) -> usize, least: usize| self.claims.iter().map(f).max().unwrap_or(0).max(least);
        let width = widest(&|c| c.claim.chars().count(), 5);
        let measured = widest(&|c| c.measured.chars().count(), 8);
        let paper = widest(&|c| c.paper.as_deref().map_or(0, |p| p.chars().count()), 5);
        let mut out = format!("claims of {} against {}\n\n", self.expected, self.results);
        let row = |out: &mut String, a: &str, b: &str, p: &str, v: &str| {
            let _ = if papers {
                writeln!(out, "{a:<width$}  {b:<measured$}  {p:<paper$}  {v}")
            } else {
                writeln!(out, "{a:<width$}  {b:<measured$}  {v}")
            };
        };
        row(&mut out, "claim", "measured", "paper", "verdict");
        for c in &self.claims {
            row(&mut out, &c.claim, &c.measured, c.paper.as_deref().unwrap_or("-"), &verdict(c));
        }
        let held = self.claims.iter().filter(|c| c.holds).count();
        let _ = writeln!(out, "\nexpect: {held} of {} claims hold", self.claims.len());
        out
    }

    /// The same as a Markdown table (a CI job summary, a study's README).
    pub fn markdown(&self) -> String {
        let mut out = String::from("| claim | measured | paper | verdict |\n|---|---|---|---|\n");
        for c in &self.claims {
            let paper = c.paper.as_deref().unwrap_or("-");
            let _ = writeln!(out, "| {} | {} | {paper} | {} |", c.claim.replace('|', "\\|"), c.measured, verdict(c));
        }
        out
    }
}

/// `holds`, or `FAILS (needed ...)`: a failing claim says what it missed.
fn verdict(c: &ClaimResult) -> String {
    if c.holds { "holds".into() } else { format!("FAILS (needed {})", c.needed) }
}

fn num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) { format!("{}", (x * 1e4).round() / 1e4) } else { format!("{x:.3e}") }
}

/// The most claims one file may hold (each is evaluated over the results).
const MAX_CLAIMS: usize = 10_000;

/// Reads `expected` and checks every claim against the experiment in `dir`.
pub fn check(expected: &Path, dir: &Path) -> anyhow::Result<Outcome> {
    let text = crate::input::read_text(expected).map_err(|e| anyhow::anyhow!("claims file {e}"))?;
    let file: ClaimsFile = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| crate::config::line_column(&text, s.start))
            .map(|(l, c)| format!(":{l}:{c}"))
            .unwrap_or_default();
        anyhow::anyhow!(crate::config::error::printable(&format!("{}{at}: {}", expected.display(), e.message())))
    })?;
    if file.claim.len() > MAX_CLAIMS {
        bail!(
            "{}: {} claims, more than the {MAX_CLAIMS} one file may hold: split it",
            expected.display(),
            file.claim.len()
        );
    }
    if file.claim.is_empty() {
        bail!("{}: no `[[claim]]` table: nothing to check (see docs/src/studies-and-claims.md)", expected.display());
    }
    let results = Results::load(&ResultsDir::new(dir))?;
    let scope = Scope::of(&results);
    let mut claims = Vec::new();
    let mut fairness = None;
    for (i, spec) in file.claim.iter().enumerate() {
        let shown = |text: String| anyhow::anyhow!(crate::config::error::printable(&text));
        let name = spec.metric.as_deref().unwrap_or("fair");
        if spec.fair.is_some() {
            let check =
                fair(spec).map_err(|e| shown(format!("{}: claim {} (fair): {e}", expected.display(), i + 1)))?;
            let warnings = match &fairness {
                Some(w) => w,
                None => fairness.insert(crate::report::fairness::warnings(&crate::report::Analysis::new(
                    Results::load(&ResultsDir::new(dir))?,
                ))),
            };
            claims.push(check(warnings));
            continue;
        }
        let spec = by_label(spec, &results)
            .map_err(|e| shown(format!("{}: claim {} ({name}): {e}", expected.display(), i + 1)))?;
        let claim = parse(&spec, &scope.keys)
            .map_err(|e| shown(format!("{}: claim {} ({name}): {e}", expected.display(), i + 1)))?;
        let result = evaluate(&claim, &results, &scope)
            .map_err(|e| shown(format!("{}: claim {} (`{}`): {e}", expected.display(), i + 1, claim.text)))?;
        claims.push(result);
    }
    Ok(Outcome { expected: expected.display().to_string(), results: dir.display().to_string(), claims })
}

/// `spec` with every group it names as its label in the results: a label
/// as is, else an entry's name (`swish_beta`, `leaky_relu`) when exactly one
/// entry of the experiment has it; two entries of one name are an error
/// that lists their labels.
fn by_label(spec: &Spec, results: &Results) -> Result<Spec, String> {
    let resolve = |name: &String| -> Result<String, String> {
        if results.summaries.iter().any(|s| s.activation == *name) {
            return Ok(name.clone());
        }
        let labels: Vec<String> =
            results.config.activations.iter().filter(|a| a.kind.name() == name).map(|a| a.label()).collect();
        match labels.as_slice() {
            [one] => Ok(one.clone()),
            [] => Ok(name.clone()),
            many => Err(format!("`{name}` names {} entries: say which by its label ({})", many.len(), many.join(", "))),
        }
    };
    let one = |v: &Option<String>| v.as_ref().map(resolve).transpose();
    Ok(Spec {
        activation: one(&spec.activation)?,
        better: one(&spec.better)?,
        worse: one(&spec.worse)?,
        best: one(&spec.best)?,
        relative_to: one(&spec.relative_to)?,
        among: spec.among.as_ref().map(|a| a.iter().map(resolve).collect::<Result<Vec<_>, _>>()).transpose()?,
        ..spec.clone()
    })
}

/// A `fair = true` claim (it takes `claim` and nothing else): the check
/// to make of the fairness warnings.
fn fair(spec: &Spec) -> Result<impl Fn(&[crate::report::fairness::Warning]) -> ClaimResult, String> {
    if spec.fair != Some(true) {
        return Err("`fair` takes `true` (the comparison is fair); leave the claim out to not check it".into());
    }
    let alone = Spec { claim: None, fair: None, paper: None, ..spec.clone() };
    if format!("{alone:?}") != format!("{:?}", Spec::bare()) {
        return Err(
            "`fair = true` is a claim of its own: it takes only `claim` (and `paper`), no metric or group".into()
        );
    }
    let text = spec.claim.clone().unwrap_or_else(|| "the comparison is fair (report.md's fairness guards)".into());
    let paper = spec.paper.as_ref().map(crate::config::sweep::show);
    Ok(move |warnings: &[crate::report::fairness::Warning]| ClaimResult {
        claim: text.clone(),
        measured: if warnings.is_empty() {
            "no warning".into()
        } else {
            warnings.iter().map(|w| format!("{}: {}", w.guard, w.text)).collect::<Vec<_>>().join(" | ")
        },
        needed: "no fairness warning".into(),
        holds: warnings.is_empty(),
        paper: paper.clone(),
    })
}

impl Spec {
    /// A claim with no key given (what `fair = true` must otherwise be).
    fn bare() -> Spec {
        toml::from_str("").expect("every key of a claim is optional")
    }
}

fn parse(spec: &Spec, sweep_keys: &[String]) -> Result<Claim, String> {
    let Some(name) = spec.metric.as_deref() else {
        return Err("a claim needs `metric` (or is `fair = true`)".into());
    };
    let metric = metric::lookup(name).ok_or_else(|| {
        let hint = metric::closest(name).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
        format!("unknown `metric` `{name}`{hint}; known: {}", metric::names().join(", "))
    })?;
    let seeds = match spec.seeds.as_deref() {
        None => Seeds::Mean,
        Some(s) => SEEDS
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("`seeds` is one of {}, not {s:?}", SEEDS.map(|(n, _)| n).join(", ")))?,
    };
    let bounds = Bounds { at_least: spec.at_least, at_most: spec.at_most, between: spec.between };
    bounds.check("")?;
    if let Some(p) = spec.p_below
        && !(p > 0.0 && p <= 1.0)
    {
        return Err(format!("`p_below` must be a p-value in (0, 1], not {p}"));
    }
    let runs_where = spec.where_.clone().unwrap_or_default();
    runs_where.check("`where`: ")?;
    let margins = [
        ("not_worse_by", spec.not_worse_by),
        ("better_by", spec.better_by),
        ("within", spec.within),
        ("p_improvement", spec.p_improvement),
    ];
    let given: Vec<(&str, f64)> = margins.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    if spec.relative_to.is_none() && (!given.is_empty() || spec.paired.is_some()) {
        return Err(format!(
            "`{}` is for a margin claim: add `relative_to = \"<the group to compare with>\"`",
            given.first().map_or("paired", |(k, _)| k)
        ));
    }
    let kind = if let Some(source) = &spec.source {
        let Some(label) = &spec.activation else {
            return Err("`source` asks for a share of `activation`'s variance: add `activation`".into());
        };
        if spec.relative_to.is_some() || spec.seeds.is_some() || spec.p_below.is_some() || !given.is_empty() {
            return Err(
                "a `source` claim bounds one share: it takes `activation`, `metric = \"test_accuracy\"` and a bound"
                    .into(),
            );
        }
        if spec.metric.as_deref() != Some("test_accuracy") || bounds.is_empty() {
            return Err("a `source` claim reads the test accuracy's spread: write metric = \"test_accuracy\" and a bound, e.g. at_most = 0.5".into());
        }
        let sources = ["init", "order", "split", "augment"];
        if !sources.contains(&source.as_str()) {
            return Err(format!("`source` is one of {}, not {source:?}", sources.join(", ")));
        }
        Kind::Share { label: label.clone(), source: source.clone(), bounds: bounds.clone() }
    } else if let (Some(relative_to), true) =
        (&spec.relative_to, spec.from_budget.is_some() || spec.up_to_budget.is_some())
    {
        let Some(label) = &spec.activation else {
            return Err("`from_budget` compares `activation` with `relative_to`: add `activation`".into());
        };
        if !given.is_empty()
            || !bounds.is_empty()
            || spec.p_below.is_some()
            || spec.seeds.is_some()
            || spec.paired.is_some()
        {
            return Err("a budget claim (`from_budget`, `up_to_budget`) compares expected best scores: it takes no margin, bound, `p_below`, `seeds` or `paired`".into());
        }
        let from = spec.from_budget.unwrap_or(1);
        if from == 0 || spec.up_to_budget == Some(0) {
            return Err("`from_budget` and `up_to_budget` count settings tried: 1 or more".into());
        }
        if spec.up_to_budget.is_some_and(|to| to < from) {
            return Err("`up_to_budget` must be at least `from_budget`: the budgets run from one to the other".into());
        }
        Kind::Budget { label: label.clone(), relative_to: relative_to.clone(), from, to: spec.up_to_budget }
    } else if spec.from_budget.is_some() || spec.up_to_budget.is_some() {
        return Err("`from_budget` compares `activation` with another group: add `relative_to`".into());
    } else if let Some(relative_to) = &spec.relative_to {
        let Some(label) = &spec.activation else {
            return Err("`relative_to` compares `activation` with it: add `activation`".into());
        };
        if spec.better.is_some() || spec.worse.is_some() || spec.best.is_some() {
            return Err("a margin claim (`relative_to`) takes no `better`, `worse` or `best`".into());
        }
        if !bounds.is_empty() || spec.p_below.is_some() || spec.seeds.is_some() || spec.where_.is_some() {
            return Err("a margin claim judges the interval of the difference: it takes no bound, `p_below`, `seeds` or `where`".into());
        }
        let [(key, margin)] = given[..] else {
            return Err("a margin claim needs one of `not_worse_by`, `better_by` or `within` (a margin in the metric's units, e.g. 0.01), or `p_improvement` (a probability)".into());
        };
        if key == "p_improvement" {
            if !(margin > 0.0 && margin <= 1.0) {
                return Err(format!("`p_improvement` is a probability in (0, 1], not {margin}"));
            }
            if spec.paired.is_some() {
                return Err("`p_improvement` compares every run with every run: it takes no `paired`".into());
            }
        }
        if !(margin.is_finite() && margin >= 0.0) || (key == "within" && margin == 0.0) {
            return Err(format!(
                "`{key}` must be a finite margin >= 0{}, not {margin}",
                if key == "within" { " (and > 0)" } else { "" }
            ));
        }
        if label == relative_to {
            return Err(format!("`activation` and `relative_to` are both `{label}`"));
        }
        let test = match key {
            "not_worse_by" => Margin::NotWorseBy(margin),
            "better_by" => Margin::BetterBy(margin),
            "p_improvement" => Margin::Chance(margin),
            _ => Margin::Within(margin),
        };
        Kind::Margin {
            label: label.clone(),
            relative_to: relative_to.clone(),
            test,
            paired: spec.paired.unwrap_or(false),
        }
    } else {
        match (&spec.activation, &spec.better, &spec.worse, &spec.best) {
            (Some(label), None, None, None) => {
                if bounds.is_empty() {
                    return Err("a claim about one group needs `at_least`, `at_most` or `between`".into());
                }
                if spec.p_below.is_some() {
                    return Err("`p_below` is for `better` / `worse` claims".into());
                }
                match (seeds, runs_where.is_empty()) {
                    (Seeds::Share, true) => {
                        return Err(
                            "`seeds = \"share\"` needs `where`: which runs count, e.g. where = { at_least = 1.0 }"
                                .into(),
                        );
                    }
                    (Seeds::Share, false) => {}
                    (_, false) => return Err("`where` is for `seeds = \"share\"`".into()),
                    _ => {}
                }
                Kind::Group { label: label.clone(), seeds, bounds: bounds.clone(), runs_where }
            }
            (None, Some(better), Some(worse), None) => {
                if !bounds.is_empty() || spec.seeds.is_some() || spec.where_.is_some() {
                    return Err("a `better` / `worse` claim compares means; `p_below` is its only test".into());
                }
                if better == worse {
                    return Err(format!("`better` and `worse` are both `{better}`"));
                }
                if let Some(p) = spec.p_below
                    && !(p > 0.0 && p <= 1.0)
                {
                    return Err(format!("`p_below` is a probability in (0, 1], not {p}"));
                }
                Kind::Order { better: better.clone(), worse: worse.clone(), p_below: spec.p_below }
            }
            (None, None, None, Some(best)) => {
                if !bounds.is_empty() || spec.p_below.is_some() || spec.where_.is_some() {
                    return Err("a `best` claim ranks the groups; it takes no bound".into());
                }
                if matches!(seeds, Seeds::Each | Seeds::Share | Seeds::Std) {
                    return Err("a `best` claim ranks by `seeds` = mean, median, min or max".into());
                }
                Kind::Best { label: best.clone(), among: spec.among.clone(), seeds }
            }
            (None, Some(_), None, None) | (None, None, Some(_), None) => {
                return Err("`better` and `worse` go together".into());
            }
            _ => {
                return Err(
                    "say what the claim is about: `activation` (one group), `better` and `worse`, or `best`".into()
                );
            }
        }
    };
    if spec.among.is_some() && spec.best.is_none() {
        return Err("`among` is for `best` claims".into());
    }
    let layers = match &spec.layer {
        None => None,
        Some(toml::Value::Integer(i)) if *i >= 0 => Some(Layers::Index(*i as usize)),
        Some(toml::Value::String(s)) => Some(match s.as_str() {
            "last" => Layers::Last,
            "each" => Layers::Each,
            "max" => Layers::Max,
            "min" => Layers::Min,
            other => return Err(format!("`layer` is an index or one of last, each, max, min, not {other:?}")),
        }),
        Some(other) => return Err(format!("`layer` is an index or one of last, each, max, min, not {other}")),
    };
    let per_layer = matches!(metric.source, metric::Source::Layer(_));
    let gradient = matches!(metric.source, metric::Source::Gradient(_) | metric::Source::GradientRatio);
    let learned = matches!(metric.source, metric::Source::Learned(_));
    let by_epoch = per_layer || learned || matches!(metric.source, metric::Source::Epoch(_));
    if layers.is_some() && !per_layer {
        return Err(format!("`layer` is for the per-layer metrics (activations.csv), not `{}`", metric.name));
    }
    if spec.epoch.is_some() && !by_epoch {
        return Err(format!(
            "`epoch` is for the metrics of epochs.csv, activations.csv and learned.csv, not `{}`",
            metric.name
        ));
    }
    if spec.step.is_some() && !gradient && !per_layer {
        return Err(format!("`step` is for the gradient and per-layer metrics, not `{}`", metric.name));
    }
    if spec.step.is_some() && spec.epoch.is_some() && per_layer {
        return Err(format!(
            "`{}` takes `epoch` (activations.csv) or `step` (activation_steps.csv), not both",
            metric.name
        ));
    }
    match (&spec.parameter, metric.source) {
        (None, metric::Source::Gradient(_)) => {
            return Err("`grad_l2` needs `parameter`, e.g. parameter = \"layers.0.weight\"".into());
        }
        (None, metric::Source::Learned(_)) => {
            return Err("`learned` needs `parameter`, e.g. parameter = \"activations.0.beta\"".into());
        }
        (Some(_), source) if !matches!(source, metric::Source::Gradient(_) | metric::Source::Learned(_)) => {
            return Err(format!("`parameter` is for `grad_l2` and `learned`, not `{}`", metric.name));
        }
        _ => {}
    }
    let mut point = BTreeMap::new();
    for (key, value) in &spec.at {
        if !sweep_keys.contains(key) {
            return Err(format!(
                "`at` names `{key}`, which the experiment does not sweep (its sweep: {})",
                if sweep_keys.is_empty() { "none".to_string() } else { sweep_keys.join(", ") }
            ));
        }
        point.insert(key.clone(), crate::config::sweep::show(value));
    }
    let at = At { epoch: spec.epoch, step: spec.step, layers, parameter: spec.parameter.clone() };
    let paper = spec.paper.as_ref().map(crate::config::sweep::show);
    let mut claim = Claim { text: String::new(), paper, metric, kind, lr: spec.lr, point, at };
    claim.text = spec.claim.clone().unwrap_or_else(|| describe(&claim));
    Ok(claim)
}

/// A claim in words, from its keys: `mean test_accuracy of relu in [0.86, 0.9]`.
fn describe(c: &Claim) -> String {
    let mut place = Vec::new();
    if let Some(e) = c.at.epoch {
        place.push(format!("epoch {e}"));
    }
    if let Some(s) = c.at.step {
        place.push(format!("step {s}"));
    }
    match &c.at.layers {
        Some(Layers::Index(i)) => place.push(format!("layer {i}")),
        Some(Layers::Last) => place.push("the last layer".into()),
        Some(Layers::Each) | None if matches!(c.metric.source, metric::Source::Layer(_)) => {
            place.push("every layer".into())
        }
        Some(Layers::Max) => place.push("its worst layer (max)".into()),
        Some(Layers::Min) => place.push("its lowest layer (min)".into()),
        _ => {}
    }
    if let Some(p) = &c.at.parameter {
        place.push(p.clone());
    }
    for (k, v) in &c.point {
        place.push(format!("{k} = {v}"));
    }
    if let Some(lr) = c.lr {
        place.push(format!("lr {lr}"));
    }
    let place = if place.is_empty() { String::new() } else { format!(" at {}", place.join(", ")) };
    let m = c.metric.name;
    match &c.kind {
        Kind::Group { label, seeds: Seeds::Share, bounds, runs_where } => {
            format!("share of {label} runs with {m}{place} {} is {}", runs_where.text(), bounds.text())
        }
        Kind::Group { label, seeds: Seeds::Each, bounds, .. } => {
            format!("{m} of every {label} run{place} {}", bounds.text())
        }
        Kind::Group { label, seeds, bounds, .. } => {
            format!("{} {m} of {label}{place} {}", seed_name(*seeds), bounds.text())
        }
        Kind::Order { better, worse, p_below } => {
            let p = p_below.map(|p| format!(" (Welch p < {p})")).unwrap_or_default();
            format!("{better} better than {worse} on {m}{place}{p}")
        }
        Kind::Margin { label, relative_to, test, paired } => {
            let how = match test {
                Margin::NotWorseBy(m) => format!("not worse than {relative_to} by more than {}", num(*m)),
                Margin::BetterBy(m) if *m == 0.0 => format!("better than {relative_to}"),
                Margin::BetterBy(m) => format!("better than {relative_to} by more than {}", num(*m)),
                Margin::Within(m) => format!("within {} of {relative_to}", num(*m)),
                Margin::Chance(p) => {
                    return format!("{label} beats {relative_to} on {m}{place} with probability >= {}", num(*p));
                }
            };
            let test = if *paired { "paired by seed" } else { "Welch" };
            format!("{label} {how} on {m}{place} (95% interval, {test})")
        }
        Kind::Best { label, seeds, .. } => format!("{label} has the best {} {m}{place}", seed_name(*seeds)),
        Kind::Budget { label, relative_to, from, to } => {
            let budgets = match to {
                Some(to) => format!("at every budget from {from} to {to} settings"),
                None => format!("at every budget of {from} or more settings"),
            };
            let side = if c.metric.higher_is_better { "at least" } else { "at most" };
            format!("{budgets}, {label}'s expected best {m} is {side} {relative_to}'s")
        }
        Kind::Share { label, source, bounds } => {
            format!("{source}'s share of the variance of {label}'s {m} over seeds is {}", bounds.text())
        }
    }
}

fn seed_name(s: Seeds) -> &'static str {
    SEEDS.iter().find(|(_, v)| *v == s).map_or("mean", |(n, _)| n)
}

/// What a claim's groups are drawn from: the sweep's keys and, with
/// `[tuning]`, the runs of each activation's chosen settings.
struct Scope {
    keys: Vec<String>,
    tuned: Vec<String>,
    chosen: Option<std::collections::HashSet<String>>,
}

impl Scope {
    fn of(results: &Results) -> Self {
        let tuned = crate::tuning::choose(&results.config, &results.summaries, &results.epochs);
        Self {
            keys: results.config.sweep.keys(),
            tuned: tuned.as_ref().map(|t| t.tuned_keys.clone()).unwrap_or_default(),
            chosen: tuned
                .map(|t| t.choices.iter().flat_map(|c| t.candidates[c.chosen].run_ids.iter().cloned()).collect()),
        }
    }

    /// Whether a claim reads only the chosen settings: with `[tuning]`, unless
    /// it names a tuned key itself (`lr`, or `at` a tuned swept key).
    fn chosen_for(&self, claim: &Claim) -> Option<&std::collections::HashSet<String>> {
        let names_tuned = (claim.lr.is_some() && self.tuned.iter().any(|k| k == "training.lr"))
            || claim.point.keys().any(|k| self.tuned.contains(k));
        self.chosen.as_ref().filter(|_| !names_tuned)
    }
}

/// The runs of one group: its label, the claim's lr and sweep point, and
/// with `[tuning]` the activation's chosen settings ([`Scope::chosen_for`]).
fn runs<'a>(results: &'a Results, claim: &Claim, scope: &Scope, label: &str) -> Result<Vec<&'a RunSummary>, String> {
    let keys = &scope.keys;
    let chosen = scope.chosen_for(claim);
    let runs: Vec<&RunSummary> = results
        .summaries
        .iter()
        .filter(|s| s.activation == label)
        .filter(|s| chosen.is_none_or(|c| c.contains(&s.run_id)))
        .filter(|s| claim.lr.is_none_or(|lr| (s.lr - lr).abs() <= 1e-12 * lr.abs().max(1.0)))
        .filter(|s| {
            claim.point.iter().all(|(k, v)| keys.iter().position(|x| x == k).is_some_and(|i| s.sweep.get(i) == Some(v)))
        })
        .collect();
    if runs.is_empty() {
        let mut labels: Vec<&str> = results.summaries.iter().map(|s| s.activation.as_str()).collect();
        labels.sort();
        labels.dedup();
        let extra = if claim.lr.is_some() || !claim.point.is_empty() { " at that lr / sweep point" } else { "" };
        return Err(format!("no runs of `{label}`{extra} in the results; groups: {}", labels.join(", ")));
    }
    Ok(runs)
}

/// Per run, its value(s) of the claim's metric.
fn per_run(results: &Results, claim: &Claim, runs: &[&RunSummary]) -> Result<Vec<Vec<f64>>, String> {
    runs.iter().map(|r| metric::values(results, r, claim.metric, &claim.at)).collect()
}

fn statistic(seeds: Seeds, xs: &[f64]) -> f64 {
    let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    // A run without a value (diverged) makes mean, median and std undefined: NaN fails any bound.
    if finite.len() < xs.len() || finite.is_empty() {
        return match seeds {
            Seeds::Min | Seeds::Max if !finite.is_empty() => statistic(seeds, &finite),
            _ => f64::NAN,
        };
    }
    let mut sorted = finite.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    match seeds {
        Seeds::Mean | Seeds::Each | Seeds::Share => mean,
        Seeds::Median => {
            if n % 2 == 1 {
                sorted[n / 2]
            } else {
                0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
            }
        }
        Seeds::Min => sorted[0],
        Seeds::Max => sorted[n - 1],
        Seeds::Std => {
            if n < 2 {
                f64::NAN
            } else {
                (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            }
        }
    }
}

/// What a claim's measured value must meet, for the failure messages.
fn needed(claim: &Claim) -> String {
    let bounds = |b: &Bounds| b.text();
    match &claim.kind {
        Kind::Group { bounds: b, .. } => bounds(b),
        Kind::Order { worse, p_below, .. } => {
            let ahead = if claim.metric.higher_is_better { "above" } else { "below" };
            let p = p_below.map(|p| format!(", Welch p < {p}")).unwrap_or_default();
            format!("a mean {ahead} {worse}'s{p}")
        }
        Kind::Best { .. } => {
            if claim.metric.higher_is_better {
                "the highest".into()
            } else {
                "the lowest".into()
            }
        }
        Kind::Margin { test, .. } => test.needs(),
        Kind::Share { bounds: b, .. } => bounds(b),
        Kind::Budget { from, to, .. } => {
            let side = if claim.metric.higher_is_better { "at least" } else { "at most" };
            match to {
                Some(to) => format!("{side} the other's at every n from {from} to {to}"),
                None => format!("{side} the other's at every n >= {from}"),
            }
        }
    }
}

fn evaluate(claim: &Claim, results: &Results, scope: &Scope) -> Result<ClaimResult, String> {
    let result = |measured: String, holds: bool| ClaimResult {
        claim: claim.text.clone(),
        measured,
        needed: needed(claim),
        holds,
        paper: claim.paper.clone(),
    };
    match &claim.kind {
        Kind::Group { label, seeds, bounds, runs_where } => {
            let runs = runs(results, claim, scope, label)?;
            let values = per_run(results, claim, &runs)?;
            let n = runs.len();
            let layers = values.iter().map(Vec::len).max().unwrap_or(1);
            // Per layer (one "layer" unless `layer = "each"`): the statistic over runs.
            let column =
                |l: usize| -> Vec<f64> { values.iter().map(|v| v.get(l).copied().unwrap_or(f64::NAN)).collect() };
            match seeds {
                Seeds::Share => {
                    let counted = |l: usize| column(l).iter().filter(|x| runs_where.holds(**x)).count();
                    let shares: Vec<(usize, f64)> =
                        (0..layers).map(|l| (counted(l), counted(l) as f64 / n as f64)).collect();
                    let holds = shares.iter().all(|(_, s)| bounds.holds(*s));
                    let text =
                        shares.iter().map(|(k, s)| format!("{} ({k} of {n})", num(*s))).collect::<Vec<_>>().join(", ");
                    Ok(result(text, holds))
                }
                Seeds::Each => {
                    let all: Vec<f64> = values.iter().flatten().copied().collect();
                    let holds = all.len() == n * layers && all.iter().all(|x| bounds.holds(*x));
                    let (lo, hi) = range(&all);
                    Ok(result(format!("{} to {} over {n} runs", num(lo), num(hi)), holds))
                }
                _ => {
                    let stats: Vec<f64> = (0..layers).map(|l| statistic(*seeds, &column(l))).collect();
                    let holds = stats.iter().all(|x| bounds.holds(*x));
                    let measured = if stats.len() == 1 {
                        format!("{} ({n} runs)", num(stats[0]))
                    } else {
                        let (lo, hi) = range(&stats);
                        format!("{} to {} over {} layers ({n} runs)", num(lo), num(hi), stats.len())
                    };
                    Ok(result(measured, holds))
                }
            }
        }
        Kind::Order { better, worse, p_below } => {
            let a = flat(per_run(results, claim, &runs(results, claim, scope, better)?)?)?;
            let b = flat(per_run(results, claim, &runs(results, claim, scope, worse)?)?)?;
            let (ma, mb) = (statistic(Seeds::Mean, &a), statistic(Seeds::Mean, &b));
            let sign = if claim.metric.higher_is_better { 1.0 } else { -1.0 };
            let ahead = sign * (ma - mb) > 0.0;
            let mut measured = format!("{} vs {}", num(ma), num(mb));
            let mut holds = ahead && ma.is_finite() && mb.is_finite();
            if let Some(limit) = p_below {
                match stats::welch(&a, &b) {
                    Some(w) => {
                        // One-sided: half the two-sided p in the claimed direction.
                        let p = if sign * w.diff > 0.0 { w.p / 2.0 } else { 1.0 - w.p / 2.0 };
                        let _ = write!(measured, ", p = {p:.1e}");
                        holds &= p < *limit;
                    }
                    None => {
                        measured.push_str(", p: fewer than 2 runs a side");
                        holds = false;
                    }
                }
            }
            Ok(result(measured, holds))
        }
        Kind::Margin { label, relative_to, test, paired } => {
            let mine = runs(results, claim, scope, label)?;
            let theirs = runs(results, claim, scope, relative_to)?;
            let a = flat(per_run(results, claim, &mine)?)?;
            let b = flat(per_run(results, claim, &theirs)?)?;
            if let Margin::Chance(_) = test {
                // In the metric's direction: a loss turns over.
                let turn = |v: &[f64]| -> Vec<f64> {
                    v.iter().map(|x| if claim.metric.higher_is_better { *x } else { -x }).collect()
                };
                let (a, b) = (turn(&a), turn(&b));
                let Some(p) = crate::maths::bootstrap::probability_of_improvement(&a, &b) else {
                    return Ok(result("no finite value on a side".into(), false));
                };
                let interval = crate::maths::bootstrap::improvement_interval(&a, &b, 2_000, 0)
                    .map(|(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"))
                    .unwrap_or_default();
                return Ok(result(format!("P = {p:.2}{interval} ({} x {} runs)", a.len(), b.len()), test.holds(p, p)));
            }
            let interval = if *paired {
                // Each seed's pair: the seeds both groups ran, in order.
                let by_seed = |runs: &[&RunSummary], values: &[f64]| -> BTreeMap<u64, f64> {
                    runs.iter().map(|r| r.seed).zip(values.iter().copied()).collect()
                };
                let (x, y) = (by_seed(&mine, &a), by_seed(&theirs, &b));
                let (pa, pb): (Vec<f64>, Vec<f64>) =
                    x.iter().filter_map(|(seed, v)| y.get(seed).map(|w| (*v, *w))).unzip();
                stats::paired(&pa, &pb)
            } else {
                stats::welch(&a, &b)
            };
            let Some(t) = interval else {
                let measured =
                    format!("no interval: fewer than 2 {} a side", if *paired { "seeds in common" } else { "runs" });
                return Ok(result(measured, false));
            };
            // Positive is better: a metric where lower is better turns over.
            let sign = if claim.metric.higher_is_better { 1.0 } else { -1.0 };
            let (d, lo, hi) = if sign > 0.0 { (t.diff, t.ci_low, t.ci_high) } else { (-t.diff, -t.ci_high, -t.ci_low) };
            let holds = d.is_finite() && lo.is_finite() && hi.is_finite() && test.holds(lo, hi);
            let signed = |x: f64| if x >= 0.0 { format!("+{}", num(x)) } else { num(x) };
            let measured = format!(
                "{} [{}, {}]{}, p = {:.1e}",
                signed(d),
                signed(lo),
                signed(hi),
                if sign > 0.0 { "" } else { " (turned: lower is better)" },
                t.p
            );
            Ok(result(measured, holds))
        }
        Kind::Share { label, source, bounds } => {
            let spreads = crate::report::spread::spreads(&crate::report::Analysis::new(results.clone()));
            let mine: Vec<_> = spreads.iter().filter(|s| s.activation == *label).collect();
            let one = match mine.as_slice() {
                [one] => one,
                [] => {
                    return Err(format!(
                        "no spread by source of `{label}`: sweep `experiment.vary` over points of one source each, e.g. [[\"init\"], [\"order\"], [\"split\"]]"
                    ));
                }
                _ => {
                    return Err(format!("`{label}` has a spread at several settings of the other keys: not one share"));
                }
            };
            let Some((_, sd, share)) = one.sources.iter().find(|(name, ..)| name == source) else {
                return Err(format!("the sweep of `experiment.vary` has no point that varies `{source}` alone"));
            };
            Ok(result(format!("{share:.3} (std {sd:.4} over seeds)"), bounds.holds(*share)))
        }
        Kind::Budget { label, relative_to, from, to } => {
            let Some(tuned) = crate::tuning::choose(&results.config, &results.summaries, &results.epochs) else {
                return Err("a budget claim needs an experiment with `[tuning]`".into());
            };
            if claim.metric.name != tuned.select.name() {
                return Err(format!(
                    "a budget claim reads the tuning's selection metric: write metric = \"{}\"",
                    tuned.select.name()
                ));
            }
            let curves = crate::report::expected::curves(&crate::report::Analysis::new(results.clone()));
            let find = |l: &str| -> Result<&crate::report::expected::Curve, String> {
                let mine: Vec<_> = curves.iter().filter(|c| c.activation == l).collect();
                match mine.as_slice() {
                    [one] => Ok(one),
                    [] => Err(format!("no tuned runs of `{l}` in the results")),
                    _ => Err(format!("`{l}` was tuned at several settings of the keys not tuned: not one curve")),
                }
            };
            let (a, b) = (find(label)?, find(relative_to)?);
            let n = a.points.len().min(b.points.len());
            let last = to.unwrap_or(n);
            if *from > n || last > n {
                let measured = format!("only {n} settings tried, fewer than {}", last.max(*from));
                return Ok(result(measured, false));
            }
            let sign = if claim.metric.higher_is_better { 1.0 } else { -1.0 };
            let worst = (*from - 1..last)
                .map(|k| (k + 1, sign * (a.points[k].mean - b.points[k].mean)))
                .min_by(|x, y| x.1.total_cmp(&y.1))
                .expect("from <= n");
            let measured = format!("smallest lead {:+.4} at n = {} (of {n})", worst.1, worst.0);
            Ok(result(measured, worst.1 >= 0.0))
        }
        Kind::Best { label, among, seeds } => {
            let mut labels: Vec<String> = match among {
                Some(list) => list.clone(),
                None => results.summaries.iter().map(|s| s.activation.clone()).collect(),
            };
            if !labels.contains(label) {
                labels.push(label.clone());
            }
            labels.sort();
            labels.dedup();
            let mut scored = Vec::new();
            for l in &labels {
                let values = flat(per_run(results, claim, &runs(results, claim, scope, l)?)?)?;
                scored.push((l.clone(), statistic(*seeds, &values)));
            }
            let sign = if claim.metric.higher_is_better { 1.0 } else { -1.0 };
            let mine = scored.iter().find(|(l, _)| l == label).map_or(f64::NAN, |s| s.1);
            let holds =
                mine.is_finite() && scored.iter().all(|(l, v)| l == label || v.is_nan() || sign * v < sign * mine);
            scored.sort_by(|a, b| (sign * b.1).total_cmp(&(sign * a.1)));
            let measured = scored.iter().map(|(l, v)| format!("{l} {}", num(*v))).collect::<Vec<_>>().join(", ");
            Ok(result(measured, holds))
        }
    }
}

/// One value per run (a per-layer metric must pick a layer for a comparison).
fn flat(values: Vec<Vec<f64>>) -> Result<Vec<f64>, String> {
    if values.iter().any(|v| v.len() != 1) {
        return Err("a comparison needs one value per run: give `layer` an index, \"last\", \"max\" or \"min\"".into());
    }
    Ok(values.into_iter().map(|v| v[0]).collect())
}

fn range(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}
