//! ranks: the distribution of each activation's rank by mean test accuracy
//! over bootstrap samples of its seeds (rliable's rank plot, Agarwal et al.
//! 2021): one stacked bar per activation, rank 1 darkest. Where a ranking by
//! means says "A first", this shows how often a new set of seeds would.
//! Activations compete with those at the same setting of the keys not tuned.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::chart::{Plot, PlotResult};
use crate::maths::bootstrap;
use crate::report::Analysis;
use crate::report::aggregate::{self, BOOTSTRAP_SEED, RESAMPLES};

pub struct Ranks {
    /// Per group: its label and the share of samples at rank 1, 2, ...
    bars: Vec<(String, Vec<f64>)>,
}

impl Figure for Ranks {
    const STEM: &'static str = "ranks";
    const TITLE: &'static str = "Rank over bootstrap samples of the seeds (test accuracy; rank 1 darkest)";

    fn wanted(analysis: &Analysis) -> bool {
        aggregate::points(&analysis.results.config, &analysis.groups).iter().any(|p| p.len() > 1)
    }

    fn new(analysis: &Analysis) -> Self {
        let mut bars = Vec::new();
        for members in aggregate::points(&analysis.results.config, &analysis.groups) {
            if members.len() < 2 {
                continue;
            }
            let values: Vec<Vec<f64>> = members.iter().map(|&i| analysis.groups[i].values[0].clone()).collect();
            let dist = bootstrap::rank_distribution(&values, true, RESAMPLES, BOOTSTRAP_SEED);
            for (&i, d) in members.iter().zip(dist) {
                bars.push((analysis.labels[i].clone(), d.unwrap_or_default()));
            }
        }
        Self { bars }
    }
}

/// Rank `r` of `k`: from dark blue (1) to light grey (k).
fn shade(r: usize, k: usize) -> RGBColor {
    let t = if k <= 1 { 0.0 } else { r as f64 / (k - 1) as f64 };
    let mix = |a: u8, b: u8| (a as f64 + t * (b as f64 - a as f64)).round() as u8;
    RGBColor(mix(8, 222), mix(48, 226), mix(107, 232))
}

impl Plot for Ranks {
    fn size(&self) -> (u32, u32) {
        (900, 110 + 34 * self.bars.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let caption = "Share of bootstrap samples at each rank";
        let x_desc = "share of samples (left to right: rank 1, 2, ...)";
        let mut chart = super::interval_bars::labelled_rows(root, caption, x_desc, 0.0..1.0, &labels)?;
        for (i, (_, shares)) in self.bars.iter().enumerate() {
            let y = i as f64;
            let mut from = 0.0;
            for (r, share) in shares.iter().enumerate() {
                let to = from + share;
                if *share > 0.0 {
                    let rect = Rectangle::new([(from, y - 0.35), (to, y + 0.35)], shade(r, shares.len()).filled());
                    chart.draw_series(std::iter::once(rect))?;
                    // The rank's number where its part is wide enough to hold it.
                    if *share >= 0.06 {
                        let colour = if r * 2 < shares.len() { WHITE } else { BLACK };
                        let text = Text::new(
                            format!("{}", r + 1),
                            ((from + to) / 2.0, y),
                            ("sans-serif", 12).into_font().color(&colour),
                        );
                        chart.draw_series(std::iter::once(text))?;
                    }
                }
                from = to;
            }
        }
        Ok(())
    }
}
