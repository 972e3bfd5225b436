//! How likely one activation is to beat another on a new run, and how sure
//! the ranking is, as rliable (Agarwal et al. 2021, "Deep Reinforcement
//! Learning at the Edge of the Statistical Precipice", NeurIPS) and
//! Bouthillier et al. 2021 ("Accounting for Variance in Machine Learning
//! Benchmarks", MLSys) report them: the probability of improvement
//! `P(X > Y) + P(X = Y) / 2` over the runs of two groups (the Mann-Whitney
//! U statistic over n m), its percentile bootstrap interval (each group's
//! runs resampled with replacement), each group's share of bootstrap
//! samples in which it has the best mean, and the interquartile mean.
//! Checked against scipy / numpy in tests/it/stats_reference.rs.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bootstrap resamples: rliable uses 2000 for its intervals; 10,000 keeps
/// the Monte Carlo error of a 2.5% quantile near 0.003.
pub const RESAMPLES: usize = 10_000;

/// `P(X > Y) + P(X = Y) / 2` for X a run of `a`, Y a run of `b` (finite
/// values only); `None` when a side has none.
pub fn probability_of_improvement(a: &[f64], b: &[f64]) -> Option<f64> {
    let (a, b) = (finite(a), finite(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut wins = 0.0;
    for x in &a {
        for y in &b {
            wins += if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            };
        }
    }
    Some(wins / (a.len() * b.len()) as f64)
}

/// The interquartile mean: the mean of what is left when a quarter of the
/// values (rounded down) is cut from each end, `scipy.stats.trim_mean(x,
/// 0.25)`; robust to one outlying seed. `None` without finite values.
pub fn iqm(xs: &[f64]) -> Option<f64> {
    let mut v = finite(xs);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let cut = v.len() / 4;
    let kept = &v[cut..v.len() - cut];
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

/// The 95% percentile bootstrap interval of [`probability_of_improvement`]:
/// `resamples` times, each side's runs drawn with replacement (seeded by
/// `seed`), the 2.5% and 97.5% quantiles of the statistic (numpy's linear
/// interpolation). `None` when a side has no finite value.
pub fn improvement_interval(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let (a, b) = (finite(a), finite(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            let (x, y) = (resample(&a, &mut rng), resample(&b, &mut rng));
            probability_of_improvement(&x, &y).unwrap_or(f64::NAN)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    Some((quantile(&stats, 0.025), quantile(&stats, 0.975)))
}

/// Per group, the share of `resamples` bootstrap samples (each group's
/// finite runs drawn with replacement, seeded by `seed`) in which its mean
/// is the best (highest, or lowest when `!higher_is_better`; ties share the
/// sample), and its mean rank (1 = best). A group without a finite value
/// gets `None` and takes no part.
pub fn rank_shares(
    groups: &[Vec<f64>],
    higher_is_better: bool,
    resamples: usize,
    seed: u64,
) -> Vec<Option<(f64, f64)>> {
    let taking = taking_part(groups);
    let mut best = vec![0.0; groups.len()];
    let mut rank_sum = vec![0.0; groups.len()];
    each_resample(groups, &taking, higher_is_better, resamples, seed, |means| {
        let top = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let winners = means.iter().filter(|&&m| m == top).count() as f64;
        for (k, &i) in taking.iter().enumerate() {
            if means[k] == top {
                best[i] += 1.0 / winners;
            }
            // Rank: 1 + the groups strictly better, ties sharing the better rank.
            rank_sum[i] += 1.0 + means.iter().filter(|&&m| m > means[k]).count() as f64;
        }
    });
    (0..groups.len())
        .map(|i| taking.contains(&i).then(|| (best[i] / resamples as f64, rank_sum[i] / resamples as f64)))
        .collect()
}

/// Per group, the distribution of its rank over `resamples` bootstrap
/// samples (drawn as [`rank_shares`] draws them, from the same `seed`): the
/// share of samples at rank 1, 2, ..., one entry per group taking part
/// (rank 1 + the groups strictly better, so tied groups share the better
/// rank). Its mean is `rank_shares`' mean rank; `None` as there.
pub fn rank_distribution(
    groups: &[Vec<f64>],
    higher_is_better: bool,
    resamples: usize,
    seed: u64,
) -> Vec<Option<Vec<f64>>> {
    let taking = taking_part(groups);
    let mut counts = vec![vec![0.0; taking.len()]; groups.len()];
    each_resample(groups, &taking, higher_is_better, resamples, seed, |means| {
        for (k, &i) in taking.iter().enumerate() {
            counts[i][means.iter().filter(|&&m| m > means[k]).count()] += 1.0;
        }
    });
    (0..groups.len())
        .map(|i| taking.contains(&i).then(|| counts[i].iter().map(|c| c / resamples as f64).collect()))
        .collect()
}

/// The groups with a finite value: those a ranking takes part.
fn taking_part(groups: &[Vec<f64>]) -> Vec<usize> {
    (0..groups.len()).filter(|&i| groups[i].iter().any(|x| x.is_finite())).collect()
}

/// For each of `resamples` bootstrap samples (each group in `taking`, its
/// finite values drawn with replacement, seeded by `seed`), the groups'
/// means in `taking`'s order, turned so that higher is better.
fn each_resample(
    groups: &[Vec<f64>],
    taking: &[usize],
    higher_is_better: bool,
    resamples: usize,
    seed: u64,
    mut each: impl FnMut(&[f64]),
) {
    let values: Vec<Vec<f64>> = taking.iter().map(|&i| finite(&groups[i])).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..resamples {
        let means: Vec<f64> = values
            .iter()
            .map(|v| {
                let x = resample(v, &mut rng);
                let m = x.iter().sum::<f64>() / x.len() as f64;
                if higher_is_better { m } else { -m }
            })
            .collect();
        each(&means);
    }
}

fn resample(xs: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..xs.len()).map(|_| xs[rng.random_range(0..xs.len())]).collect()
}

/// numpy's default (linear) quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (at - lo as f64) * (sorted[hi] - sorted[lo])
}

fn finite(xs: &[f64]) -> Vec<f64> {
    xs.iter().copied().filter(|x| x.is_finite()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_of_improvement_by_hand() {
        assert_eq!(probability_of_improvement(&[3.0, 4.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(probability_of_improvement(&[1.0, 2.0], &[3.0, 4.0]), Some(0.0));
        // 2 > 1, 2 = 2, 1 = 1, 1 < 2: (1 + 0.5 + 0.5 + 0) / 4.
        assert_eq!(probability_of_improvement(&[1.0, 2.0], &[1.0, 2.0]), Some(0.5));
        assert_eq!(probability_of_improvement(&[f64::NAN], &[1.0]), None);
    }

    #[test]
    fn iqm_cuts_a_quarter_from_each_end() {
        assert_eq!(iqm(&[1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(iqm(&[100.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(iqm(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 1000.0]), Some(4.5));
    }

    #[test]
    fn a_sure_winner_is_best_in_every_sample() {
        let groups = vec![vec![0.9, 0.91, 0.92], vec![0.5, 0.52, 0.51], vec![f64::NAN]];
        let shares = rank_shares(&groups, true, 1000, 0);
        assert_eq!(shares[0], Some((1.0, 1.0)));
        assert_eq!(shares[1], Some((0.0, 2.0)));
        assert_eq!(shares[2], None);
        let (lo, hi) = improvement_interval(&groups[0], &groups[1], 1000, 0).unwrap();
        assert_eq!((lo, hi), (1.0, 1.0));
    }

    #[test]
    fn the_rank_distribution_sums_to_one_and_agrees_with_the_rank_shares() {
        let groups =
            vec![vec![0.9, 0.91, 0.89], vec![0.9, 0.88, 0.93], vec![0.5, 0.6, 0.55], vec![f64::NAN], vec![0.9, 0.9]];
        let shares = rank_shares(&groups, true, 4000, 3);
        let dist = rank_distribution(&groups, true, 4000, 3);
        assert!(dist[3].is_none() && shares[3].is_none());
        for (share, d) in shares.iter().zip(&dist) {
            let (Some((best, mean_rank)), Some(d)) = (share, d) else { continue };
            assert_eq!(d.len(), 4, "four groups take part");
            assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{d:?}");
            let mean: f64 = d.iter().enumerate().map(|(r, p)| (r + 1) as f64 * p).sum();
            assert!((mean - mean_rank).abs() < 1e-12, "{mean} vs {mean_rank}");
            // Rank 1 counts a tie whole, the best share splits it.
            assert!(d[0] >= *best - 1e-12, "{d:?} {best}");
        }
        // The third group is always last among the four.
        assert_eq!(dist[2].as_ref().unwrap()[3], 1.0);
    }
}
