//! Comparing two sets of reports: per workload, backend and operation, is the new run better,
//! worse, or within noise of the base?

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::schema::{Report, SCHEMA_VERSION};

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Better beyond the threshold.
    Improved,
    /// Worse beyond the threshold.
    Regressed,
    /// Within the threshold either way.
    WithinNoise,
}

/// One metric of one (workload, backend, operation) in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    /// `workload/backend/operation`, or `workload/backend` for run throughput.
    pub subject: String,
    /// `throughput`, `p50`, `p99` or `p99.9`.
    pub metric: &'static str,
    /// The unit of the values: `ops/s` or `ns`.
    pub unit: &'static str,
    /// Whether a larger value is better (throughput) or worse (latency).
    pub bigger_is_better: bool,
    /// The base value.
    pub base: f64,
    /// The new value.
    pub new: f64,
    /// `(new - base) / base`, in percent.
    pub change_pct: f64,
    /// The change, in percent, below which this metric is noise: the larger relative spread
    /// (range over median) of the base's and the new's repeated runs where both were
    /// repeated, the threshold otherwise.
    pub noise_pct: f64,
    /// The verdict at the threshold.
    pub verdict: Verdict,
}

/// Reports that cannot be compared, and why.
#[derive(Debug)]
pub enum CompareError {
    /// A file could not be read or parsed.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A report has another schema version than this build reads.
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// A directory holds no report.
    Empty {
        /// The directory.
        dir: PathBuf,
    },
}

impl std::fmt::Display for CompareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompareError::Unreadable { path, reason } => {
                write!(f, "{}: not a readable report ({reason})", path.display())
            }
            CompareError::SchemaVersion { path, found } => write!(
                f,
                "{}: report schema version {found}, but this storebench compares version \
                 {SCHEMA_VERSION}; regenerate the reports with the same storebench",
                path.display()
            ),
            CompareError::Empty { dir } => {
                write!(f, "{}: no report.json under this directory", dir.display())
            }
        }
    }
}

impl std::error::Error for CompareError {}

/// Every `report.json` under `dir`, at any depth.
///
/// # Errors
/// When the directory holds none, or one is unreadable or of another schema version.
pub fn load_reports(dir: &Path) -> Result<Vec<Report>, CompareError> {
    report_paths(dir)?
        .iter()
        .map(|path| load_report(path))
        .collect()
}

/// The paths of every `report.json` under `dir`, sorted.
pub(crate) fn report_paths(dir: &Path) -> Result<Vec<PathBuf>, CompareError> {
    let mut paths = Vec::new();
    collect(dir, &mut paths);
    paths.sort();
    if paths.is_empty() {
        return Err(CompareError::Empty {
            dir: dir.to_owned(),
        });
    }
    Ok(paths)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.file_name().is_some_and(|n| n == "report.json") {
            out.push(path);
        }
    }
}

