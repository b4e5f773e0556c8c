//! The human summary of a run, in YCSB's own output format (`[SECTION], Metric, Value`), so
//! scripts written for YCSB parse it too.

use std::fmt::Write;

use super::schema::{Latency, Report};

/// YCSB-style lines for one report.
pub fn ycsb_summary(report: &Report) -> String {
    let mut out = String::new();
    let us = |ns: u64| ns as f64 / 1000.0;
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "# {} on {}{}: {}",
        report.workload.name,
        report.backend.name,
        report
            .backend
            .durability
            .as_ref()
            .map_or(String::new(), |d| format!(" ({d})")),
        super::markdown::setup(report)
    );
    let _ = writeln!(
        out,
        "[OVERALL], RunTime(ms), {:.0}",
        report.run.duration_secs * 1000.0
    );
    let _ = writeln!(
        out,
        "[OVERALL], Throughput(ops/sec), {:.1}",
        report.run.throughput_ops_per_sec
    );
    let _ = writeln!(
        out,
        "[LOAD], RunTime(ms), {:.0}",
        report.load.duration_secs * 1000.0
    );
    let _ = writeln!(
        out,
        "[LOAD], Throughput(docs/sec), {:.1}",
        report.load.throughput_ops_per_sec
    );
    for op in &report.operations {
        let section = op.operation.to_uppercase();
        let mut line = |metric: &str, value: String| {
            let _ = writeln!(out, "[{section}], {metric}, {value}");
        };
        let l: &Latency = &op.latency_ns;
        line("Operations", op.count.to_string());
        line("AverageLatency(us)", format!("{:.3}", l.mean / 1000.0));
        line("MinLatency(us)", format!("{:.3}", us(l.min)));
        line("MaxLatency(us)", format!("{:.3}", us(l.max)));
        // YCSB's two (its `hdrhistogram.percentiles` default), in its order; then ours.
        line("95thPercentileLatency(us)", format!("{:.3}", us(l.p95)));
        line("99thPercentileLatency(us)", format!("{:.3}", us(l.p99)));
        line("50thPercentileLatency(us)", format!("{:.3}", us(l.p50)));
        line("99.9PercentileLatency(us)", format!("{:.3}", us(l.p999)));
        if let Some(i) = &op.intended_latency_ns {
            line(
                "Intended-99thPercentileLatency(us)",
                format!("{:.3}", us(i.p99)),
            );
        }
        line("Return=OK", op.count.to_string());
        if op.errors > 0 {
            line("Return=ERROR", op.errors.to_string());
        }
    }
    if let Some(bytes) = report.file_bytes {
        let _ = writeln!(out, "[STORAGE], FileBytes, {bytes}");
    }
    let _ = writeln!(out, "[STORAGE], LiveBytes, {}", report.live_bytes);
    if let Some(amp) = report.space_amplification {
        let _ = writeln!(out, "[STORAGE], SpaceAmplification, {amp:.2}");
    }
    if let Some(r) = report.run.resources.as_ref().map(|r| &r.totals) {
        let mut line = |metric: &str, value: Option<f64>| {
            if let Some(value) = value {
                let _ = writeln!(out, "{metric}, {value:.2}");
            }
        };
        line("[STORAGE], WriteAmplification", r.write_amplification);
        line("[STORAGE], ReadAmplification", r.read_amplification);
        line("[CPU], CpuPerOperation(us)", r.cpu_us_per_operation);
    }
    if let Some(rss) = report.peak_rss_bytes {
        let _ = writeln!(out, "[MEMORY], PeakRSS(bytes), {rss}");
    }
    out
}
