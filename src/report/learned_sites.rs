//! learned.csv read back per activation site: each learned parameter's value
//! at the start and after the last epoch (means over runs, and over units
//! where each unit learns its own), and every unit's own values. What the
//! figure of learned shapes and `--from-run` evaluate the activation at.

use crate::activation::{ActivationKind, KindError};
use crate::train::record::learned::LearnedRecord;

/// One activation site's learned parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The activation's path in the model: `activations.0`,
    /// `conv_activations.1`, `stages.0.blocks.1.act1`.
    pub path: String,
    /// Per learned parameter, in the activation's order: the mean at epoch 0.
    pub start: Vec<f64>,
    /// The same after each run's last epoch.
    pub end: Vec<f64>,
    /// With one value per unit (`learn_per = "unit"`): each unit's values
    /// after its run's last epoch, every run's units in turn; empty with one
    /// value per layer.
    pub units: Vec<Vec<f64>>,
    /// The runs' last epoch (the latest, where early stopping ended them apart).
    pub last_epoch: usize,
}

impl Site {
    /// The site as a label names it: `layer 0` (an MLP's or CNN's hidden
    /// layer), `conv block 1`, else its path (a residual network's `stages.0.blocks.1.act1`).
    pub fn name(&self) -> String {
        let index = |prefix: &str| {
            self.path.strip_prefix(prefix).filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
        };
        if let Some(i) = index("activations.") {
            format!("layer {i}")
        } else if let Some(i) = index("conv_activations.") {
            format!("conv block {i}")
        } else {
            self.path.clone()
        }
    }

    /// The units at the minimum, median and maximum of the first learned
    /// parameter (named so), each once: a few units' shapes stand for the
    /// spread without drawing hundreds.
    pub fn picked_units(&self) -> Vec<(&'static str, &[f64])> {
        let mut order: Vec<usize> = (0..self.units.len()).collect();
        order.sort_by(|&a, &b| self.units[a][0].total_cmp(&self.units[b][0]));
        let Some(&last) = order.last() else {
            return Vec::new();
        };
        let mut picked: Vec<(&'static str, usize)> = Vec::new();
        for (name, i) in [("min", order[0]), ("median", order[(order.len() - 1) / 2]), ("max", last)] {
            if !picked.iter().any(|p| p.1 == i) {
                picked.push((name, i));
            }
        }
        picked.into_iter().map(|(name, i)| (name, self.units[i].as_slice())).collect()
    }
}

/// The sites of `rows` (one activation's runs, e.g. a group's seeds) whose
/// learned parameters are `names`, in the model's order; rows of other
/// parameters are left out, and so is a site with a value missing.
pub fn sites(rows: &[&LearnedRecord], names: &[&str]) -> Vec<Site> {
    let parsed: Vec<(&LearnedRecord, String, usize, Option<usize>)> =
        rows.iter().filter_map(|r| parse(&r.parameter, names).map(|(s, i, u)| (*r, s, i, u))).collect();
    let mut paths: Vec<&str> = Vec::new();
    for (_, path, _, _) in &parsed {
        if !paths.contains(&path.as_str()) {
            paths.push(path);
        }
    }
    let last_of = |run_id: &str| parsed.iter().filter(|p| p.0.run_id == run_id).map(|p| p.0.epoch).max();
    let at_end = |r: &LearnedRecord| last_of(&r.run_id) == Some(r.epoch);
    paths
        .into_iter()
        .filter_map(|path| {
            let mine: Vec<_> = parsed.iter().filter(|p| p.1 == path).collect();
            let mean = |pick: &dyn Fn(&LearnedRecord) -> bool, index: usize| {
                let values: Vec<f64> = mine.iter().filter(|p| p.2 == index && pick(p.0)).map(|p| p.0.value).collect();
                values.iter().sum::<f64>() / values.len() as f64
            };
            let start: Vec<f64> = (0..names.len()).map(|i| mean(&|r| r.epoch == 0, i)).collect();
            let end: Vec<f64> = (0..names.len()).map(|i| mean(&at_end, i)).collect();
            // Each (run, unit) after its run's last epoch, in the order of the rows.
            let mut keys: Vec<(&str, usize)> = Vec::new();
            for p in mine.iter().filter(|p| at_end(p.0)) {
                if let Some(unit) = p.3
                    && !keys.contains(&(p.0.run_id.as_str(), unit))
                {
                    keys.push((&p.0.run_id, unit));
                }
            }
            let units: Vec<Vec<f64>> = keys
                .iter()
                .filter_map(|&(run, unit)| {
                    (0..names.len())
                        .map(|i| {
                            mine.iter()
                                .find(|p| p.0.run_id == run && p.3 == Some(unit) && p.2 == i && at_end(p.0))
                                .map(|p| p.0.value)
                        })
                        .collect()
                })
                .collect();
            let last_epoch = mine.iter().map(|p| p.0.epoch).max()?;
            let complete = start.iter().chain(&end).all(|v| v.is_finite());
            complete.then(|| Site { path: path.to_string(), start, end, units, last_epoch })
        })
        .collect()
}

/// A row's parameter as the layer's and the unit: `activations.0.beta.3`
/// is unit 3 of `activations.0.beta`; `activations.0.beta` (one value per
/// layer) has none. A parameter's name never ends in a number, so a last
/// part of digits is a unit.
pub fn per_layer(parameter: &str) -> (&str, Option<usize>) {
    match parameter.rsplit_once('.') {
        Some((rest, unit)) if !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_digit()) => match unit.parse() {
            Ok(unit) => (rest, Some(unit)),
            Err(_) => (parameter, None),
        },
        _ => (parameter, None),
    }
}

