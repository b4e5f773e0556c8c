//! `storebench run`.

use std::path::{Path, PathBuf};

use storebench::report::{write_repeated, ycsb_summary};
use storebench::runner::{BackendKind, NoProgress, Progress, run as run_workload};
use storebench::workload::Workload;

use super::args::RunArgs;
use super::progress::StderrProgress;
use super::{Failure, with_causes};

pub(crate) fn run(args: RunArgs) -> Result<(), Failure> {
    // Every workload is read and checked before anything runs: a typo in the third file must
    // not surface after the first two ran for an hour.
    let workloads = args
        .workloads
        .iter()
        .map(|w| load(w, &args))
        .collect::<Result<Vec<_>, _>>()?;
    let backends = if args.backend.is_empty() {
        BackendKind::REAL.to_vec()
    } else {
        args.backend.clone()
    };
    let temp;
    let data_dir: &Path = match &args.data {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::failed(format!(
                    "cannot create data directory {}: {e}",
                    dir.display()
                ))
            })?;
            dir
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| {
                Failure::failed(format!("cannot create a temporary directory: {e}"))
            })?;
            temp.path()
        }
    };
    let progress: Box<dyn Progress> = if args.quiet {
        Box::new(NoProgress)
    } else {
        Box::new(StderrProgress::new())
    };
    for workload in &workloads {
        for &backend in &backends {
            let mut outcomes = Vec::new();
            for _ in 0..args.repeat {
                let outcome = run_workload(workload, backend, data_dir, progress.as_ref())
                    .map_err(|e| {
                        let cause = with_causes(&e);
                        Failure::failed(format!("{} on {backend}: {cause}", workload.name))
                    })?;
                outcomes.push(outcome);
            }
            let dir = args.out.join(&workload.name).join(backend.name());
            let report =
                write_repeated(&outcomes, &dir).map_err(|e| Failure::failed(with_causes(&e)))?;
            if !args.quiet {
                println!("{}", ycsb_summary(&report));
            }
        }
    }
    if !args.quiet {
        eprintln!("reports written to {}", args.out.display());
    }
    Ok(())
}

/// Reads a workload by path or by name, and applies the command-line overrides.
fn load(name: &str, args: &RunArgs) -> Result<Workload, Failure> {
    let path = if name.ends_with(".toml") || name.contains('/') {
        PathBuf::from(name)
    } else {
        args.workloads_dir.join(format!("{name}.toml"))
    };
    let mut workload = Workload::from_file(&path).map_err(Failure::bad_input)?;
    if let Some(threads) = args.threads {
        if threads == 0 {
            return Err(Failure::bad_input("--threads must be at least 1"));
        }
        workload.threads = threads;
    }
    if let Some(ops) = args.ops {
        workload.operation_count = ops;
        workload.max_execution_time = None;
    }
    if let Some(duration) = args.duration {
        workload.max_execution_time = Some(duration);
    }
    if let Some(seed) = args.seed {
        workload.seed = seed;
    }
    Ok(workload)
}
