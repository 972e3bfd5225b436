//! Fair under a budget (issue 35), through the CLI: the expected best
//! validation score after n settings of a tuned experiment
//! (expected_performance.csv, its figure, report.md's `## Budget`), and the
//! probability of improvement, interquartile mean and rank shares of
//! aggregate.csv, each recomputed here from the run tables.

use std::collections::BTreeMap;
use std::fs;

use crate::common::{TempDir, actbench, check_claims, csv_maps, train_with_threads};

fn num(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} in {row:?}"))
}

const TUNED: &str = r#"
activations = ["relu", "tanh", "sigmoid"]
[experiment]
name = "budget"
seeds = 3
[model]
hidden = [16]
init = "glorot"
[training]
epochs = 1
batch_size = 64
optimizer = "adam"
lr = [0.0003, 0.003, 0.03]
[tuning]
tune = ["training.lr"]
"#;

#[test]
fn a_tuned_experiment_reports_its_expected_best_score_per_budget() {
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), TUNED, "1");
    // Each setting's score: the mean over seeds of the last epoch's validation accuracy.
    let summary = csv_maps(&out.join("summary.csv"));
    let epochs = csv_maps(&out.join("epochs.csv"));
    let mut scores: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for s in &summary {
        let last =
            epochs.iter().filter(|e| e["run_id"] == s["run_id"]).map(|e| num(e, "val_accuracy")).next_back().unwrap();
        scores.entry((s["activation"].clone(), s["lr"].clone())).or_default().push(last);
    }
    let expected = csv_maps(&out.join("expected_performance.csv"));
    assert_eq!(expected.len(), 3 * 3, "three activations, budgets 1 to 3");
    for activation in ["relu", "tanh", "sigmoid"] {
        let mut settings: Vec<f64> = scores
            .iter()
            .filter(|((a, _), _)| a == activation)
            .map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64)
            .collect();
        settings.sort_by(f64::total_cmp);
        let curve: Vec<&BTreeMap<String, String>> = expected.iter().filter(|r| r["activation"] == activation).collect();
        assert_eq!(curve.iter().map(|r| num(r, "n") as usize).collect::<Vec<_>>(), [1, 2, 3]);
        // n = 1: one setting drawn at random, the mean of the three.
        let mean = settings.iter().sum::<f64>() / 3.0;
        assert!((num(curve[0], "expected_best") - mean).abs() < 1e-6, "{activation}: {curve:?} vs {settings:?}");
        // n = 3, by hand: P(best = k-th smallest) = (k^3 - (k-1)^3) / 27.
        let by_hand = (settings[0] + 7.0 * settings[1] + 19.0 * settings[2]) / 27.0;
        assert!((num(curve[2], "expected_best") - by_hand).abs() < 1e-6, "{activation}: {curve:?}");
        assert!(curve.windows(2).all(|w| num(w[1], "expected_best") >= num(w[0], "expected_best") - 1e-12));
    }
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Budget") && report.contains("plots/expected_performance.svg"), "{report}");
    assert!(out.join("plots/expected_performance.png").is_file());

    // A budget claim holds exactly when the curve stays at least the other's from that budget on.
    let best = |a: &str, n: usize| {
        num(expected.iter().find(|r| r["activation"] == a && r["n"] == n.to_string()).unwrap(), "expected_best")
    };
    for (a, b) in [("relu", "sigmoid"), ("sigmoid", "relu"), ("tanh", "relu"), ("relu", "tanh")] {
        for from in [1, 3] {
            let holds = (from..=3).all(|n| best(a, n) >= best(b, n));
            let claim = format!(
                "[[claim]]\nactivation = \"{a}\"\nrelative_to = \"{b}\"\nmetric = \"val_accuracy\"\nfrom_budget = {from}\n"
            );
            let (code, text) = check_claims(tmp.path(), &out, &claim);
            assert_eq!(code, Some(if holds { 0 } else { 1 }), "{a} vs {b} from {from}: {text}");
        }
        // Up to a budget: the lead from 1 (or from_budget) to that many settings.
        for (from, to) in [(1, 1), (1, 2), (2, 3)] {
            let holds = (from..=to).all(|n| best(a, n) >= best(b, n));
            let claim = format!(
                "[[claim]]\nactivation = \"{a}\"\nrelative_to = \"{b}\"\nmetric = \"val_accuracy\"\nfrom_budget = {from}\nup_to_budget = {to}\n"
            );
            let (code, text) = check_claims(tmp.path(), &out, &claim);
            assert_eq!(code, Some(if holds { 0 } else { 1 }), "{a} vs {b} from {from} to {to}: {text}");
        }
    }
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"relu\"\nrelative_to = \"tanh\"\nmetric = \"test_accuracy\"\nfrom_budget = 1\n",
    );
    assert!(code == Some(2) && text.contains("write metric = \"val_accuracy\""), "{text}");
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"relu\"\nrelative_to = \"tanh\"\nmetric = \"val_accuracy\"\nfrom_budget = 4\n",
    );
    assert!(code == Some(1) && text.contains("only 3 settings tried, fewer than 4"), "{text}");
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"relu\"\nrelative_to = \"tanh\"\nmetric = \"val_accuracy\"\nup_to_budget = 5\n",
    );
    assert!(code == Some(1) && text.contains("only 3 settings tried, fewer than 5"), "{text}");
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"relu\"\nrelative_to = \"tanh\"\nmetric = \"val_accuracy\"\nfrom_budget = 3\nup_to_budget = 2\n",
    );
    assert!(code == Some(2) && text.contains("`up_to_budget` must be at least `from_budget`"), "{text}");

    // Without [tuning] there is no such file, section or figure.
    let plain = TempDir::new();
    let out = train_with_threads(plain.path(), &TUNED.replace("[tuning]\ntune = [\"training.lr\"]\n", ""), "1");
    assert!(!out.join("expected_performance.csv").exists());
    assert!(!fs::read_to_string(out.join("report.md")).unwrap().contains("## Budget"));
}

