//! expected_performance (with `[tuning]`): each activation's expected best
//! validation score after n of the settings it was tuned over, band = one
//! standard deviation (report/expected.rs); one panel per setting of the
//! keys not tuned, one line per activation.

use plotters::prelude::SeriesLabelPosition;

use super::Figure;
use super::panels::{LineKind, Panels};
use crate::report::Analysis;
use crate::report::expected::curves;

pub struct ExpectedPerformance(Panels);

impl Figure for ExpectedPerformance {
    const STEM: &'static str = "expected_performance";
    const TITLE: &'static str =
        "Expected best validation score after n settings tried (Dodge et al. 2019; band = one standard deviation)";

    fn wanted(analysis: &Analysis) -> bool {
        analysis.tuned.is_some()
    }

    fn new(analysis: &Analysis) -> Self {
        let mut panels: Vec<(String, Vec<super::panels::Line>)> = Vec::new();
        for c in curves(analysis) {
            let band: Vec<(f64, f64, f64, f64)> =
                c.points.iter().map(|e| (e.n as f64, e.mean, e.mean - e.std, e.mean + e.std)).collect();
            let title = if c.fixed.is_empty() { "every activation".to_string() } else { c.fixed.clone() };
            match panels.iter_mut().find(|p| p.0 == title) {
                Some(panel) => panel.1.push((c.activation, band)),
                None => panels.push((title, vec![(c.activation, band)])),
            }
        }
        // The curves rise (an accuracy) or fall (a loss) towards the right:
        // the legend takes the corner they leave empty.
        let higher = analysis.tuned.as_ref().is_none_or(|t| t.select.higher_is_better());
        let legend = if higher { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight };
        Self(Panels { panels, x_desc: "settings tried (n)", lines: LineKind::Distinct, legend })
    }
}

super::panels::delegate!(ExpectedPerformance);
