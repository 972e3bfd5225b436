//! learned (with learned parameters only): each learned parameter's value
//! after every epoch (0 = its starting value), one panel per group that
//! has them, one line per layer's parameter: the mean over seeds (and over
//! units, where each unit learns its own) with a band from min to max. Lines
//! take distinct colours, then dashes (`chart::line_style`).

use super::Figure;
use super::panels::{Line, LineKind, Panels};
use crate::chart::band;
use crate::report::Analysis;
use crate::report::learned_sites::per_layer;

pub struct Learned(Panels);

impl Figure for Learned {
    const STEM: &'static str = "learned";
    const TITLE: &'static str =
        "Learned activation parameters per epoch (mean over seeds and units, band = min to max)";

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
                // One line per layer's parameter: a per-unit `activations.0.beta.3` under `activations.0.beta`.
                let mut names: Vec<&str> = Vec::new();
                for r in &mine {
                    let name = per_layer(&r.parameter).0;
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                let lines: Vec<Line> = names
                    .iter()
                    .map(|name| {
                        // A series per run and unit: the band spans seeds and units.
                        let mut keys: Vec<(&str, Option<usize>)> = Vec::new();
                        for r in mine.iter().filter(|r| per_layer(&r.parameter).0 == *name) {
                            let key = (r.run_id.as_str(), per_layer(&r.parameter).1);
                            if !keys.contains(&key) {
                                keys.push(key);
                            }
                        }
                        let series: Vec<Vec<(f64, f64)>> = keys
                            .iter()
                            .map(|&(id, unit)| {
                                mine.iter()
                                    .filter(|r| r.run_id == id && per_layer(&r.parameter) == (*name, unit))
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
        Self(Panels {
            panels,
            x_desc: "epoch",
            lines: LineKind::Distinct,
            legend: plotters::prelude::SeriesLabelPosition::UpperLeft,
        })
    }
}

super::panels::delegate!(Learned);
