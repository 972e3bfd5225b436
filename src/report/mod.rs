//! Analysis of a finished experiment, from its CSV files alone:
//! aggregate.csv (statistics across seeds), plots/ (SVG and PNG) and
//! report.md. `actbench report DIR` rebuilds them without training.
//!
//! The report is the list [`ARTIFACTS`]: the data every artifact needs
//! ([`Analysis`]) are computed once, then each artifact writes its file.
//! Adding one is one entry there (and, for a figure, its file in plots/).

mod aggregate;
pub mod expected;
pub mod fairness;
pub mod learned_sites;
pub mod load;
mod markdown;
mod notes;
mod plots;
mod searched;
pub mod settings;
pub mod spread;
mod tuned;
mod verdict;

pub use aggregate::{AggregateRow, Group, METRICS};
pub use load::Results;

use std::path::Path;

use plots::{
    Accuracy, ActivationSteps, Curves, DeadSaturated, ExpectedPerformance, Figure, GradientFlow, Improvement,
    InputPercentiles, Learned, LearnedShapes, Ranks, SearchFinalists, Sensitivity,
};

use crate::results::dir::{AGGREGATE_FILE, EXPECTED_FILE, REPORT_FILE, ResultsDir};

/// The report, in the order it is written: report.md last, after the
/// figures it links.
pub const ARTIFACTS: &[Artifact] = &[
    Artifact { output: Output::File(AGGREGATE_FILE), write: aggregate::write, wanted: |_| true },
    Artifact::figure::<Curves>(),
    Artifact::figure::<GradientFlow>(),
    Artifact::figure::<DeadSaturated>(),
    Artifact::figure::<ActivationSteps>(),
    Artifact::figure::<InputPercentiles>(),
    Artifact::figure::<Accuracy>(),
    Artifact::figure::<Improvement>(),
    Artifact::figure::<Ranks>(),
    Artifact::figure::<Sensitivity>(),
    Artifact { output: Output::File(EXPECTED_FILE), write: expected::write, wanted: |a| a.tuned.is_some() },
    Artifact::figure::<ExpectedPerformance>(),
    Artifact::figure::<Learned>(),
    Artifact::figure::<LearnedShapes>(),
    Artifact::figure::<SearchFinalists>(),
    Artifact { output: Output::File(REPORT_FILE), write: markdown::write, wanted: |_| true },
];

/// One item of the report: what it writes, and how.
pub struct Artifact {
    pub output: Output,
    pub write: fn(&Analysis, &ResultsDir) -> anyhow::Result<()>,
    /// Whether this experiment's report has it (report.md links only those).
    pub wanted: fn(&Analysis) -> bool,
}

/// What an artifact writes into the results folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A file at the top of the folder.
    File(&'static str),
    /// `plots/<stem>.svg` and `.png`, shown in report.md under `title`.
    Figure { stem: &'static str, title: &'static str },
}

impl std::fmt::Display for Output {
    /// The path inside the results folder, e.g. `aggregate.csv`, `plots/curves.{svg,png}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::File(name) => f.write_str(name),
            Output::Figure { stem, .. } => write!(f, "{}/{stem}.{{svg,png}}", crate::results::dir::PLOTS_DIR),
        }
    }
}

impl Artifact {
    const fn figure<F: Figure>() -> Self {
        Self { output: Output::Figure { stem: F::STEM, title: F::TITLE }, write: plots::write::<F>, wanted: F::wanted }
    }
}

/// Stem and title of every figure `analysis` has, in report order.
pub fn figures(analysis: &Analysis) -> impl Iterator<Item = (&'static str, &'static str)> {
    ARTIFACTS.iter().filter(|a| (a.wanted)(analysis)).filter_map(|a| match a.output {
        Output::Figure { stem, title } => Some((stem, title)),
        Output::File(_) => None,
    })
}

/// What the artifacts are made from, computed once.
pub struct Analysis {
    pub results: Results,
    /// The groups compared: every group of runs that differ only by seed, in
    /// the order of summary.csv; with `[tuning]`, each activation's chosen one.
    pub groups: Vec<Group>,
    /// Every group, chosen or not (`groups` itself without `[tuning]`).
    pub all_groups: Vec<Group>,
    /// The choices of `[tuning]`, if the experiment has it.
    pub tuned: Option<crate::tuning::Tuned>,
    /// aggregate.csv: one row per group and metric.
    pub rows: Vec<AggregateRow>,
    /// Per group, its name in legends and tables: the activation, with the
    /// learning rate when the experiment has several.
    pub labels: Vec<String>,
}

/// The measure report.md leads with (its results table and verdict): the
/// test accuracy, or for a language model the test loss per token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headline {
    /// Its row of aggregate.csv.
    pub metric: &'static str,
    pub higher_is_better: bool,
    /// In a sentence: "test accuracy".
    pub name: &'static str,
}

