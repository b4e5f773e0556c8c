//! A Markdown comparison of reports: one table per workload, one row per backend.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::schema::Report;

/// The comparison of `reports`, grouped by workload in name order.
pub fn comparison_markdown(reports: &[Report]) -> String {
    let mut by_workload: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for report in reports {
        by_workload
            .entry(&report.workload.name)
            .or_default()
            .push(report);
    }
    let mut out = String::from("# storebench comparison\n");
    let micros = |ns: u64| format!("{:.1}", ns as f64 / 1000.0);
    // Writing into a String cannot fail.
    for (workload, runs) in by_workload {
        let _ = write!(out, "\n## {workload}\n\n");
        if let Some(first) = runs.first()
            && !first.workload.description.is_empty()
        {
            let _ = writeln!(out, "{}\n", first.workload.description);
        }
        let operations: Vec<String> = {
            let mut ops: Vec<String> = runs
                .iter()
                .flat_map(|r| r.operations.iter().map(|o| o.operation.clone()))
                .collect();
            ops.sort();
            ops.dedup();
            ops
        };
        let _ = write!(out, "| backend | ops/s | load docs/s |");
        for op in &operations {
            let _ = write!(out, " {op} p50 µs | {op} p99 µs |");
        }
        let _ = writeln!(out, " file bytes | space amp. | peak RSS MiB |");
        let _ = write!(out, "|---|---:|---:|");
        for _ in &operations {
            let _ = write!(out, "---:|---:|");
        }
        let _ = writeln!(out, "---:|---:|---:|");
        for r in &runs {
            let _ = write!(
                out,
                "| {} | {:.0} | {:.0} |",
                r.backend.name, r.run.throughput_ops_per_sec, r.load.throughput_ops_per_sec
            );
            for op in &operations {
                match r.operations.iter().find(|o| &o.operation == op) {
                    Some(o) => {
                        let _ = write!(
                            out,
                            " {} | {} |",
                            micros(o.latency_ns.p50),
                            micros(o.latency_ns.p99)
                        );
                    }
                    None => out.push_str(" – | – |"),
                }
            }
            let file = r.file_bytes.map_or("–".to_owned(), |b| b.to_string());
            let amp = r
                .space_amplification
                .map_or("–".to_owned(), |a| format!("{a:.2}"));
            let rss = r
                .peak_rss_bytes
                .map_or("–".to_owned(), |b| format!("{:.0}", b as f64 / 1048576.0));
            let _ = writeln!(out, " {file} | {amp} | {rss} |");
        }
        let throughput = |name: &str| {
            runs.iter()
                .find(|r| r.backend.name == name)
                .map(|r| r.run.throughput_ops_per_sec)
        };
        if let (Some(automerge), Some(redb)) = (throughput("automerge"), throughput("redb"))
            && automerge > 0.0
        {
            let _ = writeln!(
                out,
                "\nCRDT overhead (redb throughput / automerge throughput): {:.2}x",
                redb / automerge
            );
        }
    }
    out
}
