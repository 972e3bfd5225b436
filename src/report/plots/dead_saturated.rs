//! dead_saturated: per group, the share of dead and of saturated units in
//! each hidden layer, from initialisation (epoch 0) to the last epoch, mean
//! over seeds.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult, band, in_legend, layer_color, whole_label, whole_ticks};
use crate::report::Analysis;
use crate::train::record::activations::ActivationRecord;

/// One layer's (dead band, saturated band) over epochs.
type LayerBands = (Vec<(f64, f64)>, Vec<(f64, f64)>);

pub struct DeadSaturated {
    /// Per group: label, then per layer (dead band, saturated band) over epochs.
    rows: Vec<(String, Vec<LayerBands>)>,
}

impl Figure for DeadSaturated {
    const STEM: &'static str = "dead_saturated";
    const TITLE: &'static str = "Dead and saturated units per layer";

    fn new(analysis: &Analysis) -> Self {
        let activations = &analysis.results.activations;
        let rows = analysis
            .groups
            .iter()
            .zip(&analysis.labels)
            .map(|(g, label)| {
                let layers = activations
                    .iter()
                    .filter(|a| g.run_ids.contains(&a.run_id))
                    .map(|a| a.layer + 1)
                    .max()
                    .unwrap_or(0);
                let per_layer = (0..layers)
                    .map(|layer| {
                        let series = |field: fn(&ActivationRecord) -> f64| {
                            let runs: Vec<Vec<(f64, f64)>> = g
                                .run_ids
                                .iter()
                                .map(|id| {
                                    activations
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
                    .x_labels(whole_ticks(0.0, x1))
                    .x_label_formatter(&whole_label)
                    .y_desc("fraction of units")
                    .label_style(("sans-serif", 11))
                    .draw()?;
                for (i, (dead, saturated)) in layers.iter().enumerate() {
                    let c = layer_color(i, layers.len());
                    let points = if k == 0 { dead } else { saturated };
                    let series = chart.draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?;
                    if in_legend(i, layers.len()) {
                        series
                            .label(format!("layer {i}"))
                            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                    }
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
