//! input_percentiles (with `logging.activation_every_steps` only): the
//! distribution of the inputs of each activation site's first unit against
//! the optimizer step: the median, the band from the 15th to the 85th percentile (means
//! over seeds), one line per site (at most four: the first, the last and
//! two between), one panel per group. Ioffe & Szegedy
//! (2015), figure 1 (b, c), draws the same for one sigmoid of the last
//! hidden layer, with and without batch normalisation: the drift it removes.

use super::Figure;
use super::panels::{LineKind, Panels, step_panels};
use crate::report::Analysis;

pub struct InputPercentiles(Panels);

impl Figure for InputPercentiles {
    const STEM: &'static str = "input_percentiles";
    const TITLE: &'static str =
        "Inputs of each site's first unit against the step: median, band = 15th to 85th percentile (mean over seeds)";

    fn wanted(analysis: &Analysis) -> bool {
        analysis.results.activation_steps.iter().any(|r| r.pre_p50.is_some())
    }

    fn new(analysis: &Analysis) -> Self {
        let panels = step_panels(
            analysis,
            drawn_sites,
            |rows, layer| {
                rows.iter()
                    .find(|r| r.layer == layer && !r.site.is_empty())
                    .map_or_else(|| format!("layer {layer}"), |r| r.site.clone())
            },
            |r| Some([r.pre_p50?, r.pre_p15?, r.pre_p85?]),
        );
        Self(Panels {
            panels,
            x_desc: "step",
            lines: LineKind::Layers,
            legend: plotters::prelude::SeriesLabelPosition::UpperLeft,
        })
    }
}

/// The sites drawn of `n`: all up to [`MAX_SITES`], else the first, the last
/// and evenly spaced ones between (a ResNet-20 has 19; their bands would
/// cover each other).
fn drawn_sites(n: usize) -> Vec<usize> {
    if n <= MAX_SITES {
        return (0..n).collect();
    }
    let mut sites: Vec<usize> = (0..MAX_SITES).map(|k| k * (n - 1) / (MAX_SITES - 1)).collect();
    sites.dedup();
    sites
}

/// Sites one panel draws at most.
const MAX_SITES: usize = 4;

super::panels::delegate!(InputPercentiles);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_sites_are_thinned_to_the_ends_and_between() {
        assert_eq!(drawn_sites(3), [0, 1, 2]);
        assert_eq!(drawn_sites(19), [0, 6, 12, 18]);
    }
}
