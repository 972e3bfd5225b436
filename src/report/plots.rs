//! The report's figures. Data are prepared first (means and spreads over
//! seeds), then drawn by a backend-independent `chart::Plot`.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::aggregate::{AggregateRow, Group};
use super::load::Results;
use crate::chart::{Plot, PlotResult, band, color, grid, layer_color, range};

/// Figures of a report: file stem and title.
pub const PLOTS: &[(&str, &str)] = &[
    ("curves", "Loss and accuracy per epoch (mean over seeds, band = min to max)"),
    ("gradient_flow", "Gradient L2 norm per layer over training"),
    ("dead_saturated", "Dead and saturated units per layer"),
    ("accuracy", "Final test accuracy with 95% confidence interval"),
];

// ---------------------------------------------------------------- curves

/// A group's label and, per metric, its band over seeds: (x, mean, low, high) points.
type CurveGroup = (String, Vec<Vec<(f64, f64, f64, f64)>>);

pub struct Curves {
    /// Per group: its label and, per metric, the band over seeds.
    groups: Vec<CurveGroup>,
}

const CURVE_METRICS: [(&str, &str); 4] = [
    ("train_loss", "train loss"),
    ("val_loss", "validation loss"),
    ("train_accuracy", "train accuracy"),
    ("val_accuracy", "validation accuracy"),
];

impl Curves {
    pub fn new(results: &Results, groups: &[Group], labels: &[String]) -> Self {
        let groups = groups
            .iter()
            .zip(labels)
            .map(|(g, label)| {
                let bands = CURVE_METRICS
                    .iter()
                    .map(|(metric, _)| {
                        let series: Vec<Vec<(f64, f64)>> = g
                            .run_ids
                            .iter()
                            .map(|id| {
                                results
                                    .epochs
                                    .iter()
                                    .filter(|e| &e.run_id == id)
                                    .map(|e| {
                                        let y = match *metric {
                                            "train_loss" => e.train_loss,
                                            "val_loss" => e.val_loss,
                                            "train_accuracy" => e.train_accuracy,
                                            _ => e.val_accuracy,
                                        };
                                        (e.epoch as f64, y)
                                    })
                                    .collect()
                            })
                            .collect();
                        band(&series)
                    })
                    .collect();
                (label.clone(), bands)
            })
            .collect();
        Self { groups }
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
        for (m, area) in root.split_evenly((2, 2)).iter().enumerate() {
            let (_, title) = CURVE_METRICS[m];
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
                .x_desc("epoch")
                .y_desc(title)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style(("sans-serif", 14))
                .draw()?;
            for (i, (label, bands)) in self.groups.iter().enumerate() {
                let c = color(i);
                let band = &bands[m];
                let mut outline: Vec<(f64, f64)> = band.iter().map(|p| (p.0, p.3)).collect();
                outline.extend(band.iter().rev().map(|p| (p.0, p.2)));
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15).filled())))?;
                chart
                    .draw_series(LineSeries::new(band.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))?
                    .label(label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .position(if m < 2 { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight })
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}

// --------------------------------------------------------- gradient flow

/// A named series of (x, y) points.
type Series = (String, Vec<(f64, f64)>);

pub struct GradientFlow {
    /// Per group: label, then per weight parameter its name and (step, mean grad_l2) points.
    panels: Vec<(String, Vec<Series>)>,
}

/// At most this many points per line (steps are averaged in bins beyond it).
const MAX_POINTS: usize = 400;

impl GradientFlow {
    pub fn new(results: &Results, groups: &[Group], labels: &[String]) -> Self {
        let panels = groups
            .iter()
            .zip(labels)
            .map(|(g, label)| {
                let mut params: Vec<String> = Vec::new();
                for r in results.gradients.iter().filter(|r| g.run_ids.contains(&r.run_id)) {
                    if r.parameter.ends_with(".weight") && !params.contains(&r.parameter) {
                        params.push(r.parameter.clone());
                    }
                }
                let lines = params
                    .into_iter()
                    .map(|param| {
                        let series: Vec<Vec<(f64, f64)>> = g
                            .run_ids
                            .iter()
                            .map(|id| {
                                results
                                    .gradients
                                    .iter()
                                    .filter(|r| &r.run_id == id && r.parameter == param)
                                    .map(|r| (r.step as f64, r.grad_l2))
                                    .collect()
                            })
                            .collect();
                        let mean: Vec<(f64, f64)> = band(&series).into_iter().map(|p| (p.0, p.1)).collect();
                        (param, bin(&mean))
                    })
                    .collect();
                (label.clone(), lines)
            })
            .collect();
        Self { panels }
    }
}

/// Averages consecutive points so a line has at most [`MAX_POINTS`].
fn bin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let size = points.len().div_ceil(MAX_POINTS).max(1);
    points
        .chunks(size)
        .map(|c| {
            (c.iter().map(|p| p.0).sum::<f64>() / c.len() as f64, c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64)
        })
        .collect()
}

