//! accuracy: each group's final test accuracy, mean and 95% confidence
//! interval over seeds, read from the aggregate rows.

use super::Figure;
use super::interval_bars::IntervalBars;
use crate::report::Analysis;

pub struct Accuracy(IntervalBars);

impl Figure for Accuracy {
    const STEM: &'static str = "accuracy";
    const TITLE: &'static str = "Final test accuracy with 95% confidence interval";

    fn new(analysis: &Analysis) -> Self {
        let bars: Vec<(String, f64, f64, f64)> = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .filter_map(|(g, label)| {
                let row = analysis.row(g, "test_accuracy")?;
                Some((label.clone(), row.mean?, row.ci95_low?, row.ci95_high?))
            })
            .collect();
        let lo = bars.iter().map(|b| b.2).fold(1.0f64, f64::min).clamp(0.0, 1.0);
        Self(IntervalBars {
            bars,
            caption: "test accuracy (mean, 95% CI over seeds)".into(),
            x_desc: "test accuracy",
            x: (lo - 0.05).max(0.0)..1.0,
            marker: None,
        })
    }
}

super::panels::delegate!(Accuracy);
