//! Writing one run's files: `report.json`, and per operation `.hgrm` and `.hlog`.

use std::path::{Path, PathBuf};

use super::hgrm::percentile_distribution;
use super::interval_log::interval_log;
use super::schema::Report;
use crate::runner::RunOutcome;

/// Writes the report and histograms of `outcome` into `dir` (created if needed) and returns
/// the report.
///
/// # Errors
/// When a file cannot be written; the error names it.
pub fn write_run(outcome: &RunOutcome, dir: &Path) -> Result<Report, WriteError> {
    let fail = |path: PathBuf| move |source| WriteError { path, source };
    std::fs::create_dir_all(dir).map_err(fail(dir.to_owned()))?;
    let report = Report::from_outcome(outcome);
    let json = serde_json::to_vec_pretty(&report).map_err(|e| WriteError {
        path: dir.join("report.json"),
        source: std::io::Error::other(e),
    })?;
    let path = dir.join("report.json");
    std::fs::write(&path, json).map_err(fail(path))?;
    for phase in [&outcome.load, &outcome.run] {
        for (op, h) in &phase.operations {
            let stem = op.name();
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
