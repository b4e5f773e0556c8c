//! One workload's part of a page: its table, the spread of its repeats, and its charts.

use std::path::Path;

use super::page::{Cell, Mark, Page, anchor};
use crate::report::Located;
use crate::report::hgrm::read_distribution;
use crate::report::judge::spread_pct;
use crate::report::markdown::{operations, setup};
use crate::report::plot::{Spectrum, spectrum_svg};
use crate::report::resource_plot::{ResourceChart, resource_timeline_svg};
use crate::report::table::{reference_costs, workload_table};
use crate::report::{MIN_RUNS, Report, throughput_bars_svg, throughput_timeline_svg};

/// The section of one table of `runs` (one workload, one invocation), headed `title`.
pub(super) fn section(page: &mut Page, title: &str, runs: &[&Located]) -> Result<(), String> {
    let reports: Vec<&Report> = runs.iter().map(|l| &l.report).collect();
    let Some(first) = reports.first() else {
        return Ok(());
    };
    page.heading(2, title, Some(&anchor(title)));
    if !first.workload.description.is_empty() {
        page.paragraph(&first.workload.description);
    }
    let mut made = setup(first);
    if let Some(invocation) = &first.invocation {
        made.push_str(&format!("; run {invocation}"));
    }
    page.paragraph(&made);
    // A measure a row and a backend a column: a page is narrower than a table of every
    // measure side by side, and stays readable at any number of operations.
    let table = workload_table(&reports);
    let headers: Vec<String> = std::iter::once("measure".to_owned())
        .chain(table.rows.iter().map(|row| {
            if row.stores_nothing {
                format!("{} (stores nothing)", row.backend)
            } else {
                row.backend.clone()
            }
        }))
        .collect();
    let durability = std::iter::once(Cell::plain("durability")).chain(
        table
            .rows
            .iter()
            .map(|row| Cell::plain(row.durability.clone().unwrap_or_else(|| "–".into()))),
    );
    let mut rows: Vec<Vec<Cell>> = vec![durability.collect()];
    for (column, header) in table.headers.iter().enumerate() {
        let cells = table.rows.iter().map(|row| match &row.cells[column].text {
            None => Cell::plain("–"),
            Some(text) if row.cells[column].best => Cell::marked(text, Mark::Best),
            Some(text) => Cell::plain(text),
        });
        rows.push(std::iter::once(Cell::plain(header)).chain(cells).collect());
    }
    page.table(&headers, &rows, 1..headers.len());
    page.paragraph("Bold: the best of its row among the stores that keep data.");
    for cost in reference_costs(&reports) {
        page.paragraph(&cost);
    }
    repeats(page, &reports);
    // A note several backends share is said once, naming them.
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    for report in &reports {
        for note in &report.notes {
            match notes.iter_mut().find(|(n, _)| n == note) {
                Some((_, backends)) => backends.push(&report.backend.name),
                None => notes.push((note, vec![&report.backend.name])),
            }
        }
    }
    for (note, backends) in notes {
        page.paragraph(&format!("{}: {note}", backends.join(", ")));
    }
    charts(page, runs)
}