impl Headline {
    pub fn of(config: &crate::config::Config) -> Headline {
        if config.data.dataset.is_text() {
            Headline { metric: "test_loss", higher_is_better: false, name: "test loss per token" }
        } else {
            Headline { metric: "test_accuracy", higher_is_better: true, name: "test accuracy" }
        }
    }

    /// A difference as the report writes it: percentage points of an
    /// accuracy, nats of a loss.
    pub fn difference(self, d: f64) -> String {
        if self.higher_is_better { format!("{:+.1} pp", 100.0 * d) } else { format!("{d:+.4} nats") }
    }

    /// A size of difference (no sign), likewise.
    pub fn size(self, d: f64) -> String {
        if self.higher_is_better { format!("{:.1} pp", 100.0 * d) } else { format!("{d:.4} nats") }
    }
}

impl Analysis {
    /// What report.md leads with.
    pub fn headline(&self) -> Headline {
        Headline::of(&self.results.config)
    }

    /// `group`'s row of aggregate.csv for `metric`.
    pub fn row(&self, group: &Group, metric: &str) -> Option<&AggregateRow> {
        self.rows.iter().find(|r| group.is(&r.activation, &r.sweep, r.lr) && r.metric == metric)
    }

    pub fn new(results: Results) -> Self {
        let all_groups = aggregate::groups(&results);
        let tuned = crate::tuning::choose(&results.config, &results.summaries, &results.epochs);
        let keys = results.config.sweep.keys();
        let (groups, labels) = match &tuned {
            None => {
                let several_lrs = all_groups.iter().any(|g| g.lr != all_groups[0].lr);
                (all_groups.clone(), all_groups.iter().map(|g| label(g, &keys, several_lrs)).collect())
            }
            Some(tuned) => tuned
                .choices
                .iter()
                .filter_map(|ch| {
                    let c = &tuned.candidates[ch.chosen];
                    let group = all_groups.iter().find(|g| g.is(&c.activation, &c.sweep, c.lr))?;
                    Some((group.clone(), tuned_label(tuned, ch)))
                })
                .unzip(),
        };
        let rows = aggregate::rows(&results, &groups);
        Self { results, groups, all_groups, tuned, rows, labels }
    }
}

/// A chosen group's name: the activation, with the fixed keys whose values
/// differ between choices (`relu @ hidden=[64]`).
fn tuned_label(tuned: &crate::tuning::Tuned, choice: &crate::tuning::Choice) -> String {
    let varying: Vec<String> = (0..tuned.fixed_keys.len())
        .filter(|&i| tuned.choices.iter().any(|other| other.fixed[i] != choice.fixed[i]))
        .map(|i| format!("{}={}", leaf(&tuned.fixed_keys[i]), choice.fixed[i]))
        .collect();
    if varying.is_empty() {
        choice.activation.clone()
    } else {
        format!("{} @ {}", choice.activation, varying.join(", "))
    }
}

pub use crate::config::leaf;

/// A group's name in legends and tables: `relu`, `relu @ hidden=[64], optimizer=adam`, `relu @ lr 0.1`.
fn label(group: &Group, keys: &[String], with_lr: bool) -> String {
    let mut label = group.activation.clone();
    if !group.sweep.is_empty() {
        let point: Vec<String> = keys.iter().zip(&group.sweep).map(|(k, v)| format!("{}={v}", leaf(k))).collect();
        label.push_str(&format!(" @ {}", point.join(", ")));
    }
    if with_lr {
        label.push_str(&format!(" @ lr {}", group.lr));
    }
    label
}

/// What [`build`] wrote, and the fairness warnings it found.
pub struct Built {
    pub outputs: Vec<Output>,
    pub warnings: Vec<fairness::Warning>,
}

/// Writes every artifact into `dir`; returns what this experiment has (the
/// figures it does not want are removed, not drawn) and its fairness warnings.
pub fn build(dir: &Path) -> anyhow::Result<Built> {
    let dir = ResultsDir::new(dir);
    let analysis = Analysis::new(Results::load(&dir)?);
    let mut outputs = Vec::new();
    for artifact in ARTIFACTS {
        (artifact.write)(&analysis, &dir)?;
        if (artifact.wanted)(&analysis) {
            outputs.push(artifact.output);
        }
    }
    Ok(Built { outputs, warnings: fairness::warnings(&analysis) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_artifact_writes_its_own_file() {
        let mut names: Vec<&str> = ARTIFACTS
            .iter()
            .map(|a| match a.output {
                Output::File(name) => name,
                Output::Figure { stem, .. } => stem,
            })
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn report_md_is_written_after_the_figures_it_links() {
        let last = ARTIFACTS.last().map(|a| a.output);
        assert_eq!(last, Some(Output::File(REPORT_FILE)));
    }
}
