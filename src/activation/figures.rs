//! Figures of the activations themselves (`actbench plot-activations`):
//! each function with its derivative, one panel each, and all of them in
//! one panel. Drawn with `crate::chart`, like the report's figures, without
//! depending on the report.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{Plot, PlotResult, color, grid, line_style, range};

/// An activation's name and its (x, f(x), f'(x)) points.
pub type Shape = (String, Vec<(f64, f64, f64)>);

/// Each activation and its derivative on an interval, one panel each.
pub struct Shapes {
    pub curves: Vec<Shape>,
}

/// Panels per row of [`Shapes`].
const COLUMNS: usize = 4;

impl Plot for Shapes {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.curves.len(), COLUMNS);
        (320 * cols as u32, 250 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        for (area, (name, points)) in root.split_evenly(grid(self.curves.len(), COLUMNS)).iter().zip(&self.curves) {
            let (x0, x1) = range(points.iter().map(|p| p.0), 0.0);
            let (y0, y1) = range(points.iter().flat_map(|p| [p.1, p.2]), 0.08);
            let mut chart = ChartBuilder::on(area)
                .caption(name, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(25)
                .y_label_area_size(40)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            chart.configure_mesh().label_style(("sans-serif", 11)).draw()?;
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), color(0).stroke_width(2)))?
                .label("f(x)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color(0).stroke_width(2)));
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.2)), color(1).stroke_width(2)))?
                .label("f'(x)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color(1).stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 11))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .draw()?;
        }
        Ok(())
    }
}

/// All activations' values in one figure.
pub struct AllShapes {
    pub curves: Vec<Shape>,
}

impl Plot for AllShapes {
    fn size(&self) -> (u32, u32) {
        (1100, 750)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let points = || self.curves.iter().flat_map(|c| c.1.iter());
        let (x0, x1) = range(points().map(|p| p.0), 0.0);
        let (y0, y1) = range(points().map(|p| p.1), 0.05);
        let mut chart = ChartBuilder::on(root)
            .caption("activation functions", ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart.configure_mesh().x_desc("x").y_desc("f(x)").label_style(("sans-serif", 13)).draw()?;
        for (i, (name, pts)) in self.curves.iter().enumerate() {
            // Past the palette's ten colours the same colours come dashed, then dotted.
            let style = line_style(i);
            style
                .draw(&mut chart, pts.iter().map(|p| (p.0, p.1)).collect(), 2)?
                .label(name.clone())
                .legend(style.legend(2));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }
}
