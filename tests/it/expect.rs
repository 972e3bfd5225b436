//! `actbench check --expect`: a study's claims against a finished
//! experiment, on a small real one (relu and sigmoid, 3 seeds, a deep
//! narrow MLP): claims that hold and claims that fail, each kind of test,
//! and bad claim files as one-line errors (exit 2).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{TempDir, actbench};

const EXPERIMENT: &str = r#"activations = ["relu", "sigmoid"]
[experiment]
seeds = 3
[model]
hidden = [32, 32, 32]
init = "pytorch"
[training]
epochs = 5
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.1
[logging]
every_steps = 1
activation_every_steps = 5
"#;

/// The experiment, trained once for every test of this file.
fn results() -> &'static Path {
    static DIR: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = TempDir::new();
        let config = dir.path().join("exp.toml");
        fs::write(&config, EXPERIMENT).unwrap();
        let out = dir.path().join("out");
        let o = actbench()
            .args(["--config", config.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (dir, out)
    })
    .1
}

fn expect(claims: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let dir = TempDir::new();
    let file = dir.path().join("expected.toml");
    fs::write(&file, claims).unwrap();
    let o = actbench().args(["check", "--expect", file.to_str().unwrap()]).arg(results()).args(extra).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn claims_that_hold_pass_and_the_table_shows_each() {
    let (code, out, err) = expect(
        r#"
[[claim]]
claim = "relu learns"
activation = "relu"
metric = "test_accuracy"
at_least = 0.5
paper = 0.886

[[claim]]
activation = "sigmoid"
metric = "grad_ratio"
step = 1
seeds = "max"
at_most = 0.5

[[claim]]
better = "relu"
worse = "sigmoid"
metric = "test_accuracy"
p_below = 0.05

[[claim]]
best = "relu"
metric = "final_train_loss"
seeds = "median"

[[claim]]
activation = "relu"
metric = "dead_fraction"
epoch = 0
seeds = "share"
where = { at_most = 1.0 }
between = [1.0, 1.0]

[[claim]]
activation = "sigmoid"
metric = "post_std"
layer = "each"
seeds = "each"
between = [0.0, 1.0]

[[claim]]
activation = "relu"
metric = "grad_l2"
parameter = "output.weight"
at_least = 1e-9

[[claim]]
activation = "sigmoid"
metric = "post_mean"
step = 0
layer = "each"
seeds = "each"
between = [0.4, 0.6]

[[claim]]
activation = "relu"
metric = "dead_fraction"
step = 35
layer = "max"
seeds = "max"
at_most = 1.0
"#,
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("expect: 9 of 9 claims hold"), "{out}");
    assert!(out.contains("of relu at step 35"), "a step claim is described by its step: {out}");
    assert!(out.contains("relu learns") && out.contains("0.886"), "the claim's words and the paper's number: {out}");
    assert!(out.contains("max grad_ratio of sigmoid at step 1 <= 0.5"), "a claim without words is described: {out}");
    assert!(out.contains("1 (3 of 3), 1 (3 of 3), 1 (3 of 3)"), "a share counts the runs, per layer: {out}");
}

#[test]
fn a_claim_that_does_not_hold_fails_with_exit_1_and_every_format_says_so() {
    let claims = r#"
[[claim]]
activation = "sigmoid"
metric = "test_accuracy"
at_least = 0.99

[[claim]]
better = "sigmoid"
worse = "relu"
metric = "test_accuracy"

[[claim]]
best = "sigmoid"
metric = "test_accuracy"

[[claim]]
activation = "relu"
metric = "test_accuracy"
at_least = 0.0
"#;
    let (code, out, err) = expect(claims, &[]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out.matches("FAILS").count(), 3, "{out}");
    assert!(out.contains("expect: 1 of 4 claims hold"), "{out}");
    let (code, json, _) = expect(claims, &["--format", "json"]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["claims"].as_array().unwrap().iter().filter(|c| c["holds"] == false).count(), 3);
    let (_, xml, _) = expect(claims, &["--format", "junit"]);
    assert!(xml.contains("tests=\"4\" failures=\"3\""), "{xml}");
    let (_, md, _) = expect(claims, &["--format", "markdown"]);
    assert_eq!(md.lines().filter(|l| l.contains("| FAILS (needed ")).count(), 3, "{md}");
    // Each failure says what it needed, in every format.
    assert!(out.contains("FAILS (needed >= 0.99)") && out.contains("needed a mean above relu's"), "{out}");
    assert!(xml.contains("does not hold: measured") && xml.contains("needed &gt;= 0.99"), "{xml}");
    let needed: Vec<&str> = v["claims"].as_array().unwrap().iter().filter_map(|c| c["needed"].as_str()).collect();
    assert_eq!(needed, [">= 0.99", "a mean above relu's", "the highest", ">= 0"], "{json}");
}

#[test]
fn bad_claim_files_are_one_line_errors_naming_the_file_and_claim() {
    for (claims, said) in [
        (
            "[[claim]]\nactivation = \"relu\"\nmetric = \"test_acuracy\"\nat_least = 0.5\n",
            "did you mean `test_accuracy`?",
        ),
        ("[[claim]]\nactivation = \"gelu\"\nmetric = \"test_accuracy\"\nat_least = 0.5\n", "no runs of `gelu`"),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\n", "needs `at_least`, `at_most` or `between`"),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nat_least = 0.5\nlayer = 2\n", "`layer` is for"),
        (
            "[[claim]]\nactivation = \"relu\"\nmetric = \"dead_fraction\"\nseeds = \"share\"\nat_least = 0.5\n",
            "needs `where`",
        ),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nbetween = [0.9, 0.1]\n", "is empty"),
        ("[[claim]]\nbetter = \"relu\"\nmetric = \"test_accuracy\"\n", "go together"),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"grad_l2\"\nat_least = 0.5\n", "needs `parameter`"),
        (
            "[[claim]]\nactivation = \"relu\"\nmetric = \"dead_fraction\"\nlayer = 9\nat_least = 0.5\n",
            "no hidden layer 9",
        ),
        (
            "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nat_least = 0.5\nat = { \"model.hidden\" = [8] }\n",
            "does not sweep",
        ),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nat_lest = 0.5\n", "expected.toml:4:1"),
        ("[[claim]]\nbest = \"relu\"\nmetric = \"dead_fraction\"\n", "one value per run"),
        ("", "no `[[claim]]`"),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\nstep = 5\nat_least = 0.5\n", "`step` is for"),
        ("[[claim]]\nactivation = \"relu\"\nmetric = \"post_mean\"\nstep = 5\nepoch = 1\nat_least = 0.5\n", "not both"),
        (
            "[[claim]]\nactivation = \"relu\"\nmetric = \"post_mean\"\nstep = 7\nat_least = 0.5\n",
            "no rows at step 7 (its steps: 0, 5, 10",
        ),
    ] {
        let (code, out, err) = expect(claims, &[]);
        assert_eq!(code, Some(2), "{claims}: {out}{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains("expected.toml") && err.contains(said), "{claims}: expected `{said}` in {err}");
    }
    // --expect without a results folder, and with --baseline, are usage errors.
    let o = actbench().args(["check", "--expect", "x.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give the results folder"));
}

