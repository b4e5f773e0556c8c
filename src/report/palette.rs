//! How plots tell series apart: a colour-blind-safe palette, and a marker shape per series on
//! top, so that a reader who cannot tell two colours apart, or a plot of more backends than
//! colours, still can.

use plotters::prelude::*;

use super::plot::failed;

/// Okabe and Ito's colour-blind-safe qualitative palette (Color Universal Design), yellow
/// last as it is faint on white. Nine backends and more repeat a colour, so every series also
/// gets a marker shape, and colour and shape together tell any 24 apart.
const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// The colour of series `i`.
pub(super) fn colour(i: usize) -> RGBColor {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// The marker of series `i`: three shapes against eight colours, so that no two of the first
/// 24 series share both.
#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Triangle,
    Cross,
}

fn marker(i: usize) -> Marker {
    [Marker::Circle, Marker::Triangle, Marker::Cross][i % 3]
}

/// Draws series `i`'s markers at `points`.
pub(super) fn draw_markers<CT>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    points: &[(f64, f64)],
    i: usize,
) -> Result<(), String>
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    let style = colour(i).filled();
    let at = points.iter().copied();
    match marker(i) {
        Marker::Circle => chart
            .draw_series(at.map(|p| Circle::new(p, 5, style)))
            .map(drop),
        Marker::Triangle => chart
            .draw_series(at.map(|p| TriangleMarker::new(p, 6, style)))
            .map(drop),
        Marker::Cross => chart
            .draw_series(at.map(|p| Cross::new(p, 5, colour(i).stroke_width(2))))
            .map(drop),
    }
    .map_err(failed)
}

/// Series `i`'s legend entry at `(x, y)`: its marker in its colour, drawn as one polygon so
/// that every shape is the same element type.
pub(super) fn legend_entry(i: usize, (x, y): (i32, i32)) -> Polygon<(i32, i32)> {
    let (cx, cy) = (x + 10, y);
    let points: Vec<(i32, i32)> = match marker(i) {
        // An octagon reads as a circle at this size.
        Marker::Circle => [
            (5, 0),
            (4, 4),
            (0, 5),
            (-4, 4),
            (-5, 0),
            (-4, -4),
            (0, -5),
            (4, -4),
        ]
        .to_vec(),
        Marker::Triangle => [(0, -6), (6, 5), (-6, 5)].to_vec(),
        Marker::Cross => [
            (-6, -4),
            (-4, -6),
            (0, -2),
            (4, -6),
            (6, -4),
            (2, 0),
            (6, 4),
            (4, 6),
            (0, 2),
            (-4, 6),
            (-6, 4),
            (-2, 0),
        ]
        .to_vec(),
    };
    Polygon::new(
        points
            .into_iter()
            .map(|(dx, dy)| (cx + dx, cy + dy))
            .collect::<Vec<_>>(),
        colour(i).filled(),
    )
}
