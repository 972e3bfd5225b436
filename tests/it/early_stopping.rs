//! `training.patience`: a run stops once that many epochs pass without a
//! better validation accuracy, its test split is measured with the best
//! epoch's model, and a finished run is not trained again.

use std::collections::HashMap;
use std::fs;

use crate::common::{TempDir, actbench};

const EXPERIMENT: &str = r#"activations = ["relu", "sigmoid"]
[experiment]
seeds = 2
[model]
hidden = [32, 32, 32]
[training]
epochs = 40
batch_size = 64
optimizer = "sgd_momentum"
lr = 0.1
patience = 3
"#;

type Row = HashMap<String, String>;

fn rows(path: &std::path::Path) -> Vec<Row> {
    csv::Reader::from_path(path).unwrap().deserialize().map(|r| r.unwrap()).collect()
}

fn train(dir: &std::path::Path, name: &str, config: &str) -> (std::path::PathBuf, String) {
    let file = dir.join(format!("{name}.toml"));
    fs::write(&file, config).unwrap();
    let out = dir.join(name);
    let o = actbench().args(["--config", file.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (out, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_run_stops_after_its_patience_and_tests_the_best_epoch() {
    let dir = TempDir::new();
    let (out, _) = train(dir.path(), "stopped", EXPERIMENT);
    let summaries = rows(&out.join("summary.csv"));
    let epochs = rows(&out.join("epochs.csv"));
    let num = |r: &Row, k: &str| r[k].parse::<f64>().unwrap();
    let mut stopped = 0;
    for s in &summaries {
        let (done, best) = (num(s, "epochs_completed") as usize, num(s, "best_val_epoch") as usize);
        let mine: Vec<&Row> = epochs.iter().filter(|e| e["run_id"] == s["run_id"]).collect();
        assert_eq!(mine.len(), done, "{}: one row per epoch trained", s["run_id"]);
        // Stopped exactly `patience` epochs after the best, none of them better.
        assert!(done == best + 3 || done == 40, "{}: {done} epochs, best {best}", s["run_id"]);
        let best_val = num(s, "best_val_accuracy");
        assert!(mine.iter().skip(best).all(|e| num(e, "val_accuracy") <= best_val), "{}", s["run_id"]);
        stopped += usize::from(done < 40);
    }
    assert!(stopped >= 2, "patience 3 stops some of these runs: {summaries:?}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("early stopping (patience 3): trained"), "report.md says so");

    // The same seeds trained for exactly the best epoch, without patience, end
    // with the same model: the test accuracy is the best epoch's.
    let run = &summaries[0];
    let best = run["best_val_epoch"].clone();
    let exact = EXPERIMENT
        .replace("epochs = 40", &format!("epochs = {best}"))
        .replace("patience = 3\n", "")
        .replace(r#"["relu", "sigmoid"]"#, &format!("[\"{}\"]", run["activation"]));
    let (plain, _) = train(dir.path(), "exact", &exact);
    let same = rows(&plain.join("summary.csv")).into_iter().find(|s| s["seed"] == run["seed"]).unwrap();
    assert_eq!(same["test_accuracy"], run["test_accuracy"], "test at epoch {best}");
    assert_eq!(same["test_loss"], run["test_loss"]);

    // Run again: every run is finished, nothing trains.
    let file = dir.path().join("stopped.toml");
    let o = actbench().args(["--config", file.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr).matches("already finished, skipped").count(), 4, "{o:?}");

    // Patience with successive halving (two stopping rules) is a one-line error.
    let halving = format!("{EXPERIMENT}[tuning]\ntune = [\"training.lr\"]\nhalving = {{ eta = 2, min_epochs = 1 }}\n")
        .replace("lr = 0.1", "lr = [0.1, 0.01]");
    fs::write(&file, halving).unwrap();
    let o = actbench()
        .args(["--config", file.to_str().unwrap(), "--out", dir.path().join("h").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("training.patience") && err.contains("halving") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert!(!dir.path().join("h").exists(), "nothing written");
}
