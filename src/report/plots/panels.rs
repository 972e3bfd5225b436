//! Panels of banded lines, one panel per group and one line per series
//! (a layer, a learned parameter): the drawing the learned, activation_steps
//! and input_percentiles figures share, and the per-step lines of a
//! group's probe rows the last two draw.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{
    DISTINCT_STYLES, LineStyle, Plot, PlotResult, grid, in_legend, layer_color, line_style, range, whole_label,
    whole_ticks,
};
use crate::train::record::activations::ActivationRecord;

/// A series' name and its band: (x, mean, low, high) points.
pub type Line = (String, Vec<(f64, f64, f64, f64)>);
/// A panel: the group's label and its lines.
pub type Panel = (String, Vec<Line>);

pub struct Panels {
    pub panels: Vec<Panel>,
    pub x_desc: &'static str,
    pub lines: LineKind,
    /// Where the legend sits: the corner the lines leave empty.
    pub legend: SeriesLabelPosition,
}

/// What a panel's lines are, which decides their colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Layers in order from the input: blue to red ([`layer_color`]), the
    /// order readable without the legend, which names a few of them.
    Layers,
    /// Series without an order (learned parameters): the palette's distinct
    /// colours and then dashes ([`line_style`]), each in the legend.
    Distinct,
}

impl LineKind {
    fn style(self, i: usize, n: usize) -> LineStyle {
        match self {
            LineKind::Layers => LineStyle::solid(layer_color(i, n)),
            LineKind::Distinct => line_style(i),
        }
    }

    fn in_legend(self, i: usize, n: usize) -> bool {
        match self {
            LineKind::Layers => in_legend(i, n),
            // Past the distinct styles, lines look alike: thinned as layers are.
            LineKind::Distinct => n <= DISTINCT_STYLES || in_legend(i, n),
        }
    }
}

/// Panels per row.
const COLUMNS: usize = 3;

/// One panel per group of `analysis` from its rows of activation_steps.csv:
/// a line per site in `sites(count)`, named by `name`, whose point at each
/// step is the mean over seeds of `value` ((centre, low, high), rows
/// without one left out).
pub fn step_panels(
    analysis: &crate::report::Analysis,
    sites: impl Fn(usize) -> Vec<usize>,
    name: impl Fn(&[&ActivationRecord], usize) -> String,
    value: impl Fn(&ActivationRecord) -> Option<[f64; 3]>,
) -> Vec<Panel> {
    let rows = &analysis.results.activation_steps;
    analysis
        .groups
        .iter()
        .zip(&analysis.labels)
        .filter_map(|(g, label)| {
            let mine: Vec<&ActivationRecord> = rows.iter().filter(|r| g.run_ids.contains(&r.run_id)).collect();
            let count = mine.iter().map(|r| r.layer + 1).max().unwrap_or(0);
            let lines: Vec<Line> = sites(count)
                .into_iter()
                .map(|layer| {
                    let mut steps: Vec<usize> =
                        mine.iter().filter(|r| r.layer == layer).filter_map(|r| r.step).collect();
                    steps.sort_unstable();
                    steps.dedup();
                    let points = steps
                        .into_iter()
                        .filter_map(|step| {
                            let at: Vec<[f64; 3]> = mine
                                .iter()
                                .filter(|r| r.layer == layer && r.step == Some(step))
                                .filter_map(|r| value(r))
                                .filter(|v| v.iter().all(|x| x.is_finite()))
                                .collect();
                            if at.is_empty() {
                                return None;
                            }
                            let mean = |i: usize| at.iter().map(|v| v[i]).sum::<f64>() / at.len() as f64;
                            Some((step as f64, mean(0), mean(1), mean(2)))
                        })
                        .collect();
                    (name(&mine, layer), points)
                })
                .collect();
            (!lines.is_empty()).then(|| (label.clone(), lines))
        })
        .collect()
}

/// `impl Plot` for a figure that wraps a plot (`struct F(Panels)`, `struct F(Shapes)`).
macro_rules! delegate {
    ($figure:ty) => {
        impl crate::chart::Plot for $figure {
            fn size(&self) -> (u32, u32) {
                self.0.size()
            }

            fn draw<DB: plotters::prelude::DrawingBackend>(
                &self,
                root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
            ) -> crate::chart::PlotResult
            where
                DB::ErrorType: 'static,
            {
                self.0.draw(root)
            }
        }
    };
}
pub(crate) use delegate;

impl Plot for Panels {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.panels.len(), COLUMNS);
        (480 * cols as u32, 360 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        for (area, (label, lines)) in root.split_evenly(grid(self.panels.len(), COLUMNS)).iter().zip(&self.panels) {
            let points = lines.iter().flat_map(|(_, b)| b.iter());
            let (x0, x1) = range(points.clone().map(|p| p.0), 0.0);
            let (y0, y1) = range(points.flat_map(|p| [p.2, p.3]), 0.1);
            let mut chart = ChartBuilder::on(area)
                .caption(label, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(32)
                .y_label_area_size(56)
                .build_cartesian_2d(x0..x1.max(x0 + 1.0), y0..y1)?;
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .x_labels(whole_ticks(x0, x1.max(x0 + 1.0)))
                .x_label_formatter(&whole_label)
                .label_style(("sans-serif", 12))
                .draw()?;
            for (i, (name, band)) in lines.iter().enumerate() {
                let style = self.lines.style(i, lines.len());
                let c = style.color;
                let mut outline: Vec<(f64, f64)> = band.iter().map(|p| (p.0, p.3)).collect();
                outline.extend(band.iter().rev().map(|p| (p.0, p.2)));
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15).filled())))?;
                let series = style.draw(&mut chart, band.iter().map(|p| (p.0, p.1)).collect(), 2)?;
                if self.lines.in_legend(i, lines.len()) {
                    series.label(name.clone()).legend(style.legend(2));
                }
            }
            chart
                .configure_series_labels()
                .position(self.legend.clone())
                .label_font(("sans-serif", 12))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}
