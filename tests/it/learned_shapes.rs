//! Learned activations seen as functions (issue 32): `--param` gives a
//! formula's or a built-in's parameter a value, `--from-run` shows a
//! finished run's activation at the values each layer learned, and the
//! report of an experiment that learns draws plots/learned_shapes.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{TempDir, actbench, run};
use actbench::results::dir::{ResultsDir, Table};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure of bad input: exit code 1 and one line naming what to fix.
fn one_line_error(o: &Output, says: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for s in says {
        assert!(err.contains(s), "expected `{s}` in {err}");
    }
}

/// The value column of `activations --csv` rows, per label.
fn csv_values(o: &Output) -> Vec<(String, f64)> {
    assert!(o.status.success(), "{}", stderr(o));
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    reader.records().map(Result::unwrap).map(|r| (r[0].to_string(), r[2].parse().unwrap())).collect()
}

const SWISH: &str = "x*sigmoid(p0*x)";

#[test]
fn param_gives_a_formula_or_a_built_in_its_value() {
    // Refused without a value, and the error says how to give one.
    let o = run(&["activations", "--properties", "--formula", SWISH]);
    one_line_error(&o, &["unknown name `p0`", "--param NAME=VALUE"]);
    // The value changes what is printed: f(1) = sigmoid(p0), the range's minimum shrinks with p0.
    let table = |p0: &str| {
        let o = run(&["activations", "--properties", "--formula", SWISH, "--param", &format!("p0={p0}")]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().nth(2).expect("a row").to_string()
    };
    let (one, ten) = (table("1"), table("10"));
    assert!(one.starts_with("| x*sigmoid(p0*x)(p0=1) | [-0.278, inf]"), "{one}");
    assert!(ten.starts_with("| x*sigmoid(p0*x)(p0=10) | [-0.028, inf]"), "{ten}");
    let at_one =
        |p0: &str| csv_values(&run(&["activations", "--csv", "--formula", SWISH, "--param", p0, "--points", "1"]));
    assert!((at_one("p0=1")[0].1 - 0.731_058_6).abs() < 1e-5);
    assert!((at_one("p0=10")[0].1 - 0.999_954_6).abs() < 1e-5);
    // A built-in's parameter, for every activation shown that has it.
    let rows = csv_values(&run(&["activations", "--csv", "--param", "slope=0.2", "--points", "-1"]));
    let slope = |name: &str| rows.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("{name}: {rows:?}")).1;
    assert!((slope("leaky_relu(slope=0.2)") + 0.2).abs() < 1e-6 && (slope("prelu(slope=0.2)") + 0.2).abs() < 1e-6);
    assert_eq!(slope("relu"), 0.0);
    // And in the figures.
    let dir = TempDir::new();
    let o = run(&["plot-activations", "--formula", SWISH, "--param", "p0=3", "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = fs::read_to_string(dir.path().join("activations.svg")).unwrap();
    assert!(svg.contains("x*sigmoid(p0*x)(p0=3)"), "the label shows the value");
}

#[test]
fn an_unknown_param_is_one_line_naming_the_parameters_there_are() {
    let dir = TempDir::new();
    let out = dir.path().join("plots");
    let o = run(&["activations", "--properties", "--formula", SWISH, "--param", "p0=1", "--param", "gamma=2"]);
    one_line_error(&o, &["--param gamma", "no activation shown has a parameter `gamma`", "p0 (x*sigmoid(p0*x))"]);
    let o = run(&["plot-activations", "--param", "gamma=2", "--out", out.to_str().unwrap()]);
    one_line_error(&o, &["`gamma`", "slope (leaky_relu, prelu)"]);
    assert!(!out.exists(), "nothing drawn");
    for (arg, says) in [("beta", "give NAME=VALUE"), ("slope=steep", "`steep` is not a finite number")] {
        one_line_error(&run(&["activations", "--properties", "--param", arg]), &[says]);
    }
    let o = run(&["activations", "--csv", "--param", "slope=0.2", "--param", "slope=0.3"]);
    one_line_error(&o, &["given twice"]);
}

/// A formula learning `beta` per layer in 13 hidden layers (more than the
/// figure's 12 panels) and PReLU learning one slope per unit: two epochs.
const LEARNING: &str = r#"activations = [
  { name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] },
  { name = "prelu", learn_per = "unit" },
]
[experiment]
seeds = 1
[model]
hidden = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]
init = "glorot"
[training]
epochs = 2
batch_size = 64
optimizer = "adam"
lr = 0.01
"#;

