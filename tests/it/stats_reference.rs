//! src/maths/stats.rs (summaries, Welch's and the paired t-test, Holm) against scipy 1.17 / numpy 2.4 / statsmodels 0.15
//! (tests/data/stats_scipy.csv, written by scripts/stats_reference.py).
//!
//! Layout: `kind,case,a,b,field,value`, one row per expected value; `a` and
//! `b` are the inputs as `;`-separated numbers, printed with Python's repr()
//! so that they parse back to the same f64.

use std::collections::BTreeMap;

use actbench::maths::bootstrap::{RESAMPLES, improvement_interval, iqm, probability_of_improvement};
use actbench::maths::expected_max;
use actbench::maths::stats::{holm, paired, summarize, trapezoid, welch};

/// Relative 1e-9. The absolute 1e-12 applies only where scipy's value is
/// itself within 1e-12 of zero (a zero that either side may compute as
/// rounding noise), so that the 1e-6-scale case stays a relative check.
fn close(got: f64, want: f64) -> bool {
    let err = (got - want).abs();
    got == want || err <= 1e-9 * want.abs() || (want.abs() <= 1e-12 && err <= 1e-12)
}

fn numbers(s: &str) -> Vec<f64> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(';').map(|x| x.parse().unwrap_or_else(|e| panic!("bad number `{x}`: {e}"))).collect()
}

/// Our value for one row, or `None` for a field we do not know (or a result
/// we do not produce), which counts as a failure.
fn ours(kind: &str, a: &[f64], b: &[f64], field: &str) -> Option<f64> {
    match kind {
        "summary" => {
            let s = summarize(a)?;
            Some(match field {
                "n" => s.n as f64,
                "mean" => s.mean,
                "std" => s.std,
                "median" => s.median,
                "min" => s.min,
                "max" => s.max,
                "ci_low" => s.ci_low,
                "ci_high" => s.ci_high,
                _ => return None,
            })
        }
        "welch" | "paired" => {
            let w = if kind == "welch" { welch(a, b)? } else { paired(a, b)? };
            Some(match field {
                "diff" => w.diff,
                "ci_low" => w.ci_low,
                "ci_high" => w.ci_high,
                "t" => w.t,
                "df" => w.df,
                "p" => w.p,
                "mdd" => w.mdd,
                _ => return None,
            })
        }
        "holm" => {
            let i: usize = field.strip_prefix("adjusted[")?.strip_suffix(']')?.parse().ok()?;
            let adjusted = holm(a);
            assert_eq!(adjusted.len(), a.len(), "holm keeps one value per input");
            adjusted.get(i).copied()
        }
        "trapezoid" if field == "area" => Some(trapezoid(a)),
        "improvement" if field == "p" => probability_of_improvement(a, b),
        "iqm" if field == "iqm" => iqm(a),
        "bootstrap" => {
            let (lo, hi) = improvement_interval(a, b, RESAMPLES, 0)?;
            match field {
                "low" => Some(lo),
                "high" => Some(hi),
                _ => None,
            }
        }
        "expected_max" => {
            let (name, n) = field.strip_suffix(']')?.split_once('[')?;
            let trials: Vec<(f64, f64)> = a.iter().copied().zip(b.iter().copied()).collect();
            let e = *expected_max::curve(&trials).get(n.parse::<usize>().ok()?.checked_sub(1)?)?;
            match name {
                "mean" => Some(e.mean),
                "std" => Some(e.std),
                "test" => Some(e.test),
                _ => None,
            }
        }
        _ => None,
    }
}

#[test]
fn statistics_equal_scipy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stats_scipy.csv");
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // (kind, case) -> number of values checked
    let mut cases: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for record in reader.records() {
        let r = record.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(r.len(), 6, "{path}: row {r:?}");
        let (kind, case, field) = (&r[0], &r[1], &r[4]);
        let (a, b) = (numbers(&r[2]), numbers(&r[3]));
        let want: f64 = r[5].parse().unwrap_or_else(|e| panic!("{path}: value in {r:?}: {e}"));
        *cases.entry((kind.to_string(), case.to_string())).or_default() += 1;
        // The bootstrap draws its own resamples: the same interval within Monte Carlo error.
        let near = |got: f64| if kind == "bootstrap" { (got - want).abs() <= 0.05 } else { close(got, want) };
        match ours(kind, &a, &b, field) {
            Some(got) if near(got) => {}
            Some(got) => failures.push(format!(
                "{kind} {case} {field}: {got:?}, scipy {want:?} (rel err {:.1e})",
                ((got - want) / want).abs()
            )),
            None => failures.push(format!("{kind} {case} {field}: no value")),
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));

    let count = |kind: &str| cases.keys().filter(|(k, _)| k == kind).count();
    let values = |kind: &str| cases.iter().filter(|((k, _), _)| k == kind).map(|(_, n)| n).sum::<usize>();
    // The cases and values scripts/stats_reference.py writes; update with it.
    assert_eq!(count("summary"), 12, "summary cases");
    assert_eq!(values("summary"), 12 * 8, "summary values (8 fields a case)");
    assert_eq!(count("welch"), 11, "welch cases");
    assert_eq!(values("welch"), 11 * 7, "welch values (7 fields a case)");
    assert_eq!(count("paired"), 5, "paired cases");
    assert_eq!(values("paired"), 5 * 7, "paired values (7 fields a case)");
    assert_eq!(count("holm"), 8, "holm cases");
    assert_eq!(values("holm"), 3 + 1 + 4 + 5 + 8 + 6 + 4 + 10, "holm values (one per input)");
    assert_eq!(count("trapezoid"), 6, "trapezoid cases");
    assert_eq!(values("trapezoid"), 6, "trapezoid values");
    assert_eq!(count("improvement"), 4, "improvement cases");
    assert_eq!(count("bootstrap"), 4, "bootstrap cases");
    assert_eq!(values("bootstrap"), 8, "bootstrap values (low, high)");
    assert_eq!(count("iqm"), 4, "iqm cases");
    assert_eq!(count("expected_max"), 3, "expected_max cases");
    assert_eq!(values("expected_max"), 3 * (4 + 5 + 9), "expected_max values (mean, std, test per n)");
    assert_eq!(cases.len(), 12 + 11 + 5 + 8 + 6 + 4 + 4 + 4 + 3, "no other kind of case");
}
