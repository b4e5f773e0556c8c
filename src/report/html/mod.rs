//! HTML pages of reports: one self-contained `index.html` of the reports `storebench report`
//! is given, one per comparison of two sets, and one per `storebench mesh` invocation. They hold what the Markdown holds (the same tables, from
//! [`super::table`]) and more charts: latency from each run's whole `.hgrm`, and the resource
//! monitor's series.

mod mesh;
mod page;
mod workload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) use mesh::mesh_page;
use page::{Cell, Mark, Page, anchor};

use super::compare::{by_verdict, verdict_rule};
use super::markdown::{by_table, by_workload, machine};
use super::{CompareError, Located, MIN_RUNS, MetricChange, Report, Verdict};

/// The page of every report in `located`, a section per table (workload and invocation), and
/// a notice for each report in `skipped` that could not be read.
///
/// # Errors
/// When plotters fails to draw a chart.
pub(crate) fn report_page(
    sources: &[&Path],
    located: &[Located],
    skipped: &[CompareError],
) -> Result<String, String> {
    let mut page = Page::new("storebench report");
    let from: Vec<String> = sources.iter().map(|d| d.display().to_string()).collect();
    page.paragraph(&format!(
        "{} report{} read from {}.",
        located.len(),
        if located.len() == 1 { "" } else { "s" },
        from.join(", ")
    ));
    notices(&mut page, skipped);
    page.contents_here();
    if let Some(first) = located.first() {
        environment(&mut page, &first.report);
    }
    for (title, runs) in by_table(located) {
        workload::section(&mut page, &title, &runs)?;
    }
    Ok(page.finish())
}

/// The page of a comparison: the verdicts as `compare` prints them, regressions first and
/// marked, then each workload's charts with both sets' runs side by side (`base · <backend>`
/// and `new · <backend>`).
///
/// # Errors
/// When plotters fails to draw a chart.
pub(crate) fn comparison_page(
    (base_dir, base): (&Path, &[Located]),
    (new_dir, new): (&Path, &[Located]),
    changes: &[MetricChange],
    threshold_pct: f64,
) -> Result<String, String> {
    let mut page = Page::new("storebench comparison");
    page.paragraph(&format!(
        "base: {} ({} reports); new: {} ({} reports).",
        base_dir.display(),
        base.len(),
        new_dir.display(),
        new.len()
    ));
    page.paragraph(&verdict_rule(threshold_pct));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for change in changes {
        *counts.entry(change.verdict.label()).or_default() += 1;
    }
    let mut summary = String::from("Verdicts:");
    for (label, count) in &counts {
        // Writing into a String cannot fail.
        let _ = write!(summary, " {count} {label};");
    }
    summary.pop();
    summary.push('.');
    if changes.iter().any(|c| c.verdict.gates()) {
        page.notice(&format!("{summary} A regression fails the gate."));
    } else if changes
        .iter()
        .any(|c| c.verdict == Verdict::InsufficientData)
    {
        page.notice(&format!(
            "{summary} Not judged is not passed: make {MIN_RUNS} runs of each build, in turns."
        ));
    } else {
        page.paragraph(&summary);
    }
    let headers: Vec<String> = [
        "subject", "metric", "base", "new", "change", "noise", "runs", "p", "verdict",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<Cell>> = by_verdict(changes)
        .into_iter()
        .map(|c| {
            let mark = match c.verdict {
                Verdict::Regressed | Verdict::GrossRegression => Mark::Regressed,
                Verdict::Improved | Verdict::GrossImprovement => Mark::Improved,
                _ => Mark::Quiet,
            };
            vec![
                Cell::plain(&c.subject),
                Cell::plain(c.metric),
                Cell::plain(format!("{:.0} {}", c.base, c.unit)),
                Cell::plain(format!("{:.0} {}", c.new, c.unit)),
                Cell::marked(format!("{:+.1}%", c.change_pct), mark),
                Cell::plain(format!("±{:.1}%", c.noise_pct)),
                Cell::plain(format!("{}/{}", c.runs.0, c.runs.1)),
                Cell::plain(c.p_value.map_or("–".to_owned(), |p| format!("{p:.3}"))),
                Cell::marked(c.verdict.label(), mark),
            ]
        })
        .collect();
    // Numbers from base to p; subjects and verdicts are words.
    page.table(&headers, &rows, 2..8);
    // Both sets' runs of each workload in one set of charts, named by side, and numbered
    // where a side holds several reports of one backend (five runs a side, say).
    let mut named_runs: Vec<Located> = Vec::new();
    for (side, set) in [("base", base), ("new", new)] {
        let subject = |r: &Located| {
            (
                r.report.workload.name.clone(),
                r.report.backend.name.clone(),
            )
        };
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        for run in set {
            *seen.entry(subject(run)).or_default() += 1;
        }
        let mut numbered: BTreeMap<(String, String), usize> = BTreeMap::new();
        for run in set {
            let key = subject(run);
            let n = numbered.entry(key.clone()).or_default();
            *n += 1;
            let side = if seen[&key] > 1 {
                format!("{side} {n}")
            } else {
                side.to_owned()
            };
            let mut named = run.clone();
            named.report.backend.name = format!("{side} · {}", run.report.backend.name);
            named_runs.push(named);
        }
    }
    for (workload, runs) in by_workload(&named_runs) {
        page.heading(2, workload, Some(&anchor(workload)));
        workload::charts(&mut page, &runs)?;
    }
    Ok(page.finish())
}

/// What could not be read, each said once.
fn notices(page: &mut Page, skipped: &[CompareError]) {
    if skipped.is_empty() {
        return;
    }
    page.notice(&format!(
        "{} report{} skipped, not readable:",
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" }
    ));
    for error in skipped {
        page.notice(&error.to_string());
    }
}

/// The machine and crates of the runs.
fn environment(page: &mut Page, report: &Report) {
    let crates: Vec<String> = report
        .crates
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    page.heading(2, "Environment", Some("environment"));
    page.paragraph(&format!("Machine: {}.", machine(&report.machine)));
    page.paragraph(&format!("Crates: {}.", crates.join(", ")));
}
