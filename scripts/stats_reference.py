"""Reference values for src/maths/stats.rs, computed independently with numpy and scipy.

Run from the repository root:

    python3 -m venv /tmp/venv-stats \
      && /tmp/venv-stats/bin/pip install numpy scipy \
      && /tmp/venv-stats/bin/python scripts/stats_reference.py > tests/data/stats_scipy.csv

If statsmodels is installed too (`pip install statsmodels`), the Holm values
computed here are also checked against statsmodels' multipletests(method="holm").

Output: CSV with the header `kind,case,a,b,field,value`, one row per expected
value, read by tests/it/stats_reference.rs.
  kind   summary | welch | paired | holm | trapezoid | improvement | iqm |
         expected_max | bootstrap
         (expected_max: a = validation scores, b = test scores, field
         `mean[n]`, `std[n]`, `test[n]`; bootstrap: the 95% percentile
         interval of the probability of improvement from numpy's own
         resamples, which the Rust side matches within Monte Carlo error)
  case   a short name, unique within its kind
  a, b   the inputs as `;`-separated numbers (b is empty except for welch and paired;
         `nan` marks a missing value, which stats.rs skips)
  field  the result field (holm: `adjusted[i]`, i the input position)
  value  the expected value, printed with repr() (17 significant digits)
"""

import csv
import math
import sys
import warnings

import numpy as np
from scipy import stats

NAN = float("nan")

# scipy warns about "catastrophic cancellation" for the constant group: its
# variance is exactly 0 (0.25 is a power of two), which is what the case tests.
warnings.filterwarnings("ignore", message="Precision loss occurred in moment calculation")

