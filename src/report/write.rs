//! Writing one run's files: `report.json`, and per operation `.hgrm` and `.hlog`.

use std::path::{Path, PathBuf};

use super::hgrm::percentile_distribution;
use super::interval_log::interval_log;
use super::schema::{Repeat, RepeatLatency, Report};
use crate::runner::RunOutcome;
use crate::workload::Operation;

/// Writes the report and histograms of `outcome` into `dir` (created if needed) and returns
/// the report, as one run of this process's invocation (the `invocation` it records).
///
/// # Errors
/// When a file cannot be written; the error names it.
pub fn write_run(outcome: &RunOutcome, dir: &Path) -> Result<Report, WriteError> {
    write_repeated(
        std::slice::from_ref(outcome),
        dir,
        &Invocation::this_process(1),
    )
}

/// What one invocation of `storebench run` asked for, recorded in every report it writes:
/// `report` sets side by side only the rows of one invocation, and a report says how many
/// runs were asked for beside how many completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    /// Unique per invocation: its start in Unix milliseconds, the process id and a count of
    /// the invocations the process made before.
    pub id: String,
    /// Runs asked for per workload and backend (`--repeat`).
    pub repeats_requested: usize,
    /// Whether stores are kept where the user asked (`--data`): then each report records the
    /// directories its runs' stores were kept in. Temporary ones are not recorded.
    pub keeps_stores: bool,
}

impl Invocation {
    /// A new invocation, asking `repeats_requested` runs of each workload on each backend:
    /// its id is unique to this call, even among several in one process.
    pub(crate) fn new(repeats_requested: usize) -> Self {
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Self {
            id: format!("{ms}-{}-{call}", std::process::id()),
            repeats_requested,
            keeps_stores: false,
        }
    }

    /// This process's invocation, asking `repeats_requested` runs: made at the first call, so
    /// every report a process writes through [`write_run`] shares it.
    pub(crate) fn this_process(repeats_requested: usize) -> Self {
        static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        Self {
            id: ID.get_or_init(|| Invocation::new(1).id).clone(),
            repeats_requested,
            keeps_stores: false,
        }
    }
}

/// Writes repeated runs of one workload on one backend: the report and histograms of the run
/// with the median throughput, with every run's throughput and percentiles kept in `repeat`
/// (when more than one was asked for or made). Fewer runs than `invocation` asked for, or an
/// interrupted one, mark the report interrupted.
///
/// # Errors
/// When a file cannot be written; the error names it. `outcomes` must not be empty.
pub(super) fn write_repeated(
    outcomes: &[RunOutcome],
    dir: &Path,
    invocation: &Invocation,
) -> Result<Report, WriteError> {
    write_in_turns(outcomes, &[], dir, invocation)
}

/// As [`write_repeated`], for runs made in turns with other backends: `turns` names the
/// backends in the order every run of the workload was made, kept in `repeat.turns`.
pub(crate) fn write_in_turns(
    outcomes: &[RunOutcome],
    turns: &[String],
    dir: &Path,
    invocation: &Invocation,
) -> Result<Report, WriteError> {
    let fail = |path: PathBuf| move |source| WriteError { path, source };
    let reports: Vec<Report> = outcomes.iter().map(Report::from_outcome).collect();
    let mut order: Vec<usize> = (0..reports.len()).collect();
    order.sort_by(|&a, &b| {
        reports[a]
            .run
            .throughput_ops_per_sec
            .total_cmp(&reports[b].run.throughput_ops_per_sec)
    });
    let Some(&median) = order.get(order.len() / 2) else {
        return Err(WriteError {
            path: dir.to_owned(),
            source: std::io::Error::other("no run to write"),
        });
    };
    let outcome = &outcomes[median];
    std::fs::create_dir_all(dir).map_err(fail(dir.to_owned()))?;
    let mut report = reports[median].clone();
    let requested = invocation.repeats_requested.max(reports.len());
    if requested > 1 {
        report.repeat = Some(Repeat {
            turns: turns.to_vec(),
            ..repeat(&reports, requested)
        });
    }
    report.invocation = Some(invocation.id.clone());
    if invocation.keeps_stores {
        report.store_dirs = outcomes
            .iter()
            .map(|o| o.store_dir.display().to_string())
            .collect();
    }
    // The median of complete runs only: an interrupted run is kept alone, when none completed.
    let complete = reports.iter().filter(|r| !r.interrupted).count();
    if complete < requested {
        report.interrupted = true;
        let kept = if complete > 0 {
            format!("the figures are the median of the {complete} complete run(s)")
        } else {
            "the figures are those of the part that ran".to_owned()
        };
        report.notes.push(format!(
            "interrupted in run {} of {requested}: {kept}",
            complete + 1
        ));
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|e| WriteError {
        path: dir.join("report.json"),
        source: std::io::Error::other(e),
    })?;
    let path = dir.join("report.json");
    write_whole(&path, &json).map_err(fail(path))?;
    for (phase, prefix) in [(&outcome.load, "load-"), (&outcome.run, "")] {
        for (op, h) in &phase.operations {
            // The load's inserts apart from the run's: `load-insert`; its batches `load`.
            let stem = match op {
                Operation::Load => op.name().to_owned(),
                op => format!("{prefix}{}", op.name()),
            };
            let stem = stem.as_str();
            let path = dir.join(format!("{stem}.hgrm"));
            std::fs::write(&path, percentile_distribution(&h.service)).map_err(fail(path))?;
            let path = dir.join(format!("{stem}.hlog"));
            let log = interval_log(&h.service, phase.started_at, phase.duration, stem)
                .map_err(fail(path.clone()))?;
            std::fs::write(&path, log).map_err(fail(path))?;
            if let Some(intended) = &h.intended {
                let path = dir.join(format!("{stem}.intended.hgrm"));
                std::fs::write(&path, percentile_distribution(intended)).map_err(fail(path))?;
            }
        }
    }
    Ok(report)
}

/// Writes `bytes` to `path` whole or not at all: into a temporary file beside it, then renamed
/// over it, so that a process killed mid-write leaves the old file or the new, never half.
/// The file gets the mode any other output gets (0666 less the umask, so 0644 usually), not
/// the 0600 of a temporary file: a report is meant to be read by others.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Given at creation, the mode is masked by the umask as `File::create`'s is.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map(drop).map_err(|e| e.error)
}

/// A report file that could not be written.
#[derive(Debug)]
pub struct WriteError {
    /// The file or directory.
    pub path: PathBuf,
    /// What the operating system said.
    pub source: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}", self.path.display())
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn repeat(reports: &[Report], requested: usize) -> Repeat {
    let mut latency_ns: std::collections::BTreeMap<String, RepeatLatency> = Default::default();
    for report in reports {
        for op in &report.operations {
            let entry = latency_ns
                .entry(op.operation.clone())
                .or_insert_with(|| RepeatLatency {
                    p50: Vec::new(),
                    p99: Vec::new(),
                    p999: Vec::new(),
                });
            entry.p50.push(op.latency_ns.p50);
            entry.p99.push(op.latency_ns.p99);
            entry.p999.push(op.latency_ns.p999);
        }
    }
    Repeat {
        runs: reports.len(),
        requested,
        throughput_ops_per_sec: reports
            .iter()
            .map(|r| r.run.throughput_ops_per_sec)
            .collect(),
        latency_ns,
        turns: Vec::new(),
    }
}