/// Each repeat's throughput, and how far apart they are.
fn repeats(page: &mut Page, reports: &[&Report]) {
    let repeated: Vec<(&Report, &crate::report::Repeat)> = reports
        .iter()
        .filter_map(|r| Some((*r, r.repeat.as_ref()?)))
        .filter(|(_, repeat)| repeat.runs > 1 || repeat.requested > 1)
        .collect();
    let Some(most) = repeated
        .iter()
        .map(|(_, r)| r.throughput_ops_per_sec.len())
        .max()
    else {
        return;
    };
    page.heading(3, "Each repeat's throughput", None);
    let mut headers = vec!["backend".to_owned(), "runs kept / asked".to_owned()];
    headers.extend((1..=most).map(|n| format!("run {n} ops/s")));
    headers.extend(["the run written ops/s".to_owned(), "spread".to_owned()]);
    let rows: Vec<Vec<Cell>> = repeated
        .iter()
        .map(|(report, repeat)| {
            let runs = &repeat.throughput_ops_per_sec;
            let asked = repeat.requested.max(repeat.runs);
            let mut row = vec![
                Cell::plain(&report.backend.name),
                Cell::plain(format!("{} / {asked}", repeat.runs)),
            ];
            row.extend((0..most).map(|i| {
                runs.get(i)
                    .map_or(Cell::plain("–"), |v| Cell::plain(format!("{v:.0}")))
            }));
            row.push(Cell::plain(format!(
                "{:.0}",
                report.run.throughput_ops_per_sec
            )));
            row.push(Cell::plain(format!("{:.1}%", spread_pct(runs))));
            row
        })
        .collect();
    page.table(&headers, &rows, 1..headers.len());
    page.paragraph(&format!(
        "The run written is the median run (of an even number, the faster of the middle two): \
         the table above shows it. Spread: the range of the runs over their median, the noise \
         compare weighs a change against; it judges a change on {MIN_RUNS} runs a side or \
         more."
    ));
}

/// The charts of `runs`: throughput, latency by percentile per operation, throughput over
/// time, and each resource the monitor sampled.
pub(super) fn charts(page: &mut Page, runs: &[&Located]) -> Result<(), String> {
    page.begin_charts();
    let drawn = draw_charts(page, runs);
    page.end_charts();
    // Said under the charts, not as a cell of their grid.
    for notice in drawn? {
        page.notice(&notice);
    }
    Ok(())
}

/// Draws the charts of `runs`; returns what the page must say of them.
fn draw_charts(page: &mut Page, runs: &[&Located]) -> Result<Vec<String>, String> {
    let mut notices = Vec::new();
    let reports: Vec<&Report> = runs.iter().map(|l| &l.report).collect();
    let names: Vec<&str> = reports.iter().map(|r| r.backend.name.as_str()).collect();
    page.chart(
        &throughput_bars_svg(&reports)?,
        "Throughput of the run phase (a logarithmic axis when the backends span orders of \
         magnitude).",
        &names,
    );
    for operation in operations(&reports) {
        let mut lines = Vec::new();
        let mut approximate = Vec::new();
        for run in runs {
            let Some(stats) = run
                .report
                .operations
                .iter()
                .find(|o| o.operation == operation)
            else {
                continue;
            };
            let name = run.report.backend.name.as_str();
            match distribution(&run.dir, operation) {
                Ok(points) => lines.push(Spectrum::of_distribution(name, &points)),
                Err(why) => {
                    approximate.push(format!("{name} ({why})"));
                    lines.push(Spectrum::of_percentiles(name, &stats.latency_ns));
                }
            }
        }
        let drawn: Vec<&str> = lines.iter().map(|l| l.name).collect();
        let workload = reports.first().map_or("", |r| r.workload.name.as_str());
        page.chart(
            &spectrum_svg(workload, operation, &lines)?,
            &format!(
                "{operation}: latency at each percentile, from each run's {operation}.hgrm \
                 (HdrHistogram's percentile plot, which ends at the maximum); markers at p50, \
                 p90, p99, p99.9, p99.99 and p99.999."
            ),
            &drawn,
        );
        if !approximate.is_empty() {
            notices.push(format!(
                "{operation}: drawn through report.json's six percentiles, for want of a \
                 readable .hgrm: {}.",
                approximate.join("; ")
            ));
        }
    }
    page.chart(
        &throughput_timeline_svg(&reports)?,
        "Operations completed in each whole second of the run phase.",
        &names,
    );
    for chart in ResourceChart::ALL {
        if let Some((svg, drawn)) = resource_timeline_svg(&reports, chart)? {
            page.chart(&svg, chart.caption(), &drawn);
        }
    }
    Ok(notices)
}

/// The percentile distribution of `operation` in the run whose files are in `dir`.
fn distribution(dir: &Path, operation: &str) -> Result<Vec<(f64, f64)>, String> {
    let path = dir.join(format!("{operation}.hgrm"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_distribution(&text).map_err(|e| format!("{}: {e}", path.display()))
}
