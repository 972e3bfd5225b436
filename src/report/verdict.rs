//! report.md's verdict: one sentence per activation against the baseline on
//! test accuracy, from aggregate.csv's row (difference, its interval, Holm's
//! p, the minimum detectable difference), worded so that it never claims
//! more than the data show: "no detectable difference" is not "equal", and
//! it says how large a difference these seeds could have found.

use std::fmt::Write;

use super::aggregate::{ALPHA, AggregateRow, Verdict};
use super::{Analysis, Headline};

/// The `## Verdict` section.
pub fn section(analysis: &Analysis) -> String {
    let baseline = &analysis.results.config.report.baseline;
    let headline = analysis.headline();
    let mut md = String::from("## Verdict\n\n");
    let rows: Vec<(&String, &AggregateRow)> = analysis
        .groups
        .iter()
        .zip(&analysis.labels)
        .filter_map(|(g, label)| {
            let row = analysis.row(g, headline.metric)?;
            Some((label, row))
        })
        .collect();
    if rows.iter().all(|(_, r)| r.verdict.is_none()) {
        let _ = writeln!(
            md,
            "No verdict: the baseline `{baseline}` is not among the activations compared (set `report.baseline` to one of them).\n"
        );
        return md;
    }
    let _ = writeln!(
        md,
        "Each activation against `{baseline}` on {}: Welch's t-test over seeds, Holm-corrected over the comparisons, at α = {ALPHA} (the intervals are not adjusted). \"No detectable difference\" is not \"equal\": it comes with the smallest difference these seeds would have found (80% power).\n",
        headline.name
    );
    for (label, row) in &rows {
        let Some(verdict) = row.verdict else { continue };
        // The baseline group's row: its finished runs count for "too few".
        let base = rows.iter().map(|(_, r)| *r).find(|r| {
            r.baseline.is_empty()
                && super::aggregate::same_point(&analysis.results.config, &r.sweep, &row.sweep)
                && row.baseline == format!("{}@{}", r.activation, r.lr)
        });
        let _ = writeln!(md, "- **{label}**: {}", sentence(row, verdict, baseline, base, headline));
    }
    md.push('\n');
    md.push_str(&chances(&rows, baseline));
    md
}

/// The table of what a new seed would likely show: the interquartile
/// mean beside the mean, the probability of improvement over the baseline
/// with its bootstrap interval, and how often each is best.
fn chances(rows: &[(&String, &AggregateRow)], baseline: &str) -> String {
    let mut md = format!(
        "| activation | mean | IQM | P(better than {baseline} on a new seed) | best in (bootstrap) | mean rank |\n|---|---|---|---|---|---|\n"
    );
    let number = |x: Option<f64>, digits: usize| x.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    for (label, row) in rows {
        let p = match (row.p_improvement, row.p_improvement_low, row.p_improvement_high) {
            (Some(p), Some(lo), Some(hi)) => format!("{p:.2} [{lo:.2}, {hi:.2}]"),
            _ if row.baseline.is_empty() => "baseline".to_string(),
            _ => "-".to_string(),
        };
        let best = row.best_share.map_or("-".to_string(), |b| format!("{:.0}%", 100.0 * b));
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {p} | {best} | {} |",
            number(row.mean, 4),
            number(row.iqm, 4),
            number(row.mean_rank, 2)
        );
    }
    md.push_str(
        "\nP(better): the share of (run, baseline run) pairs in which the run is better, ties counting half (the probability of improvement, Agarwal et al. 2021), with a 95% percentile bootstrap interval over seeds; best in: the share of bootstrap samples in which its mean is the highest. Columns `iqm`, `p_improvement*`, `best_share` and `mean_rank` of aggregate.csv, for every metric.\n\n",
    );
    md
}

/// A p-value as the report writes it: 4 decimals, scientific below 1e-4.
pub(super) fn format_p(p: f64) -> String {
    if p < 1e-4 { format!("{p:.1e}") } else { format!("{p:.4}") }
}

/// One activation's sentence.
fn sentence(
    row: &AggregateRow,
    verdict: Verdict,
    baseline: &str,
    base: Option<&AggregateRow>,
    headline: Headline,
) -> String {
    let pp = |x: f64| headline.difference(x);
    let measured = match (row.diff, row.diff_ci95_low, row.diff_ci95_high, row.p_holm) {
        (Some(d), Some(lo), Some(hi), Some(p)) => {
            format!("{} (95% CI {} to {}, p = {})", pp(d), pp(lo), pp(hi), format_p(p))
        }
        _ => String::new(),
    };
    let left_out = if row.n < row.runs {
        format!(" {} of its {} runs have no value (diverged) and are left out.", row.runs - row.n, row.runs)
    } else {
        String::new()
    };
    match verdict {
        Verdict::Better => format!("better than {baseline}: {measured}.{left_out}"),
        Verdict::Worse => format!("worse than {baseline}: {measured}.{left_out}"),
        Verdict::NoDetectableDifference => {
            let detectable = row.mdd.map_or(String::new(), |m| {
                format!(
                    " With these runs only a difference of about {} or more would have been found reliably; a smaller one may exist.",
                    headline.size(m)
                )
            });
            format!("no detectable difference from {baseline}: {measured}.{detectable}{left_out}")
        }
        Verdict::TooFewRuns => {
            let finished = |r: &AggregateRow| format!("{} finished of {}", r.n, r.runs);
            let sides = match base {
                Some(b) => format!("this one has {}, {baseline} {}", finished(row), finished(b)),
                None => format!("this one has {}", finished(row)),
            };
            format!("cannot tell: a test needs at least 2 finished runs (seeds) on each side; {sides}.")
        }
    }
}
