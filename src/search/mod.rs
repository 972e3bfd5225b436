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
//! Workers (`run --worker`, `actbench slurm`) take both stages as they take
//! any grid: each rung with the others, then the finalists.
//!
//! Everything after the candidates depends only on the runs' results, so the
//! same file and seed give the same leaderboard on a CPU backend.

pub mod settings;
pub mod space;

use anyhow::Context;

use crate::activation::ActivationKind;
use crate::config::values::{Count, Seeds};
use crate::config::{ActivationEntry, Config};
use crate::results::dir::ResultsDir;
use crate::results::records::{EpochRecord, RunSummary, SearchRecord};
use crate::run::store::SavedRun;
use crate::run::{self, Options, Outcome, Stage, Worked};
use crate::tuning::settings::Select;

/// Runs both stages and returns the second's outcome.
pub fn run(config: &Config, options: &Options) -> anyhow::Result<Outcome> {
    let search = Search::new(config, options)?;
    let searched = run::run_stage(&search.proxy, &search.options, &search.stage)?;
    let finals = search.finish(config, &searched.runs)?;
    run::run(&finals, options)
}

/// Both stages as one of several workers sharing `options.out` (`run
/// --worker`): the rungs with the others, then the finalists' runs; every
/// worker finds the same finalists. Returns what it did in each.
pub fn work(config: &Config, options: &Options, shard: Option<run::Shard>) -> anyhow::Result<(Worked, Worked)> {
    let search = Search::new(config, options)?;
    let searched = run::work_stage(&search.proxy, &search.options, shard, &search.stage)?;
    let finals = search.finish(config, &searched.runs)?;
    Ok((searched, run::work(&finals, options, shard)?))
}

/// The first stage, planned.
struct Search {
    found: space::Space,
    /// Indices into `found.met` of the candidates kept for training.
    kept: Vec<usize>,
    proxy: Config,
    /// The proxy stage's options: `options` with `<out>/search` as the folder.
    options: Options,
    stage: Stage,
    out: ResultsDir,
    rungs: Vec<usize>,
}

impl Search {
    fn new(config: &Config, options: &Options) -> anyhow::Result<Search> {
        let search = config.search.as_ref().expect("a [search] config");
        let out = ResultsDir::new(&options.out);
        let found = space::candidates(search);
        let kept: Vec<usize> = (0..found.met.len()).filter(|&i| found.met[i].dropped.is_none()).collect();
        if kept.is_empty() {
            anyhow::bail!(
                "key `search`: every one of the {} candidates met was dropped before training (e.g. `{}`: {}): widen search.unary or search.binary",
                found.met.len(),
                found.met.first().map_or("", |c| c.formula.as_str()),
                found.met.first().and_then(|c| c.dropped.as_deref()).unwrap_or("")
            );
        }
        let rungs: Vec<usize> = search.rungs.iter().map(|r| r.0).collect();
        let formulas: Vec<&str> = kept.iter().map(|&i| found.met[i].formula.as_str()).collect();
        let proxy = proxy_config(config, &formulas, *rungs.last().expect("checked: rungs are listed"));
        let options = Options {
            out: out.search().root().to_path_buf(),
            backend: options.backend,
            progress: options.progress,
            force: options.force,
            command_line: options.command_line.clone(),
            data_dir: options.data_dir.clone(),
            jobs: options.jobs,
        };
        let stage = Stage::Search { rungs: rungs.clone(), keep: search.keep.0 };
        Ok(Search { found, kept, proxy, options, stage, out, rungs })
    }

    /// From the first stage's runs: search.csv, and the second stage's
    /// config (the baselines and the finalists).
    fn finish(&self, config: &Config, runs: &[SavedRun]) -> anyhow::Result<Config> {
        let search = config.search.as_ref().expect("a [search] config");
        let keys = self.proxy.sweep.keys();
        let summaries: Vec<RunSummary> = runs.iter().map(|r| r.summary.clone()).collect();
        let epochs: Vec<EpochRecord> = runs.iter().flat_map(|r| r.epochs(&keys)).collect();
        let labels: Vec<String> = self.proxy.activations.iter().map(ActivationEntry::label).collect();
        let select = Select::of_task(config.data.dataset.is_text());
        let mut board =
            leaderboard(&labels, &summaries, &epochs, &self.rungs, (search.keep.0, search.finalists.0), select);
        let mut finals = config.clone();
        finals.activations = search.baselines.clone();
        board.finalists.clear();
        // The best of the last rung, down the ranking: a candidate that is
        // also a baseline (the same label or run ids) is trained as the
        // baseline already, and the next one takes its place.
        for &c in &board.ranked {
            if board.finalists.len() == search.finalists.0 {
                break;
            }
            let entry = &self.proxy.activations[c];
            let mut with = finals.activations.clone();
            with.push(entry.clone());
            let clash = finals.activations.iter().any(|b| b.label() == entry.label())
                || crate::config::activations::run_id_clash(&with, &[], &finals.training.lr).is_some();
            if clash {
                eprintln!(
                    "note: the candidate `{}` is also a baseline; the next best is a finalist instead",
                    entry.label()
                );
            } else {
                finals.activations = with;
                board.finalists.push(c);
            }
        }
        let kept: Vec<&space::Candidate> = self.kept.iter().map(|&i| &self.found.met[i]).collect();
        let rows = search_rows(&self.found, &kept, &board, &self.rungs);
        let path = self.out.search_table();
        crate::export::atomic::write_atomic(&path, |w| {
            let mut w = ::csv::Writer::from_writer(w);
            for row in &rows {
                w.serialize(row)?;
            }
            w.flush()
        })
        .with_context(|| format!("cannot write '{}'", path.display()))?;
        self.drop_checkpoints(runs);
        Ok(finals)
    }

