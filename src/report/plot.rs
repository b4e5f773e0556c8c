//! SVG plots of a workload's reports: the latency percentile spectrum of each operation, the
//! throughput of each backend, and throughput over time. Drawn with plotters' SVG backend, so
//! no system library is needed.

use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;

use super::palette::{colour, draw_markers, legend_entry};
use super::schema::{Latency, Report};

const SIZE: (u32, u32) = (900, 520);
/// The percentile axis ends at 99.999%, as HdrHistogram's plotter draws it.
const X_MAX: f64 = 1e5;
/// The percentiles the spectrum marks and labels: p50 too, which a logarithmic axis's own
/// ticks (powers of ten) would leave unlabelled.
const PERCENTILES: [f64; 6] = [50.0, 90.0, 99.0, 99.9, 99.99, 99.999];
/// Throughputs spanning more than this factor are drawn on a logarithmic axis: on a linear
/// one a durable store's 500 ops/s is a sliver at zero beside memory's 346,000.
const LOG_AXIS_SPAN: f64 = 10.0;

/// Whether `values` (throughputs) span orders of magnitude, and so want a logarithmic axis.
fn spans_orders(values: impl Iterator<Item = f64>) -> bool {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    hi > 0.0 && hi / lo > LOG_AXIS_SPAN
}

/// Where a logarithmic axis starts: half the smallest positive value, so that it shows.
fn log_floor(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| *v > 0.0).fold(f64::MAX, f64::min) / 2.0
}

/// An operations-per-second tick: `346k`, `1.2M`, `500`.
fn rate_label(y: &f64) -> String {
    match *y {
        y if y >= 1e6 => format!("{:.1}M", y / 1e6),
        y if y >= 1e4 => format!("{:.0}k", y / 1e3),
        y => format!("{y:.0}"),
    }
}

/// Draws a chart on a fresh white SVG canvas and returns the SVG: every plot's frame.
fn svg_chart(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A chart on `root` with every plot's title font, margins and x label area.
fn titled<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: String,
    y_label_area: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(y_label_area);
    builder
}

pub(super) fn failed<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing failed: {e:?}")
}

/// `1 / (1 - p)`, the percentile axis's coordinate.
fn spectrum_x(percentile: f64) -> f64 {
    (1.0 / (1.0 - percentile / 100.0)).min(X_MAX)
}

fn percentile_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    if p < 99.0 {
        format!("{p:.0}%")
    } else {
        // 99.900 -> 99.9%, 99.990 -> 99.99%
        format!(
            "{}%",
            format!("{p:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
        )
    }
}

/// The latency spectrum of `operation`: one line per backend, latency (µs, logarithmic)
/// against percentile (logarithmic in 1/(1-p), up to 99.999%), from each report's six
/// percentiles.
///
/// # Errors
/// When plotters fails to draw.
pub(crate) fn latency_spectrum_svg(runs: &[&Report], operation: &str) -> Result<String, String> {
    let lines: Vec<Spectrum> = runs
        .iter()
        .filter_map(|r| {
            let o = r.operations.iter().find(|o| o.operation == operation)?;
            Some(Spectrum::of_percentiles(
                r.backend.name.as_str(),
                &o.latency_ns,
            ))
        })
        .collect();
    let workload = runs.first().map_or("", |r| r.workload.name.as_str());
    spectrum_svg(workload, operation, &lines)
}

/// One backend's line on a latency spectrum: its points, and where its markers go.
pub(crate) struct Spectrum<'a> {
    pub(crate) name: &'a str,
    /// (1/(1-p), µs), in percentile order.
    pub(crate) curve: Vec<(f64, f64)>,
    /// The points of the curve at the marked percentiles.
    pub(crate) marks: Vec<(f64, f64)>,
}