#[test]
fn aggregate_has_the_probability_of_improvement_the_iqm_and_rank_shares() {
    let tmp = TempDir::new();
    let out = train_with_threads(
        tmp.path(),
        &TUNED
            .replace("[tuning]\ntune = [\"training.lr\"]\n", "")
            .replace("lr = [0.0003, 0.003, 0.03]", "lr = 0.003")
            .replace("seeds = 3", "seeds = 4"),
        "1",
    );
    let summary = csv_maps(&out.join("summary.csv"));
    let accuracies = |a: &str| -> Vec<f64> {
        summary.iter().filter(|s| s["activation"] == a).map(|s| num(s, "test_accuracy")).collect()
    };
    let aggregate = csv_maps(&out.join("aggregate.csv"));
    let test: Vec<&BTreeMap<String, String>> = aggregate.iter().filter(|r| r["metric"] == "test_accuracy").collect();
    let relu = accuracies("relu");
    for row in &test {
        let mine = accuracies(&row["activation"]);
        // IQM of four: the mean of the middle two.
        let mut sorted = mine.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((num(row, "iqm") - (sorted[1] + sorted[2]) / 2.0).abs() < 1e-9, "{row:?}");
        if row["activation"] == "relu" {
            assert_eq!(row["p_improvement"], "", "the baseline: {row:?}");
            continue;
        }
        let pairs: f64 = mine
            .iter()
            .flat_map(|x| {
                relu.iter().map(move |y| {
                    if x > y {
                        1.0
                    } else if x == y {
                        0.5
                    } else {
                        0.0
                    }
                })
            })
            .sum();
        let p = num(row, "p_improvement");
        assert!((p - pairs / 16.0).abs() < 1e-12, "{row:?}");
        assert!(num(row, "p_improvement_low") <= p && p <= num(row, "p_improvement_high"), "{row:?}");
    }
    let shares: f64 = test.iter().map(|r| num(r, "best_share")).sum();
    assert!((shares - 1.0).abs() < 1e-9, "the best shares of one point sum to 1: {shares}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| activation | mean | IQM | P(better than relu on a new seed) |"), "{report}");
    assert!(report.contains("plots/improvement.svg") && out.join("plots/improvement.png").is_file(), "{report}");
    assert!(report.contains("plots/ranks.svg") && out.join("plots/ranks.png").is_file(), "{report}");

    // A claim on the probability of improvement holds exactly when aggregate.csv's value reaches it.
    for row in test.iter().filter(|r| r["activation"] != "relu") {
        let p = num(row, "p_improvement");
        for want in [0.25, 0.5, 0.75] {
            let claim = format!(
                "[[claim]]\nactivation = \"{}\"\nrelative_to = \"relu\"\nmetric = \"test_accuracy\"\np_improvement = {want}\n",
                row["activation"]
            );
            let (code, text) = check_claims(tmp.path(), &out, &claim);
            assert_eq!(code, Some(if p >= want { 0 } else { 1 }), "P = {p}, claim {want}: {text}");
            assert!(text.contains(&format!("P = {p:.2} [")), "{text}");
        }
    }
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"tanh\"\nrelative_to = \"relu\"\nmetric = \"test_accuracy\"\np_improvement = 0.6\npaired = true\n",
    );
    assert!(code == Some(2) && text.contains("takes no `paired`"), "{text}");
}

