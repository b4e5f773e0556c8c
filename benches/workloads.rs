//! Every workload in `workloads/` (or those named) on every real backend, through the runner;
//! reports and their comparison go to `reports/latest/`.
//!
//! ```text
//! cargo bench --bench workloads                      # every preset, quick scale
//! cargo bench --bench workloads -- ycsb-a mesh-state # those named
//! STOREBENCH_SCALE=full cargo bench --bench workloads
//! ```
//!
//! Scales: `quick` (default) runs the presets as written (YCSB's own 1,000 records and
//! operations); `full` multiplies record and operation counts by 10.

use std::path::Path;
use std::time::Instant;

use storebench::binding::Bindings;
use storebench::report::{Report, comparison_markdown, write_run, ycsb_summary};
use storebench::runner::{NoProgress, run};
use storebench::workload::Workload;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let test_mode = args.iter().any(|a| a == "--test");
    let named: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let factor: u64 = match std::env::var("STOREBENCH_SCALE").as_deref() {
        Err(_) | Ok("quick") => 1,
        Ok("full") => 10,
        Ok(other) => {
            return Err(format!("STOREBENCH_SCALE must be quick or full, not {other}").into());
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(root.join("workloads"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            named.is_empty()
                || named
                    .iter()
                    .any(|n| p.file_stem().is_some_and(|s| s == n.as_str()))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no workload matches {named:?}").into());
    }
    // In test mode (`cargo bench -- --test`), a token run into a scratch directory.
    let scratch = tempfile::tempdir()?;
    let out = if test_mode {
        scratch.path().to_owned()
    } else {
        root.join("reports/latest")
    };
    let data = tempfile::tempdir()?;
    let started = Instant::now();
    let backends = Bindings::builtin().defaults();
    let mut reports: Vec<Report> = Vec::new();
    for path in &paths {
        let mut workload = Workload::from_file(path)?;
        if test_mode {
            workload.record_count = workload.record_count.min(20);
            workload.operation_count = workload.operation_count.min(50);
            workload.max_execution_time = None;
        } else {
            workload.record_count *= factor;
            workload.operation_count *= factor;
        }
        for backend in &backends {
            let outcome = run(&workload, backend, data.path(), &NoProgress)?;
            let report = write_run(&outcome, &out.join(&workload.name).join(backend.name()))?;
            if !test_mode {
                eprintln!(
                    "{:<18} {:<18} {:>10.0} ops/s",
                    workload.name,
                    backend.name(),
                    report.run.throughput_ops_per_sec
                );
            }
            reports.push(report);
        }
        if test_mode {
            println!("workloads: {} ran on every backend", workload.name);
        }
    }
    let comparison = out.join("README.md");
    std::fs::write(&comparison, comparison_markdown(&reports))?;
    if !test_mode {
        for report in reports.iter().filter(|r| r.backend.name == "automerge") {
            println!("{}", ycsb_summary(report));
        }
        println!(
            "{} workloads x {} backends in {:.1}s; reports and comparison in {}",
            paths.len(),
            backends.len(),
            started.elapsed().as_secs_f64(),
            out.display()
        );
    }
    Ok(())
}
