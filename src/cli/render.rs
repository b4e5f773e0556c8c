//! `storebench report`: Markdown from reports already written; nothing is run again.

use crate::report::{
    by_table, differences_among, index_markdown, latency_spectrum_svg, load_reports, operations,
    throughput_bars_svg, throughput_timeline_svg, workload_markdown,
};

use super::Failure;
use super::args::ReportArgs;
use crate::error::with_causes;

pub(crate) fn render(args: &ReportArgs) -> Result<(), Failure> {
    let mut reports = Vec::new();
    for dir in &args.dirs {
        reports.extend(load_reports(dir).map_err(Failure::bad_input)?);
    }
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
    let write = |name: String, text: String| -> Result<(), Failure> {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| {
            Failure::failed(format!(
                "cannot write {}: {}",
                path.display(),
                with_causes(&e)
            ))
        })
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", out.display())))?;
    // A table per workload and invocation of `run` (see `by_table`): the page, its plots
    // and its comparisons hold the rows of one invocation only.
    for (workload, runs) in by_table(&reports) {
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
            write(file, svg)?;
        }
        write(format!("{workload}.md"), markdown)?;
    }
    write("README.md".into(), index_markdown(&reports))?;
    eprintln!("{} reports rendered into {}", reports.len(), out.display());
    Ok(())
}