fn train(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("exp.toml");
    fs::write(&path, LEARNING).unwrap();
    let out = dir.join("out");
    let o = actbench().args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]).output();
    let o = o.unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// `beta=1.371` in a label.
fn beta_in(label: &str) -> f64 {
    let at = label.find("beta=").unwrap_or_else(|| panic!("no beta in {label}")) + "beta=".len();
    let end = label[at..].find([')', ',']).map_or(label.len(), |e| at + e);
    label[at..end].parse().unwrap_or_else(|_| panic!("{label}"))
}

#[test]
fn from_run_shows_each_layers_learned_shape_and_the_report_draws_them() {
    let dir = TempDir::new();
    let out = train(dir.path());
    let results = ResultsDir::new(&out);
    // The report: the figure, linked from report.md, cut to 12 panels and saying so.
    let report = fs::read_to_string(results.report()).unwrap();
    assert!(report.contains("](plots/learned_shapes.svg)"), "report.md links the figure");
    let svg = fs::read_to_string(out.join("plots/learned_shapes.svg")).unwrap();
    assert!(svg.contains("12 of 26 sites with learned parameters: evenly spaced layers"), "the cut is said");
    for (group, layers) in [("swish_beta", [0, 2, 5, 7, 10, 12]), ("prelu(learn_per=unit)", [0, 2, 5, 7, 10, 12])] {
        for layer in 0..13 {
            let title = format!("{group}: layer {layer}\n");
            assert_eq!(svg.contains(&title), layers.contains(&layer), "{title}: six evenly spaced layers of each");
        }
    }
    assert!(svg.contains("start (beta=1)") && svg.contains("start (slope=0.25)"));
    assert!(svg.contains("min unit (slope=") && svg.contains("max unit (slope="), "single units, per-unit layers only");
    assert!(out.join("plots/learned_shapes.png").is_file());

    // --from-run prints each layer's learned value: learned.csv's after the last epoch.
    let swish = results.run("swish_beta-lr0.01-s0");
    let o = run(&["activations", "--from-run", swish.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = stdout(&o);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1 + 13, "{printed}");
    assert_eq!(lines[0], "swish_beta start (beta=1)");
    let mut reader = csv::Reader::from_path(swish.table(Table::Learned)).unwrap();
    let learned: Vec<(String, String, f64)> = reader
        .records()
        .map(Result::unwrap)
        .map(|r| (r[4].to_string(), r[5].to_string(), r[6].parse().unwrap()))
        .collect();
    for layer in 0..13 {
        let line = lines[1 + layer];
        assert!(line.starts_with(&format!("swish_beta layer {layer} (beta=")), "{line}");
        let want = learned.iter().find(|r| r.0 == "2" && r.1 == format!("activations.{layer}.beta")).unwrap().2;
        assert!((beta_in(line) - want).abs() < 6e-4, "{line}: learned.csv says {want}");
    }
    assert!(lines[1..].iter().any(|l| (beta_in(l) - 1.0).abs() > 1e-2), "some beta moved: {printed}");
    // ... and the values change what is computed: f(-2) at the start and at each layer's beta.
    let rows =
        csv_values(&run(&["activations", "--csv", "--from-run", swish.path().to_str().unwrap(), "--points", "-2"]));
    assert_eq!(rows.len(), 14);
    for (label, value) in &rows {
        let beta = beta_in(label);
        let want = -2.0 / (1.0 + (2.0 * beta).exp());
        assert!((value - want).abs() < 2e-3, "{label}: {value} vs {want}");
    }
    // One value per unit: each layer at the units' mean.
    let ids: Vec<String> =
        fs::read_dir(results.runs()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let prelu = ids.iter().find(|id| id.starts_with("prelu-") && id.contains("unit")).expect("the per-unit run");
    let o = run(&["activations", "--properties", "--from-run", results.run(prelu).path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("| prelu layer 12 (slope=") && stdout(&o).contains(", mean of 8 units) |"));
    // The figures.
    let plots = dir.path().join("plots");
    let o = run(&["plot-activations", "--from-run", swish.path().to_str().unwrap(), "--out", plots.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = fs::read_to_string(plots.join("all_activations.svg")).unwrap();
    assert!(svg.contains("swish_beta start (beta=1)") && svg.contains("swish_beta layer 12 (beta="));
    // A folder that is not a run.
    let o = run(&["activations", "--from-run", out.to_str().unwrap()]);
    one_line_error(&o, &["is not a finished run's folder", "results/NAME/runs/RUN_ID"]);
}
