//! What every figure shares, on top of plotters: the `Plot` trait, the
//! compiled-in font, `save` (SVG and PNG through a temporary file and a
//! rename), the colours and the layout helpers. A leaf: it imports nothing
//! else from the crate, so the report's figures and the activation figures
//! can both use it without importing each other.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, anyhow};
use plotters::chart::SeriesAnno;
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// A point on the drawing, in pixels (plotters-backend's `BackendCoord`).
type BackendCoord = (i32, i32);

pub type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Something drawable on any plotters backend.
pub trait Plot {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static;
}

/// DejaVu Sans (assets/fonts, Bitstream Vera licence), compiled in so text
/// renders the same on every machine, with no system font lookup.
fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
        // The bytes are a valid TrueType font; failure would be a build error in disguise.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Writes `dir/<stem>.svg` and `dir/<stem>.png`.
pub fn save(plot: &impl Plot, dir: &Path, stem: &str) -> anyhow::Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    for ext in ["svg", "png"] {
        let path = dir.join(format!("{stem}.{ext}"));
        let tmp = dir.join(format!(".{stem}.tmp.{ext}"));
        let drawn = if ext == "svg" {
            let root = SVGBackend::new(&tmp, plot.size()).into_drawing_area();
            plot.draw(&root).and_then(|_| root.present().map_err(Into::into))
        } else {
            let root = BitMapBackend::new(&tmp, plot.size()).into_drawing_area();
            plot.draw(&root).and_then(|_| root.present().map_err(Into::into))
        };
        drawn
            .map_err(|e| anyhow!("{e}"))
            .and_then(|_| std::fs::rename(&tmp, &path).map_err(Into::into))
            .with_context(|| format!("cannot write '{}'", path.display()))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })?;
    }
    Ok(())
}

/// Tableau 10, readable on white and distinguishable in print: the
/// colours of series that are not ordered (activations, groups, learned
/// parameters), in order.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of series `i` (the palette's colours repeat after ten: with more
/// lines, draw them in [`line_style`]'s dashes too).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How a line is stroked: solid, or `dash` pixels drawn and `gap` left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed { dash: u32, gap: u32 },
}

/// The dash patterns lines take, one per round of the palette: the eleventh
/// line has the first colour dashed, the twenty-first dotted.
pub const DASHES: [Dash; 4] = [
    Dash::Solid,
    Dash::Dashed { dash: 8, gap: 4 },
    Dash::Dashed { dash: 2, gap: 3 },
    Dash::Dashed { dash: 14, gap: 4 },
];

/// A line's colour and dash pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStyle {
    pub color: RGBColor,
    pub dash: Dash,
}

/// Style of line `i` of series that are not ordered: the palette's colours,
/// then the same colours dashed, dotted and long-dashed, so that up to
/// `PALETTE.len() * DASHES.len()` lines (and their legend entries) differ.
pub fn line_style(i: usize) -> LineStyle {
    LineStyle { color: color(i), dash: DASHES[(i / PALETTE.len()) % DASHES.len()] }
}

/// Lines of distinct styles: the most a legend of [`line_style`]s can tell apart.
pub const DISTINCT_STYLES: usize = PALETTE.len() * DASHES.len();

/// Length in pixels of a line's sample in a legend: long enough to show a
/// dash pattern (two dashes of the longest).
pub const LEGEND_SAMPLE: i32 = 24;

impl LineStyle {
    /// A solid line of this colour.
    pub fn solid(color: RGBColor) -> Self {
        Self { color, dash: Dash::Solid }
    }

    /// The same line, its colour mixed with white to `opacity` (a faint line
    /// that looks the same in the legend, unlike plotters' alpha).
    pub fn faded(self, opacity: f64) -> Self {
        let mix = |c: u8| (opacity * c as f64 + (1.0 - opacity) * 255.0).round() as u8;
        let RGBColor(r, g, b) = self.color;
        Self { color: RGBColor(mix(r), mix(g), mix(b)), ..self }
    }

    /// Draws `points` as one line of this style, `width` pixels wide;
    /// returns the series, to be labelled.
    pub fn draw<'a, 'c, DB, CT>(
        self,
        chart: &'c mut ChartContext<'a, DB, CT>,
        points: Vec<CT::From>,
        width: u32,
    ) -> Result<&'c mut SeriesAnno<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>>
    where
        DB: DrawingBackend + 'a,
        CT: CoordTranslate,
        CT::From: Clone + 'static,
    {
        let style = self.color.stroke_width(width);
        match self.dash {
            Dash::Solid => chart.draw_series(std::iter::once(PathElement::new(points, style))),
            Dash::Dashed { dash, gap } => {
                chart.draw_series(std::iter::once(DashedPathElement::new(points, dash, gap, style)))
            }
        }
    }

    /// The legend's sample of this line, `width` pixels wide.
    pub fn legend(
        self,
        width: u32,
    ) -> impl Fn(BackendCoord) -> DashedPathElement<std::vec::IntoIter<BackendCoord>, u32> {
        // A solid line as one dash longer than the sample: one element type
        // for both (a `DynElement` would have to live for 'static in a legend).
        let (dash, gap) = match self.dash {
            Dash::Solid => (2 * LEGEND_SAMPLE as u32, 0),
            Dash::Dashed { dash, gap } => (dash, gap),
        };
        move |(x, y)| {
            DashedPathElement::new(vec![(x, y), (x + LEGEND_SAMPLE, y)], dash, gap, self.color.stroke_width(width))
        }
    }
}

