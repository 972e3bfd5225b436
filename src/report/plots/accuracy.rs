//! accuracy: each group's final test accuracy, mean and 95% confidence
//! interval over seeds, read from the aggregate rows.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, color};
use crate::report::Analysis;

pub struct Accuracy {
    /// Per group: label, mean, CI low, CI high.
    bars: Vec<(String, f64, f64, f64)>,
}

impl Figure for Accuracy {
    const STEM: &'static str = "accuracy";
    const TITLE: &'static str = "Final test accuracy with 95% confidence interval";

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
                Some((label.clone(), row.mean?, row.ci95_low?, row.ci95_high?))
            })
            .collect();
        Self { bars }
    }
}

impl Plot for Accuracy {
    fn size(&self) -> (u32, u32) {
        (900, 90 + 34 * self.bars.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let n = self.bars.len().max(1);
        let lo = self.bars.iter().map(|b| b.2).fold(1.0f64, f64::min).clamp(0.0, 1.0);
        let x0 = (lo - 0.05).max(0.0);
        let longest = self.bars.iter().map(|b| b.0.len()).max().unwrap_or(8) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption("test accuracy (mean, 95% CI over seeds)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(20 + 8 * longest)
            .build_cartesian_2d(x0..1.0f64, -0.5f64..(n as f64 - 0.5))?;
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        chart
            .configure_mesh()
            .x_desc("test accuracy")
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
        for (i, (_, mean, low, high)) in self.bars.iter().enumerate() {
            let c = color(i);
            let y = i as f64;
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                y,
                *low,
                *mean,
                *high,
                c.stroke_width(2),
                12,
            )))?;
            chart.draw_series(std::iter::once(Circle::new((*mean, y), 5, c.filled())))?;
        }
        Ok(())
    }
}
