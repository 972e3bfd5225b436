//! Expected validation performance (Dodge, Gururangan, Card, Schwartz and
//! Smith 2019, "Show Your Work: Improved Reporting of Experimental
//! Results", EMNLP, section 3): from the N trials a tuning ran, the
//! expected best validation score after n of them, n = 1..N, with its
//! standard deviation, and the expected test score of the trial that best
//! validation picks. No refitting: the N scores are the empirical
//! distribution, drawn from with replacement, as in their code
//! (allenai/show-your-work, `expected_max_cond_n`).
//!
//! With the scores sorted ascending `v_1 <= ... <= v_N`, the best of n
//! draws is `v_i` with probability `(i/N)^n - ((i-1)/N)^n`, so
//! `E[max] = sum_i v_i ((i/N)^n - ((i-1)/N)^n)` and the variance is
//! `E[max^2] - E[max]^2`. Checked against numpy in
//! tests/it/stats_reference.rs (scripts/stats_reference.py).

/// One budget's expectation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    /// Trials drawn.
    pub n: usize,
    /// E[best validation score of n draws].
    pub mean: f64,
    /// Its standard deviation.
    pub std: f64,
    /// E[test score of the draw with the best validation score].
    pub test: f64,
}

/// The expectations for n = 1..N of the trials `(validation, test)`, the
/// best validation score the highest (turn a loss's sign first). Trials
/// whose validation score is not finite are left out; empty when none is.
/// Trials of equal validation score share their chance of being the best
/// draw, so the test expectation takes the mean of their test scores,
/// whatever order they were listed in.
pub fn curve(trials: &[(f64, f64)]) -> Vec<Expected> {
    let mut kept: Vec<(f64, f64)> = trials.iter().copied().filter(|(v, _)| v.is_finite()).collect();
    kept.sort_by(|a, b| a.0.total_cmp(&b.0));
    let big_n = kept.len() as f64;
    // Runs of equal scores: (score, mean test score, index past the run's end).
    let mut ties: Vec<(f64, f64, usize)> = Vec::new();
    let mut start = 0;
    while start < kept.len() {
        let end = start + kept[start..].iter().take_while(|t| t.0 == kept[start].0).count();
        let test = kept[start..end].iter().map(|t| t.1).sum::<f64>() / (end - start) as f64;
        ties.push((kept[start].0, test, end));
        start = end;
    }
    (1..=kept.len())
        .map(|n| {
            let cdf = |i: usize| (i as f64 / big_n).powi(n as i32);
            let (mut mean, mut square, mut test, mut below) = (0.0, 0.0, 0.0, 0);
            for &(v, t, end) in &ties {
                let p = cdf(end) - cdf(below);
                mean += p * v;
                square += p * v * v;
                test += p * t;
                below = end;
            }
            Expected { n, mean, std: (square - mean * mean).max(0.0).sqrt(), test }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_draw_is_the_mean_and_all_draws_near_the_best() {
        let trials = [(0.5, 0.4), (0.7, 0.6), (0.6, 0.5), (0.9, 0.8)];
        let c = curve(&trials);
        assert_eq!(c.len(), 4);
        assert!((c[0].mean - 0.675).abs() < 1e-12, "{c:?}");
        assert!((c[0].test - 0.575).abs() < 1e-12, "{c:?}");
        // Non-decreasing in n, below the best.
        assert!(c.windows(2).all(|w| w[1].mean >= w[0].mean) && c[3].mean < 0.9);
        // By hand for n = 2: P(best = v_i) = (i^2 - (i-1)^2) / 16 = 1, 3, 5, 7 sixteenths.
        let want = (0.5 + 3.0 * 0.6 + 5.0 * 0.7 + 7.0 * 0.9) / 16.0;
        assert!((c[1].mean - want).abs() < 1e-12);
        assert!(curve(&[(f64::NAN, 1.0)]).is_empty());
        // Ties share: the order they are listed in does not matter.
        let a = curve(&[(0.5, 0.1), (0.9, 0.2), (0.9, 0.6)]);
        let b = curve(&[(0.9, 0.6), (0.5, 0.1), (0.9, 0.2)]);
        assert_eq!(a, b);
        assert!((a[2].test - (0.1 / 27.0 + 0.4 * 26.0 / 27.0)).abs() < 1e-12, "{a:?}");
    }
}