# Inputs. Sizes 2..10, unequal variances, a constant group, test accuracies
# around 0.9 with a tiny spread, negative numbers, a missing value.
SAMPLES = {
    "n2": [1.0, 2.0],
    "n3_neg": [-3.5, -1.25, -2.0],
    "n4": [1.0, 2.0, 3.0, 4.0],
    "n5_skewed": [0.1, 0.2, 0.15, 3.7, 0.05],
    "n6_constant": [0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
    "n7_wide": [12.5, -40.0, 3.0, 101.25, 7.75, -0.5, 55.0],
    "n8_acc_a": [0.9012, 0.9034, 0.9021, 0.9008, 0.9045, 0.9019, 0.9027, 0.9031],
    "n8_acc_b": [0.8991, 0.9003, 0.8987, 0.9010, 0.8995, 0.9001, 0.8979, 0.9006],
    "n9_loss": [0.3127, 0.2984, 0.3301, 0.3056, 0.3215, 0.2899, 0.3178, 0.3042, 0.3093],
    "n10_neg": [-0.7, 1.3, -2.9, 0.4, -1.1, 2.6, -0.2, 0.9, -3.3, 1.8],
    "n10_tiny": [1e-6, 3e-6, 2e-6, 5e-6, 4e-6, 1.5e-6, 2.5e-6, 3.5e-6, 4.5e-6, 6e-6],
    "n5_with_nan": [0.5, NAN, 0.75, 0.625, NAN, 0.875, 0.6875],
}

WELCH_PAIRS = [
    # (case, a, b)
    ("acc_close", "n8_acc_a", "n8_acc_b"),
    ("acc_reversed", "n8_acc_b", "n8_acc_a"),
    ("n2_vs_n3", "n2", "n3_neg"),
    ("unequal_var", "n4", "n7_wide"),
    ("skewed_vs_loss", "n5_skewed", "n9_loss"),
    ("constant_vs_n5", "n6_constant", "n5_skewed"),
    ("neg_vs_n4", "n10_neg", "n4"),
    ("tiny_vs_tiny_shifted", "n10_tiny", None),  # b = a + 1e-6, see below
    ("with_nan_vs_constant", "n5_with_nan", "n6_constant"),
    ("identical", "n9_loss", "n9_loss"),
    ("far_apart", "n8_acc_a", "n9_loss"),  # p far in the tail
]

# Paired by position (a seed's two runs): equal lengths; a NaN drops its pair.
PAIRED = [
    # (case, a, b)
    ("acc_close", [0.9012, 0.9034, 0.9021, 0.9008, 0.9045], [0.8991, 0.9003, 0.8987, 0.9010, 0.8995]),
    ("moves_together", [0.81, 0.84, 0.79, 0.86, 0.83, 0.80], [0.80, 0.835, 0.785, 0.85, 0.822, 0.795]),
    ("n2", [1.0, 2.0], [0.5, 1.0]),
    ("reversed_loss", [0.3127, 0.2984, 0.3301, 0.3056], [0.3215, 0.2899, 0.3378, 0.3142]),
    ("with_nan", [0.5, NAN, 0.75, 0.625, 0.875], [0.45, 0.6, NAN, 0.6, 0.8]),
]

HOLM = {
    "brief_example": [0.01, 0.04, 0.03],
    "single": [0.2],
    "capped": [0.5, 0.6, 0.01, 0.9],
    "ties": [0.02, 0.01, 0.02, 0.01, 0.3],
    "monotone": [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008],
    "step_down": [0.04, 0.001, 0.012, 0.0125, 0.3, 0.0001],
    "ones_and_zeros": [1.0, 0.0, 0.5, 0.0],
    "many": [0.8, 0.0003, 0.049, 0.051, 0.0101, 0.2, 0.00002, 0.9999, 0.03, 0.004],
}

TRAPEZOID = {
    "single": [3.0],
    "two": [1.0, 2.0],
    "linear": [0.0, 1.0, 2.0, 3.0, 4.0],
    "accuracy_curve": [0.11, 0.52, 0.71, 0.80, 0.85, 0.87, 0.885, 0.89, 0.893, 0.9],
    "loss_curve_neg": [2.3, 1.1, 0.4, -0.2, -0.6, 0.05],
    "squares": [float(i * i) for i in range(1, 12)],
}


def finite(xs):
    return np.array([x for x in xs if math.isfinite(x)], dtype=np.float64)


def fmt_list(xs):
    return ";".join(repr(float(x)) for x in xs)


def summary(xs):
    x = finite(xs)
    n = len(x)
    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return [
        ("n", float(n)),
        ("mean", mean),
        ("std", std),
        ("median", float(np.median(x))),
        ("min", float(np.min(x))),
        ("max", float(np.max(x))),
        ("ci_low", mean - half),
        ("ci_high", mean + half),
    ]


def welch(a_raw, b_raw):
    a, b = finite(a_raw), finite(b_raw)
    res = stats.ttest_ind(a, b, equal_var=False)
    diff = float(np.mean(a) - np.mean(b))
    se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    df = float(res.df)
    half = float(stats.t.ppf(0.975, df)) * se
    # Cross-check scipy's own confidence interval (scipy >= 1.11).
    ci = res.confidence_interval(0.95)
    assert math.isclose(ci.low, diff - half, rel_tol=1e-12, abs_tol=1e-15), (ci, diff, half)
    assert math.isclose(ci.high, diff + half, rel_tol=1e-12, abs_tol=1e-15), (ci, diff, half)
    return [
        ("diff", diff),
        ("ci_low", diff - half),
        ("ci_high", diff + half),
        ("t", float(res.statistic)),
        ("df", df),
        ("p", float(res.pvalue)),
        ("mdd", mdd(df, se)),
    ]


def mdd(df, se):
    """Minimum detectable difference (Zar 2010, eq. 8.22): alpha = 0.05
    two-sided, 80% power. Cross-checked: the power of the t-test against a
    true difference of this size, from the noncentral t, is close to 0.8
    (0.73 at 1 degree of freedom, where the approximation is loosest)."""
    tcrit = float(stats.t.ppf(0.975, df))
    value = (tcrit + float(stats.t.ppf(0.8, df))) * se
    if se > 0:
        nc = value / se
        power = stats.nct.sf(tcrit, df, nc) + stats.nct.cdf(-tcrit, df, nc)
        assert 0.7 < power < 0.85, (df, se, power)
    return value


def paired(a_raw, b_raw):
    pairs = [(x, y) for x, y in zip(a_raw, b_raw) if math.isfinite(x) and math.isfinite(y)]
    a = np.array([x for x, _ in pairs])
    b = np.array([y for _, y in pairs])
    res = stats.ttest_rel(a, b)
    d = a - b
    diff = float(np.mean(d))
    half = float(stats.t.ppf(0.975, len(d) - 1)) * float(np.std(d, ddof=1)) / math.sqrt(len(d))
    ci = res.confidence_interval(0.95)
    assert math.isclose(ci.low, diff - half, rel_tol=1e-12, abs_tol=1e-15), (ci, diff, half)
    se = float(np.std(d, ddof=1)) / math.sqrt(len(d))
    return [
        ("diff", diff),
        ("ci_low", diff - half),
        ("ci_high", diff + half),
        ("t", float(res.statistic)),
        ("df", float(res.df)),
        ("p", float(res.pvalue)),
        ("mdd", mdd(float(res.df), se)),
    ]


def holm(p):
    """Holm (1979): sort ascending, multiply the i-th smallest (0-based) by
    m - i, take the running maximum, cap at 1, and put back in input order."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(m, 0, -1)))
    out = np.empty(m)
    out[order] = adjusted_sorted
    try:
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        print("stats_reference: statsmodels not installed, Holm not cross-checked", file=sys.stderr)
    else:
        _, sm, _, _ = multipletests(p, method="holm")
        assert np.array_equal(sm, out), (p, sm, out)
    return [(f"adjusted[{i}]", float(v)) for i, v in enumerate(out)]


def trapezoid(ys):
    trap = getattr(np, "trapezoid", None) or np.trapz  # numpy >= 2.0 renamed it
    return [("area", float(trap(np.asarray(ys, dtype=np.float64))))]


# Probability of improvement, P(X > Y) + P(X = Y) / 2: scipy's Mann-Whitney U over n m.
IMPROVEMENT = [
    ("clear_win", [0.91, 0.92, 0.93], [0.88, 0.89, 0.90]),
    ("overlap", [0.9012, 0.9034, 0.9021, 0.9008, 0.9045], [0.8991, 0.9003, 0.9021, 0.9010, 0.8995]),
    ("ties", [1.0, 2.0, 2.0], [2.0, 2.0, 3.0]),
    ("unequal_sizes", [0.3127, 0.2984, 0.3301, 0.3056, 0.3215, 0.2899, 0.3178], [0.31, 0.30, 0.32]),
]

IQM = {
    "n3": [0.5, 0.1, 0.9],
    "n4_outlier": [100.0, 1.0, 2.0, 3.0],
    "n8": [0.9012, 0.9034, 0.9021, 0.9008, 0.9045, 0.9019, 0.9027, 0.5],
    "n10": [-0.7, 1.3, -2.9, 0.4, -1.1, 2.6, -0.2, 0.9, -3.3, 1.8],
}

# (validation scores, test scores) of a tuning's trials.
EXPECTED_MAX = {
    "four": ([0.5, 0.7, 0.6, 0.9], [0.4, 0.6, 0.5, 0.8]),
    "ties": ([0.8, 0.85, 0.85, 0.7, 0.85], [0.79, 0.83, 0.86, 0.71, 0.80]),
    "nine_rates": (
        [0.912, 0.934, 0.951, 0.948, 0.903, 0.877, 0.955, 0.949, 0.941],
        [0.905, 0.930, 0.947, 0.944, 0.899, 0.871, 0.950, 0.946, 0.938],
    ),
}


def expected_max(val, test):
    """Dodge et al. 2019 (allenai/show-your-work, expected_max_cond_n, with
    replacement): P(max of n draws = v_(i)) = (i/N)^n - ((i-1)/N)^n over the
    sorted scores; tied scores share their probability and their mean test."""
    v = np.asarray(val, dtype=np.float64)
    t = np.asarray(test, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    v, t = v[order], t[order]
    big_n = len(v)
    uniq = np.unique(v)
    out = []
    for n in range(1, big_n + 1):
        mean = square = tst = 0.0
        for u in uniq:
            below = np.sum(v < u)
            upto = np.sum(v <= u)
            p = (upto / big_n) ** n - (below / big_n) ** n
            mean += p * u
            square += p * u * u
            tst += p * float(np.mean(t[v == u]))
        out += [(f"mean[{n}]", float(mean)), (f"std[{n}]", math.sqrt(max(float(square - mean * mean), 0.0))), (f"test[{n}]", float(tst))]
    return out


def improvement(a, b):
    u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    return float(u) / (len(a) * len(b))


def bootstrap_interval(a, b, resamples=10000):
    rng = np.random.default_rng(0)
    a, b = np.asarray(a), np.asarray(b)
    vals = []
    for _ in range(resamples):
        x = a[rng.integers(0, len(a), len(a))]
        y = b[rng.integers(0, len(b), len(b))]
        vals.append(improvement(x, y))
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


def main():
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["kind", "case", "a", "b", "field", "value"])
    for case, xs in SAMPLES.items():
        for field, value in summary(xs):
            w.writerow(["summary", case, fmt_list(xs), "", field, repr(value)])
    for case, ka, kb in WELCH_PAIRS:
        a = SAMPLES[ka]
        b = SAMPLES[kb] if kb is not None else [x + 1e-6 for x in a[::-1]]
        for field, value in welch(a, b):
            w.writerow(["welch", case, fmt_list(a), fmt_list(b), field, repr(value)])
    for case, a, b in PAIRED:
        for field, value in paired(a, b):
            w.writerow(["paired", case, fmt_list(a), fmt_list(b), field, repr(value)])
    for case, p in HOLM.items():
        for field, value in holm(p):
            w.writerow(["holm", case, fmt_list(p), "", field, repr(value)])
    for case, ys in TRAPEZOID.items():
        for field, value in trapezoid(ys):
            w.writerow(["trapezoid", case, fmt_list(ys), "", field, repr(value)])
    for case, a, b in IMPROVEMENT:
        w.writerow(["improvement", case, fmt_list(a), fmt_list(b), "p", repr(improvement(a, b))])
        lo, hi = bootstrap_interval(a, b)
        w.writerow(["bootstrap", case, fmt_list(a), fmt_list(b), "low", repr(lo)])
        w.writerow(["bootstrap", case, fmt_list(a), fmt_list(b), "high", repr(hi)])
    for case, xs in IQM.items():
        w.writerow(["iqm", case, fmt_list(xs), "", "iqm", repr(float(stats.trim_mean(xs, 0.25)))])
    for case, (val, test) in EXPECTED_MAX.items():
        for field, value in expected_max(val, test):
            w.writerow(["expected_max", case, fmt_list(val), fmt_list(test), field, repr(value)])


if __name__ == "__main__":
    main()
