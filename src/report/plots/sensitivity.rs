//! sensitivity (with `[tuning]` only): the validation metric that chose each
//! activation's setting against each tuned key, one panel per key, one
//! line per activation (and fixed setting), the chosen setting circled.
//! Over a key's values, the line shows the best mean over the other tuned
//! keys' settings. Learning rates go on a log axis.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, line_style, range};
use crate::report::Analysis;

/// A line's label and its (x, score, chosen) points.
type Line = (String, Vec<(f64, f64, bool)>);

/// One panel: the key, its values in grid order (x positions), and its lines.
struct Panel {
    key: String,
    /// x of each value: log10 of a learning rate, else the value's index.
    ticks: Vec<(f64, String)>,
    lines: Vec<Line>,
}

pub struct Sensitivity {
    metric: String,
    panels: Vec<Panel>,
}

impl Figure for Sensitivity {
    const STEM: &'static str = "sensitivity";
    const TITLE: &'static str = "Validation metric against each tuned key (mean over seeds; circle = chosen)";

    fn wanted(analysis: &Analysis) -> bool {
        analysis.tuned.is_some()
    }

    fn new(analysis: &Analysis) -> Self {
        let Some(tuned) = &analysis.tuned else { return Self { metric: String::new(), panels: Vec::new() } };
        let keys = analysis.results.config.sweep.keys();
        let panels = tuned
            .tuned_keys
            .iter()
            .map(|key| {
                let mut values: Vec<String> = Vec::new();
                for c in &tuned.candidates {
                    let v = tuned.value_of(&keys, c, key);
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                let is_lr = key == "training.lr";
                let x_of =
                    |i: usize, v: &str| if is_lr { v.parse::<f64>().map_or(i as f64, f64::log10) } else { i as f64 };
                let ticks: Vec<(f64, String)> =
                    values.iter().enumerate().map(|(i, v)| (x_of(i, v), v.clone())).collect();
                let lines = tuned
                    .choices
                    .iter()
                    .zip(&analysis.labels)
                    .map(|(choice, label)| {
                        let mut points: Vec<(f64, f64, bool)> = Vec::new();
                        for (i, v) in values.iter().enumerate() {
                            let at: Vec<usize> = choice
                                .candidates
                                .iter()
                                .copied()
                                .filter(|&c| tuned.value_of(&keys, &tuned.candidates[c], key) == *v)
                                .collect();
                            let best =
                                at.iter().filter_map(|&c| tuned.candidates[c].score).fold(None, |b: Option<f64>, s| {
                                    Some(b.map_or(
                                        s,
                                        |b| if tuned.select.higher_is_better() { b.max(s) } else { b.min(s) },
                                    ))
                                });
                            if let Some(score) = best {
                                points.push((x_of(i, v), score, at.contains(&choice.chosen)));
                            }
                        }
                        (label.clone(), points)
                    })
                    .collect();
                Panel { key: key.clone(), ticks, lines }
            })
            .collect();
        Self { metric: format!("{} ({} epoch)", tuned.select.name(), tuned.epoch.name()), panels }
    }
}

impl Plot for Sensitivity {
    fn size(&self) -> (u32, u32) {
        (720 * self.panels.len().clamp(1, 3) as u32, 520 * self.panels.len().div_ceil(3).max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (rows, cols) = crate::chart::grid(self.panels.len(), 3);
        for (area, panel) in root.split_evenly((rows, cols)).iter().zip(&self.panels) {
            let (x0, x1) = range(panel.ticks.iter().map(|t| t.0), 0.08);
            let (y0, y1) = range(panel.lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)), 0.08);
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.key, ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            let (ticks, is_lr) = (&panel.ticks, panel.key == "training.lr");
            // A log axis labels the rates its ticks fall on; a list of values, each value at its index.
            let label = |x: &f64| {
                if is_lr {
                    format!("{:.1e}", 10f64.powf(*x))
                } else {
                    ticks.iter().find(|t| (t.0 - x).abs() < 1e-6).map(|t| t.1.clone()).unwrap_or_default()
                }
            };
            chart
                .configure_mesh()
                .x_desc(if is_lr { "learning rate (log scale)" } else { panel.key.as_str() })
                .y_desc(&self.metric)
                .x_labels(if is_lr { 6 } else { ticks.len().max(2) })
                .x_label_formatter(&label)
                .label_style(("sans-serif", 14))
                .draw()?;
            for (i, (label, points)) in panel.lines.iter().enumerate() {
                let style = line_style(i);
                let c = style.color;
                style
                    .draw(&mut chart, points.iter().map(|p| (p.0, p.1)).collect(), 2)?
                    .label(label.clone())
                    .legend(style.legend(2));
                chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 3, c.filled())))?;
                chart.draw_series(
                    points.iter().filter(|p| p.2).map(|p| Circle::new((p.0, p.1), 8, c.stroke_width(2))),
                )?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}
