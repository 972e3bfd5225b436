//! report.md's "Search" section (with `[search]`): the space and what was
//! dropped from it before training, the rungs of successive halving, what
//! they saved, and the leaderboard, from search.csv and the search stage's
//! summaries. The finalists' comparison with the baseline, with its 95% CI,
//! is the results table's.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Analysis;
use crate::tuning::settings::Select;

/// A candidate in search.csv: formula, why dropped, per rung `Some(score)`
/// where it trained (`Some(None)`: it diverged there), and whether it is a finalist.
type Entry<'a> = (&'a str, &'a str, Vec<Option<Option<f64>>>, bool);

/// Leaderboard rows shown (search.csv has every candidate).
const SHOWN: usize = 15;

pub fn section(analysis: &Analysis) -> String {
    let results = &analysis.results;
    let Some(search) = &results.config.search else { return String::new() };
    let rows = &results.search;
    let rungs: Vec<usize> = search.rungs.iter().map(|r| r.0).collect();
    // What a rung counts and what ranks: epochs and validation accuracy, or
    // for a language model evaluations of `every` steps and validation loss.
    let steps = results.config.training.steps().map(|(_, every)| every);
    let select = Select::of_task(results.config.data.dataset.is_text());
    let unit = if steps.is_some() { "step" } else { "epoch" };
    let length = |rung: usize| rung * steps.unwrap_or(1);
    // Per candidate: its formula, why it was dropped, and per rung whether
    // it trained there and its score (none where it diverged).
    let mut candidates: BTreeMap<usize, Entry> = BTreeMap::new();
    for r in rows {
        let c = candidates.entry(r.candidate).or_insert((&r.formula, &r.dropped, vec![None; rungs.len()], false));
        if let Some(k) = r.rung.filter(|k| (1..=rungs.len()).contains(k)) {
            c.2[k - 1] = Some(match select {
                Select::ValAccuracy => r.val_accuracy,
                Select::ValLoss => r.val_loss,
            });
        }
        c.3 |= r.finalist;
    }
    let met = candidates.len();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (_, why, ..) in candidates.values().filter(|c| !c.1.is_empty()) {
        // "the same function as `...`" counts as one reason.
        let reason = why.split(" `").next().unwrap_or(why).trim_end_matches(" as").to_string();
        *reasons.entry(reason).or_default() += 1;
    }
    let dropped: usize = reasons.values().sum();
    let trained = met - dropped;
    let (u, b) = (search.unary.len(), search.binary.len());
    let mut md = String::new();
    let _ = writeln!(md, "## Search\n");
    let _ = writeln!(
        md,
        "The space: {} candidate{} built from {} core unit{} b(u1(x), u2(x)) over {u} unary and {b} binary functions. The walk (seed {}) met {met}: {dropped} dropped before training ({}), {trained} trained with {} seed{} each on this experiment's data and model as the proxy task. Every candidate is in `{}`.\n",
        space_size(u, b, search.units.0),
        if search.units.0 == 1 && u * u * b == 1 { "" } else { "s" },
        search.units.0,
        if search.units.0 == 1 { "" } else { "s" },
        search.seed,
        if reasons.is_empty() {
            "none".to_string()
        } else {
            reasons.iter().map(|(r, n)| format!("{n} {r}")).collect::<Vec<_>>().join(", ")
        },
        search.seeds.0,
        if search.seeds.0 == 1 { "" } else { "s" },
        crate::results::dir::SEARCH_FILE,
    );
    let _ = writeln!(md, "| rung | {unit}s | candidates trained | went on |\n|---|---|---|---|");
    let reached = |k: usize| candidates.values().filter(|c| c.2[k].is_some()).count();
    for (k, &rung) in rungs.iter().enumerate() {
        let next = if k + 1 < rungs.len() { reached(k + 1).to_string() } else { "-".into() };
        let _ = writeln!(md, "| {} | {} | {} | {next} |", k + 1, length(rung), reached(k));
    }
    // Cost: epochs (steps) trained per seed against every trained candidate to the last rung.
    let spent: usize =
        candidates.values().map(|c| c.2.iter().rposition(Option::is_some).map_or(0, |k| length(rungs[k]))).sum();
    let full = trained * rungs.last().map_or(0, |&r| length(r));
    let seconds: f64 = results.search_runs.iter().map(|s| s.wall_seconds).sum();
    let _ = writeln!(
        md,
        "\nSuccessive halving trained {spent} candidate-{unit}s (per seed) where training every candidate to the last rung would take {full}: {:.0}% of that budget. The search's runs took {seconds:.0} s of run time, {:.1} candidates per minute.\n",
        if full > 0 { 100.0 * spent as f64 / full as f64 } else { 0.0 },
        if seconds > 0.0 { trained as f64 / (seconds / 60.0) } else { f64::NAN },
    );
    // The leaderboard: furthest rung first, then its score, best first
    // (scores negated where lower is better; diverged last).
    let mut board: Vec<(&usize, &Entry)> = candidates.iter().filter(|(_, c)| c.1.is_empty()).collect();
    let sign = if select.higher_is_better() { 1.0 } else { -1.0 };
    let key = |c: &Entry| {
        let k = c.2.iter().rposition(Option::is_some);
        (k, k.and_then(|k| c.2[k].flatten()).map_or(f64::NEG_INFINITY, |v| sign * v))
    };
    board.sort_by(|a, b| {
        let (ka, sa) = key(a.1);
        let (kb, sb) = key(b.1);
        kb.cmp(&ka).then(sb.total_cmp(&sa)).then(a.0.cmp(b.0))
    });
    let _ = writeln!(md, "### Leaderboard\n");
    let metric = match select {
        Select::ValAccuracy => "val acc",
        Select::ValLoss => "val loss",
    };
    let heads: Vec<String> = rungs
        .iter()
        .map(|&r| format!("{metric}, {} {unit}{}", length(r), if length(r) == 1 { "" } else { "s" }))
        .collect();
    let _ = writeln!(
        md,
        "| rank | candidate | {} | finalist |\n|---|---|{}---|",
        heads.join(" | "),
        "---|".repeat(rungs.len())
    );
    for (rank, (_, (formula, _, scores, finalist))) in board.iter().take(SHOWN).enumerate() {
        let cells: Vec<String> = scores
            .iter()
            .map(|s| match s {
                Some(Some(v)) => format!("{v:.4}"),
                Some(None) => "diverged".into(),
                None => "-".into(),
            })
            .collect();
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} |",
            rank + 1,
            formula.replace('|', "\\|"),
            cells.join(" | "),
            if *finalist { "yes" } else { "" }
        );
    }
    let _ = writeln!(
        md,
        "\nThe finalists were retrained with the experiment's seeds: the results table above compares them with the baseline (`{}`), with 95% CIs. `plots/search_finalists.svg` draws each finalist and baseline with its derivative.\n",
        results.config.report.baseline
    );
    md
}

fn space_size(u: usize, b: usize, units: usize) -> u128 {
    let one = (u as u128) * (u as u128) * (b as u128);
    if units == 1 { one } else { one * one }
}
