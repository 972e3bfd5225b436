//! `actbench baseline update|show`: a baseline is what `check` reads of a
//! finished experiment, its resolved `config.toml` (the tolerances are its
//! `[check]` section) and its `summary.csv`, kept in a folder of its own to be
//! committed. `update` copies exactly those two from a results folder after
//! checking the experiment is complete and diverged no more than the old
//! baseline, and says what changed per group so the commit message can.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::check;
use crate::config::Config;
use crate::export::atomic;
use crate::grid;
use crate::maths::stats;
use crate::results::dir::{CONFIG_FILE, ResultsDir, Table};
use crate::results::records::RunSummary;

/// What a baseline folder may hold: the files `update` writes.
const FILES: [&str; 2] = [CONFIG_FILE, Table::Summary.file_name()];

pub struct UpdateOptions {
    /// Keep an experiment some of whose runs are missing.
    pub allow_incomplete: bool,
    /// Keep an experiment that diverged in more runs than the old baseline.
    pub allow_diverged: bool,
}

/// Writes the baseline `to` from the results folder `from`; returns what to print.
pub fn update(from: &Path, to: &Path, options: &UpdateOptions) -> anyhow::Result<String> {
    let source = ResultsDir::new(from);
    let config = Config::load(&source.config())
        .with_context(|| format!("'{}' is not a results folder written by `actbench run`", from.display()))?;
    let rows = check::load(from)?;
    let expected: Vec<String> = grid::expand(&config).into_iter().map(|r| r.id).collect();
    let missing: Vec<&String> = expected.iter().filter(|id| !rows.iter().any(|r| &r.run_id == *id)).collect();
    if !missing.is_empty() && !options.allow_incomplete {
        bail!(
            "'{}' is incomplete: {} of its {} runs are missing (first: `{}`); finish it with the same `actbench run`, or pass --allow-incomplete",
            from.display(),
            missing.len(),
            expected.len(),
            missing[0]
        );
    }
    let target = ResultsDir::new(to);
    if same_folder(from, to) {
        bail!("--from and --to are the same folder '{}': a baseline is a folder of its own", to.display());
    }
    check_is_baseline_or_new(to)?;
    crate::results::overwrite::outside_results("--to", to).map_err(anyhow::Error::msg)?;
    let old = if target.table(Table::Summary).is_file() { Some(check::load(to)?) } else { None };
    let by_lr = check::sweeps_lr(old.as_deref().unwrap_or(&rows)) || check::sweeps_lr(&rows);
    let new_groups = check::groups(rows.clone(), by_lr);
    let old_groups = old.clone().map(|o| check::groups(o, by_lr)).unwrap_or_default();
    if !options.allow_diverged {
        for (group, runs) in &new_groups {
            let now = diverged(runs);
            let was = old_groups.get(group).map_or(0, |r| diverged(r));
            if now > was {
                bail!(
                    "`{group}` diverged in {now} of {} runs in '{}' (the baseline: {was}); a baseline should not diverge more than the one it replaces: pass --allow-diverged to keep it",
                    runs.len(),
                    from.display()
                );
            }
        }
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create baseline folder '{}'", to.display()))?;
    // The summary first: a folder with a new config.toml but an old summary would be checked wrongly.
    for name in [Table::Summary.file_name(), CONFIG_FILE] {
        let (src, dest) = (from.join(name), to.join(name));
        let bytes = std::fs::read(&src).with_context(|| format!("cannot read '{}'", src.display()))?;
        atomic::write_atomic(&dest, |out| std::io::Write::write_all(out, &bytes))
            .with_context(|| format!("cannot write '{}'", dest.display()))?;
    }
    let loss = config.data.dataset.is_text();
    Ok(changes(to, from, (&old_groups, &new_groups, loss), rows.len(), missing.len()))
}

/// The groups, seeds and tolerances of a baseline, as text.
pub fn show(dir: &Path) -> anyhow::Result<String> {
    let results = ResultsDir::new(dir);
    let config = Config::load(&results.config())
        .with_context(|| format!("'{}' is not a baseline (no readable {CONFIG_FILE})", dir.display()))?;
    let rows = check::load(dir)?;
    let by_lr = check::sweeps_lr(&rows);
    let groups = check::groups(rows, by_lr);
    let t = &config.check;
    let length = match config.training.steps() {
        Some((steps, _)) => format!("{steps} steps"),
        None => format!("{} epochs", config.training.epochs.0),
    };
    // A language model's groups are compared on test loss (`check --baseline`'s headline metric).
    let loss = config.data.dataset.is_text();
    let mut out = format!(
        "baseline '{}': experiment `{}` ({}, {length}, {})\n",
        dir.display(),
        config.experiment.name,
        config.data.dataset.name(),
        config.training.optimizer.name()
    );
    let _ = writeln!(
        out,
        "tolerances: a group regresses when its mean drops by more than max({}, {} standard errors of the baseline); an ordering with Welch p < {} must hold; no group may diverge more",
        t.min_drop.0, t.standard_errors.0, t.ranking_p.0
    );
    let head = if loss { "test loss (mean±sd)" } else { "test acc (mean±sd)" };
    let _ = writeln!(out, "{:<32} {:>5} {:>19} {:>9}  seeds", "group", "runs", head, "diverged");
    for (group, runs) in &groups {
        let s = stats::summarize(&runs.iter().map(|r| headline(r, loss)).collect::<Vec<_>>());
        let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        let acc = s.map_or_else(|| "NaN".to_string(), |s| format!("{:.4} ± {:.4}", s.mean, s.std));
        let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "{group:<32} {:>5} {acc:>19} {:>9}  {}", runs.len(), diverged(runs), seeds.join(","));
    }
    Ok(out)
}