/// activation_steps.csv: a probe at step 0 and every 5 steps, each step's
/// epoch as in gradients.csv, and at an epoch's last step the same
/// statistics as activations.csv's row for that epoch (the same model).
#[test]
fn activation_steps_follow_training_and_meet_activations_csv_at_epoch_ends() {
    type Rows = Vec<std::collections::HashMap<String, String>>;
    let read = |name: &str| -> Rows {
        csv::Reader::from_path(results().join(name)).unwrap().deserialize().map(|r| r.unwrap()).collect()
    };
    let (steps, epochs, grads) = (read("activation_steps.csv"), read("activations.csv"), read("gradients.csv"));
    let num = |r: &std::collections::HashMap<String, String>, k: &str| r[k].parse::<usize>().unwrap();
    let mut matched = 0;
    for run in ["relu-lr0.1-s0", "sigmoid-lr0.1-s2"] {
        let mine: Vec<_> = steps.iter().filter(|r| r["run_id"] == run).collect();
        let last = grads.iter().filter(|r| r["run_id"] == run).map(|r| num(r, "step")).max().unwrap();
        let mut seen: Vec<usize> = mine.iter().map(|r| num(r, "step")).collect();
        seen.dedup();
        assert_eq!(seen, (0..=last).step_by(5).collect::<Vec<_>>(), "{run}");
        assert!(mine.iter().all(|r| num(r, "layer") < 3) && mine.len() == seen.len() * 3, "{run}: 3 layers a probe");
        for r in &mine {
            let step = num(r, "step");
            let epoch =
                grads.iter().find(|g| g["run_id"] == run && num(g, "step") == step).map_or(0, |g| num(g, "epoch"));
            assert_eq!(num(r, "epoch"), epoch, "{run} step {step}");
            let epoch_end =
                grads.iter().filter(|g| g["run_id"] == run && num(g, "epoch") == epoch).map(|g| num(g, "step")).max();
            if step > 0 && epoch_end == Some(step) {
                let same = epochs
                    .iter()
                    .find(|e| e["run_id"] == run && num(e, "epoch") == epoch && e["layer"] == r["layer"])
                    .unwrap();
                assert_eq!(num(same, "step"), step, "activations.csv's step is the epoch's last");
                for k in ["pre_mean", "pre_std", "post_mean", "post_std", "dead_fraction", "saturated_fraction"] {
                    assert_eq!(same[k], r[k], "{run} step {step} layer {}: {k}", r["layer"]);
                }
                matched += 1;
            }
        }
    }
    assert!(matched >= 2 * 3 * 4, "epoch ends met: {matched}");
    let plots = results().join("plots");
    assert!(plots.join("activation_steps.svg").is_file() && plots.join("activation_steps.png").is_file());
    let report = fs::read_to_string(results().join("report.md")).unwrap();
    assert!(report.contains("plots/activation_steps.svg"), "report.md links the figure");
}