pub(crate) fn load_report(path: &Path) -> Result<Report, CompareError> {
    let unreadable = |reason: String| CompareError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    // The version is checked before the shape, so an old or new report says so plainly.
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(CompareError::SchemaVersion {
            path: path.to_owned(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))
}

/// Pairs `base` and `new` by workload, backend and operation and judges every metric against
/// the spread of repeated runs where both sides were repeated, and against `threshold_pct`
/// otherwise. Subjects present on one side only are left out.
pub fn compare(base: &[Report], new: &[Report], threshold_pct: f64) -> Vec<MetricChange> {
    let index = |reports: &[Report]| -> BTreeMap<(String, String), Report> {
        reports
            .iter()
            .map(|r| ((r.workload.name.clone(), r.backend.name.clone()), r.clone()))
            .collect()
    };
    let (base, new) = (index(base), index(new));
    let mut changes = Vec::new();
    for (key, b) in &base {
        let Some(n) = new.get(key) else { continue };
        let subject = format!("{}/{}", key.0, key.1);
        let noise = |pick: &dyn Fn(&Report) -> Option<Vec<f64>>| -> f64 {
            match (pick(b), pick(n)) {
                (Some(bs), Some(ns)) => spread_pct(&bs).max(spread_pct(&ns)),
                _ => threshold_pct,
            }
        };
        let throughput_noise =
            noise(&|r: &Report| r.repeat.as_ref().map(|x| x.throughput_ops_per_sec.clone()));
        changes.push(change(
            subject.clone(),
            "throughput",
            "ops/s",
            true,
            b.run.throughput_ops_per_sec,
            n.run.throughput_ops_per_sec,
            throughput_noise,
        ));
        for bo in &b.operations {
            let Some(no) = n.operations.iter().find(|o| o.operation == bo.operation) else {
                continue;
            };
            let subject = format!("{subject}/{}", bo.operation);
            let pairs = [
                ("p50", bo.latency_ns.p50, no.latency_ns.p50),
                ("p99", bo.latency_ns.p99, no.latency_ns.p99),
                ("p99.9", bo.latency_ns.p999, no.latency_ns.p999),
            ];
            for (metric, b, n) in pairs {
                changes.push(change(
                    subject.clone(),
                    metric,
                    "ns",
                    false,
                    b as f64,
                    n as f64,
                    threshold_pct,
                ));
            }
        }
    }
    changes
}

fn change(
    subject: String,
    metric: &'static str,
    unit: &'static str,
    bigger_is_better: bool,
    base: f64,
    new: f64,
    noise_pct: f64,
) -> MetricChange {
    let change_pct = if base > 0.0 {
        (new - base) / base * 100.0
    } else if new > 0.0 {
        100.0
    } else {
        0.0
    };
    let better = if bigger_is_better {
        change_pct
    } else {
        -change_pct
    };
    let verdict = if better > noise_pct {
        Verdict::Improved
    } else if better < -noise_pct {
        Verdict::Regressed
    } else {
        Verdict::WithinNoise
    };
    MetricChange {
        subject,
        metric,
        unit,
        bigger_is_better,
        base,
        new,
        change_pct,
        noise_pct,
        verdict,
    }
}

/// The range of `values` relative to their median, in percent.
fn spread_pct(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (Some(min), Some(max)) = (sorted.first(), sorted.last()) else {
        return 0.0;
    };
    let median = sorted[sorted.len() / 2];
    if median > 0.0 {
        (max - min) / median * 100.0
    } else {
        0.0
    }
}

/// The comparison as a Markdown table, regressions first.
pub fn comparison_table(changes: &[MetricChange], threshold_pct: f64) -> String {
    let mut sorted: Vec<&MetricChange> = changes.iter().collect();
    sorted.sort_by_key(|c| match c.verdict {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::WithinNoise => 2,
    });
    let mut out = format!(
        "Threshold: ±{threshold_pct}% (or the spread of repeated runs, where both sides have \
         them)\n\n| subject | metric | base | new | change | noise | verdict |\n\
         |---|---|---:|---:|---:|---:|---|\n"
    );
    for c in sorted {
        let verdict = match c.verdict {
            Verdict::Improved => "improved",
            Verdict::Regressed => "**regressed**",
            Verdict::WithinNoise => "within noise",
        };
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} {} | {:.0} {} | {:+.1}% | ±{:.1}% | {verdict} |",
            c.subject, c.metric, c.base, c.unit, c.new, c.unit, c.change_pct, c.noise_pct
        );
    }
    out
}

/// The new values in github-action-benchmark's `customSmallerIsBetter` (latencies) or
/// `customBiggerIsBetter` (throughput) format.
pub fn action_benchmark_json(
    changes: &[MetricChange],
    bigger_is_better: bool,
) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = changes
        .iter()
        .filter(|c| c.bigger_is_better == bigger_is_better)
        .map(|c| {
            serde_json::json!({
                "name": format!("{} {}", c.subject, c.metric),
                "unit": c.unit,
                "value": c.new,
                "extra": format!("base {:.0} {}, change {:+.1}%", c.base, c.unit, c.change_pct),
            })
        })
        .collect();
    serde_json::Value::Array(entries)
}
