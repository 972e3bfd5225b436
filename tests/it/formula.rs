//! Activations typed as formulas, end to end: a twin of a built-in trains
//! to the same numbers, a learned parameter moves and is checkpointed, and
//! bad formulas are one-line errors naming the entry, its line and column.

use std::fs;
use std::path::Path;

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{ResultsDir, Table};

const BASE: &str = r#"[experiment]
seeds = 1
[model]
hidden = [16, 16]
init = "glorot"
[training]
epochs = 3
batch_size = 64
optimizer = "adam"
lr = 0.01
[logging]
every_steps = 5
"#;

fn train(dir: &Path, activations: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("exp.toml");
    fs::write(&path, format!("activations = {activations}\n{BASE}{extra}")).unwrap();
    let out = dir.join("out");
    let o = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// A table's rows without the columns that name the run (id, label, params).
fn unnamed(path: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let drop: Vec<usize> =
        ["run_id", "activation", "params"].iter().filter_map(|c| header.iter().position(|h| h == c)).collect();
    timeless(path)
        .into_iter()
        .map(|row| row.into_iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, v)| v).collect())
        .collect()
}

/// Equal rows, numbers to a relative 1e-4.
fn close(a: &[Vec<String>], b: &[Vec<String>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (ra, rb) in a.iter().zip(b) {
        for (x, y) in ra.iter().zip(rb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() <= 1e-4 * x.abs().max(1e-3), "{what}: {x} vs {y}"),
                _ => assert_eq!(x, y, "{what}"),
            }
        }
    }
}