/// Colour of layer `i` of `n`, from blue (input side) to red (output side).
pub fn layer_color(i: usize, n: usize) -> RGBColor {
    let t = if n > 1 { i as f64 / (n - 1) as f64 } else { 0.0 };
    RGBColor((30.0 + 200.0 * t) as u8, (60.0 + 40.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8, (220.0 - 190.0 * t) as u8)
}

/// Legend entries a panel of many layers shows at most: the rest keep their
/// colour on the blue-to-red scale of [`layer_color`] but no entry, so a
/// ResNet's 19 sites do not bury the data under their legend.
pub const LEGEND_MAX: usize = 8;

/// Whether line `i` of `n` gets a legend entry: all of them up to
/// [`LEGEND_MAX`], else the first, the last and evenly spaced ones between.
pub fn in_legend(i: usize, n: usize) -> bool {
    n <= LEGEND_MAX || i == 0 || i + 1 == n || i.is_multiple_of(n.div_ceil(LEGEND_MAX - 1))
}

/// (rows, columns) of a grid for `n` panels, at most `max_cols` wide.
pub fn grid(n: usize, max_cols: usize) -> (usize, usize) {
    let cols = n.clamp(1, max_cols);
    (n.div_ceil(cols).max(1), cols)
}

/// Mean, min and max at each x of several series.
pub fn band(series: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let mut xs: Vec<f64> = series.iter().flatten().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .filter_map(|x| {
            let ys: Vec<f64> = series
                .iter()
                .filter_map(|s| s.iter().find(|p| p.0 == x))
                .map(|p| p.1)
                .filter(|y| y.is_finite())
                .collect();
            if ys.is_empty() {
                return None;
            }
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some((x, mean, min, max))
        })
        .collect()
}

/// The finite values' range, widened by `pad` times its span on each side;
/// (0, 1) when no value is finite.
pub fn range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9);
    (lo - pad * span, hi + pad * span)
}

/// How many tick labels an axis of whole numbers (epochs, steps) from `x0`
/// to `x1` asks plotters for: one per whole number up to 10, so that its
/// steps (1, 2, 5 x 10^k) fall on whole numbers.
pub fn whole_ticks(x0: f64, x1: f64) -> usize {
    ((x1 - x0).max(0.0).floor() as usize + 1).clamp(2, 10)
}

/// A tick label on an axis of whole numbers: the number where the tick is
/// one, nothing between (an epoch axis of 3 read `1 1 1 2 2 2 3` before).
pub fn whole_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 { format!("{x:.0}") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_unordered_series_differ_in_colour_then_in_dash() {
        let styles: Vec<LineStyle> = (0..DISTINCT_STYLES).map(line_style).collect();
        for (i, a) in styles.iter().enumerate() {
            assert!(styles[..i].iter().all(|b| b != a), "line {i} repeats an earlier line's style");
        }
        // The palette's colours are far apart (RGB distance), unlike the
        // neighbours of the blue-to-red layer scale (about 25 apart for 12 layers).
        let distance = |a: RGBColor, b: RGBColor| {
            let d = |x: u8, y: u8| (x as f64 - y as f64).powi(2);
            (d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)).sqrt()
        };
        for i in 0..PALETTE.len() {
            for j in 0..i {
                let (a, b) = (line_style(i).color, line_style(j).color);
                assert!(distance(a, b) > 60.0, "lines {j} and {i}: {a:?} and {b:?}");
            }
        }
        assert!(distance(layer_color(0, 12), layer_color(1, 12)) < 30.0);
        // Past the palette: the first colour again, dashed.
        assert_eq!(line_style(PALETTE.len()), LineStyle { color: PALETTE[0], dash: DASHES[1] });
        assert_eq!(line_style(0).dash, Dash::Solid);
    }

    #[test]
    fn a_faded_line_moves_its_colour_towards_white() {
        let faded = LineStyle::solid(RGBColor(0, 100, 255)).faded(0.5);
        assert_eq!(faded.color, RGBColor(128, 178, 255));
    }

    #[test]
    fn whole_number_axes_label_each_whole_number_once() {
        assert_eq!([whole_label(&1.0), whole_label(&1.5), whole_label(&2.0000000001)], ["1", "", "2"]);
        assert_eq!(
            [whole_ticks(1.0, 3.0), whole_ticks(0.0, 1.0), whole_ticks(1.0, 50.0), whole_ticks(2.0, 2.0)],
            [3, 2, 10, 2]
        );
    }

    #[test]
    fn a_long_legend_keeps_the_ends_and_at_most_legend_max_entries() {
        assert!((0..5).all(|i| in_legend(i, 5)));
        let shown: Vec<usize> = (0..19).filter(|&i| in_legend(i, 19)).collect();
        assert!(shown.len() <= LEGEND_MAX && shown[0] == 0 && *shown.last().unwrap() == 18, "{shown:?}");
    }

    #[test]
    fn a_band_skips_missing_and_non_finite_points() {
        let series = vec![vec![(0.0, 1.0), (1.0, 3.0)], vec![(0.0, 3.0), (1.0, f64::NAN)], vec![(2.0, 5.0)]];
        assert_eq!(band(&series), vec![(0.0, 2.0, 1.0, 3.0), (1.0, 3.0, 3.0, 3.0), (2.0, 5.0, 5.0, 5.0)]);
    }

    #[test]
    fn a_grid_fills_rows_up_to_the_column_limit() {
        assert_eq!(grid(0, 3), (1, 1));
        assert_eq!(grid(3, 3), (1, 3));
        assert_eq!(grid(4, 3), (2, 3));
        assert_eq!(grid(9, 4), (3, 4));
    }

    #[test]
    fn a_range_of_nothing_finite_is_the_unit_interval() {
        assert_eq!(range([f64::NAN, f64::INFINITY].into_iter(), 0.1), (0.0, 1.0));
        assert_eq!(range([1.0, 3.0].into_iter(), 0.5), (0.0, 4.0));
    }
}
