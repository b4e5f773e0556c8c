//! `storebench run`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::binding::{Bindings, Selected};
use crate::report::{Invocation, load_reports, write_in_turns, ycsb_summary};
use crate::runner::{
    NoProgress, OperationLog, Progress, RunOutcome, Watched, interrupt, interrupted, run_watched,
};
use crate::workload::{Operation, PRESETS, Workload};

use super::args::RunArgs;
use super::progress::StderrProgress;
use super::{EXIT_INTERRUPTED, Failure, capacity, source};
use crate::error::with_causes;

pub(crate) fn run(args: RunArgs, bindings: &Bindings) -> Result<(), Failure> {
    // Every workload and backend name is checked before anything runs: a typo in the third
    // file must not surface after the first two ran for an hour.
    let workloads = args
        .workloads
        .iter()
        .map(|w| load(w, &args))
        .collect::<Result<Vec<_>, _>>()?;
    let backends = if args.backend.is_empty() {
        bindings.defaults()
    } else {
        args.backend
            .iter()
            .map(|name| bindings.select(name).map_err(Failure::bad_input))
            .collect::<Result<Vec<_>, _>>()?
    };
    if !args.no_capacity_check {
        let data_dir = args.data.clone().unwrap_or_else(std::env::temp_dir);
        let room = capacity::Room::here(&data_dir);
        let refusals: Vec<String> = workloads
            .iter()
            .flat_map(|w| backends.iter().map(move |b| (w, b)))
            .filter_map(|(w, b)| capacity::refusal(w, b, &room))
            .collect();
        if !refusals.is_empty() {
            return Err(Failure::bad_input(refusals.join("\nstorebench: ")));
        }
    }
    writable(&args.out)?;
    for workload in &workloads {
        for backend in &backends {
            report_dir_free(&args.out, &workload.name, backend.name())?;
        }
    }
    let fresh = Invocation::new(args.repeat as usize);
    let invocation = Invocation {
        id: args.invocation.clone().unwrap_or(fresh.id),
        keeps_stores: args.data.is_some(),
        ..fresh
    };
    if !args.quiet {
        earlier_reports(&args.out, &invocation.id);
    }
    on_interrupt();
    let progress: Box<dyn Progress> = if args.quiet {
        Box::new(NoProgress)
    } else {
        Box::new(StderrProgress::new())
    };
    // A backend that fails is reported by name, and the others still run and write their
    // reports; the command then exits 3.
    let mut failures = Vec::new();
    for workload in &workloads {
        let turns = take_turns(workload, &backends, progress.as_ref(), &args, &invocation);
        for (backend, outcomes) in backends.iter().zip(turns.outcomes) {
            let what = format!("{} on {}", workload.name, backend.name());
            let outcomes = match outcomes {
                Ok(outcomes) if outcomes.is_empty() => continue, // interrupted before its turn
                Ok(outcomes) => outcomes,
                Err(cause) => {
                    failures.push(format!("{what}: {cause}"));
                    continue;
                }
            };
            let dir = args.out.join(&workload.name).join(backend.name());
            let report = match write_in_turns(&outcomes, &turns.order, &dir, &invocation) {
                Ok(report) => report,
                Err(e) => {
                    failures.push(format!("{what}: {}", with_causes(&e)));
                    continue;
                }
            };
            if !args.quiet {
                println!("{}", ycsb_summary(&report));
                let named = format!("{}-{}", workload.name, backend.name());
                for store in &report.store_dirs {
                    let taken = if store.ends_with(&named) {
                        String::new()
                    } else {
                        format!(" ({named} was taken)")
                    };
                    eprintln!("storebench: {what}: its store is kept in {store}{taken}");
                }
            }
            failures.extend(
                failed_operations(&outcomes)
                    .into_iter()
                    .map(|f| format!("{what}: {f}")),
            );
        }
        if interrupted() {
            break;
        }
    }
    if interrupted() {
        failures.insert(
            0,
            format!(
                "interrupted: the reports of what ran are in {}, marked as interrupted",
                args.out.display()
            ),
        );
        return Err(Failure {
            code: EXIT_INTERRUPTED,
            message: failures.join("\nstorebench: "),
        });
    }
    if !args.quiet {
        eprintln!("reports written to {}", args.out.display());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(failures.join("\nstorebench: ")))
    }
}