impl Plot for GradientFlow {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.panels.len(), 3);
        (430 * cols as u32, 340 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        // One y range for all panels, so activations compare at a glance.
        let positive =
            || self.panels.iter().flat_map(|p| p.1.iter()).flat_map(|l| l.1.iter()).map(|p| p.1).filter(|v| *v > 0.0);
        let lo = positive().fold(f64::INFINITY, f64::min);
        let hi = positive().fold(0.0f64, f64::max);
        let (lo, hi) = if lo.is_finite() { (lo / 2.0, hi * 2.0) } else { (1e-8, 1.0) };
        for (area, (label, lines)) in root.split_evenly(grid(self.panels.len(), 3)).iter().zip(&self.panels) {
            let x1 = lines.iter().flat_map(|l| l.1.iter()).map(|p| p.0).fold(1.0f64, f64::max);
            let mut chart = ChartBuilder::on(area)
                .caption(label, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..x1, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc("gradient L2 norm")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .label_style(("sans-serif", 12))
                .draw()?;
            if lines.iter().all(|l| l.1.iter().all(|p| p.1 <= 0.0)) {
                chart.draw_series(std::iter::once(Text::new(
                    "no gradient reaches these layers",
                    (x1 * 0.1, (lo * hi).sqrt()),
                    ("sans-serif", 14),
                )))?;
            }
            for (i, (param, points)) in lines.iter().enumerate() {
                let c = layer_color(i, lines.len());
                chart
                    .draw_series(LineSeries::new(points.iter().copied().filter(|p| p.1 > 0.0), c.stroke_width(1)))?
                    .label(param.trim_end_matches(".weight").to_string())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(("sans-serif", 11))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}

// ------------------------------------------------------ dead / saturated

/// One layer's (dead band, saturated band) over epochs.
type LayerBands = (Vec<(f64, f64)>, Vec<(f64, f64)>);

pub struct DeadSaturated {
    /// Per group: label, then per layer (dead band, saturated band) over epochs.
    rows: Vec<(String, Vec<LayerBands>)>,
}

impl DeadSaturated {
    pub fn new(results: &Results, groups: &[Group], labels: &[String]) -> Self {
        let rows = groups
            .iter()
            .zip(labels)
            .map(|(g, label)| {
                let layers = results
                    .activations
                    .iter()
                    .filter(|a| g.run_ids.contains(&a.run_id))
                    .map(|a| a.layer + 1)
                    .max()
                    .unwrap_or(0);
                let per_layer = (0..layers)
                    .map(|layer| {
                        let series = |field: fn(&crate::records::ActivationRecord) -> f64| {
                            let runs: Vec<Vec<(f64, f64)>> = g
                                .run_ids
                                .iter()
                                .map(|id| {
                                    results
                                        .activations
                                        .iter()
                                        .filter(|a| &a.run_id == id && a.layer == layer)
                                        .map(|a| (a.epoch as f64, field(a)))
                                        .collect()
                                })
                                .collect();
                            band(&runs).into_iter().map(|p| (p.0, p.1)).collect::<Vec<_>>()
                        };
                        (series(|a| a.dead_fraction), series(|a| a.saturated_fraction))
                    })
                    .collect();
                (label.clone(), per_layer)
            })
            .collect();
        Self { rows }
    }
}

impl Plot for DeadSaturated {
    fn size(&self) -> (u32, u32) {
        (1000, 280 * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((self.rows.len().max(1), 2));
        for (r, (label, layers)) in self.rows.iter().enumerate() {
            for (k, what) in ["dead units", "saturated units"].iter().enumerate() {
                let x1 =
                    layers.iter().flat_map(|l| if k == 0 { &l.0 } else { &l.1 }).map(|p| p.0).fold(1.0f64, f64::max);
                let mut chart = ChartBuilder::on(&areas[2 * r + k])
                    .caption(format!("{label}: {what}"), ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(32)
                    .y_label_area_size(50)
                    .build_cartesian_2d(0f64..x1, 0f64..1.02f64)?;
                chart
                    .configure_mesh()
                    .x_desc("epoch (0 = initialisation)")
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .y_desc("fraction of units")
                    .label_style(("sans-serif", 11))
                    .draw()?;
                for (i, (dead, saturated)) in layers.iter().enumerate() {
                    let c = layer_color(i, layers.len());
                    let points = if k == 0 { dead } else { saturated };
                    chart
                        .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
                        .label(format!("layer {i}"))
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                }
                if !layers.is_empty() {
                    chart
                        .configure_series_labels()
                        .position(SeriesLabelPosition::UpperRight)
                        .label_font(("sans-serif", 10))
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK.mix(0.3))
                        .draw()?;
                }
            }
        }
        Ok(())
    }
}

// -------------------------------------------------------------- accuracy

pub struct Accuracy {
    /// Per group: label, mean, CI low, CI high.
    bars: Vec<(String, f64, f64, f64)>,
}

impl Accuracy {
    pub fn new(rows: &[AggregateRow], groups: &[Group], labels: &[String]) -> Self {
        let bars = groups
            .iter()
            .zip(labels)
            .filter_map(|(g, label)| {
                let row = rows
                    .iter()
                    .find(|r| r.activation == g.activation && r.lr == g.lr && r.metric == "test_accuracy")?;
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
