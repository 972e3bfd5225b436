//! `[sweep]` and `[tuning]` end to end: run ids and one CSV column per swept
//! key, reports and `check` by point, each activation at its setting chosen
//! on validation data, workers and merge on a sweep over datasets.

use std::fs;
use std::path::Path;

use crate::common::{TempDir, actbench, timeless};
use actbench::results::dir::{AGGREGATE_FILE, REPORT_FILE, ResultsDir, Table};

const SWEEP: &str = r#"activations = ["relu", "tanh"]
[experiment]
seeds = 2
[model]
hidden = [16]
[training]
epochs = 2
batch_size = 64
optimizer = "adam"
lr = [0.01, 0.001]
[logging]
every_steps = 10
[sweep]
"training.optimizer" = ["adam", "sgd_momentum"]
"model.hidden" = [[8], [16, 16]]
"#;

fn train(dir: &Path, config: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join("exp.toml");
    fs::write(&path, config).unwrap();
    let out = dir.join("out");
    let o = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn header(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    text.lines().next().unwrap().split(',').map(str::to_string).collect()
}

fn column(path: &Path, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let at = reader.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}"));
    reader.records().map(|r| r.unwrap()[at].to_string()).collect()
}

#[test]
fn a_sweep_over_two_keys_names_runs_and_columns_by_its_values() {
    let dir = TempDir::new();
    let out = train(dir.path(), SWEEP, &[]);
    let results = ResultsDir::new(&out);
    let ids = column(&results.table(Table::Summary), "run_id");
    assert_eq!(ids.len(), 2 * 4 * 2 * 2, "activations x points x lrs x seeds");
    for id in [
        "relu-optimizer_adam-hidden_8-lr0.01-s0",
        "relu-optimizer_sgd_momentum-hidden_16x16-lr0.001-s1",
        "tanh-optimizer_adam-hidden_16x16-lr0.01-s1",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} not in {ids:?}");
        assert!(results.run(id).manifest().is_file(), "{id} has its folder");
    }
    // One column per swept key, in the order written, right after lr, in every table.
    for table in [Table::Summary, Table::Epochs, Table::Gradients, Table::Activations] {
        let h = header(&results.table(table));
        assert_eq!(h[3..6], ["lr", "training.optimizer", "model.hidden"], "{}", table.file_name());
    }
    let summary = results.table(Table::Summary);
    let (optimizer, hidden) = (column(&summary, "training.optimizer"), column(&summary, "model.hidden"));
    let at = ids.iter().position(|i| i == "relu-optimizer_sgd_momentum-hidden_16x16-lr0.001-s1").unwrap();
    assert_eq!((optimizer[at].as_str(), hidden[at].as_str()), ("sgd_momentum", "[16, 16]"));
    // Each run trained its own point: two hidden layers record two layers' statistics.
    let run = results.run("relu-optimizer_adam-hidden_16x16-lr0.01-s0");
    let layers = column(&run.table(Table::Activations), "layer");
    assert!(layers.iter().any(|l| l == "1") && !layers.iter().any(|l| l == "2"), "{layers:?}");
    let manifest =
        fs::read_to_string(results.run("relu-optimizer_sgd_momentum-hidden_8-lr0.01-s0").manifest()).unwrap();
    assert!(manifest.contains("optimizer = \\\"sgd_momentum\\\"") && manifest.contains("hidden = [8]"), "{manifest}");
    assert!(!manifest.contains("[sweep]"), "a run's config is its point's");
    // aggregate.csv: a row per activation, point, lr and metric, ranked within the point.
    let aggregate = out.join(AGGREGATE_FILE);
    assert_eq!(header(&aggregate)[..4], ["activation", "lr", "training.optimizer", "model.hidden"]);
    let metric = column(&aggregate, "metric");
    assert_eq!(metric.iter().filter(|m| *m == "test_accuracy").count(), 2 * 4 * 2);
    let ranks: Vec<String> = column(&aggregate, "rank")
        .into_iter()
        .zip(&metric)
        .filter(|(_, m)| *m == "test_accuracy")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(ranks.iter().filter(|r| *r == "1").count(), 4, "one best group per point: {ranks:?}");
    let report = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
    assert!(report.contains("| relu @ optimizer=sgd_momentum, hidden=[16, 16] @ lr 0.001 |"), "{report}");
    assert!(report.contains("training.optimizer (2), model.hidden (2)"), "{report}");

    // Everything is found again: a second run trains nothing.
    let before = fs::read_to_string(&summary).unwrap();
    let o = actbench()
        .args(["--config", dir.path().join("exp.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("32 runs in"), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(fs::read_to_string(&summary).unwrap(), before);
    // `check` compares each activation at each point.
    let o = actbench().args(["check", "--baseline"]).arg(&out).arg("--current").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("relu @ sgd_momentum, [8] @ lr 0.01"), "{text}");
}

#[test]
fn bad_sweeps_are_one_line_errors_naming_the_key_and_write_nothing() {
    let dir = TempDir::new();
    let out = dir.path().join("out");
    for (sweep, said) in [
        ("\"model.hidden\" = [[8], 0]", "key `sweep.\"model.hidden\"[1]` invalid type"),
        ("\"model.hidden\" = [8, 16]", "each item of a sweep list is one whole value"),
        ("\"model.hiden\" = [[8]]", "unknown field `hiden`"),
        ("\"training.lr\" = [0.1, 0.2]", "`lr = [0.01, 0.1]` under [training]"),
        ("\"experiment.seeds\" = [1, 2]", "same for the whole experiment"),
        ("\"training.epochs\" = 3", "must be a list of the values to try"),
        ("\"training.epochs\" = [2, 2]", "repeats `2`"),
        (
            "\"data.dataset\" = [\"digits\", \"xor\"]\n\"model.kind\" = [\"cnn\"]",
            "at the sweep point data.dataset = xor, model.kind = cnn",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        fs::write(&path, format!("activations = [\"relu\"]\n[sweep]\n{sweep}\n")).unwrap();
        let o = actbench().args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{sweep}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("bad.toml") && stderr.contains(said), "{sweep}: expected `{said}` in {stderr}");
        assert!(!out.exists(), "{sweep}: nothing may be written");
    }
    for (tuning, said) in [
        ("tune = [\"model.hidden\"]", "`model.hidden` is not swept"),
        ("tune = []", "lists no key"),
        ("tune = [\"training.lr\"]\nselect = \"test_accuracy\"", "unknown variant `test_accuracy`"),
    ] {
        let path = dir.path().join("bad.toml");
        fs::write(&path, format!("activations = [\"relu\"]\n[tuning]\n{tuning}\n")).unwrap();
        let o = actbench().args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{tuning}: {stderr}");
        assert!(stderr.contains(said), "{tuning}: expected `{said}` in {stderr}");
        assert!(!out.exists());
    }
}

const TUNED: &str = r#"activations = ["relu", "sigmoid"]
[experiment]
seeds = 2
[model]
hidden = [16]
[training]
epochs = 3
batch_size = 32
optimizer = "sgd"
lr = [0.003, 0.3]
[logging]
every_steps = 0
[tuning]
tune = ["training.lr"]
"#;

/// The chosen lr of each activation in report.md's tuning table.
fn chosen(report: &str) -> Vec<(String, String)> {
    let table = report.split("| activation | chosen |").nth(1).expect("a tuning table");
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn tuning_reports_each_activation_at_its_rate_chosen_on_validation_alone() {
    let dir = TempDir::new();
    let out = train(dir.path(), TUNED, &[]);
    let results = ResultsDir::new(&out);
    let report = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
    let picks = chosen(&report);
    assert_eq!(picks.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["relu", "sigmoid"], "{report}");
    // The choice is the best mean last-epoch validation accuracy, worked out here from epochs.csv.
    let epochs = results.table(Table::Epochs);
    let (ids, epoch, val) = (column(&epochs, "run_id"), column(&epochs, "epoch"), column(&epochs, "val_accuracy"));
    for (activation, lr) in &picks {
        let mean = |lr: &str| {
            let last: Vec<f64> = (0..ids.len())
                .filter(|&i| ids[i].starts_with(&format!("{activation}-lr{lr}-")) && epoch[i] == "3")
                .map(|i| val[i].parse::<f64>().unwrap())
                .collect();
            assert_eq!(last.len(), 2);
            last.iter().sum::<f64>() / 2.0
        };
        let (low, high) = (mean("0.003"), mean("0.3"));
        let want = if high > low { "lr=0.3" } else { "lr=0.003" };
        assert_eq!(lr, want, "{activation}: val {low} at 0.003, {high} at 0.3");
    }
    // aggregate.csv holds the chosen groups only; the sensitivity plot is drawn.
    let aggregate = out.join(AGGREGATE_FILE);
    let rows: Vec<(String, String)> =
        column(&aggregate, "activation").into_iter().zip(column(&aggregate, "lr")).collect();
    for (activation, lr) in &picks {
        let lr = lr.trim_start_matches("lr=");
        assert!(rows.iter().filter(|r| r.0 == *activation).all(|r| r.1 == lr), "{rows:?}");
    }
    assert!(report.contains("### Ranking at one shared setting") && report.contains("plots/sensitivity.svg"));
    assert!(fs::read_to_string(out.join("plots/sensitivity.svg")).unwrap().contains("</svg>"));

    // check --expect reads each activation's chosen setting, unless a claim names the lr.
    let claims = dir.path().join("expected.toml");
    let share = "metric = \"test_accuracy\"\nseeds = \"share\"\nwhere = { at_least = 0.0 }\nbetween = [1.0, 1.0]\n";
    fs::write(
        &claims,
        format!(
            "[[claim]]\nactivation = \"relu\"\n{share}\n[[claim]]\nactivation = \"relu\"\nlr = 0.003\n{share}\n[[claim]]\nactivation = \"relu\"\nlr = 0.3\n{share}"
        ),
    )
    .unwrap();
    let o = actbench().args(["check", "--expect"]).arg(&claims).arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{table}{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(table.matches("(2 of 2)").count(), 3, "2 runs each, not the 4 of both rates: {table}");

    // No test number takes part: make every test accuracy of the chosen
    // runs the worst possible, and the choice stays.
    let summary = results.table(Table::Summary);
    let text = fs::read_to_string(&summary).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == "test_accuracy").unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    for record in reader.records() {
        let mut fields: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        fields[at] = "0.0".into();
        writer.write_record(&fields).unwrap();
    }
    fs::write(&summary, writer.into_inner().unwrap()).unwrap();
    let o = actbench().arg("report").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(chosen(&fs::read_to_string(out.join(REPORT_FILE)).unwrap()), picks);

    // check at the chosen settings: the folder against itself passes, by activation.
    let o = actbench().args(["check", "--baseline"]).arg(&out).arg("--current").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("relu") && !text.contains("@ lr"), "groups are activations, not rates: {text}");
}

#[test]
fn workers_and_merge_handle_a_sweep_over_datasets() {
    let config = "activations = [\"relu\"]\n[training]\nepochs = 2\n[data]\nnormalize = \"standard\"\n[logging]\nevery_steps = 0\n[sweep]\n\"data.dataset\" = [\"digits\", \"spirals\"]\n";
    let (plain, shared) = (TempDir::new(), TempDir::new());
    let local = train(plain.path(), config, &[]);
    let path = shared.path().join("exp.toml");
    fs::write(&path, config).unwrap();
    let out = shared.path().join("out");
    let o = actbench()
        .args(["--config", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--worker", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = actbench().arg("merge").arg(&out).args(["--data-dir", "data"]).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 of 2 runs finished"));
    let table = |dir: &Path| timeless(&ResultsDir::new(dir).table(Table::Summary));
    assert_eq!(table(&out), table(&local));
    assert_eq!(column(&ResultsDir::new(&out).table(Table::Summary), "data.dataset"), ["digits", "spirals"]);
}

const HALVING: &str = r#"activations = ["relu", "sigmoid"]
[experiment]
seeds = 2
[model]
hidden = [16]
[training]
epochs = 6
batch_size = 32
optimizer = "sgd"
lr = [0.001, 0.01, 0.1, 0.3]
[logging]
every_steps = 0
checkpoint_seconds = 1000
[tuning]
tune = ["training.lr"]
"#;

#[test]
fn successive_halving_keeps_the_best_half_per_rung_and_continues_them_exactly() {
    let dir = TempDir::new();
    let config = format!("{HALVING}halving = {{ eta = 2, min_epochs = 1 }}\n");
    let out = train(dir.path(), &config, &[]);
    let results = ResultsDir::new(&out);
    let summary = results.table(Table::Summary);
    let (ids, completed) = (column(&summary, "run_id"), column(&summary, "epochs_completed"));
    let epochs = results.table(Table::Epochs);
    let (e_ids, e_epoch, e_val) =
        (column(&epochs, "run_id"), column(&epochs, "epoch"), column(&epochs, "val_accuracy"));
    let val = |setting: &str, epoch: usize| -> f64 {
        let v: Vec<f64> = (0..e_ids.len())
            .filter(|&i| e_ids[i].starts_with(setting) && e_epoch[i] == epoch.to_string())
            .map(|i| e_val[i].parse().unwrap())
            .collect();
        assert_eq!(v.len(), 2, "{setting} at epoch {epoch}");
        (v[0] + v[1]) / 2.0
    };
    let reached = |setting: &str| -> usize {
        let n: Vec<usize> =
            (0..ids.len()).filter(|&i| ids[i].starts_with(setting)).map(|i| completed[i].parse().unwrap()).collect();
        assert!(n.iter().all(|&x| x == n[0]));
        n[0]
    };
    // Rungs at epochs 1, 2, 4, 6: 4 settings, then 2, then 1, worked out again from epochs.csv.
    for activation in ["relu", "sigmoid"] {
        let mut alive: Vec<String> =
            ["0.001", "0.01", "0.1", "0.3"].iter().map(|lr| format!("{activation}-lr{lr}-")).collect();
        for rung in [1, 2] {
            alive.sort_by(|a, b| val(b, rung).total_cmp(&val(a, rung)));
            for stopped in alive.split_off(alive.len().div_ceil(2)) {
                assert_eq!(reached(&stopped), rung, "{stopped} stops at rung {rung}");
            }
        }
        assert_eq!(alive.len(), 1);
        assert_eq!(reached(&alive[0]), 6, "{} trains to the end", alive[0]);
    }
    let report = fs::read_to_string(out.join(REPORT_FILE)).unwrap();
    assert!(report.contains("6 of 8 settings were stopped early"), "{report}");
    assert!(report.contains("stopped at epoch 1:") && report.contains("stopped at epoch 2:"), "{report}");

    // A survivor went on from its checkpoints: its rows equal a run trained in one go.
    let survivor = ids.iter().zip(&completed).find(|(_, c)| *c == "6").unwrap().0.clone();
    let lr = survivor.split("-lr").nth(1).unwrap().split('-').next().unwrap();
    let activation = survivor.split('-').next().unwrap();
    let plain = TempDir::new();
    let alone =
        HALVING.replace("[0.001, 0.01, 0.1, 0.3]", lr).replace("\"relu\", \"sigmoid\"", &format!("\"{activation}\""));
    let alone = train(plain.path(), &alone.replace("[tuning]\ntune = [\"training.lr\"]\n", ""), &[]);
    let rows = |dir: &Path, id: &str| timeless(&ResultsDir::new(dir).run(id).table(Table::Epochs));
    assert_eq!(rows(&out, &survivor), rows(&alone, &survivor));

    // Again: nothing trains. Without halving: the stopped runs go on from their checkpoints to the end.
    let o = actbench()
        .args(["--config", dir.path().join("exp.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(column(&summary, "epochs_completed"), completed);
    train(dir.path(), HALVING, &[]);
    assert!(column(&summary, "epochs_completed").iter().all(|c| c == "6"));
    let stopped_before = ids.iter().zip(&completed).find(|(_, c)| *c == "1").unwrap().0;
    let first_epochs = rows(&out, stopped_before);
    assert_eq!(first_epochs.len(), 6);

    // Bad halving settings name their key.
    let path = dir.path().join("exp.toml");
    let other = dir.path().join("other");
    for (halving, said) in [
        ("{ eta = 1, min_epochs = 1 }", "tuning.halving.eta"),
        ("{ eta = 2, min_epochs = 6 }", "tuning.halving.min_epochs"),
    ] {
        fs::write(&path, format!("{HALVING}halving = {halving}\n")).unwrap();
        let o =
            actbench().args(["--config", path.to_str().unwrap(), "--out", other.to_str().unwrap()]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains(said), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(!other.exists());
}