/// Checks that reports can be written into `out` before anything runs: an hour's run must
/// not end in "cannot write".
fn writable(out: &Path) -> Result<(), Failure> {
    // A probe file of its own name, so that clients sharing `out` do not race on one.
    std::fs::create_dir_all(out)
        .and_then(|()| tempfile::NamedTempFile::new_in(out))
        .and_then(|probe| probe.close())
        .map_err(|e| {
            Failure::bad_input(format!(
                "--out {}: cannot write reports there ({e}); choose a writable directory",
                out.display()
            ))
        })
}

/// Checks that nothing in `out` stands where a run's reports go (a file named like the
/// workload or the backend, a directory named `report.json`): found only when the run ends,
/// it would lose the run.
fn report_dir_free(out: &Path, workload: &str, backend: &str) -> Result<(), Failure> {
    let dir = out.join(workload);
    let places = [
        (dir.clone(), true),
        (dir.join(backend), true),
        (dir.join(backend).join("report.json"), false),
    ];
    for (path, wants_dir) in places {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // absent: the run makes it
        };
        if meta.is_dir() != wants_dir {
            let (is, should) = if wants_dir {
                ("a file", "directory")
            } else {
                ("a directory", "file")
            };
            return Err(Failure::bad_input(format!(
                "--out {}: {} is {is}, where the {should} for {workload} on {backend} goes; \
                 move it, or choose another --out",
                out.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// Says so when `out` already holds reports of an earlier `run`: they stay, and `report`
/// sets them in tables of their own, never in a row beside this run's.
fn earlier_reports(out: &Path, invocation: &str) {
    let Ok(reports) = load_reports(out) else {
        return; // none, or none this build reads: nothing to mix with
    };
    let earlier: Vec<_> = reports
        .iter()
        .filter(|r| r.invocation.as_deref() != Some(invocation))
        .collect();
    if earlier.is_empty() {
        return;
    }
    eprintln!(
        "storebench: {} holds {} report(s) of earlier runs; `storebench report` keeps each \
         run's in a table of its own (a fresh --out keeps them apart on disk too)",
        out.display(),
        earlier.len()
    );
}

/// On Ctrl-C or SIGTERM, the run in progress stops after its current operation, its reports
/// are written and temporary databases removed; a second Ctrl-C quits at once.
fn on_interrupt() {
    // A second `run` in one process (a test's) finds the handler set: that is fine.
    let _ = ctrlc::set_handler(|| {
        if interrupted() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\nstorebench: interrupted; writing the reports of what ran (Ctrl-C again to quit at \
             once)"
        );
        interrupt();
    });
}

/// Every backend's runs of one workload, and the order they were made in.
struct Turns {
    /// Per backend, in the order given: its runs, or why it failed.
    outcomes: Vec<Result<Vec<RunOutcome>, String>>,
    /// The backends' names in the order their runs were made (failed and interrupted runs
    /// left out).
    order: Vec<String>,
}

/// Runs `workload` `--repeat` times on every backend, the backends taking turns: in the given
/// order in even rounds and reversed in odd ones (A B, B A, A B, ...), so that a drift of the
/// machine over the session (a warming disk, a neighbour's load) lands on every backend alike
/// instead of on whichever runs last. A backend that fails drops out of the later rounds.
///
/// A backend's report is rewritten after each of its turns, so that what finished is on disk
/// even if the process never reaches the end of the rounds (a second Ctrl-C, an OOM kill, a
/// panic): until the last round it is marked interrupted, with the runs made so far.
fn take_turns(
    workload: &Workload,
    backends: &[Selected],
    progress: &dyn Progress,
    args: &RunArgs,
    invocation: &Invocation,
) -> Turns {
    let mut turns = Turns {
        outcomes: backends.iter().map(|_| Ok(Vec::new())).collect(),
        order: Vec::new(),
    };
    'rounds: for round in 0..args.repeat {
        let mut round_order: Vec<usize> = (0..backends.len()).collect();
        if round % 2 == 1 {
            round_order.reverse();
        }
        for i in round_order {
            let Ok(outcomes) = &mut turns.outcomes[i] else {
                continue;
            };
            match run_once(workload, &backends[i], progress, args) {
                Ok(outcome) => {
                    let partial = outcome.interrupted;
                    // An interrupted run's partial figures pull no median: it is kept only
                    // when it is the backend's one run.
                    if !partial || outcomes.is_empty() {
                        outcomes.push(outcome);
                        turns.order.push(backends[i].name().to_owned());
                        let dir = args.out.join(&workload.name).join(backends[i].name());
                        // A failed write here is met again, and reported, by the final write
                        // after the rounds.
                        let _ = write_in_turns(outcomes, &turns.order, &dir, invocation);
                    }
                    if partial {
                        break 'rounds;
                    }
                }
                Err(cause) => {
                    progress.finish();
                    turns.outcomes[i] = Err(cause);
                }
            }
            // Ctrl-C during a turn that failed stops the rounds as well as during one that ran.
            if interrupted() {
                break 'rounds;
            }
        }
    }
    turns
}

/// Runs `workload` on `backend` once. A panic that escapes the store's operations (in its open
/// or close), or a store that stops answering for `--hang-after`, fails this backend only.
///
/// Stores live under `--data` and stay there; without it each lives in a temporary directory
/// removed as soon as its run is measured, so a long session does not fill the disk.
fn run_once(
    workload: &Workload,
    backend: &Selected,
    progress: &dyn Progress,
    args: &RunArgs,
) -> Result<RunOutcome, String> {
    let temp;
    let data_dir: &Path = match &args.data {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
            temp.path()
        }
    };
    let log = if args.log_operations {
        let dir = args.out.join(&workload.name).join(backend.name());
        let path = dir.join("operations.log");
        std::fs::create_dir_all(&dir)
            .and_then(|()| OperationLog::file(&path))
            .map(Some)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?
    } else {
        backend
            .binding()
            .logs_operations()
            .then(OperationLog::stdout)
    };
    let hang_after = (!args.hang_after.is_zero()).then_some(args.hang_after);
    let sample_interval = Some(args.sample_interval);
    match run_watched(
        workload,
        backend,
        data_dir,
        progress,
        log,
        sample_interval,
        hang_after,
    ) {
        Watched::Finished(result) => result.map_err(|e| with_causes(&e)),
        Watched::Panicked(message) => Err(format!("the store panicked: {message}")),
        Watched::Hung(hang) => Err(format!("{hang} (--hang-after sets the limit)")),
    }
}

/// The operations that failed, of every repeat and of load and run alike, a line per
/// operation type: exit 3 is owed for any of them, not only for the median run's.
fn failed_operations(outcomes: &[RunOutcome]) -> Vec<String> {
    let mut failed: BTreeMap<Operation, (u64, u64, Option<&str>)> = BTreeMap::new();
    let phases = outcomes.iter().flat_map(|o| [&o.load, &o.run]);
    for (&operation, h) in phases.flat_map(|phase| &phase.operations) {
        let (errors, total, first) = failed.entry(operation).or_default();
        *errors += h.failed.len();
        *total += h.failed.len() + h.service.len();
        if first.is_none() {
            *first = h.first_error.as_deref();
        }
    }
    failed
        .into_iter()
        .filter(|(_, (errors, ..))| *errors > 0)
        .map(|(operation, (errors, total, first))| {
            let what = match operation {
                Operation::Load => "load batches".to_owned(),
                operation => format!("{} operations", operation.name()),
            };
            let first = first.unwrap_or("no message");
            format!("{errors} of {total} {what} failed; the first: {first}")
        })
        .collect()
}

/// Reads a workload by path (TOML, or YCSB's properties) or by name (the workloads
/// directory's, or a built-in preset), and applies the command-line overrides.
fn load(name: &str, args: &RunArgs) -> Result<Workload, Failure> {
    let Some(source) = source::find(name, &args.workloads_dir) else {
        let presets: Vec<&str> = PRESETS.iter().map(|(name, _)| *name).collect();
        return Err(Failure::bad_input(format!(
            "no workload `{name}`: no such file, none in {}, and no preset of that name \
             (presets: {})",
            args.workloads_dir.display(),
            presets.join(", ")
        )));
    };
    let mut workload = source::load(&source, &args.properties).map_err(Failure::bad_input)?;
    if !args.quiet && !workload.ignored_properties.is_empty() {
        eprintln!(
            "storebench: {source}: ignored, as they do not apply here (listed in the report): {}",
            workload.ignored_properties.join(", ")
        );
    }
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
    // Too short a run measures noise: p99.9 of 1,000 operations is their maximum. Unless the
    // count was asked for on the command line, a run goes on to --min-ops.
    // 0 is a load alone, not a short run.
    let counted = workload.max_execution_time.is_none() && args.ops.is_none();
    if counted && workload.operation_count > 0 && workload.operation_count < args.min_ops {
        workload.operation_count_in_file = Some(workload.operation_count);
        workload.operation_count = args.min_ops;
    }
    if let Some(seed) = args.seed {
        workload.seed = seed;
    }
    Ok(workload)
}
