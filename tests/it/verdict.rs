//! A verdict a researcher can trust (issue 32), through the CLI: the verdict
//! per activation in report.md and aggregate.csv, the fairness guards in the
//! run's output, report.md and `check`.

use std::fs;
use std::path::Path;

use crate::common::{TempDir, actbench, check_claims, csv_maps, train_with_threads};

const FOUR_SEEDS: &str = r#"
activations = ["relu", "tanh", "sigmoid"]
[experiment]
name = "verdict"
seeds = 4
[model]
hidden = [32, 32]
[training]
epochs = 2
batch_size = 64
optimizer = "adam"
lr = 0.01
"#;

#[test]
fn every_activation_gets_a_verdict_that_follows_its_test() {
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), FOUR_SEEDS, "1");
    let rows = csv_maps(&out.join("aggregate.csv"));
    let mut seen = 0;
    for row in &rows {
        let verdict = row["verdict"].as_str();
        if row["baseline"].is_empty() {
            assert_eq!(verdict, "", "the baseline has no verdict: {row:?}");
            assert_eq!(row["mdd"], "", "{row:?}");
            continue;
        }
        let (Ok(diff), Ok(p)) = (row["diff"].parse::<f64>(), row["p_holm"].parse::<f64>()) else {
            assert_eq!(verdict, "too_few_runs", "{row:?}");
            continue;
        };
        let higher_is_better = row["metric"].contains("accuracy");
        let want = if p >= 0.05 || diff == 0.0 {
            "no_detectable_difference"
        } else if (diff > 0.0) == higher_is_better {
            "better"
        } else {
            "worse"
        };
        assert_eq!(verdict, want, "{row:?}");
        let mdd: f64 = row["mdd"].parse().unwrap();
        assert!(mdd >= 0.0 && mdd.is_finite(), "{row:?}");
        seen += 1;
    }
    assert!(seen >= 8, "two compared activations over the metrics with values: {seen}");
    // Sigmoid does not learn in two epochs of this network (about 0.1 against 0.9).
    let sigmoid = rows.iter().find(|r| r["activation"] == "sigmoid" && r["metric"] == "test_accuracy").unwrap();
    assert_eq!(sigmoid["verdict"], "worse");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    let section = report.split("## Verdict").nth(1).unwrap().split("\n## ").next().unwrap();
    assert!(section.contains("- **sigmoid**: worse than relu: -"), "{section}");
    assert!(!section.contains("- **relu**"), "the baseline is not judged against itself: {section}");
    let tanh = rows.iter().find(|r| r["activation"] == "tanh" && r["metric"] == "test_accuracy").unwrap();
    if tanh["verdict"] == "no_detectable_difference" {
        let mdd = 100.0 * tanh["mdd"].parse::<f64>().unwrap();
        assert!(section.contains(&format!("about {mdd:.1} pp or more")), "the detectable difference: {section}");
    }
}

#[test]
fn one_seed_is_too_few_to_tell_and_says_so() {
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), &FOUR_SEEDS.replace("seeds = 4", "seeds = 1"), "1");
    let rows = csv_maps(&out.join("aggregate.csv"));
    assert!(rows.iter().filter(|r| !r["baseline"].is_empty()).all(|r| r["verdict"] == "too_few_runs"), "{rows:?}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("- **tanh**: cannot tell: a test needs at least 2 finished runs (seeds) on each side; this one has 1 finished of 1, relu 1 finished of 1."),
        "{report}"
    );
}

#[test]
fn without_the_baseline_among_the_activations_there_is_no_verdict() {
    let tmp = TempDir::new();
    let config = FOUR_SEEDS
        .replace(r#"["relu", "tanh", "sigmoid"]"#, r#"["tanh", "sigmoid"]"#)
        .replace("seeds = 4", "seeds = 2");
    let out = train_with_threads(tmp.path(), &config, "1");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("No verdict: the baseline `relu` is not among the activations compared"), "{report}");
}

/// Trains `config` in DIR/out; returns the folder and the run's stderr.
fn train_with_stderr(dir: &Path, config: &str) -> (std::path::PathBuf, String) {
    let path = dir.join("exp.toml");
    fs::write(&path, config).unwrap();
    let out = dir.join("out");
    let result = actbench()
        .env("RAYON_NUM_THREADS", "1")
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).to_string();
    assert!(result.status.success(), "{stderr}");
    (out, stderr)
}

const TWO_SEEDS: &str = r#"
activations = ["relu", "tanh"]
[experiment]
name = "fairness"
seeds = 2
[model]
hidden = [16]
init = "auto"
[training]
epochs = 1
batch_size = 64
optimizer = "adam"
lr = 0.01
"#;

