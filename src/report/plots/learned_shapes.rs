//! learned_shapes (with learned parameters only): what the numbers of
//! `learned` did to the function. One panel per activation site of each
//! group that learns: the activation on [-6, 6] at its starting values
//! (grey, dashed) and after the last epoch (mean of the values over the
//! group's seeds), and with one value per unit the units at the min, median
//! and max of the first parameter, faintly. At most [`MAX_PANELS`] panels.

use burn::tensor::Device;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::activation::{ActivationKind, evaluate};
use crate::chart::{Dash, LineStyle, Plot, PlotResult, color, grid, range};
use crate::report::Analysis;
use crate::report::learned_sites::{self, Site, values_text};
use crate::train::record::learned::LearnedRecord;

/// Panels drawn at most: a residual network has a site per block, and a
/// figure of dozens of panels reads as none; the title says how many are left out.
pub const MAX_PANELS: usize = 12;

/// Panels per row.
const COLUMNS: usize = 3;

/// The starting shape's grey dashes.
const START: LineStyle = LineStyle { color: RGBColor(110, 110, 110), dash: Dash::Dashed { dash: 8, gap: 4 } };

pub struct LearnedShapes {
    panels: Vec<Panel>,
    /// Sites with learned parameters in all, drawn or not.
    sites: usize,
}

/// One site of one group: its title and curves.
struct Panel {
    title: String,
    curves: Vec<Curve>,
}

struct Curve {
    label: String,
    points: Vec<(f64, f64)>,
    style: LineStyle,
    width: u32,
}

impl Figure for LearnedShapes {
    const STEM: &'static str = "learned_shapes";
    const TITLE: &'static str = "Learned activation shapes per layer: at the start (grey, dashed) and after the last epoch (values' mean over seeds; faint: single units)";

    fn wanted(analysis: &Analysis) -> bool {
        !analysis.results.learned.is_empty()
    }

    fn new(analysis: &Analysis) -> Self {
        let device = Device::flex();
        // -6 to 6 in steps of 0.02, as plot-activations draws them.
        let xs: Vec<f32> = (0..=600).map(|i| -6.0 + 0.02 * i as f32).collect();
        let shape = |kind: ActivationKind| -> Vec<(f64, f64)> {
            let (values, _) = evaluate(kind, &xs, &device);
            xs.iter().zip(values).map(|(x, y)| (*x as f64, y as f64)).collect()
        };
        // Each learning group's sites, then as many panels of each as the budget allows.
        let mut learning = Vec::new();
        for (g, (group, label)) in analysis.groups.iter().zip(&analysis.labels).enumerate() {
            let entry = analysis.results.config.activations.iter().find(|a| a.label() == group.activation);
            let Some(kind) = entry.map(|a| a.kind) else {
                continue;
            };
            let names = kind.learned_names();
            let rows: Vec<&LearnedRecord> =
                analysis.results.learned.iter().filter(|r| group.run_ids.contains(&r.run_id)).collect();
            let sites = learned_sites::sites(&rows, &names);
            if !sites.is_empty() {
                learning.push((g, label, kind, names, sites));
            }
        }
        let counts: Vec<usize> = learning.iter().map(|l| l.4.len()).collect();
        let mut panels = Vec::new();
        for ((g, label, kind, names, sites), quota) in learning.iter().zip(quotas(&counts, MAX_PANELS)) {
            for i in evenly(sites.len(), quota) {
                let curves = curves(kind, names, &sites[i], color(*g), &shape);
                panels.push(Panel { title: format!("{label}: {}", sites[i].name()), curves });
            }
        }
        Self { panels, sites: counts.iter().sum() }
    }
}

/// Panels per group, at most `max` in all: every group the same share,
/// what a group with fewer sites leaves going to the others; with more
/// groups than `max`, the first `max` get one each.
fn quotas(counts: &[usize], max: usize) -> Vec<usize> {
    if counts.len() > max {
        return (0..counts.len()).map(|i| usize::from(i < max).min(counts[i])).collect();
    }
    // Smallest first, each taking at most an equal share of what is left
    // (at least one, as there are no more groups than panels).
    let mut quotas = vec![0; counts.len()];
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| counts[i]);
    let mut left = max;
    for (k, &i) in order.iter().enumerate() {
        quotas[i] = counts[i].min(left / (counts.len() - k));
        left -= quotas[i];
    }
    quotas
}

