//! Statistics for comparing groups of runs across seeds: a summary with a
//! Student-t confidence interval of the mean, Welch's t-test of a difference
//! of means, Holm's adjustment when many such tests are made, and the area
//! under a learning curve.
//!
//! The Student t distribution comes from `statrs`. Every function is checked
//! against scipy, numpy and statsmodels in tests/it/stats_reference.rs (values in
//! tests/data/stats_scipy.csv, written by scripts/stats_reference.py).
//!
//! Non-finite inputs (NaN, a diverged run's infinite loss) are skipped by
//! `summarize` and `welch`, so one failed seed does not poison a group.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Descriptive statistics of one sample, with a 95% Student-t confidence interval of the mean.
///
/// The interval is `mean -/+ t_{0.975, n-1} * std / sqrt(n)` (Student 1908,
/// "The probable error of a mean", Biometrika 6(1):1-25; NIST/SEMATECH
/// e-Handbook of Statistical Methods, section 7.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of finite values summarized.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (ddof = 1, divisor n - 1); 0 when n == 1.
    pub std: f64,
    /// Middle value; the mean of the two middle values when n is even.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// `mean - t_{0.975, n-1} * std / sqrt(n)`; equals the mean when n == 1.
    pub ci_low: f64,
    /// `mean + t_{0.975, n-1} * std / sqrt(n)`; equals the mean when n == 1.
    pub ci_high: f64,
}

/// Summarizes the finite values of `xs` (NaN and infinities are skipped and
/// not counted). `None` when no value is finite, the empty slice included.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    let mut v = finite(xs);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = mean(&v);
    let std = variance(&v, mean).sqrt();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    // One value has no spread to estimate (t with 0 degrees of freedom is
    // undefined): the interval collapses to the mean instead of being NaN.
    let half = if n > 1 { t_quantile_975(n as f64 - 1.0) * std / (n as f64).sqrt() } else { 0.0 };
    Some(Summary { n, mean, std, median, min: v[0], max: v[n - 1], ci_low: mean - half, ci_high: mean + half })
}

/// Welch's unequal-variance t-test of mean(a) - mean(b).
///
/// With `s2` the sample variance (ddof = 1) and `se2 = s2_a/n_a + s2_b/n_b`:
/// `t = diff / sqrt(se2)` (Welch 1947, "The generalization of 'Student's'
/// problem when several different population variances are involved",
/// Biometrika 34(1-2):28-35), with degrees of freedom from the
/// Welch–Satterthwaite equation
/// `df = se2^2 / ((s2_a/n_a)^2/(n_a-1) + (s2_b/n_b)^2/(n_b-1))`
/// (Satterthwaite 1946, Biometrics Bulletin 2(6):110-114). This is
/// `scipy.stats.ttest_ind(a, b, equal_var=False)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// mean(a) - mean(b).
    pub diff: f64,
    /// `diff - t_{0.975, df} * sqrt(se2)`: the 95% confidence interval of the
    /// difference, with the Welch–Satterthwaite `df`.
    pub ci_low: f64,
    /// `diff + t_{0.975, df} * sqrt(se2)`.
    pub ci_high: f64,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom (not an integer in general).
    /// NaN when both samples are constant, where it is 0/0.
    pub df: f64,
    /// Two-sided p-value, `P(|T_df| >= |t|)`.
    pub p: f64,
    /// The minimum detectable difference: `(t_{0.975, df} + t_{0.80, df}) *
    /// sqrt(se2)`, the smallest true difference this test would find at
    /// alpha = 0.05 (two-sided) with 80% power, its spread and sizes taken
    /// as measured (Zar 2010, "Biostatistical Analysis", 5th ed., eq. 8.22).
    /// 0 when both samples are constant.
    pub mdd: f64,
}

