//! The page of `storebench mesh`: per run, its measures, its rounds' traffic and divergence
//! over time, and a local write's latency beside a received change's.

use super::page::{Cell, Page, anchor};
use crate::mesh::MeshReport;
use crate::report::plot::{Spectrum, lines_over_time_svg, spectrum_svg};

/// The page of `reports`, a section per run.
///
/// # Errors
/// When plotters fails to draw a chart.
pub(crate) fn mesh_page(reports: &[MeshReport]) -> Result<String, String> {
    let mut page = Page::new("storebench mesh");
    let titles: Vec<String> = reports
        .iter()
        .map(|r| format!("{} on {} ({})", r.workload.name, r.backend, r.transport))
        .collect();
    page.contents_here();
    for (report, title) in reports.iter().zip(&titles) {
        section(&mut page, title, report)?;
    }
    Ok(page.finish())
}

fn section(page: &mut Page, title: &str, report: &MeshReport) -> Result<(), String> {
    page.heading(2, title, Some(&anchor(title)));
    page.paragraph(&format!("{}.", report.setup()));
    let rows: Vec<Vec<Cell>> = report
        .measures()
        .into_iter()
        .map(|(measure, value)| vec![Cell::plain(measure), Cell::plain(value)])
        .collect();
    page.table(&["measure".into(), "value".into()], &rows, 1..2);
    if report.round_series.is_empty() {
        page.paragraph("No sync round ran during the writes: nothing to draw over time.");
    }
    page.begin_charts();
    let drawn = charts(page, report);
    page.end_charts();
    drawn
}

fn charts(page: &mut Page, report: &MeshReport) -> Result<(), String> {
    let rounds = &report.round_series;
    if !rounds.is_empty() {
        let by_round = |pick: fn(&crate::mesh::MeshRound) -> u64| -> Vec<(f64, f64)> {
            rounds
                .iter()
                .enumerate()
                .map(|(n, r)| ((n + 1) as f64, pick(r) as f64))
                .collect()
        };
        // Whole counts only: a tick between two counts would repeat a label.
        let count = |y: &f64| {
            if (y - y.round()).abs() < 1e-9 {
                format!("{y:.0}")
            } else {
                String::new()
            }
        };
        let name = [report.backend.as_str()];
        for (what, axis, pick) in [
            (
                "messages per round",
                "messages",
                (|r| r.messages) as fn(&crate::mesh::MeshRound) -> u64,
            ),
            ("bytes per round", "bytes", |r| r.bytes),
        ] {
            let svg = lines_over_time_svg(
                format!("{}: {what}", report.workload.name),
                "sync round",
                (axis, &count),
                &name,
                vec![by_round(pick)],
                false,
            )?;
            page.chart(&svg, &format!("The {what} during the writes."), &name);
        }
        let divergence: Vec<(f64, f64)> = rounds
            .iter()
            .map(|r| (r.seconds, r.divergence as f64))
            .collect();
        let svg = lines_over_time_svg(
            format!("{}: divergence", report.workload.name),
            "seconds into the writes",
            ("documents differing between replicas", &count),
            &name,
            vec![divergence],
            false,
        )?;
        page.chart(
            &svg,
            "Documents whose value differed between replicas after each round.",
            &name,
        );
    }
    let (local, apply) = (&report.local_write, &report.apply_per_change);
    let local = [
        (50.0, local.p50_us),
        (99.0, local.p99_us),
        (100.0, local.max_us),
    ];
    let apply = [
        (50.0, apply.p50_us),
        (99.0, apply.p99_us),
        (100.0, apply.max_us),
    ];
    let lines = [
        Spectrum::of_distribution("local write", &local),
        Spectrum::of_distribution("apply per change", &apply),
    ];
    page.chart(
        &spectrum_svg(&report.workload.name, "write and apply", &lines)?,
        "A local write's latency beside a received change's apply, at p50, p99 and the maximum.",
        &["local write", "apply per change"],
    );
    Ok(())
}
