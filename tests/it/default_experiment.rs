//! The default experiment shows what it promises (README, "The default
//! experiment"): ReLU's test accuracy well above sigmoid's, and sigmoid's
//! first-layer gradient at least 10x smaller, relative to the last layer's,
//! than ReLU's. Computed here from the CSVs themselves.

use std::collections::BTreeMap;

use crate::common::{TempDir, run};
use actbench::results::dir::Table;

#[test]
fn relu_vs_sigmoid_shows_vanishing_gradients() {
    let dir = TempDir::new();
    let out = run(&["--config", "relu_vs_sigmoid.toml", "--out", dir.path().to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // (a) mean test accuracy per activation.
    let mut acc: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut summary = csv::Reader::from_path(dir.path().join(Table::Summary.file_name())).unwrap();
    for row in summary.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        acc.entry(row["activation"].clone()).or_default().push(row["test_accuracy"].parse().unwrap());
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let (relu, sigmoid) = (mean(&acc["relu"]), mean(&acc["sigmoid"]));
    assert_eq!(acc["relu"].len(), 3);
    assert!(relu > sigmoid + 0.3, "relu {relu} vs sigmoid {sigmoid}");
    assert!(relu > 0.9, "relu {relu}");

    // (b) first-layer / last-layer weight-gradient norm, averaged over steps.
    let mut norms: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut gradients = csv::Reader::from_path(dir.path().join(Table::Gradients.file_name())).unwrap();
    for row in gradients.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        if row["parameter"] == "layers.0.weight" || row["parameter"] == "output.weight" {
            let key = (row["activation"].clone(), row["run_id"].clone() + "/" + &row["step"], row["parameter"].clone());
            norms.insert(key, row["grad_l2"].parse().unwrap());
        }
    }
    let ratio = |activation: &str| {
        let ratios: Vec<f64> = norms
            .iter()
            .filter(|((a, _, p), _)| a == activation && p == "layers.0.weight")
            .map(|((a, step, _), first)| first / norms[&(a.clone(), step.clone(), "output.weight".to_string())])
            .collect();
        assert!(ratios.len() > 100, "{activation}: {} steps", ratios.len());
        ratios.iter().sum::<f64>() / ratios.len() as f64
    };
    let (relu_ratio, sigmoid_ratio) = (ratio("relu"), ratio("sigmoid"));
    assert!(sigmoid_ratio * 10.0 < relu_ratio, "sigmoid {sigmoid_ratio} vs relu {relu_ratio}");
}