impl<'a> Spectrum<'a> {
    /// The line through a report's six percentiles, each marked.
    pub(crate) fn of_percentiles(name: &'a str, l: &Latency) -> Spectrum<'a> {
        let curve: Vec<(f64, f64)> = PERCENTILES
            .into_iter()
            .zip([l.p50, l.p90, l.p99, l.p999, l.p9999, l.max])
            .map(|(p, ns)| (spectrum_x(p), (ns as f64 / 1000.0).max(0.001)))
            .collect();
        Spectrum {
            name,
            marks: curve.clone(),
            curve,
        }
    }

    /// The line of a whole percentile distribution, `(percentile, µs)` pairs in order (an
    /// `.hgrm`'s), marked where it first reaches each labelled percentile.
    pub(crate) fn of_distribution(name: &'a str, points: &[(f64, f64)]) -> Spectrum<'a> {
        let curve: Vec<(f64, f64)> = points
            .iter()
            .map(|&(p, us)| (spectrum_x(p), us.max(0.001)))
            .collect();
        let marks = PERCENTILES
            .iter()
            .filter_map(|&p| curve.iter().find(|c| c.0 >= spectrum_x(p) * 0.999).copied())
            .collect();
        Spectrum { name, curve, marks }
    }
}

/// The latency spectrum of `operation` in `workload`, a line per backend.
pub(crate) fn spectrum_svg(
    workload: &str,
    operation: &str,
    lines: &[Spectrum<'_>],
) -> Result<String, String> {
    let all = lines.iter().flat_map(|l| l.curve.iter().map(|&(_, y)| y));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (lo, hi) = if lo <= hi {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.001, 1.0)
    };
    svg_chart(|root| {
        let mut chart = titled(
            root,
            format!("{workload}: {operation} latency by percentile"),
            72,
        )
        .build_cartesian_2d(
            (1.0..X_MAX * 2.0)
                .log_scale()
                .with_key_points(PERCENTILES.map(spectrum_x).to_vec()),
            (lo..hi).log_scale(),
        )
        .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (µs)")
            .x_label_formatter(&percentile_label)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(failed)?;
        for (i, line) in lines.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    line.curve.clone(),
                    colour(i).stroke_width(2),
                ))
                .map_err(failed)?
                .label(line.name)
                .legend(move |at| legend_entry(i, at));
            draw_markers(&mut chart, &line.marks, i)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(failed)?;
        Ok(())
    })
}

/// Run throughput per backend as bars, on a logarithmic axis when the backends span orders of
/// magnitude.
///
/// # Errors
/// When plotters fails to draw.
pub(crate) fn throughput_bars_svg(runs: &[&Report]) -> Result<String, String> {
    let values: Vec<(&str, f64)> = runs
        .iter()
        .map(|r| (r.backend.name.as_str(), r.run.throughput_ops_per_sec))
        .collect();
    let max = values.iter().map(|v| v.1).fold(1.0, f64::max) * 1.15;
    let workload = runs.first().map_or("", |r| r.workload.name.as_str());
    let names: Vec<String> = values.iter().map(|v| v.0.to_owned()).collect();
    // Labels every half unit; only those at a bar's centre carry its backend's name.
    let x_label = |x: &f64| {
        let centre = (x - x.floor() - 0.5).abs() < 0.01;
        let name = names.get(x.floor() as usize).filter(|_| centre);
        name.cloned().unwrap_or_default()
    };
    let x_range = 0.0..values.len() as f64;
    svg_chart(|root| {
        let title = format!("{workload}: throughput");
        if spans_orders(values.iter().map(|v| v.1)) {
            let lo = log_floor(values.iter().map(|v| v.1));
            let mut chart = titled(root, title, 88)
                .build_cartesian_2d(x_range, (lo..max * 2.0).log_scale())
                .map_err(failed)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(2 * values.len() + 1)
                .x_label_formatter(&x_label)
                .y_desc("operations per second (logarithmic)")
                .y_label_formatter(&rate_label)
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()
                .map_err(failed)?;
            // A label sits a fifth above its bar, which a logarithmic axis draws alike.
            return draw_bars(&mut chart, &values, lo, |v| v * 1.2);
        }
        let mut chart = titled(root, title, 88)
            .build_cartesian_2d(x_range, 0.0..max)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * values.len() + 1)
            .x_label_formatter(&x_label)
            .y_desc("operations per second")
            .y_label_formatter(&rate_label)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(failed)?;
        draw_bars(&mut chart, &values, 0.0, |v| v + max * 0.02)
    })
}

/// One bar per backend from `floor` up, each labelled with its value at `label_at` its top.
fn draw_bars<'a, 'b: 'a, CT>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    values: &[(&str, f64)],
    floor: f64,
    label_at: impl Fn(f64) -> f64,
) -> Result<(), String>
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    let top = |v: f64| v.max(floor);
    chart
        .draw_series(values.iter().enumerate().map(|(i, &(_, v))| {
            Rectangle::new(
                [(i as f64 + 0.15, floor), (i as f64 + 0.85, top(v))],
                colour(i).filled(),
            )
        }))
        .map_err(failed)?;
    chart
        .draw_series(values.iter().enumerate().map(|(i, &(_, v))| {
            Text::new(
                format!("{v:.0}"),
                (i as f64 + 0.3, label_at(top(v))),
                ("sans-serif", 14),
            )
        }))
        .map_err(failed)?;
    Ok(())
}

