//! improvement: each activation's probability of improvement over the
//! baseline on test accuracy (a run of it beats a run of the baseline;
//! ties half), with its 95% bootstrap interval, and the share of bootstrap
//! samples in which it has the best mean; 0.5 marked: a coin flip.

use super::Figure;
use super::interval_bars::IntervalBars;
use crate::report::Analysis;

pub struct Improvement(IntervalBars);

impl Figure for Improvement {
    const STEM: &'static str = "improvement";
    const TITLE: &'static str = "Probability of improvement over the baseline (95% bootstrap interval)";

    fn wanted(analysis: &Analysis) -> bool {
        analysis.rows.iter().any(|r| r.metric == "test_accuracy" && r.p_improvement.is_some())
    }

    fn new(analysis: &Analysis) -> Self {
        let bars = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .filter_map(|(g, label)| {
                let row = analysis.row(g, "test_accuracy")?;
                let label = match row.best_share {
                    Some(best) => format!("{label} (best in {:.0}%)", 100.0 * best),
                    None => label.clone(),
                };
                Some((label, row.p_improvement?, row.p_improvement_low?, row.p_improvement_high?))
            })
            .collect();
        let baseline = &analysis.results.config.report.baseline;
        Self(IntervalBars {
            bars,
            caption: format!("P(a run beats a run of {baseline}) on test accuracy"),
            x_desc: "probability of improvement",
            x: 0.0..1.0,
            marker: Some(0.5),
        })
    }
}

super::panels::delegate!(Improvement);