#[test]
fn different_init_schemes_are_warned_about_everywhere_and_fail_a_fair_claim() {
    let tmp = TempDir::new();
    let (out, stderr) = train_with_stderr(tmp.path(), TWO_SEEDS);
    assert!(stderr.contains("warning: fairness (init): the activations start from different initialisation schemes (he for relu; glorot for tanh)"), "{stderr}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| model | MLP, hidden layers [16], init auto: he for relu; glorot for tanh |"),
        "{report}"
    );
    assert!(report.contains("- **init**: the activations start from different"), "{report}");
    let (code, text) = check_claims(tmp.path(), &tmp.path().join("out"), "[[claim]]\nfair = true\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAILS (needed no fairness warning)") && text.contains("he for relu"), "{text}");
    // `fair` is a claim of its own.
    let (code, text) =
        check_claims(tmp.path(), &tmp.path().join("out"), "[[claim]]\nfair = true\nactivation = \"relu\"\n");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("claim 1 (fair): `fair = true` is a claim of its own"), "{text}");
    let (code, text) = check_claims(tmp.path(), &tmp.path().join("out"), "[[claim]]\nfair = false\n");
    assert_eq!(code, Some(2), "{text}");

    // One scheme for all: no warning, the claim holds.
    let tmp = TempDir::new();
    let (out, stderr) = train_with_stderr(tmp.path(), &TWO_SEEDS.replace("init = \"auto\"", "init = \"glorot\""));
    assert!(!stderr.contains("warning: fairness"), "{stderr}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Fairness\n\nNo warning: the activations share one initialisation scheme"), "{report}");
    let (code, text) = check_claims(tmp.path(), &tmp.path().join("out"), "[[claim]]\nfair = true\n");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_tuned_choice_on_the_edge_of_its_range_and_diverged_runs_are_warned_about() {
    // A rate of 10 with Adam diverges (or cannot win); the chosen rate is at an end of [0.01, 10] for both.
    let config = TWO_SEEDS.replace("init = \"auto\"", "init = \"glorot\"").replace("lr = 0.01", "lr = [0.01, 10.0]")
        + "[tuning]\ntune = [\"training.lr\"]\n";
    let tmp = TempDir::new();
    let (out, stderr) = train_with_stderr(tmp.path(), &config);
    for activation in ["relu", "tanh"] {
        let want = format!("warning: fairness (tuned_edge): {activation}: the chosen training.lr = ");
        assert!(stderr.contains(&want), "{stderr}");
    }
    assert!(stderr.contains("of the 2 values tried (0.01 to 10); the best may lie"), "{stderr}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("- **tuned_edge**: relu: the chosen training.lr"), "{report}");

    // Diverged runs: plain SGD at a rate of 1e6 diverges in every run of relu.
    let tmp = TempDir::new();
    let config = TWO_SEEDS
        .replace("init = \"auto\"", "init = \"glorot\"")
        .replace(r#"activations = ["relu", "tanh"]"#, r#"activations = [{ name = "relu", lr = 1e6 }, "tanh"]"#)
        .replace("hidden = [16]", "hidden = [32, 32]")
        .replace("epochs = 1", "epochs = 2")
        .replace("optimizer = \"adam\"\nlr = 0.01", "lr = 0.05");
    let (_, stderr) = train_with_stderr(tmp.path(), &config);
    assert!(
        stderr.contains("warning: fairness (runs): the groups do not rest on equal finished runs (not diverged: relu @ lr 1000000 0 of 2, tanh @ lr 0.05 2 of 2)"),
        "{stderr}"
    );
}

#[test]
fn labels_and_ids_read_unambiguously_and_claims_take_an_entry_name() {
    let config = r#"
activations = [
  { name = "leaky_relu", slope = 0.1 },
  { name = "pade", formula = "x * sigmoid(b1 * x) + b10 * x", b1 = 0.0, b10 = 0.5 },
  { formula = "x * sigmoid(b1 * x)", b1 = 1.5 },
]
[experiment]
name = "labels"
seeds = 1
[model]
hidden = [8]
[training]
epochs = 1
lr = 0.05
"#;
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), config, "1");
    let mut reader = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let rows: Vec<(String, String)> =
        reader.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), r[1].to_string())).collect();
    assert_eq!(rows[0], ("leaky_relu-slope=0.1-lr0.05-s0".to_string(), "leaky_relu(slope=0.1)".to_string()));
    // A named formula: its name alone, in the label and the id.
    assert_eq!(rows[1], ("pade-lr0.05-s0".to_string(), "pade".to_string()));
    // An unnamed one: the formula's hash, then each parameter = its value.
    assert!(rows[2].0.starts_with("formula_") && rows[2].0.ends_with("-b1=1.5-lr0.05-s0"), "{rows:?}");
    assert_eq!(rows[2].1, "x * sigmoid(b1 * x)(b1=1.5)");
    // A claim names an entry by its name where one entry has it.
    let claims = tmp.path().join("claims.toml");
    fs::write(&claims, "[[claim]]\nactivation = \"leaky_relu\"\nmetric = \"test_accuracy\"\nat_least = 0.0\n").unwrap();
    let result =
        actbench().args(["check", "--expect", claims.to_str().unwrap(), out.to_str().unwrap()]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stdout));
    assert!(String::from_utf8_lossy(&result.stdout).contains("of leaky_relu(slope=0.1)"));

    // Two entries of one name: the claim must say which, by label.
    let two =
        config.replace(r#"{ formula = "x * sigmoid(b1 * x)", b1 = 1.5 },"#, r#"{ name = "leaky_relu", slope = 0.3 },"#);
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), &two, "1");
    let claims = tmp.path().join("claims.toml");
    fs::write(&claims, "[[claim]]\nactivation = \"leaky_relu\"\nmetric = \"test_accuracy\"\nat_least = 0.0\n").unwrap();
    let result =
        actbench().args(["check", "--expect", claims.to_str().unwrap(), out.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`leaky_relu` names 2 entries: say which by its label (leaky_relu(slope=0.1), leaky_relu(slope=0.3))"
        ),
        "{stderr}"
    );

    // Two formulas of one name are refused before training.
    let path = tmp.path().join("same.toml");
    fs::write(
        &path,
        config.replace(
            r#"{ formula = "x * sigmoid(b1 * x)", b1 = 1.5 },"#,
            r#"{ name = "pade", formula = "x * b1", b1 = 2.0 },"#,
        ),
    )
    .unwrap();
    let result = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success() && stderr.contains("lists `pade` twice"), "{stderr}");
}