/// The test accuracies of `label` by seed, from summary.csv.
fn accuracies(label: &str) -> std::collections::BTreeMap<u64, f64> {
    let mut reader = csv::Reader::from_path(results().join("summary.csv")).unwrap();
    reader
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(|row| row.unwrap())
        .filter(|row| row["activation"] == label)
        .map(|row| (row["seed"].parse().unwrap(), row["test_accuracy"].parse().unwrap()))
        .collect()
}

/// Margin claims (non-inferiority, superiority by a margin, equivalence)
/// against `relative_to`, judged on the 95% interval of the difference:
/// Welch's by default, paired by seed with `paired = true` (both checked
/// against scipy in tests/it/stats_reference.rs). The measured value is the
/// difference of the means with its interval; a failure names what it needed.
#[test]
fn margin_claims_judge_the_interval_of_the_difference() {
    let (relu, sigmoid) = (accuracies("relu"), accuracies("sigmoid"));
    let mean = |m: &std::collections::BTreeMap<u64, f64>| m.values().sum::<f64>() / m.len() as f64;
    let diff = mean(&relu) - mean(&sigmoid);
    let claims = |test: &str, paired: bool| {
        format!(
            "[[claim]]\nactivation = \"relu\"\nrelative_to = \"sigmoid\"\nmetric = \"test_accuracy\"\n{test}\npaired = {paired}\n"
        )
    };
    let shown = |x: f64| format!("{}{}", if x >= 0.0 { "+" } else { "" }, (x * 1e4).round() / 1e4);
    for paired in [false, true] {
        // Generous margins hold, whatever the spread of 3 seeds.
        for test in ["not_worse_by = 1.0", "within = 1.0"] {
            let (code, out, err) = expect(&claims(test, paired), &[]);
            assert_eq!(code, Some(0), "{test} {paired}: {out}{err}");
            assert!(out.contains(&shown(diff)), "the difference of the means {}: {out}", shown(diff));
            assert!(out.contains(if paired { "paired by seed" } else { "Welch" }), "{out}");
        }
        // No difference of accuracies can exceed 1.
        let (code, out, _) = expect(&claims("better_by = 1.0", paired), &["--format", "junit"]);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("does not hold: measured") && out.contains("lower end above 1"), "{out}");
    }
    // The other way round: a margin judged in the claimed direction.
    let reversed =
        "[[claim]]\nactivation = \"sigmoid\"\nrelative_to = \"relu\"\nmetric = \"test_accuracy\"\nbetter_by = 0.0\n";
    let (code, out, _) = expect(reversed, &[]);
    assert_eq!(code, Some(if diff > 0.0 { 1 } else { 0 }), "{out}");
    // A loss: lower is better, so the interval is turned over.
    let loss =
        "[[claim]]\nactivation = \"relu\"\nrelative_to = \"sigmoid\"\nmetric = \"test_loss\"\nnot_worse_by = 100.0\n";
    let (code, out, _) = expect(loss, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("turned: lower is better"), "{out}");
}

#[test]
fn bad_margin_claims_are_one_line_errors() {
    let base = "[[claim]]\nactivation = \"relu\"\nmetric = \"test_accuracy\"\n";
    for (extra, says) in [
        ("not_worse_by = 0.01\n", "add `relative_to"),
        ("relative_to = \"sigmoid\"\n", "needs one of `not_worse_by`, `better_by` or `within`"),
        ("relative_to = \"sigmoid\"\nnot_worse_by = 0.01\nwithin = 0.01\n", "needs one of"),
        ("relative_to = \"sigmoid\"\nnot_worse_by = -0.01\n", "finite margin >= 0"),
        ("relative_to = \"sigmoid\"\nwithin = 0.0\n", "(and > 0)"),
        ("relative_to = \"sigmoid\"\nnot_worse_by = nan\n", "finite margin"),
        ("relative_to = \"relu\"\nnot_worse_by = 0.01\n", "both `relu`"),
        ("relative_to = \"sigmoid\"\nnot_worse_by = 0.01\nat_least = 0.5\n", "takes no bound"),
        ("paired = true\n", "add `relative_to"),
    ] {
        let (code, out, err) = expect(&format!("{base}{extra}"), &[]);
        assert_eq!(code, Some(2), "{extra}: {out}{err}");
        assert!(err.contains(says) && err.trim().lines().count() == 1, "{extra}: {err}");
    }
    let (code, _, err) =
        expect("[[claim]]\nrelative_to = \"sigmoid\"\nmetric = \"test_accuracy\"\nwithin = 0.1\n", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("add `activation`"), "{err}");
}