    /// With every rung trained, the checkpoints left are those of candidates
    /// that stopped at a rung, which no rung of this search takes on: about
    /// 1 MB each for an MNIST MLP, hundreds of them. A later search that
    /// takes one further trains it from the start, to the same rows.
    fn drop_checkpoints(&self, runs: &[SavedRun]) {
        let folder = self.out.search();
        for run in runs {
            let checkpoint = folder.run(&run.summary.run_id).checkpoint();
            match std::fs::remove_dir_all(checkpoint.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    eprintln!("warning: cannot remove '{}': {e}", checkpoint.path().display());
                }
                _ => {}
            }
        }
    }
}

/// The proxy stage: the kept candidates as the activations, the search's
/// seeds, epochs up to the last rung (a model trained by steps: the last
/// rung's evaluations of `eval_every` steps, so its rungs fall where its
/// evaluations do), no `[search]`.
fn proxy_config(config: &Config, formulas: &[&str], last_rung: usize) -> Config {
    let search = config.search.as_ref().expect("a [search] config");
    let mut proxy = config.clone();
    proxy.search = None;
    proxy.activations = formulas
        .iter()
        .map(|formula| ActivationEntry {
            kind: ActivationKind::from_formula(None, formula, &[]).expect("screened: the candidate is valid"),
            lr: None,
            init: None,
            ffn: None,
        })
        .collect();
    proxy.experiment.seeds = Seeds((0..search.seeds.0 as u64).collect());
    proxy.experiment.name = format!("{}_search", config.experiment.name);
    match config.training.steps() {
        Some((_, every)) => {
            proxy.training.max_steps = Some(Count(last_rung.saturating_mul(every)));
            proxy.training.eval_every = Some(Count(every));
        }
        None => proxy.training.epochs = Count(last_rung),
    }
    proxy
}

/// How far each candidate (by its index among the kept ones) got.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaderboard {
    /// Per candidate and rung: whether it trained in that rung.
    pub trained: Vec<Vec<bool>>,
    /// Per candidate and rung: the mean validation metric (`select`) over
    /// its seeds after that rung's epochs; `None` where it did not train, or
    /// a seed has no row there (it diverged).
    pub scores: Vec<Vec<Option<f64>>>,
    /// The same means of validation accuracy and loss, for search.csv.
    pub accuracies: Vec<Vec<Option<f64>>>,
    pub losses: Vec<Vec<Option<f64>>>,
    /// Candidates scored at the last rung, best first (ties: walk order).
    pub ranked: Vec<usize>,
    /// The first `finalists` of `ranked`.
    pub finalists: Vec<usize>,
}

