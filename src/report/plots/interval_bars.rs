//! One horizontal interval per group, a dot at its centre: the drawing the
//! accuracy and improvement figures share.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::chart::{Plot, PlotResult, color};

pub struct IntervalBars {
    /// Per group: label, centre, low, high.
    pub bars: Vec<(String, f64, f64, f64)>,
    pub caption: String,
    pub x_desc: &'static str,
    /// The x axis' range.
    pub x: std::ops::Range<f64>,
    /// A vertical reference line (a coin flip's 0.5), if any.
    pub marker: Option<f64>,
}

/// A chart of one row per label (the first at the bottom), `x` across,
/// `caption` above: the frame the interval and rank figures share.
pub fn labelled_rows<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_desc: &str,
    x: std::ops::Range<f64>,
    labels: &[String],
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = labels.len().max(1);
    let longest = labels.iter().map(String::len).max().unwrap_or(8) as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(20 + 8 * longest)
        .build_cartesian_2d(x, -0.5f64..(n as f64 - 0.5))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_labels(n)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .disable_y_mesh()
        .label_style(("sans-serif", 13))
        .draw()?;
    Ok(chart)
}

impl Plot for IntervalBars {
    fn size(&self) -> (u32, u32) {
        (900, 90 + 34 * self.bars.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let n = labels.len().max(1);
        let mut chart = labelled_rows(root, &self.caption, self.x_desc, self.x.clone(), &labels)?;
        if let Some(x) = self.marker {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, -0.5), (x, n as f64 - 0.5)],
                BLACK.mix(0.6).stroke_width(2),
            )))?;
        }
        for (i, (_, centre, low, high)) in self.bars.iter().enumerate() {
            let c = color(i);
            let y = i as f64;
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                y,
                *low,
                *centre,
                *high,
                c.stroke_width(2),
                12,
            )))?;
            chart.draw_series(std::iter::once(Circle::new((*centre, y), 5, c.filled())))?;
        }
        Ok(())
    }
}