const SOURCES: &str = r#"
activations = ["relu", "tanh"]
[experiment]
name = "sources"
seeds = 4
[model]
hidden = [16]
init = "glorot"
[training]
epochs = 1
batch_size = 64
optimizer = "adam"
lr = 0.01
"#;

#[test]
fn the_seed_drives_only_the_sources_it_is_told_to_and_the_spread_splits_by_source() {
    // Nothing varies: every seed is the same run.
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), &SOURCES.replace("seeds = 4", "seeds = 3\nvary = []"), "1");
    let summary = csv_maps(&out.join("summary.csv"));
    for a in ["relu", "tanh"] {
        let accuracies: Vec<&String> =
            summary.iter().filter(|s| s["activation"] == a).map(|s| &s["test_accuracy"]).collect();
        assert!(accuracies.iter().all(|x| *x == accuracies[0]), "{a}: {accuracies:?}");
    }
    // Seed 0 holds every source at seed 0 whatever `vary` says: the default run of seed 0.
    let plain = TempDir::new();
    let default = train_with_threads(plain.path(), &SOURCES.replace("seeds = 4", "seeds = [0]"), "1");
    let only = TempDir::new();
    let init = train_with_threads(only.path(), &SOURCES.replace("seeds = 4", "seeds = [0]\nvary = [\"init\"]"), "1");
    for table in ["epochs.csv", "summary.csv"] {
        assert_eq!(
            crate::common::timeless(&default.join(table)),
            crate::common::timeless(&init.join(table)),
            "{table}"
        );
    }

    // `fixed_seed` moves the sources held fixed: with only init varying, seed
    // 0 held at 5 is the split, order and init of seed 5 but for the init.
    let held = TempDir::new();
    let moved = train_with_threads(
        held.path(),
        &SOURCES.replace("seeds = 4", "seeds = [0]\nvary = [\"init\"]\nfixed_seed = 5"),
        "1",
    );
    assert_ne!(
        crate::common::timeless(&moved.join("epochs.csv")),
        crate::common::timeless(&default.join("epochs.csv")),
        "fixed_seed = 5 changed nothing"
    );
    let path = held.path().join("alone.toml");
    fs::write(&path, SOURCES.replace("seeds = 4", "seeds = 4\nfixed_seed = 5")).unwrap();
    let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("key `experiment.fixed_seed`") && stderr.contains("add `vary`"), "{stderr}");

    // One source a point: report.md splits the spread, and a claim reads the shares.
    let tmp = TempDir::new();
    let config = SOURCES.to_string() + "[sweep]\n\"experiment.vary\" = [[\"init\"], [\"order\"], [\"split\"]]\n";
    let out = train_with_threads(tmp.path(), &config, "1");
    let summary = csv_maps(&out.join("summary.csv"));
    let variance = |a: &str, source: &str| {
        let xs: Vec<f64> = summary
            .iter()
            .filter(|s| s["activation"] == a && s["experiment.vary"] == format!("[{source}]"))
            .map(|s| num(s, "test_accuracy"))
            .collect();
        assert_eq!(xs.len(), 4, "{a} {source}");
        let mean = xs.iter().sum::<f64>() / 4.0;
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0
    };
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Sources of spread"), "{report}");
    let total: f64 = ["init", "order", "split"].iter().map(|s| variance("relu", s)).sum();
    let share = variance("relu", "split") / total;
    for (bound, holds) in [(share + 0.001, true), (share - 0.001, false)] {
        let claim = format!(
            "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nsource = \"split\"\nat_most = {bound}\n"
        );
        let (code, text) = check_claims(tmp.path(), &out, &claim);
        assert_eq!(code, Some(if holds { 0 } else { 1 }), "share {share}, bound {bound}: {text}");
    }
    let (code, text) = check_claims(
        tmp.path(),
        &out,
        "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nsource = \"augment\"\nat_most = 0.5\n",
    );
    assert!(code == Some(2) && text.contains("no point that varies `augment` alone"), "{text}");

    // A source named twice, or one that is not a source, is a one-line error.
    for (vary, why) in [("[\"init\", \"init\"]", "names a source twice"), ("[\"weights\"]", "unknown variant")] {
        let path = tmp.path().join("bad.toml");
        fs::write(&path, SOURCES.replace("seeds = 4", &format!("seeds = 4\nvary = {vary}"))).unwrap();
        let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(why) && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}
