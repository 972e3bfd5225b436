//! `actbench check` against the committed baseline: a re-run passes, a
//! genuine regression fails (exit 1), bad input is exit 2.

use std::fs;

use crate::common::{TempDir, actbench, run};
use actbench::results::dir::{CONFIG_FILE, ResultsDir, Table};

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

/// A copy of the committed baseline (it is a finished experiment's config and
/// summary) into `dir`, with `edit` applied to each summary row (header, fields).
fn edited_copy(dir: &std::path::Path, edit: impl Fn(&csv::StringRecord, &mut Vec<String>) -> bool) -> ResultsDir {
    let (from, to) = (ResultsDir::new(BASELINE), ResultsDir::new(dir));
    fs::create_dir_all(to.root()).unwrap();
    fs::copy(from.config(), to.config()).unwrap();
    let mut reader = csv::Reader::from_path(from.table(Table::Summary)).unwrap();
    let header = reader.headers().unwrap().clone();
    let mut writer = csv::Writer::from_path(to.table(Table::Summary)).unwrap();
    writer.write_record(&header).unwrap();
    for row in reader.records().map(Result::unwrap) {
        let mut fields: Vec<String> = row.iter().map(String::from).collect();
        if edit(&header, &mut fields) {
            writer.write_record(&fields).unwrap();
        }
    }
    writer.flush().unwrap();
    to
}

