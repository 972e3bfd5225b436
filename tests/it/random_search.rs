//! Random search (issue 35): tuned keys written as distributions in
//! `[sweep]` drawn `tuning.budget` times, the same trials for every
//! activation by default and each its own with `shared = false`; through
//! the CLI, with a sweep of another key, successive halving, workers and a
//! resume, and the one-line errors of bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Stdio;

use crate::common::{TempDir, actbench, csv_maps, timeless, train_with_threads};
use actbench::results::dir::Table;

const RANDOM: &str = r#"
activations = ["relu", "tanh"]
[experiment]
name = "random"
seeds = 2
[model]
init = "glorot"
[training]
epochs = 1
optimizer = "adam"
[sweep]
"model.hidden" = [[8], [16]]
"training.lr" = { log_uniform = [0.001, 0.3] }
"training.weight_decay" = { log_uniform = [1e-6, 0.01] }
"training.batch_size" = [32, 64, 128]
[tuning]
tune = ["training.lr", "training.weight_decay", "training.batch_size"]
budget = 5
"#;

type Trial = (String, String, String);

/// Each (activation, model.hidden)'s trials as (lr, weight decay, batch size), with their runs' count.
fn trials(out: &Path) -> BTreeMap<(String, String), BTreeMap<Trial, usize>> {
    let mut by: BTreeMap<(String, String), BTreeMap<Trial, usize>> = BTreeMap::new();
    for s in csv_maps(&out.join("summary.csv")) {
        let trial = (s["lr"].clone(), s["training.weight_decay"].clone(), s["training.batch_size"].clone());
        *by.entry((s["activation"].clone(), s.get("model.hidden").cloned().unwrap_or_default()))
            .or_default()
            .entry(trial)
            .or_default() += 1;
    }
    by
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

#[test]
fn every_activation_gets_the_same_drawn_trials_and_chooses_among_them_on_validation() {
    let tmp = TempDir::new();
    let out = train_with_threads(tmp.path(), RANDOM, "1");
    let by = trials(&out);
    assert_eq!(by.len(), 4, "two activations at two widths: {by:?}");
    let first: BTreeSet<&Trial> = by.values().next().unwrap().keys().collect();
    for ((activation, hidden), trials) in &by {
        assert_eq!(trials.len(), 5, "{activation} at {hidden}: the budget's 5 trials");
        assert!(trials.values().all(|&runs| runs == 2), "each trial with both seeds: {trials:?}");
        // Common random numbers: the same five trials for each activation, at each width.
        assert_eq!(trials.keys().collect::<BTreeSet<_>>(), first, "{activation} at {hidden}");
        for (lr, wd, bs) in trials.keys() {
            assert!((0.001..=0.3).contains(&num(lr)), "lr {lr}");
            assert!((1e-6..=0.01).contains(&num(wd)), "weight decay {wd}");
            assert!(["32", "64", "128"].contains(&bs.as_str()), "batch size {bs}");
            // Three significant digits.
            assert_eq!(format!("{:.2e}", num(lr)).parse::<f64>().unwrap(), num(lr), "{lr}");
        }
    }
    // The lr is the run id's `lr` part, never a column of its own beside it.
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(!summary.lines().next().unwrap().contains("training.lr"), "{}", summary.lines().next().unwrap());

    // Each choice is the trial with the best mean last-epoch validation accuracy, at each width.
    let epochs = csv_maps(&out.join("epochs.csv"));
    let summaries = csv_maps(&out.join("summary.csv"));
    let aggregate = csv_maps(&out.join("aggregate.csv"));
    for ((activation, hidden), trials) in &by {
        let mean_val = |t: &Trial| {
            let runs: Vec<f64> = summaries
                .iter()
                .filter(|s| {
                    s["activation"] == *activation
                        && s["model.hidden"] == *hidden
                        && (&s["lr"], &s["training.weight_decay"], &s["training.batch_size"]) == (&t.0, &t.1, &t.2)
                })
                .map(|s| num(&epochs.iter().rfind(|e| e["run_id"] == s["run_id"]).unwrap()["val_accuracy"]))
                .collect();
            runs.iter().sum::<f64>() / runs.len() as f64
        };
        let best = trials.keys().max_by(|a, b| mean_val(a).total_cmp(&mean_val(b))).unwrap();
        let row = aggregate
            .iter()
            .find(|r| r["activation"] == *activation && r["model.hidden"] == *hidden && r["metric"] == "test_accuracy")
            .unwrap();
        assert_eq!(
            (&row["lr"], &row["training.weight_decay"], &row["training.batch_size"]),
            (&best.0, &best.1, &best.2),
            "{activation} at {hidden}"
        );
    }
    let expected = csv_maps(&out.join("expected_performance.csv"));
    assert_eq!(expected.len(), 4 * 5, "n = 1 to 5 for each activation and width");
    assert!(expected.iter().all(|r| r["tried"] == "5"));
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("random search of 5 trials per activation (the same trials for each, seed 0)"), "{report}");
    assert!(report.contains("training.lr log-uniform on [0.001, 0.3]"), "{report}");
    assert!(report.contains("| trial | relu @ hidden=[8] | relu @ hidden=[16] | tanh @ hidden=[8] |"), "{report}");

    // The written config draws the same trials again: the report rebuilt
    // from it is the same, and the run again trains nothing.
    let aggregate_before = fs::read(out.join("aggregate.csv")).unwrap();
    let o = actbench().args(["report", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(out.join("aggregate.csv")).unwrap(), aggregate_before);
    let again = actbench()
        .args(["--config", tmp.path().join("exp.toml").to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert_eq!(stderr.matches("already finished, skipped").count(), 40, "{stderr}");

    // `--set` changes the budget (a section's other keys come from the file).
    let o = actbench()
        .args(["plan", "--config", tmp.path().join("exp.toml").to_str().unwrap(), "--set", "tuning.budget=3"])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(
        plan.contains("24 runs;"),
        "2 activations x 2 widths x 3 trials x 2 seeds: {plan}{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Another seed of the draws gives other trials.
    let other = RANDOM.replace("budget = 5", "budget = 5\nseed = 1");
    let path = tmp.path().join("other.toml");
    fs::write(&path, other).unwrap();
    let plan = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    let ids: Vec<&str> =
        plan.lines().filter_map(|l| l.split_whitespace().next()).filter(|w| w.ends_with("-s0")).collect();
    assert_eq!(ids.len(), 20, "{plan}");
    let (lr, ..) = by.values().next().unwrap().keys().next().unwrap();
    assert!(!ids.iter().any(|id| id.contains(&format!("-lr{lr}-"))), "seed 1 drew lr {lr} again: {ids:?}");
}

#[test]
fn with_shared_false_each_activation_draws_its_own_trials_and_halving_prunes_them() {
    let tmp = TempDir::new();
    let config = RANDOM
        .replace("\"model.hidden\" = [[8], [16]]\n", "")
        .replace("epochs = 1", "epochs = 2")
        .replace("budget = 5", "budget = 4\nshared = false\nhalving = { eta = 2, min_epochs = 1 }");
    let out = train_with_threads(tmp.path(), &config, "1");
    let by = trials(&out);
    let sets: Vec<BTreeSet<&Trial>> = by.values().map(|t| t.keys().collect()).collect();
    assert_eq!(sets.len(), 2);
    assert!(sets.iter().all(|s| s.len() == 4), "{by:?}");
    assert!(sets[0].is_disjoint(&sets[1]), "relu and tanh drew apart: {by:?}");
    // Halving: 4 trials a rung of 1 epoch, the best 2 to the end.
    let summary = csv_maps(&out.join("summary.csv"));
    for activation in ["relu", "tanh"] {
        let full = summary.iter().filter(|s| s["activation"] == activation && s["epochs_completed"] == "2").count();
        assert_eq!(full, 2 * 2, "{activation}: 2 trials x 2 seeds trained to the end");
    }
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("each its own trials"), "{report}");
    assert!(report.contains("No trial was trained by every activation"), "{report}");
    // A relu-only config draws relu's trials as before: they hang on its label, not its place.
    let alone = config.replace("activations = [\"relu\", \"tanh\"]", "activations = [\"tanh\"]");
    let path = tmp.path().join("alone.toml");
    fs::write(&path, alone).unwrap();
    let plan =
        actbench().args(["plan", "--config", path.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(plan.contains("8 runs; 8 finished"), "{plan}");
}

#[test]
fn model_keys_of_a_residual_mlp_are_drawn_as_any_other() {
    let tmp = TempDir::new();
    let config = r#"
activations = ["relu", "gelu"]
[model]
kind = "resmlp"
width = 16
[training]
epochs = 1
lr = 0.01
optimizer = "adam"
[sweep]
"model.blocks" = { int = [1, 3] }
"model.dropout" = { uniform = [0.0, 0.5] }
[tuning]
tune = ["model.blocks", "model.dropout"]
budget = 3
"#;
    let out = train_with_threads(tmp.path(), config, "1");
    let summary = csv_maps(&out.join("summary.csv"));
    assert_eq!(summary.len(), 2 * 3);
    let trials = |a: &str| -> BTreeSet<(String, String)> {
        summary
            .iter()
            .filter(|s| s["activation"] == a)
            .map(|s| (s["model.blocks"].clone(), s["model.dropout"].clone()))
            .collect()
    };
    assert_eq!(trials("relu"), trials("gelu"));
    for (blocks, dropout) in trials("relu") {
        assert!(["1", "2", "3"].contains(&blocks.as_str()), "blocks {blocks}");
        assert!((0.0..=0.5).contains(&num(&dropout)), "dropout {dropout}");
    }
    // The blocks drawn are the blocks built: a 3-block network has more parameters' rows.
    let gradients = csv_maps(&out.join("gradients.csv"));
    for s in summary.iter().filter(|s| s["activation"] == "relu") {
        let blocks: usize = s["model.blocks"].parse().unwrap();
        let names: BTreeSet<&str> = gradients
            .iter()
            .filter(|g| g["run_id"] == s["run_id"])
            .filter_map(|g| g.get("parameter").map(String::as_str))
            .filter(|p| p.starts_with("blocks."))
            .map(|p| &p[..8])
            .collect();
        assert_eq!(names.len(), blocks, "{}: {names:?}", s["run_id"]);
    }
}

#[test]
fn a_random_search_resumes_and_splits_over_workers_to_the_same_tables() {
    let tmp = TempDir::new();
    let config = RANDOM.replace("epochs = 1", "epochs = 2");
    let whole = train_with_threads(tmp.path(), &config, "1");
    let path = tmp.path().join("exp.toml");

    // Two workers on one folder, then merge: the tables of one local run.
    let shared = tmp.path().join("workers");
    let workers: Vec<_> = (0..2)
        .map(|_| {
            actbench()
                .env("RAYON_NUM_THREADS", "1")
                .args([
                    "run",
                    "--config",
                    path.to_str().unwrap(),
                    "--out",
                    shared.to_str().unwrap(),
                    "--worker",
                    "--quiet",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = actbench().args(["merge", shared.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for table in Table::ALL {
        let file = table.file_name();
        assert_eq!(timeless(&shared.join(file)), timeless(&whole.join(file)), "workers: {file}");
    }

    // Half the runs lost (their folders removed): the next run trains those
    // again and ends with the same tables.
    let runs = whole.join("runs");
    let mut ids: Vec<_> = fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path()).collect();
    ids.sort();
    let before = timeless(&whole.join("epochs.csv"));
    for dir in ids.iter().step_by(2) {
        fs::remove_dir_all(dir).unwrap();
    }
    let o = actbench()
        .env("RAYON_NUM_THREADS", "1")
        .args(["--config", path.to_str().unwrap(), "--out", whole.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(timeless(&whole.join("epochs.csv")), before);
}

#[test]
fn bad_random_search_input_is_one_line_naming_the_key() {
    let tmp = TempDir::new();
    let base = "activations = [\"relu\"]\n[training]\nepochs = 1\n";
    let cases: [(&str, &str, &str); 11] = [
        (
            "[sweep]\n\"training.lr\" = { log_uniform = [1e-4, 0.1] }\n[tuning]\ntune = [\"training.lr\"]\n",
            "sweep.\"training.lr\"",
            "add `budget = N`",
        ),
        (
            "[sweep]\n\"training.batch_size\" = { choice = [32, 64] }\n\"model.hidden\" = { choice = [[8], [16]] }\n[tuning]\ntune = [\"training.batch_size\", \"model.hidden\"]\nbudget = 5\n",
            "tuning.budget",
            "only 4 different settings",
        ),
        (
            "[sweep]\n\"training.batch_size\" = [32, 64]\n[tuning]\ntune = [\"training.lr\", \"training.batch_size\"]\nbudget = 2\n",
            "tuning.tune",
            "give its distribution in [sweep]",
        ),
        (
            "[sweep]\n\"training.weight_decay\" = { uniform = [0, 0.1] }\n\"training.batch_size\" = [32, 64]\n[tuning]\ntune = [\"training.batch_size\"]\nbudget = 2\n",
            "sweep.\"training.weight_decay\"",
            "not tuned",
        ),
        ("[sweep]\n\"training.lr\" = { normal = [0, 1] }\n", "sweep.\"training.lr\"", "one distribution"),
        ("[sweep]\n\"training.lr\" = { log_uniform = [0, 1] }\n", "sweep.\"training.lr\"", "above 0"),
        (
            "[sweep]\n\"training.lr\" = { log_uniform = [1e-4, 0.1] }\n[tuning]\ntune = [\"training.lr\"]\nbudget = 0\n",
            "tuning.budget",
            "at least 1",
        ),
        ("[tuning]\ntune = [\"training.lr\"]\nshared = false\n", "tuning.shared", "add `budget = N`"),
        (
            "[sweep]\n\"training.batch_size\" = { log_uniform = [16, 256] }\n[tuning]\ntune = [\"training.batch_size\"]\nbudget = 3\n",
            "sweep.\"training.batch_size\"",
            "needs `int` or `choice`",
        ),
        (
            "[sweep]\n\"training.lr\" = { log_uniform = [1e-4, 0.1] }\n[tuning]\ntune = [\"training.lr\"]\nbudget = 20000\n",
            "tuning.budget",
            "more than the 10000 points",
        ),
        (
            "[sweep]\n\"training.batch_size\" = [32]\n[tuning]\ntune = [\"training.batch_size\"]\nbudget = 1\n",
            "sweep.\"training.batch_size\"",
            "lists one value",
        ),
    ];
    for (i, (extra, key, message)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("bad{i}.toml"));
        let text = if extra.contains("[training]") { extra.to_string() } else { format!("{base}{extra}") };
        fs::write(&path, text).unwrap();
        let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "case {i}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "case {i}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(message), "case {i}: want `{key}` and `{message}`: {stderr}");
    }
    // A drawn lr beside a list of rates (one would silently override the other).
    let path = tmp.path().join("both.toml");
    fs::write(
        &path,
        "activations = [\"relu\"]\n[training]\nlr = [0.1, 0.01]\n[sweep]\n\"training.lr\" = { log_uniform = [1e-4, 0.1] }\n[tuning]\ntune = [\"training.lr\"]\nbudget = 2\n",
    )
    .unwrap();
    let o = actbench().args(["plan", "--config", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("key `training.lr` lists several rates, but [sweep] draws training.lr"), "{stderr}");
}