/// The leaderboard from the search stage's rows, taking the decisions of
/// its successive halving again (`run::keep_of`, `tuning::best`): a
/// candidate's score at a rung is its seeds' mean validation metric
/// `select` after that rung's epochs. `(keep, finalists)` as `[search]`'s.
pub fn leaderboard(
    labels: &[String],
    summaries: &[RunSummary],
    epochs: &[EpochRecord],
    rungs: &[usize],
    (keep, finalists): (f64, usize),
    select: Select,
) -> Leaderboard {
    let mean = |label: &String, r: usize, metric: Select| {
        let values: Vec<f64> = summaries
            .iter()
            .filter(|s| &s.activation == label)
            .map(|s| {
                let rows: Vec<EpochRecord> = epochs.iter().filter(|e| e.run_id == s.run_id).cloned().collect();
                run::search_score(&rows, r, metric)
            })
            .collect();
        (!values.is_empty() && values.iter().all(|v| v.is_finite()))
            .then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let n = labels.len();
    let mut trained = vec![vec![false; rungs.len()]; n];
    let mut scores = vec![vec![None; rungs.len()]; n];
    let (mut accuracies, mut losses) = (scores.clone(), scores.clone());
    let mut alive: Vec<usize> = (0..n).collect();
    for (k, &r) in rungs.iter().enumerate() {
        for &c in &alive {
            trained[c][k] = true;
            scores[c][k] = mean(&labels[c], r, select);
            accuracies[c][k] = mean(&labels[c], r, Select::ValAccuracy);
            losses[c][k] = mean(&labels[c], r, Select::ValLoss);
        }
        if k + 1 < rungs.len() {
            let at: Vec<Option<f64>> = alive.iter().map(|&c| scores[c][k]).collect();
            let mut kept = crate::tuning::best(select, &at, run::keep_of(alive.len(), keep));
            kept.sort_unstable();
            alive = kept.into_iter().map(|j| alive[j]).collect();
        }
    }
    let last = rungs.len() - 1;
    let mut ranked: Vec<usize> = (0..n).filter(|&c| scores[c][last].is_some()).collect();
    ranked.sort_by(|&a, &b| {
        let (a_score, b_score) = (scores[a][last].unwrap(), scores[b][last].unwrap());
        let better_first =
            if select.higher_is_better() { b_score.total_cmp(&a_score) } else { a_score.total_cmp(&b_score) };
        better_first.then(a.cmp(&b))
    });
    let finalists = ranked.iter().copied().take(finalists).collect();
    Leaderboard { trained, scores, accuracies, losses, ranked, finalists }
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
        let row = |k: usize, rung: Option<usize>, went_on: bool, finalist: bool| SearchRecord {
            candidate: i,
            formula: c.formula.clone(),
            dropped: c.dropped.clone().unwrap_or_default(),
            rung: rung.map(|r| r + 1),
            epochs: rung.map(|r| rungs[r]),
            val_accuracy: rung.and_then(|r| board.accuracies[k][r]),
            val_loss: rung.and_then(|r| board.losses[k][r]),
            went_on,
            finalist,
        };
        if c.dropped.is_some() {
            rows.push(row(k, None, false, false));
            continue;
        }
        debug_assert_eq!(kept[k].formula, c.formula);
        let trained = &board.trained[k];
        for r in (0..rungs.len()).filter(|&r| trained[r]) {
            let went_on = trained.get(r + 1).copied().unwrap_or(false);
            let finalist = r + 1 == rungs.len() && board.finalists.contains(&k);
            rows.push(row(k, Some(r), went_on, finalist));
        }
        k += 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(label: &str, seed: u64) -> RunSummary {
        RunSummary::example(&format!("{label}-s{seed}"), label, seed)
    }

    fn epoch(label: &str, seed: u64, epoch: usize, val: f64) -> EpochRecord {
        EpochRecord::example(&summary(label, seed), epoch, val)
    }

    /// Four candidates, two seeds, rungs [1, 3]: a candidate's rung score is
    /// its seeds' mean validation accuracy at that epoch; only those with
    /// rows at the last rung are ranked, a tie goes to the walk's order.
    #[test]
    fn the_leaderboard_ranks_the_last_rung_by_mean_validation_accuracy() {
        let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let summaries: Vec<RunSummary> = labels.iter().flat_map(|l| [summary(l, 0), summary(l, 1)]).collect();
        let mut epochs = Vec::new();
        for (label, at1, at3) in
            [("a", 0.5, Some(0.7)), ("b", 0.6, Some(0.9)), ("c", 0.4, None), ("d", 0.55, Some(0.9))]
        {
            for seed in [0, 1] {
                // Seed 1 a little lower: the mean is what counts.
                let shift = if seed == 1 { -0.02 } else { 0.0 };
                epochs.push(epoch(label, seed, 1, at1 + shift));
                if let Some(v) = at3 {
                    epochs.push(epoch(label, seed, 2, 0.0));
                    epochs.push(epoch(label, seed, 3, v + shift));
                }
            }
        }
        let board = leaderboard(&labels, &summaries, &epochs, &[1, 3], (0.75, 2), Select::ValAccuracy);
        let close = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 1e-12);
        assert!(close(board.scores[0][0], 0.49) && close(board.scores[1][1], 0.89));
        assert_eq!(board.scores[2][1], None, "c stopped at rung 1");
        assert_eq!(board.trained.iter().map(|t| t[1]).collect::<Vec<_>>(), [true, true, false, true], "3 of 4 go on");
        assert_eq!(board.ranked, [1, 3, 0], "b and d tie at 0.89: b first in the walk");
        assert_eq!(board.finalists, [1, 3]);
        // A seed without a row at a rung (diverged before it) leaves the candidate unscored there.
        let partial: Vec<EpochRecord> =
            epochs.iter().filter(|e| !(e.activation == "a" && e.seed == 1 && e.epoch == 3)).cloned().collect();
        let board = leaderboard(&labels, &summaries, &partial, &[1, 3], (0.75, 5), Select::ValAccuracy);
        assert_eq!((board.ranked, board.trained[0][1]), (vec![1, 3], true), "a trained at rung 2 but has no score");
        // keep: ceil(n * keep), at least one, at most n.
        assert_eq!(
            [run::keep_of(57, 0.33), run::keep_of(3, 0.33), run::keep_of(1, 0.01), run::keep_of(4, 0.99)],
            [19, 1, 1, 4]
        );
    }
}
