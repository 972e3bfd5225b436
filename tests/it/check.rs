//! `actbench check` against the committed baseline: a re-run passes, a
//! genuine regression fails (exit 1), bad input is exit 2.

use std::fs;

use crate::common::{TempDir, actbench, run};
use actbench::results_dir::{CONFIG_FILE, ResultsDir, Table};

const BASELINE: &str = "results/baselines/ci_regression";

#[test]
fn a_rerun_passes_and_a_starved_learning_rate_fails() {
    let dir = TempDir::new();
    let rerun = dir.path().join("rerun");
    let out = run(&["--config", "ci_regression.toml", "--out", rerun.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ok = run(&["check", "--baseline", BASELINE, "--current", rerun.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{table}");
    assert!(table.contains("check passed") && table.lines().any(|l| l.starts_with("relu ")), "{table}");

    // The same experiment with a learning rate far too small for relu only.
    let starved = fs::read_to_string("configs/ci_regression.toml").unwrap().replace(
        r#"activations = ["relu", "tanh", "sigmoid"]"#,
        r#"activations = [{ name = "relu", lr = 0.0002 }, "tanh", "sigmoid"]"#,
    );
    assert!(starved.contains("lr = 0.0002"));
    let path = dir.path().join("ci_regression.toml");
    fs::write(&path, starved).unwrap();
    let worse = dir.path().join("worse");
    let out = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", worse.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = run(&["check", "--baseline", BASELINE, "--current", worse.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{table}");
    assert!(table.contains("check FAILED"), "{table}");
    let relu = table.lines().find(|l| l.starts_with("relu ")).unwrap();
    assert!(relu.contains("REGRESSION"), "{table}");
    let tanh = table.lines().find(|l| l.starts_with("tanh ")).unwrap();
    assert!(tanh.ends_with("ok"), "{table}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = TempDir::new();
    let out = run(&["check", "--baseline", dir.path().to_str().unwrap(), "--current", BASELINE]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(CONFIG_FILE), "{stderr}");
    let out = run(&["check", "--baseline", BASELINE, "--current", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no summary.csv"));
}

#[test]
fn a_baseline_without_a_finite_accuracy_is_bad_input() {
    // The committed baseline with every test accuracy replaced by NaN.
    let dir = TempDir::new();
    let (from, nan) = (ResultsDir::new(BASELINE), ResultsDir::new(dir.path().join("nan")));
    fs::create_dir_all(nan.root()).unwrap();
    fs::copy(from.config(), nan.config()).unwrap();
    let mut reader = csv::Reader::from_path(from.table(Table::Summary)).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = header.iter().position(|h| h == "test_accuracy").unwrap();
    let mut writer = csv::Writer::from_path(nan.table(Table::Summary)).unwrap();
    writer.write_record(&header).unwrap();
    for row in reader.records().map(Result::unwrap) {
        let fields: Vec<&str> = row.iter().enumerate().map(|(i, f)| if i == column { "NaN" } else { f }).collect();
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    let out = run(&["check", "--baseline", nan.root().to_str().unwrap(), "--current", BASELINE]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no finite test accuracy"), "{stderr}");
}