/// Welch's t-test on the finite values of `a` and `b`. `None` when either
/// side has fewer than 2 finite values (no variance to estimate).
///
/// When both samples are constant the standard error is 0 and the test is
/// decided exactly: equal means give `t = 0, p = 1`, different means give
/// `t = +-inf, p = 0`; the interval is `[diff, diff]` and `df` is NaN.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let (a, b) = (finite(a), finite(b));
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mean_a, mean_b) = (mean(&a), mean(&b));
    let diff = mean_a - mean_b;
    // Squared standard errors of each mean, and of the difference.
    let se2_a = variance(&a, mean_a) / na;
    let se2_b = variance(&b, mean_b) / nb;
    let se2 = se2_a + se2_b;
    if se2 == 0.0 {
        let (t, p) = if diff == 0.0 { (0.0, 1.0) } else { (f64::INFINITY.copysign(diff), 0.0) };
        return Some(Welch { diff, ci_low: diff, ci_high: diff, t, df: f64::NAN, p, mdd: 0.0 });
    }
    let se = se2.sqrt();
    let t = diff / se;
    // Welch–Satterthwaite, divided through by se2^2 so that squaring tiny
    // (1e-200) or huge variances cannot underflow or overflow.
    let (w_a, w_b) = (se2_a / se2, se2_b / se2);
    let df = 1.0 / (w_a * w_a / (na - 1.0) + w_b * w_b / (nb - 1.0));
    let half = t_quantile_975(df) * se;
    Some(Welch { diff, ci_low: diff - half, ci_high: diff + half, t, df, p: two_sided_p(t, df), mdd: mdd(df, se) })
}

/// The paired t-test on `a[i] - b[i]` (Student 1908; `scipy.stats.ttest_rel`),
/// in [`Welch`]'s shape: `diff` the mean difference, its 95% interval with
/// `n - 1` degrees of freedom, `t` and the two-sided `p`. Pairs where either
/// value is not finite are left out; `None` with fewer than 2 pairs left.
/// Pairing removes what the two sides share (a seed's split, data order and
/// initial draws), so it detects a smaller difference than Welch's test
/// when the pairs move together. Constant differences are decided exactly,
/// as in [`welch`].
pub fn paired(a: &[f64], b: &[f64]) -> Option<Welch> {
    let d: Vec<f64> = a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| x - y).collect();
    if d.len() < 2 {
        return None;
    }
    let n = d.len() as f64;
    let diff = mean(&d);
    let se2 = variance(&d, diff) / n;
    if se2 == 0.0 {
        let (t, p) = if diff == 0.0 { (0.0, 1.0) } else { (f64::INFINITY.copysign(diff), 0.0) };
        return Some(Welch { diff, ci_low: diff, ci_high: diff, t, df: n - 1.0, p, mdd: 0.0 });
    }
    let se = se2.sqrt();
    let t = diff / se;
    let df = n - 1.0;
    let half = t_quantile_975(df) * se;
    Some(Welch { diff, ci_low: diff - half, ci_high: diff + half, t, df, p: two_sided_p(t, df), mdd: mdd(df, se) })
}

/// Holm–Bonferroni step-down adjusted p-values, in the input order, each capped at 1,
/// monotone as in statsmodels' multipletests(method="holm").
///
/// Holm 1979, "A simple sequentially rejective multiple test procedure",
/// Scandinavian Journal of Statistics 6(2):65-70: with the m p-values sorted
/// ascending, `p_(1) <= ... <= p_(m)`, the adjusted value of `p_(i)` is
/// `min(1, max_{j <= i} (m - j + 1) * p_(j))`. Rejecting where the adjusted
/// value is below alpha controls the family-wise error rate at alpha.
///
/// NaN entries (a test that could not be run) stay NaN and are not counted
/// among the m hypotheses.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    // A stable sort; ties get the same adjusted value whatever their order.
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running_max = f64::NEG_INFINITY;
    for (rank, &i) in order.iter().enumerate() {
        running_max = running_max.max((m - rank) as f64 * p[i]);
        adjusted[i] = running_max.min(1.0);
    }
    adjusted
}