fn column(header: &csv::StringRecord, name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// relu's test accuracy lowered by `by` in every run.
fn relu_lowered(dir: &std::path::Path, by: f64) -> ResultsDir {
    edited_copy(dir, |h, f| {
        if f[column(h, "activation")] == "relu" {
            let i = column(h, "test_accuracy");
            f[i] = (f[i].parse::<f64>().unwrap() - by).to_string();
        }
        true
    })
}

/// The junitparser package, installed by scripts/setup.sh (`ACTBENCH_TOOLS`, default /var/tmp/actbench-tools).
fn tools_python() -> std::path::PathBuf {
    let tools = std::env::var_os("ACTBENCH_TOOLS").map_or("/var/tmp/actbench-tools".into(), std::path::PathBuf::from);
    let python = tools.join("venv/bin/python");
    assert!(python.is_file(), "{} is missing: run scripts/setup.sh (it installs junitparser)", python.display());
    python
}

/// Equal JSON values, numbers within one part in 10^15.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-15 * x.abs().max(y.abs())
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn the_verdict_as_junit_json_and_markdown() {
    let dir = TempDir::new();
    let worse = relu_lowered(&dir.path().join("worse"), 0.1);
    let (xml, json, md) = (dir.path().join("check.xml"), dir.path().join("check.json"), dir.path().join("summary.md"));
    let current = worse.root().to_str().unwrap();
    for (format, path) in [("junit", &xml), ("json", &json), ("markdown", &md)] {
        let out = run(&[
            "check",
            "--baseline",
            BASELINE,
            "--current",
            current,
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("check FAILED"), "the table still goes to stdout");
    }
    // junitparser reads it as JUnit: a case per group and per sure ordering, relu's failing with the numbers.
    let script = r#"
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    for case in suite:
        failed = [r for r in case.result if isinstance(r, Failure)]
        print(case.classname, case.name, "FAIL" if failed else "ok", failed[0].message if failed else "", failed[0].text if failed else "", sep="|")
"#;
    let parsed =
        std::process::Command::new(tools_python()).args(["-c", script, xml.to_str().unwrap()]).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let cases = String::from_utf8_lossy(&parsed.stdout).into_owned();
    let lines: Vec<&str> = cases.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("actbench.check.accuracy|")).count(), 3, "{cases}");
    assert!(lines.iter().any(|l| l.starts_with("actbench.check.ordering|")), "{cases}");
    let relu = lines.iter().find(|l| l.starts_with("actbench.check.accuracy|relu|")).unwrap();
    assert!(relu.contains("|FAIL|test accuracy dropped by 0.1000") && relu.contains("tolerance 0.0200"), "{relu}");
    assert!(lines.iter().any(|l| l.starts_with("actbench.check.accuracy|tanh|ok")), "{cases}");

    let verdict: actbench::check::Verdict = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert!(!verdict.passed && verdict.groups.len() == 3);
    // Round trip: what is read back serialises to the same JSON (serde_json's
    // default float parser may move the last of 17 digits).
    let again: serde_json::Value = serde_json::to_value(&verdict).unwrap();
    let written: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert!(same_json(&again, &written), "{again}\n{written}");
    let md = fs::read_to_string(&md).unwrap();
    assert!(md.contains("FAILED") && md.contains("| relu | 0.9638 | 0.8638 | -0.1000 |"), "{md}");

    // Without --output the format goes to stdout; a pass exits 0.
    let out = run(&["check", "--baseline", BASELINE, "--current", BASELINE, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let verdict: actbench::check::Verdict = serde_json::from_slice(&out.stdout).unwrap();
    assert!(verdict.passed);
}

#[test]
fn bad_formats_and_outputs_exit_2_and_write_nothing() {
    let out = run(&["check", "--baseline", BASELINE, "--current", BASELINE, "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("`xml`") && stderr.contains("junit"), "{stderr}");
    let dir = TempDir::new();
    let path = dir.path().join("no/such/folder/check.xml");
    let out = run(&[
        "check",
        "--baseline",
        BASELINE,
        "--current",
        BASELINE,
        "--format",
        "junit",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--output") && stderr.contains("check.xml"), "{stderr}");
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn baseline_update_then_check_passes_and_a_raised_baseline_fails_the_old_results() {
    let dir = TempDir::new();
    let results = edited_copy(&dir.path().join("results"), |_, _| true);
    let base = dir.path().join("base");
    let update = |from: &ResultsDir, extra: &[&str]| {
        let mut args =
            vec!["baseline", "update", "--from", from.root().to_str().unwrap(), "--to", base.to_str().unwrap()];
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = update(&results, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.lines().any(|l| l.starts_with("relu ") && l.ends_with("new")), "{said}");
    let mut names: Vec<String> =
        fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["config.toml", "summary.csv"], "exactly what check needs");
    let ok = run(&["check", "--baseline", base.to_str().unwrap(), "--current", results.root().to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));

    // A better relu becomes the baseline: the old results now fail, and the update says by how much.
    let better = relu_lowered(&dir.path().join("better"), -0.03);
    let out = update(&better, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    let relu = said.lines().find(|l| l.starts_with("relu ")).unwrap();
    assert!(relu.contains("0.9638") && relu.contains("0.9938") && relu.ends_with("+0.0300"), "{said}");
    let bad = run(&["check", "--baseline", base.to_str().unwrap(), "--current", results.root().to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad.stdout));

    let show = run(&["baseline", "show", base.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    assert!(
        text.contains("max(0.02, 3 standard errors")
            && text.lines().any(|l| l.starts_with("relu ") && l.ends_with("0,1,2")),
        "{text}"
    );
}

#[test]
fn baseline_update_refuses_incomplete_or_more_diverged_experiments_and_other_folders() {
    let dir = TempDir::new();
    let base = dir.path().join("base");
    let update = |from: &ResultsDir, to: &std::path::Path, extra: &[&str]| {
        let mut args =
            vec!["baseline", "update", "--from", from.root().to_str().unwrap(), "--to", to.to_str().unwrap()];
        args.extend_from_slice(extra);
        run(&args)
    };
    let refused = |out: &std::process::Output, said: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(said), "`{said}` missing: {stderr}");
    };
    let incomplete = edited_copy(&dir.path().join("incomplete"), |h, f| f[column(h, "run_id")] != "tanh-lr0.02-s1");
    refused(&update(&incomplete, &base, &[]), "1 of its 9 runs are missing");
    assert!(!base.exists(), "nothing written");
    assert!(update(&incomplete, &base, &["--allow-incomplete"]).status.success());

    let diverged = edited_copy(&dir.path().join("diverged"), |h, f| {
        if f[column(h, "run_id")] == "relu-lr0.02-s0" {
            f[column(h, "diverged")] = "true".into();
        }
        true
    });
    let before = fs::read(base.join("summary.csv")).unwrap();
    refused(&update(&diverged, &base, &[]), "`relu` diverged in 1 of 3 runs");
    assert_eq!(fs::read(base.join("summary.csv")).unwrap(), before, "the baseline is untouched");
    assert!(update(&diverged, &base, &["--allow-diverged"]).status.success());

    // A results folder is not a baseline: never written over.
    let results = dir.path().join("results");
    let out = run(&["--config", "tiny", "--out", results.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success());
    let summary = fs::read(results.join("summary.csv")).unwrap();
    refused(&update(&diverged, &results, &[]), "is not a baseline folder");
    assert_eq!(fs::read(results.join("summary.csv")).unwrap(), summary);
    refused(&run(&["baseline", "show", dir.path().to_str().unwrap()]), "is not a baseline");
}