fn diverged(runs: &[RunSummary]) -> usize {
    runs.iter().filter(|r| r.diverged).count()
}

/// A run's headline metric: test accuracy, or test loss (`loss`, a language model).
fn headline(run: &RunSummary, loss: bool) -> f64 {
    if loss { run.test_loss } else { run.test_accuracy }
}

fn mean(runs: &[RunSummary], loss: bool) -> Option<f64> {
    stats::summarize(&runs.iter().map(|r| headline(r, loss)).collect::<Vec<_>>()).map(|s| s.mean)
}

/// Runs by group, as `check::groups` makes them.
type Groups = BTreeMap<String, Vec<RunSummary>>;

/// Old and new mean per group (of the test loss when `loss`), for the commit message.
fn changes(to: &Path, from: &Path, (old, new, loss): (&Groups, &Groups, bool), runs: usize, missing: usize) -> String {
    let incomplete = if missing > 0 { format!(", {missing} missing") } else { String::new() };
    let mut out = format!("baseline '{}' updated from '{}' ({runs} runs{incomplete}):\n", to.display(), from.display());
    let metric = if loss { "test loss" } else { "test accuracy" };
    let _ = writeln!(out, "means of {metric}:");
    let _ = writeln!(out, "{:<32} {:>9} {:>9} {:>9}", "group", "old mean", "new mean", "change");
    let show = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (was, now) = (old.get(name).and_then(|r| mean(r, loss)), new.get(name).and_then(|r| mean(r, loss)));
        let change = match (was, now, old.contains_key(name), new.contains_key(name)) {
            (_, _, false, true) => "new".to_string(),
            (_, _, true, false) => "removed".to_string(),
            (Some(a), Some(b), ..) => format!("{:+.4}", b - a),
            _ => "-".to_string(),
        };
        let _ = writeln!(out, "{name:<32} {:>9} {:>9} {change:>9}", show(was), show(now));
    }
    out
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `to` must not exist, be empty, or hold nothing but a baseline's files:
/// `update` never writes over another kind of folder (a results folder, say).
fn check_is_baseline_or_new(to: &Path) -> anyhow::Result<()> {
    if !to.exists() {
        return Ok(());
    }
    if !to.is_dir() {
        bail!("--to '{}' is a file, not a baseline folder", to.display());
    }
    let entries = std::fs::read_dir(to).with_context(|| format!("cannot read '{}'", to.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !FILES.contains(&name.as_str()) && !name.starts_with('.') && name != "README.md" {
            bail!(
                "--to '{}' holds `{name}`, so it is not a baseline folder (those hold only {} and {}): give a new folder or an existing baseline",
                to.display(),
                FILES[0],
                FILES[1]
            );
        }
    }
    Ok(())
}