/// Area under a curve by the trapezoid rule over x = 1, 2, ..., n (unit spacing),
/// as numpy.trapz(y).
///
/// `sum_{i=1}^{n-1} (y_i + y_{i+1}) / 2`; 0 for fewer than two points. NaN
/// values propagate, as in numpy.
pub fn trapezoid(ys: &[f64]) -> f64 {
    // fold from +0.0: an empty f64 `sum()` is -0.0.
    ys.windows(2).fold(0.0, |area, w| area + (w[0] + w[1]) / 2.0)
}

/// The mean and sample standard deviation (divisor n - 1; 0 for one value)
/// of every value of `xs`, in its order. Unlike [`summarize`], nothing is
/// skipped: a NaN or infinite value shows in the result.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let mean = mean(xs);
    (mean, variance(xs, mean).sqrt())
}

fn finite(xs: &[f64]) -> Vec<f64> {
    xs.iter().copied().filter(|x| x.is_finite()).collect()
}

/// Arithmetic mean of a non-empty slice.
fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance (divisor n - 1) by the two-pass algorithm, which keeps
/// precision for values like accuracies near 0.9 with a 1e-3 spread; 0 for n == 1.
fn variance(xs: &[f64], mean: f64) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (xs.len() - 1) as f64
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the
/// half-width factor of a two-sided 95% interval); NaN for an invalid `df`.
fn t_quantile_975(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// [`Welch::mdd`]: `(t_{0.975, df} + t_{0.80, df}) * se`.
fn mdd(df: f64, se: f64) -> f64 {
    let power = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(0.80));
    (t_quantile_975(df) + power) * se
}

