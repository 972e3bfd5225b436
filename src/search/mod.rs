//! `[search]`: a search over formulas (Ramachandran, Zoph and Le 2017,
//! "Searching for Activation Functions"), in two stages on the rest of the
//! file as the proxy task:
//! 1. the candidates of the space ([`space`]) train by successive halving
//!    over `rungs` in `<out>/search`, a results folder of its own (resumed
//!    like any: a second call trains only what is missing);
//! 2. the best `finalists` of the last rung and the `baselines` are a
//!    normal experiment in `<out>`, with the report, statistics and `check`
//!    of any; search.csv says what became of every candidate, and report.md
//!    gets a search section from it.
//!
//! Everything after the candidates depends only on the runs' results, so the
//! same file and seed give the same leaderboard on a CPU backend.

pub mod space;

use anyhow::Context;

use crate::activation::ActivationKind;
use crate::config::{ActivationEntry, Config, Count, Seeds};
use crate::export::csv;
use crate::records::{EpochRecord, RunSummary, SearchRecord};
use crate::results_dir::{ResultsDir, Table};
use crate::run::{self, Options, Outcome, Stage};

/// Runs both stages and returns the second's outcome.
pub fn run(config: &Config, options: &Options) -> anyhow::Result<Outcome> {
    let search = config.search.as_ref().expect("a [search] config");
    let out = ResultsDir::new(&options.out);
    let found = space::candidates(search);
    let kept: Vec<&space::Candidate> = found.kept().collect();
    if kept.is_empty() {
        anyhow::bail!(
            "key `search`: every one of the {} candidates met was dropped before training (e.g. `{}`: {}): widen search.unary or search.binary",
            found.met.len(),
            found.met.first().map_or("", |c| c.formula.as_str()),
            found.met.first().and_then(|c| c.dropped.as_deref()).unwrap_or("")
        );
    }
    let rungs: Vec<usize> = search.rungs.iter().map(|r| r.0).collect();
    let proxy = proxy_config(config, &kept, *rungs.last().expect("checked: rungs are listed"));
    let stage = Options {
        out: out.search().root().to_path_buf(),
        backend: options.backend,
        progress: options.progress,
        force: options.force,
        command_line: options.command_line.clone(),
        data_dir: options.data_dir.clone(),
        jobs: options.jobs,
    };
    run::run_stage(&proxy, &stage, &Stage::Search { rungs: rungs.clone(), keep: search.keep.0 })?;

    let folder = out.search();
    let summaries: Vec<RunSummary> = csv::read_rows(&folder.table(Table::Summary))?;
    let epochs: Vec<EpochRecord> = csv::read_rows(&folder.table(Table::Epochs))?;
    let labels: Vec<String> = proxy.activations.iter().map(ActivationEntry::label).collect();
    let board = leaderboard(&labels, &summaries, &epochs, &rungs, search.finalists.0);
    let rows = search_rows(&found, &kept, &board, &rungs);
    let path = out.search_table();
    crate::export::atomic::write_atomic(&path, |w| {
        let mut w = ::csv::Writer::from_writer(w);
        for row in &rows {
            w.serialize(row)?;
        }
        w.flush()
    })
    .with_context(|| format!("cannot write '{}'", path.display()))?;

    let mut finals = config.clone();
    finals.activations = search.baselines.clone();
    finals.activations.extend(board.finalists.iter().map(|&c| proxy.activations[c].clone()));
    run::run(&finals, options)
}

/// The proxy stage: the kept candidates as the activations, the search's
/// seeds, epochs up to the last rung, no `[search]`.
fn proxy_config(config: &Config, kept: &[&space::Candidate], last_rung: usize) -> Config {
    let search = config.search.as_ref().expect("a [search] config");
    let mut proxy = config.clone();
    proxy.search = None;
    proxy.activations = kept
        .iter()
        .map(|c| ActivationEntry {
            kind: ActivationKind::from_formula(None, &c.formula, &[]).expect("screened: the candidate is valid"),
            lr: None,
            init: None,
        })
        .collect();
    proxy.experiment.seeds = Seeds((0..search.seeds.0 as u64).collect());
    proxy.experiment.name = format!("{}_search", config.experiment.name);
    proxy.training.epochs = Count(last_rung);
    proxy
}

/// How far each candidate (by its index among the kept ones) got.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaderboard {
    /// Per candidate and rung: the mean validation accuracy over its seeds,
    /// `None` past the rung it reached (or where a seed diverged before it).
    pub scores: Vec<Vec<Option<f64>>>,
    /// Candidates that reached the last rung, best first (ties: walk order).
    pub ranked: Vec<usize>,
    /// The first `finalists` of `ranked`.
    pub finalists: Vec<usize>,
}

/// The leaderboard from the search stage's rows: a candidate's score at a
/// rung is its seeds' mean validation accuracy after that rung's epochs.
pub fn leaderboard(
    labels: &[String],
    summaries: &[RunSummary],
    epochs: &[EpochRecord],
    rungs: &[usize],
    finalists: usize,
) -> Leaderboard {
    let scores: Vec<Vec<Option<f64>>> = labels
        .iter()
        .map(|label| {
            let runs: Vec<&RunSummary> = summaries.iter().filter(|s| &s.activation == label).collect();
            rungs
                .iter()
                .map(|&r| {
                    let values: Vec<f64> = runs
                        .iter()
                        .map(|s| {
                            let rows: Vec<EpochRecord> =
                                epochs.iter().filter(|e| e.run_id == s.run_id).cloned().collect();
                            run::search_score(&rows, r)
                        })
                        .collect();
                    (!values.is_empty() && values.iter().all(|v| v.is_finite()))
                        .then(|| values.iter().sum::<f64>() / values.len() as f64)
                })
                .collect()
        })
        .collect();
    let last = rungs.len() - 1;
    let mut ranked: Vec<usize> = (0..labels.len()).filter(|&c| scores[c][last].is_some()).collect();
    ranked.sort_by(|&a, &b| scores[b][last].unwrap().total_cmp(&scores[a][last].unwrap()).then(a.cmp(&b)));
    let finalists = ranked.iter().copied().take(finalists).collect();
    Leaderboard { scores, ranked, finalists }
}

/// search.csv: every candidate met, in walk order.
fn search_rows(
    found: &space::Space,
    kept: &[&space::Candidate],
    board: &Leaderboard,
    rungs: &[usize],
) -> Vec<SearchRecord> {
    let mut rows = Vec::new();
    let mut k = 0;
    for (i, c) in found.met.iter().enumerate() {
        let row = |rung: Option<usize>, val: Option<f64>, went_on: bool, finalist: bool| SearchRecord {
            candidate: i,
            formula: c.formula.clone(),
            dropped: c.dropped.clone().unwrap_or_default(),
            rung: rung.map(|r| r + 1),
            epochs: rung.map(|r| rungs[r]),
            val_accuracy: val,
            went_on,
            finalist,
        };
        if c.dropped.is_some() {
            rows.push(row(None, None, false, false));
            continue;
        }
        debug_assert_eq!(kept[k].formula, c.formula);
        let scores = &board.scores[k];
        let reached: Vec<usize> = (0..rungs.len()).filter(|&r| scores[r].is_some()).collect();
        for &r in &reached {
            let went_on = reached.contains(&(r + 1));
            let finalist = r + 1 == rungs.len() && board.finalists.contains(&k);
            rows.push(row(Some(r), scores[r], went_on, finalist));
        }
        k += 1;
    }
    rows
}