/// Operations completed in each whole second of the run, one line per backend, on a
/// logarithmic axis when the backends span orders of magnitude. The last, partial second is
/// left out (it would be drawn as a cliff); a run shorter than a second is one point, its
/// average rate.
///
/// # Errors
/// When plotters fails to draw.
pub(crate) fn throughput_timeline_svg(runs: &[&Report]) -> Result<String, String> {
    let series: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| whole_seconds(r)).collect();
    let workload = runs.first().map_or("", |r| r.workload.name.as_str());
    let names: Vec<&str> = runs.iter().map(|r| r.backend.name.as_str()).collect();
    lines_over_time_svg(
        format!("{workload}: throughput over time"),
        "second of the run (whole seconds)",
        ("operations per second", &rate_label),
        &names,
        series,
        true,
    )
}

/// A line per named series of `(x, y)` points over time, from 0 to the last x; on a
/// logarithmic y axis when `log_if_wide` and the values span orders of magnitude. `y` is the
/// axis's description and its tick labels.
pub(super) fn lines_over_time_svg(
    title: String,
    x_desc: &str,
    (y_desc, y_label): (&str, &dyn Fn(&f64) -> String),
    names: &[&str],
    mut series: Vec<Vec<(f64, f64)>>,
    log_if_wide: bool,
) -> Result<String, String> {
    let right = series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.0 + 0.5))
        .fold(1.0, f64::max)
        .ceil();
    let max = series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    // A series of zeros still gets an axis.
    let max = if max > 0.0 { max * 1.15 } else { 1.0 };
    let log = log_if_wide && spans_orders(series.iter().flatten().map(|p| p.1));
    svg_chart(|root| {
        if log {
            let lo = log_floor(series.iter().flatten().map(|p| p.1));
            // A second with no operation sits on the axis floor, not off the chart.
            for point in series.iter_mut().flatten() {
                point.1 = point.1.max(lo);
            }
            let mut chart = titled(root, title, 88)
                .build_cartesian_2d(0.0..right, (lo..max * 2.0).log_scale())
                .map_err(failed)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(format!("{y_desc} (logarithmic)"))
                .y_label_formatter(y_label)
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()
                .map_err(failed)?;
            draw_timeline(&mut chart, names, &series)
        } else {
            let mut chart = titled(root, title, 88)
                .build_cartesian_2d(0.0..right, 0.0..max)
                .map_err(failed)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .y_label_formatter(y_label)
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()
                .map_err(failed)?;
            draw_timeline(&mut chart, names, &series)
        }
    })
}

/// Each backend's line, with its markers (a run shorter than two seconds has a single point,
/// which a line alone would not show), and the legend.
fn draw_timeline<'a, 'b: 'a, CT>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    names: &[&str],
    series: &[Vec<(f64, f64)>],
) -> Result<(), String>
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    for (i, (name, points)) in names.iter().zip(series).enumerate() {
        draw_markers(chart, &thinned(points), i)?;
        chart
            .draw_series(LineSeries::new(points.clone(), colour(i).stroke_width(2)))
            .map_err(failed)?
            .label(*name)
            .legend(move |at| legend_entry(i, at));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(failed)
}

/// At most twelve of `points`, evenly spaced, the first and the last among them: where to
/// mark a line. A marker on every sample of a long run (four a second) would smear into a
/// band and weigh the page down.
fn thinned(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    const MARKS: usize = 12;
    if points.len() <= MARKS {
        return points.to_vec();
    }
    (0..MARKS)
        .map(|k| points[k * (points.len() - 1) / (MARKS - 1)])
        .collect()
}

/// A run's operations in each whole second, at each second's middle; or, for a run shorter
/// than a second, its average rate at its middle.
fn whole_seconds(r: &Report) -> Vec<(f64, f64)> {
    let whole = r.run.duration_secs.floor() as usize;
    if whole == 0 {
        let rate = r.run.operations as f64 / r.run.duration_secs.max(1e-9);
        return vec![(r.run.duration_secs / 2.0, rate)];
    }
    r.throughput_series
        .iter()
        .take(whole)
        .enumerate()
        .map(|(s, &n)| (s as f64 + 0.5, n as f64))
        .collect()
}