#[test]
fn a_formula_twin_trains_to_the_built_ins_numbers() {
    let dir = TempDir::new();
    let out = train(
        dir.path(),
        r#"["silu", { formula = "x * sigmoid(x)" }, { name = "my_mish", formula = "x * tanh(softplus(x))" }, "mish"]"#,
        "",
    );
    let results = ResultsDir::new(&out);
    let run = |id: &str, table| unnamed(&results.run(id).table(table));
    let ids: Vec<String> =
        fs::read_dir(out.join("runs")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let unnamed_id = ids.iter().find(|i| i.starts_with("formula_")).expect("an id for the unnamed formula");
    // The built-ins run fused kernels on flex, the formulas Burn's ops: equal to float tolerance.
    for table in [Table::Summary, Table::Epochs, Table::Gradients, Table::Activations] {
        close(&run("silu-lr0.01-s0", table), &run(unnamed_id, table), table.file_name());
        close(&run("mish-lr0.01-s0", table), &run("my_mish-lr0.01-s0", table), table.file_name());
    }
    let summary = fs::read_to_string(results.table(Table::Summary)).unwrap();
    assert!(summary.contains(",x * sigmoid(x),") && summary.contains(",my_mish,"), "{summary}");
    // The resolved config reads back: a second run trains nothing and keeps the files.
    let config = fs::read_to_string(results.config()).unwrap();
    assert!(config.contains("formula = \"x * sigmoid(x)\""), "{config}");
    let o = actbench().args(["--config", results.config().to_str().unwrap(), "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).matches("already finished").count() == 4,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// PReLU's slope is learned as a formula's parameter is: gradients.csv and
/// learned.csv rows `activations.<i>.slope`, one value per unit with
/// `learn_per = "unit"`, and the same numbers as PReLU typed as a formula.
#[test]
fn prelu_learns_its_slope_as_a_formula_does() {
    let dir = TempDir::new();
    let out = train(
        dir.path(),
        r#"["prelu", { name = "prelu_twin", formula = "where(x > 0, x, slope * x)", slope = 0.25, learn = ["slope"] },
            { name = "prelu", learn_per = "unit" }]"#,
        "",
    );
    let results = ResultsDir::new(&out);
    let mut ids: Vec<String> =
        fs::read_dir(out.join("runs")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    ids.sort();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let per_unit = ids.iter().find(|i| i.starts_with("prelu-") && i.contains("unit")).expect("a per-unit id");
    let twin = ids.iter().find(|i| i.starts_with("prelu_twin-")).unwrap();
    let run = |id: &str, table| unnamed(&results.run(id).table(table));
    for table in [Table::Summary, Table::Epochs, Table::Gradients, Table::Activations, Table::Learned] {
        close(&run("prelu-lr0.01-s0", table), &run(twin, table), table.file_name());
    }
    let learned = |id: &str| -> Vec<(String, String, f64)> {
        let mut reader = csv::Reader::from_path(results.run(id).table(Table::Learned)).unwrap();
        reader
            .records()
            .map(Result::unwrap)
            .map(|r| (r[4].to_string(), r[5].to_string(), r[6].parse().unwrap()))
            .collect()
    };
    let layer = learned("prelu-lr0.01-s0");
    let names: Vec<&str> = layer.iter().filter(|r| r.0 == "3").map(|r| r.1.as_str()).collect();
    assert_eq!(names, ["activations.0.slope", "activations.1.slope"]);
    assert!(layer.iter().filter(|r| r.0 == "0").all(|r| r.2 == 0.25), "{layer:?}");
    assert!(layer.iter().filter(|r| r.0 == "3").all(|r| (r.2 - 0.25).abs() > 1e-4), "the slope moved: {layer:?}");
    let units = learned(per_unit);
    assert_eq!(units.iter().filter(|r| r.0 == "3").count(), 16 + 16, "one per unit");
    assert!(units.iter().any(|r| r.1 == "activations.1.slope.15"), "{units:?}");
    let gradients = fs::read_to_string(results.run("prelu-lr0.01-s0").table(Table::Gradients)).unwrap();
    assert!(gradients.contains(",activations.1.slope,"), "{gradients}");
    // report.md says where the slopes went, per layer (per unit: with their range).
    let report = fs::read_to_string(results.report()).unwrap();
    let note = report.lines().find(|l| l.starts_with("- **prelu**")).expect("prelu's notes");
    assert!(
        note.contains("learned parameters (start -> after epoch 3") && note.contains("activations.1.slope 0.250 -> ")
    );
    let note = report.lines().find(|l| l.starts_with("- **prelu(learn_per=unit)**")).expect("per-unit notes");
    assert!(note.contains("per unit: mean [min, max]") && note.contains("activations.0.slope 0.250 -> "), "{note}");
    // The resolved config keeps `learn_per` and reads back to the same runs.
    let config = fs::read_to_string(results.config()).unwrap();
    assert!(config.contains("learn_per = \"unit\""), "{config}");
    let o = actbench().args(["--config", results.config().to_str().unwrap(), "--out"]).arg(&out).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).matches("already finished").count() == 3, "{o:?}");
}

#[test]
fn a_learned_parameter_moves_and_survives_a_checkpoint() {
    let entry = r#"[{ name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }]"#;
    let dir = TempDir::new();
    let out = train(dir.path(), entry, "");
    let gradients = ResultsDir::new(&out).table(Table::Gradients);
    let mut reader = csv::Reader::from_path(&gradients).unwrap();
    let h = reader.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (param, grad, weight) = (col("parameter"), col("grad_l2"), col("weight_l2"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    for layer in ["activations.0.beta", "activations.1.beta"] {
        let mine: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[param] == layer).collect();
        assert!(!mine.is_empty(), "{layer} has gradient rows");
        assert!(mine.iter().all(|r| r[grad].parse::<f64>().unwrap() > 0.0), "{layer}'s gradient is never zero");
        let (first, last): (f64, f64) =
            (mine[0][weight].parse().unwrap(), mine[mine.len() - 1][weight].parse().unwrap());
        assert!((first - last).abs() > 1e-3, "{layer} moved: {first} -> {last}");
    }
    // learned.csv: each layer's beta at the start (the entry's 1.0) and after each of the 3 epochs.
    let learned = ResultsDir::new(&out).table(Table::Learned);
    let mut reader = csv::Reader::from_path(&learned).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 * 4, "{rows:?}");
    assert!(rows.iter().filter(|r| &r[4] == "0").all(|r| &r[6] == "1.0"), "{rows:?}");
    assert!(rows.iter().filter(|r| &r[4] == "3").all(|r| (r[6].parse::<f64>().unwrap() - 1.0).abs() > 1e-3));
    assert!(out.join("plots/learned.svg").is_file());
    // Stopped after epoch 1 and continued from its checkpoint (successive
    // halving), the run ends where it does in one go: beta was saved and restored.
    let halved = TempDir::new();
    let twice = format!("{entry}\n");
    let path = halved.path().join("exp.toml");
    let pair = twice.replace("learn = [\"beta\"] }]", "learn = [\"beta\"], lr = [0.01, 0.001] }]");
    fs::write(
        &path,
        format!(
            "activations = {pair}{BASE}[tuning]\ntune = [\"training.lr\"]\nhalving = {{ eta = 2, min_epochs = 1 }}\n"
        ),
    )
    .unwrap();
    let out2 = halved.path().join("out");
    let o = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out2.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let survivor = ["swish_beta-lr0.01-s0", "swish_beta-lr0.001-s0"]
        .into_iter()
        .find(|id| timeless(&ResultsDir::new(&out2).run(id).table(Table::Epochs)).len() == 3)
        .expect("one setting trained on");
    let alone = TempDir::new();
    let lr = survivor.split("-lr").nth(1).unwrap().trim_end_matches("-s0");
    let alone_out = {
        let p = alone.path().join("exp2.toml");
        fs::write(&p, format!("activations = {entry}\n{}", BASE.replace("lr = 0.01", &format!("lr = {lr}")))).unwrap();
        let o2 = alone.path().join("out2");
        let o = actbench()
            .args(["--config", p.to_str().unwrap(), "--out", o2.to_str().unwrap(), "--quiet"])
            .output()
            .unwrap();
        assert!(o.status.success());
        o2
    };
    for table in [Table::Epochs, Table::Gradients, Table::Learned] {
        assert_eq!(
            timeless(&ResultsDir::new(&out2).run(survivor).table(table)),
            timeless(&ResultsDir::new(&alone_out).run(survivor).table(table)),
            "{}",
            table.file_name()
        );
    }
}

#[test]
fn bad_formulas_are_one_line_errors_at_the_entry() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    for (entry, said) in [
        (
            r#"{ formula = "x * sigmod(x)" }"#,
            "`activations[1].formula` column 5: unknown function `sigmod` (did you mean `sigmoid`?)",
        ),
        (r#"{ formula = "x * sigmoid(bta * x)", beta = 1.0 }"#, "unknown name `bta` (did you mean `beta`?)"),
        (r#"{ formula = "x", beta = 1.0 }"#, "parameter `beta` is declared but the formula does not use it"),
        (r#"{ formula = "2 + 3" }"#, "does not depend on `x`"),
        (r#"{ formula = "max(x)" }"#, "`max` takes 2 arguments, got 1"),
        (r#"{ formula = "x * (1 + x" }"#, "expected `)`"),
        (r#"{ formula = "log(x)" }"#, "not finite at x = -20: log of a number that is not positive"),
        (r#"{ formula = "sqrt(abs(x))" }"#, "derivative that is not finite at x = 0"),
        (
            r#"{ formula = "x * beta" , beta = 2.0, learn = ["gamma"] }"#,
            "`learn` names `gamma`, which is not a parameter",
        ),
        (r#"{ name = "relu", formula = "max(x, 0)" }"#, "is a built-in activation"),
    ] {
        let path = dir.path().join("bad.toml");
        fs::write(&path, format!("activations = [\n  \"relu\",\n  {entry},\n]\n")).unwrap();
        let o = actbench().args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{entry}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("bad.toml:3:3:") && stderr.contains(said), "{entry}: expected `{said}` in {stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn learn_per_unit_learns_one_value_per_unit_or_channel() {
    let dir = TempDir::new();
    let entry =
        r#"[{ name = "prelu_f", formula = "where(x > 0, x, a * x)", a = 0.25, learn = ["a"], learn_per = "unit" }]"#;
    // A CNN on digits (8x8 images): blocks of 3 and 4 channels, then 8 units.
    let path = dir.path().join("exp.toml");
    let text = format!("activations = {entry}\n{BASE}").replace(
        "[model]\nhidden = [16, 16]",
        "[model]\nkind = \"cnn\"\nchannels = [3, 4]\nkernel_size = 3\nhidden = [8]",
    );
    fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let o = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let learned = ResultsDir::new(&out).table(Table::Learned);
    let mut reader = csv::Reader::from_path(&learned).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let last: Vec<(String, f64)> =
        rows.iter().filter(|r| &r[4] == "3").map(|r| (r[5].to_string(), r[6].parse().unwrap())).collect();
    let names: Vec<&str> = last.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 3 + 4 + 8, "one per channel of each block and per unit: {names:?}");
    assert!(names.contains(&"conv_activations.1.a.3") && names.contains(&"activations.0.a.7"), "{names:?}");
    let hidden: Vec<f64> = last.iter().filter(|(n, _)| n.starts_with("activations.0.")).map(|(_, v)| *v).collect();
    assert!(hidden.iter().any(|v| (v - hidden[0]).abs() > 1e-6), "units learn their own values: {hidden:?}");
    let config = fs::read_to_string(ResultsDir::new(&out).config()).unwrap();
    assert!(config.contains("learn_per = \"unit\""), "{config}");
}
