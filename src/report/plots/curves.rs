//! curves: loss and accuracy per epoch, one panel per metric, each group's
//! mean over seeds with a band from min to max.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, band, line_style, range, whole_label, whole_ticks};
use crate::report::Analysis;
use crate::results::records::EpochRecord;

/// One panel: its title, the value it reads off an epoch, and the corner
/// its legend takes (losses fall and accuracies rise, so each keeps its
/// legend in the corner its lines leave free).
struct Metric {
    title: &'static str,
    value: fn(&EpochRecord) -> f64,
    legend: SeriesLabelPosition,
}

/// The panels, in a 2x2 grid: losses on top, accuracies below.
const METRICS: [Metric; 4] = [
    Metric { title: "train loss", value: |e| e.train_loss, legend: SeriesLabelPosition::UpperRight },
    Metric { title: "validation loss", value: |e| e.val_loss, legend: SeriesLabelPosition::UpperRight },
    Metric { title: "train accuracy", value: |e| e.train_accuracy, legend: SeriesLabelPosition::LowerRight },
    Metric { title: "validation accuracy", value: |e| e.val_accuracy, legend: SeriesLabelPosition::LowerRight },
];

/// A group's label and, per metric, its band over seeds: (x, mean, low, high) points.
type CurveGroup = (String, Vec<Vec<(f64, f64, f64, f64)>>);

pub struct Curves {
    groups: Vec<CurveGroup>,
    /// The x axis: epochs, or for training by steps the step of each evaluation.
    x_desc: &'static str,
}

impl Figure for Curves {
    const STEM: &'static str = "curves";
    const TITLE: &'static str = "Loss and accuracy per epoch (mean over seeds, band = min to max)";

    fn new(analysis: &Analysis) -> Self {
        let epochs = &analysis.results.epochs;
        // Training by steps: evaluation k is after step k x eval_every (the last after max_steps).
        let steps = analysis.results.config.training.steps();
        let x = |epoch: usize| match steps {
            Some((max, every)) => (epoch * every).min(max) as f64,
            None => epoch as f64,
        };
        let groups = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .map(|(g, label)| {
                let bands = METRICS
                    .iter()
                    .map(|metric| {
                        let series: Vec<Vec<(f64, f64)>> = g
                            .run_ids
                            .iter()
                            .map(|id| {
                                epochs
                                    .iter()
                                    .filter(|e| &e.run_id == id)
                                    .map(|e| (x(e.epoch), (metric.value)(e)))
                                    .collect()
                            })
                            .collect();
                        band(&series)
                    })
                    .collect();
                (label.clone(), bands)
            })
            .collect();
        Self { groups, x_desc: if steps.is_some() { "step" } else { "epoch" } }
    }
}

impl Plot for Curves {
    fn size(&self) -> (u32, u32) {
        (1200, 860)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        for (m, (area, metric)) in root.split_evenly((2, 2)).iter().zip(&METRICS).enumerate() {
            let title = metric.title;
            let points = self.groups.iter().flat_map(|(_, b)| b[m].iter());
            let (x0, x1) = range(points.clone().map(|p| p.0), 0.0);
            let (y0, y1) = range(points.flat_map(|p| [p.2, p.3]), 0.05);
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1.max(x0 + 1.0), y0..y1)?;
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .y_desc(title)
                .x_labels(whole_ticks(x0, x1.max(x0 + 1.0)))
                .x_label_formatter(&whole_label)
                .label_style(("sans-serif", 14))
                .draw()?;
            for (i, (label, bands)) in self.groups.iter().enumerate() {
                let style = line_style(i);
                let band = &bands[m];
                let mut outline: Vec<(f64, f64)> = band.iter().map(|p| (p.0, p.3)).collect();
                outline.extend(band.iter().rev().map(|p| (p.0, p.2)));
                chart.draw_series(std::iter::once(Polygon::new(outline, style.color.mix(0.15).filled())))?;
                style
                    .draw(&mut chart, band.iter().map(|p| (p.0, p.1)).collect(), 2)?
                    .label(label.clone())
                    .legend(style.legend(2));
            }
            chart
                .configure_series_labels()
                .position(metric.legend.clone())
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}
