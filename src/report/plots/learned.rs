//! learned (with a formula's `learn` only): each learned parameter's value
//! after every epoch (0 = its starting value), one panel per group that
//! has them, one line per layer's parameter, mean over seeds with a band
//! from min to max.

use super::Figure;
use super::panels::{Line, Panels};
use crate::chart::band;
use crate::report::Analysis;

pub struct Learned(Panels);

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
        Self(Panels { panels, x_desc: "epoch" })
    }
}

super::panels::delegate!(Learned);
