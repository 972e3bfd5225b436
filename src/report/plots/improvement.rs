//! improvement: each activation's probability of improvement over the
//! baseline on test accuracy (a run of it beats a run of the baseline;
//! ties half), with its 95% bootstrap interval, and the share of bootstrap
//! samples in which it has the best mean; 0.5 marked: a coin flip.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, color};
use crate::report::Analysis;

pub struct Improvement {
    /// Per compared group: label, P, interval low, high, best share.
    bars: Vec<(String, f64, f64, f64, Option<f64>)>,
    baseline: String,
}

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
                let row = analysis
                    .rows
                    .iter()
                    .find(|r| g.is(&r.activation, &r.sweep, r.lr) && r.metric == "test_accuracy")?;
                Some((
                    label.clone(),
                    row.p_improvement?,
                    row.p_improvement_low?,
                    row.p_improvement_high?,
                    row.best_share,
                ))
            })
            .collect();
        Self { bars, baseline: analysis.results.config.report.baseline.clone() }
    }
}

impl Plot for Improvement {
    fn size(&self) -> (u32, u32) {
        (900, 90 + 34 * self.bars.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let n = self.bars.len().max(1);
        let labels: Vec<String> = self
            .bars
            .iter()
            .map(|b| match b.4 {
                Some(best) => format!("{} (best in {:.0}%)", b.0, 100.0 * best),
                None => b.0.clone(),
            })
            .collect();
        let longest = labels.iter().map(|l| l.len()).max().unwrap_or(8) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(format!("P(a run beats a run of {}) on test accuracy", self.baseline), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(20 + 8 * longest)
            .build_cartesian_2d(0.0f64..1.0f64, -0.5f64..(n as f64 - 0.5))?;
        chart
            .configure_mesh()
            .x_desc("probability of improvement")
            .y_labels(n)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .disable_y_mesh()
            .label_style(("sans-serif", 13))
            .draw()?;
        // A coin flip: no reason to prefer either.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.5, -0.5), (0.5, n as f64 - 0.5)],
            BLACK.mix(0.4).stroke_width(1),
        )))?;
        for (i, (_, p, low, high, _)) in self.bars.iter().enumerate() {
            let c = color(i);
            let y = i as f64;
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(y, *low, *p, *high, c.stroke_width(2), 12)))?;
            chart.draw_series(std::iter::once(Circle::new((*p, y), 5, c.filled())))?;
        }
        Ok(())
    }
}