/// `q` of `n` sites, evenly spaced from the first to the last.
fn evenly(n: usize, q: usize) -> Vec<usize> {
    match q.min(n) {
        0 => Vec::new(),
        1 => vec![0],
        q => (0..q).map(|i| (i * (n - 1) + (q - 1) / 2) / (q - 1)).collect(),
    }
}

/// A site's curves: the start, each picked unit (under the mean, so it stays
/// on top) and the end. A set of values the activation cannot take (a
/// formula not finite on [-20, 20] there) is left out, not drawn wrong.
fn curves(
    kind: &ActivationKind,
    names: &[&str],
    site: &Site,
    color: RGBColor,
    shape: &dyn Fn(ActivationKind) -> Vec<(f64, f64)>,
) -> Vec<Curve> {
    let mut curves = Vec::new();
    let mut add = |values: &[f64], label: String, style: LineStyle, width: u32| {
        if let Ok(at) = learned_sites::at(kind, names, values) {
            curves.push(Curve { label, points: shape(at), style, width });
        }
    };
    add(&site.start, format!("start ({})", values_text(names, &site.start)), START, 2);
    for (which, values) in site.picked_units() {
        let label = format!("{which} unit ({})", values_text(names, values));
        add(values, label, LineStyle::solid(color).faded(0.45), 1);
    }
    let mean = if site.units.is_empty() { "" } else { "unit mean, " };
    let label = format!("epoch {} ({mean}{})", site.last_epoch, values_text(names, &site.end));
    add(&site.end, label, LineStyle::solid(color), 2);
    curves
}

/// Height of the line that says how many sites are left out.
const NOTE_HEIGHT: u32 = 30;

impl Plot for LearnedShapes {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.panels.len(), COLUMNS);
        let note = if self.sites > self.panels.len() { NOTE_HEIGHT } else { 0 };
        (480 * cols as u32, 360 * rows as u32 + note)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let area = if self.sites > self.panels.len() {
            let note = format!(
                "{} of {} sites with learned parameters: evenly spaced layers of each activation, first and last among them",
                self.panels.len(),
                self.sites
            );
            let (top, rest) = root.split_vertically(NOTE_HEIGHT);
            top.draw_text(&note, &("sans-serif", 15).into_font().color(&BLACK), (10, 8))?;
            rest
        } else {
            root.clone()
        };
        for (area, panel) in area.split_evenly(grid(self.panels.len(), COLUMNS)).iter().zip(&self.panels) {
            let (y0, y1) = range(panel.curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)), 0.08);
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(32)
                .y_label_area_size(48)
                .build_cartesian_2d(-6.0..6.0, y0..y1)?;
            chart.configure_mesh().x_desc("x").label_style(("sans-serif", 12)).draw()?;
            for curve in &panel.curves {
                curve
                    .style
                    .draw(&mut chart, curve.points.clone(), curve.width)?
                    .label(curve.label.clone())
                    .legend(curve.style.legend(2));
            }
            chart
                .configure_series_labels()
                // Where x > 0 and f(x) is low: empty for most activations (monotonic, or f(x) >= 0 for x > 0).
                .position(SeriesLabelPosition::LowerRight)
                .label_font(("sans-serif", 12))
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
    fn panels_are_shared_between_groups_up_to_the_most() {
        assert_eq!(quotas(&[13, 13], 12), [6, 6]);
        assert_eq!(quotas(&[2, 20], 12), [2, 10], "what the short group leaves goes to the other");
        assert_eq!(quotas(&[3, 3], 12), [3, 3]);
        assert_eq!(quotas(&[5; 14], 12).iter().sum::<usize>(), 12);
        assert_eq!(quotas(&[5; 14], 12)[11..], [1, 0, 0], "more groups than panels: the first ones");
        assert_eq!(evenly(13, 6), [0, 2, 5, 7, 10, 12]);
        assert_eq!((evenly(5, 5), evenly(5, 1), evenly(5, 0)), (vec![0, 1, 2, 3, 4], vec![0], vec![]));
    }
}
