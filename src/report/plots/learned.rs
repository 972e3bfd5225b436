//! learned (with a formula's `learn` only): each learned parameter's value
//! after every epoch (0 = its starting value), one panel per group that
//! has them, one line per layer's parameter, mean over seeds with a band
//! from min to max.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, band, grid, layer_color, range};
use crate::report::Analysis;

/// A parameter's name and its band: (x, mean, low, high) points.
type Line = (String, Vec<(f64, f64, f64, f64)>);
/// A panel: the group's label and its parameters' lines.
type Panel = (String, Vec<Line>);

pub struct Learned {
    panels: Vec<Panel>,
}

/// Panels per row.
const COLUMNS: usize = 3;

impl Figure for Learned {
    const STEM: &'static str = "learned";
    const TITLE: &'static str = "Learned activation parameters per epoch (mean over seeds, band = min to max)";

    fn wanted(analysis: &Analysis) -> bool {
        !analysis.results.learned.is_empty()
    }

    fn new(analysis: &Analysis) -> Self {
        let rows = &analysis.results.learned;
        let panels = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .filter_map(|(g, label)| {
                let mine: Vec<_> = rows.iter().filter(|r| g.run_ids.contains(&r.run_id)).collect();
                let mut names: Vec<&str> = Vec::new();
                for r in &mine {
                    if !names.contains(&r.parameter.as_str()) {
                        names.push(&r.parameter);
                    }
                }
                let lines: Vec<Line> = names
                    .iter()
                    .map(|name| {
                        let series: Vec<Vec<(f64, f64)>> = g
                            .run_ids
                            .iter()
                            .map(|id| {
                                mine.iter()
                                    .filter(|r| &r.run_id == id && r.parameter == *name)
                                    .map(|r| (r.epoch as f64, r.value))
                                    .collect()
                            })
                            .collect();
                        (name.to_string(), band(&series))
                    })
                    .collect();
                (!lines.is_empty()).then(|| (label.clone(), lines))
            })
            .collect();
        Self { panels }
    }
}

impl Plot for Learned {
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
                .x_desc("epoch")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style(("sans-serif", 12))
                .draw()?;
            for (i, (name, band)) in lines.iter().enumerate() {
                let c = layer_color(i, lines.len());
                let mut outline: Vec<(f64, f64)> = band.iter().map(|p| (p.0, p.3)).collect();
                outline.extend(band.iter().rev().map(|p| (p.0, p.2)));
                chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15).filled())))?;
                chart
                    .draw_series(LineSeries::new(band.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))?
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 12))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}