/// Two-sided p-value `2 * P(T_df > |t|)`; NaN for NaN input (statrs would
/// panic on it).
fn two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    // The survival function, not 1 - cdf, keeps precision for tiny p.
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |dist| 2.0 * dist.sf(t.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol
    }

    #[test]
    fn summary_of_one_to_four() {
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]).expect("four finite values");
        assert_eq!(s.n, 4);
        assert_eq!((s.mean, s.median, s.min, s.max), (2.5, 2.5, 1.0, 4.0));
        // sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3)
        assert!(close(s.std, 1.2909944487358056, 1e-15), "{}", s.std);
        // Printed t tables: t_{0.975, 3} = 3.182.
        let t = (s.ci_high - s.mean) / (s.std / 2.0);
        assert!(close(t, 3.182, 5e-4), "{t}");
        assert!(close(s.mean - s.ci_low, s.ci_high - s.mean, 1e-15));
    }

    #[test]
    fn summary_median_of_odd_count_and_skipped_non_finite() {
        let s = summarize(&[5.0, f64::NAN, -1.0, f64::INFINITY, 2.0]).expect("three finite values");
        assert_eq!((s.n, s.mean, s.median, s.min, s.max), (3, 2.0, 2.0, -1.0, 5.0));
        // Printed t tables: t_{0.975, 2} = 4.303; std = 3.
        assert!(close(s.std, 3.0, 1e-15));
        assert!(close(s.ci_high - s.mean, 4.303 * 3.0 / 3f64.sqrt(), 1e-3));
    }

    #[test]
    fn mean_sd_keeps_every_value() {
        let (mean, sd) = mean_sd(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(mean, 2.5);
        assert!(close(sd, 1.2909944487358056, 1e-15), "{sd}");
        assert_eq!(mean_sd(&[0.75]), (0.75, 0.0));
        assert!(mean_sd(&[0.5, f64::NAN]).0.is_nan());
    }

    #[test]
    fn summary_of_nothing_and_of_one_value() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[f64::NAN, f64::NEG_INFINITY]), None);
        let s = summarize(&[0.75, f64::NAN]).expect("one finite value");
        let want =
            Summary { n: 1, mean: 0.75, std: 0.0, median: 0.75, min: 0.75, max: 0.75, ci_low: 0.75, ci_high: 0.75 };
        assert_eq!(s, want);
    }

    #[test]
    fn welch_on_equal_variances_and_sizes() {
        // var 1 on both sides: se2 = 2/3, t = -3 / sqrt(2/3), df = 2 (n - 1) = 4.
        let w = welch(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).expect("two samples of three");
        assert_eq!(w.diff, -3.0);
        assert!(close(w.t, -3.0 / (2.0f64 / 3.0).sqrt(), 1e-14), "{}", w.t);
        assert!(close(w.df, 4.0, 1e-12), "{}", w.df);
        // Printed t tables: t_{0.975, 4} = 2.776, so |t| = 3.67 gives p < 0.05;
        // t_{0.99, 4} = 3.747 > |t|, so p > 0.02.
        assert!(w.p > 0.02 && w.p < 0.05, "{}", w.p);
        assert!(close(w.ci_high + 3.0, 2.776 * (2.0f64 / 3.0).sqrt(), 1e-3));
        // Swapping the samples flips the signs only.
        let r = welch(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]).expect("two samples of three");
        assert_eq!((r.diff, r.t, r.df, r.p), (-w.diff, -w.t, w.df, w.p));
        assert_eq!((r.ci_low, r.ci_high), (-w.ci_high, -w.ci_low));
    }

    #[test]
    fn welch_needs_two_finite_values_per_side() {
        assert_eq!(welch(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(welch(&[1.0, 2.0], &[]), None);
        assert_eq!(welch(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        assert!(welch(&[1.0, f64::NAN, 3.0], &[1.0, 2.0]).is_some());
    }

    #[test]
    fn welch_on_two_constant_samples() {
        let same = welch(&[0.5, 0.5], &[0.5, 0.5, 0.5]).expect("two constant samples");
        assert_eq!((same.diff, same.t, same.p, same.ci_low, same.ci_high), (0.0, 0.0, 1.0, 0.0, 0.0));
        assert!(same.df.is_nan());
        let apart = welch(&[0.25, 0.25], &[0.5, 0.5]).expect("two constant samples");
        assert_eq!((apart.diff, apart.t, apart.p), (-0.25, f64::NEG_INFINITY, 0.0));
        assert_eq!((apart.ci_low, apart.ci_high), (-0.25, -0.25));
        let up = welch(&[0.5, 0.5], &[0.25, 0.25]).expect("two constant samples");
        assert_eq!((up.t, up.p), (f64::INFINITY, 0.0));
    }

    #[test]
    fn welch_with_one_constant_side_uses_the_other_sides_df() {
        // se2_a = 0, so df = n_b - 1 exactly.
        let w = welch(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0, 4.0, 5.0]).expect("two samples");
        assert_eq!(w.df, 4.0);
        assert!(w.p.is_finite() && w.p > 0.0 && w.p < 1.0);
    }

    #[test]
    fn welch_does_not_panic_on_overflow() {
        let w = welch(&[f64::MAX, -f64::MAX], &[f64::MAX, f64::MAX]).expect("finite inputs");
        assert!(w.p.is_nan() || (0.0..=1.0).contains(&w.p));
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04; the running
        // maximum makes the last 0.06.
        let adj = holm(&[0.01, 0.04, 0.03]);
        let want = [0.03, 0.06, 0.06];
        assert_eq!(adj.len(), 3);
        for (g, w) in adj.iter().zip(want) {
            assert!(close(*g, w, 1e-15), "{adj:?}");
        }
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.25]), vec![0.25]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn holm_leaves_nan_out_of_the_count() {
        let adj = holm(&[0.01, f64::NAN, 0.04]);
        assert_eq!(adj[0], 0.02);
        assert!(adj[1].is_nan());
        assert_eq!(adj[2], 0.04);
    }

    #[test]
    fn trapezoid_by_hand() {
        assert_eq!(trapezoid(&[]), 0.0);
        assert_eq!(trapezoid(&[3.0]), 0.0);
        assert!(trapezoid(&[3.0]).is_sign_positive());
        // (1 + 2) / 2 + (2 + 3) / 2
        assert_eq!(trapezoid(&[1.0, 2.0, 3.0]), 4.0);
        assert_eq!(trapezoid(&[-1.0, 1.0]), 0.0);
        assert!(trapezoid(&[1.0, f64::NAN]).is_nan());
    }
}