/// A row's parameter as (site, index into `names`, unit):
/// `activations.0.beta` or, one per unit, `activations.0.beta.3`.
fn parse(parameter: &str, names: &[&str]) -> Option<(String, usize, Option<usize>)> {
    let (rest, unit) = per_layer(parameter);
    let (site, name) = rest.rsplit_once('.')?;
    let index = names.iter().position(|n| *n == name)?;
    Some((site.to_string(), index, unit))
}

/// `kind` with its learned parameters `names` at `values`.
pub fn at(kind: &ActivationKind, names: &[&str], values: &[f64]) -> Result<ActivationKind, KindError> {
    let given: Vec<(&str, f64)> = names.iter().copied().zip(values.iter().copied()).collect();
    kind.with_values(&given)
}

/// Parameters and values as labels show them: `beta=1.371, gamma=2`.
pub fn values_text(names: &[&str], values: &[f64]) -> String {
    let parts: Vec<String> = names.iter().zip(values).map(|(n, v)| format!("{n}={}", short(*v))).collect();
    parts.join(", ")
}

/// A value to three decimals without trailing zeros (`1.371`, `0.25`, `1`);
/// one too small for that in scientific notation.
pub fn short(v: f64) -> String {
    if v != 0.0 && v.abs() < 5e-4 {
        return format!("{v:.2e}");
    }
    let fixed = format!("{v:.3}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" { "0".into() } else { trimmed.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, epoch: usize, parameter: &str, value: f64) -> LearnedRecord {
        LearnedRecord {
            run_id: run.into(),
            activation: "a".into(),
            seed: 0,
            lr: 0.1,
            sweep: Vec::new(),
            epoch,
            parameter: parameter.into(),
            value,
        }
    }

    #[test]
    fn sites_take_each_runs_last_epoch_and_keep_units_apart() {
        let rows = vec![
            row("a", 0, "activations.0.beta", 1.0),
            row("a", 2, "activations.0.beta", 2.0),
            row("b", 0, "activations.0.beta", 1.0),
            row("b", 1, "activations.0.beta", 4.0),
            row("a", 0, "activations.1.beta.0", 1.0),
            row("a", 0, "activations.1.beta.1", 1.0),
            row("a", 2, "activations.1.beta.0", 0.5),
            row("a", 2, "activations.1.beta.1", 3.5),
            row("a", 2, "activations.1.other", 9.0),
        ];
        let rows: Vec<&LearnedRecord> = rows.iter().collect();
        let sites = sites(&rows, &["beta"]);
        assert_eq!(sites.len(), 2);
        assert_eq!(
            (sites[0].name(), sites[0].start.clone(), sites[0].end.clone()),
            ("layer 0".into(), vec![1.0], vec![3.0])
        );
        assert!(sites[0].units.is_empty() && sites[0].last_epoch == 2);
        assert_eq!((sites[1].end.clone(), sites[1].units.clone()), (vec![2.0], vec![vec![0.5], vec![3.5]]));
        let picked: Vec<(&str, f64)> = sites[1].picked_units().iter().map(|(n, v)| (*n, v[0])).collect();
        assert_eq!(picked, [("min", 0.5), ("max", 3.5)], "the (lower) median of two is the min: named once");
    }

    #[test]
    fn paths_of_every_model_kind_parse() {
        let names = ["a", "slope"];
        assert_eq!(parse("conv_activations.1.slope.3", &names), Some(("conv_activations.1".into(), 1, Some(3))));
        assert_eq!(parse("stages.0.blocks.1.act1.a", &names), Some(("stages.0.blocks.1.act1".into(), 0, None)));
        assert_eq!(parse("activations.0.beta", &names), None);
        let site = |path: &str| Site { path: path.into(), start: vec![], end: vec![], units: vec![], last_epoch: 0 };
        assert_eq!(site("conv_activations.2").name(), "conv block 2");
        assert_eq!(site("stages.0.blocks.1.act1").name(), "stages.0.blocks.1.act1");
    }

    #[test]
    fn values_read_short() {
        assert_eq!(values_text(&["beta", "g"], &[1.37123, 2.0]), "beta=1.371, g=2");
        assert_eq!([short(0.25), short(-0.0001), short(-0.0000001234)], ["0.25", "-1.00e-4", "-1.23e-7"]);
    }
}
