//! `storebench report`: Markdown, SVG plots and one HTML page from reports already written;
//! nothing is run again.

use std::path::{Path, PathBuf};

use crate::report::{
    by_table, differences_among, index_markdown, latency_spectrum_svg, load_readable, operations,
    report_page, throughput_bars_svg, throughput_timeline_svg, workload_markdown,
};

use super::Failure;
use super::args::ReportArgs;
use crate::error::with_causes;

pub(crate) fn render(args: &ReportArgs) -> Result<(), Failure> {
    let mut located = Vec::new();
    let mut skipped = Vec::new();
    for dir in &args.dirs {
        let (readable, unreadable) = load_readable(dir).map_err(Failure::bad_input)?;
        located.extend(readable);
        skipped.extend(unreadable);
    }
    for error in &skipped {
        eprintln!("storebench: skipped {error}");
    }
    // What can be read is rendered; only when nothing can is the input wrong.
    if located.is_empty() {
        return Err(Failure::bad_input(format!(
            "none of the {} reports could be read",
            skipped.len()
        )));
    }
    let reports: Vec<_> = located.iter().map(|l| l.report.clone()).collect();
    if !args.allow_incomparable {
        let mut differing = Vec::new();
        for (page, runs) in by_table(&reports) {
            let found = differences_among(&runs);
            if !found.is_empty() {
                differing.push(format!("{page}: {}", found.join("; ")));
            }
        }
        if !differing.is_empty() {
            return Err(Failure::bad_input(format!(
                "runs of one workload made differently cannot share a table \
                 (--allow-incomparable to render them anyway):\n  {}",
                differing.join("\n  ")
            )));
        }
    }
    let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", out.display())))?;
    if !args.html {
        markdown(&out, &reports)?;
    }
    if !args.markdown {
        let sources: Vec<&Path> = args.dirs.iter().map(PathBuf::as_path).collect();
        let page = report_page(&sources, &located, &skipped).map_err(Failure::failed)?;
        write(&out, "index.html", page)?;
    }
    eprintln!(
        "{} reports rendered into {}{}",
        located.len(),
        out.display(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} skipped, unreadable)", skipped.len())
        }
    );
    Ok(())
}

/// `README.md`, the index, and per table `<workload>.md` with its SVG plots.
fn markdown(out: &Path, reports: &[crate::report::Report]) -> Result<(), Failure> {
    // A table per workload and invocation of `run` (see `by_table`): the page, its plots
    // and its comparisons hold the rows of one invocation only.
    for (workload, runs) in by_table(reports) {
        let mut markdown = workload_markdown(&runs);
        let mut plots: Vec<(String, String)> = vec![
            (
                format!("{workload}-throughput.svg"),
                throughput_bars_svg(&runs).map_err(Failure::failed)?,
            ),
            (
                format!("{workload}-timeline.svg"),
                throughput_timeline_svg(&runs).map_err(Failure::failed)?,
            ),
        ];
        for op in operations(&runs) {
            let svg = latency_spectrum_svg(&runs, op).map_err(Failure::failed)?;
            plots.push((format!("{workload}-{op}-latency.svg"), svg));
        }
        markdown.push('\n');
        for (file, svg) in plots {
            markdown.push_str(&format!("![{file}]({file})\n\n"));
            write(out, &file, svg)?;
        }
        write(out, &format!("{workload}.md"), markdown)?;
    }
    write(out, "README.md", index_markdown(reports))
}

fn write(out: &Path, name: &str, text: String) -> Result<(), Failure> {
    let path = out.join(name);
    std::fs::write(&path, text).map_err(|e| {
        Failure::failed(format!(
            "cannot write {}: {}",
            path.display(),
            with_causes(&e)
        ))
    })
}
