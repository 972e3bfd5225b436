//! gradient_flow: each weight's gradient L2 norm over training steps, one
//! panel per group, layers coloured from input (blue) to output (red), on
//! one log scale for all panels.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, band, grid, in_legend, layer_color, whole_label, whole_ticks};
use crate::report::Analysis;

/// At most this many points per line (steps are averaged in bins beyond it).
const MAX_POINTS: usize = 400;
/// Panels per row.
const COLUMNS: usize = 3;

/// A named series of (x, y) points.
type Series = (String, Vec<(f64, f64)>);

pub struct GradientFlow {
    /// Per group: label, then per weight parameter its name and (step, mean grad_l2) points.
    panels: Vec<(String, Vec<Series>)>,
}

impl Figure for GradientFlow {
    const STEM: &'static str = "gradient_flow";
    const TITLE: &'static str = "Gradient L2 norm per layer over training";

    fn new(analysis: &Analysis) -> Self {
        let gradients = &analysis.results.gradients;
        let panels = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .map(|(g, label)| {
                let mut params: Vec<String> = Vec::new();
                for r in gradients.iter().filter(|r| g.run_ids.contains(&r.run_id)) {
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
                                gradients
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
        let (rows, cols) = grid(self.panels.len(), COLUMNS);
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
        for (area, (label, lines)) in root.split_evenly(grid(self.panels.len(), COLUMNS)).iter().zip(&self.panels) {
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
                .x_labels(whole_ticks(0.0, x1))
                .x_label_formatter(&whole_label)
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
                let series = chart
                    .draw_series(LineSeries::new(points.iter().copied().filter(|p| p.1 > 0.0), c.stroke_width(1)))?;
                if in_legend(i, lines.len()) {
                    series
                        .label(param.trim_end_matches(".weight").to_string())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binning_keeps_short_lines_and_averages_long_ones() {
        let short: Vec<(f64, f64)> = (0..3).map(|i| (i as f64, 1.0)).collect();
        assert_eq!(bin(&short), short);
        let long: Vec<(f64, f64)> = (0..2 * MAX_POINTS).map(|i| (i as f64, i as f64)).collect();
        let binned = bin(&long);
        assert_eq!(binned.len(), MAX_POINTS);
        assert_eq!(binned[0], (0.5, 0.5));
    }
}
