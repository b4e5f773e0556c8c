//! Comparing two sets of reports: per workload, backend and operation, is the new run better,
//! worse, or within noise of the base? Each metric is judged against its own run-to-run
//! noise, by the rule in [`Verdict`](super::Verdict).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::judge::{Judgement, Runs, Verdict, judge};
use super::schema::{OLDEST_READABLE_SCHEMA_VERSION, OperationStats, Report, SCHEMA_VERSION};

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
    /// The change of the medians of the runs, in percent of the base's.
    pub change_pct: f64,
    /// The run-to-run noise shown: the larger relative spread (range over median) of the two
    /// sides' runs; 0 for a side of one run.
    pub noise_pct: f64,
    /// Runs on each side (base, new).
    pub runs: (usize, usize),
    /// The chance of runs this far apart if nothing had changed; `None` when they overlap.
    pub p_value: Option<f64>,
    /// The verdict.
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
                "{}: report schema version {found}, but this storebench reads versions \
                 {OLDEST_READABLE_SCHEMA_VERSION} to {SCHEMA_VERSION}; regenerate the reports \
                 with the same storebench",
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

/// A report read from its file: the directory holds its `.hgrm` files.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The directory of its `report.json`.
    pub dir: PathBuf,
    /// The report.
    pub report: Report,
}

impl AsRef<Report> for Located {
    fn as_ref(&self) -> &Report {
        &self.report
    }
}

/// Every report under `dir` that can be read, and why each other one cannot: a page made of
/// what is readable and says what is not is worth more than no page.
///
/// # Errors
/// [`CompareError::Empty`] when `dir` holds no `report.json` at all.
pub(crate) fn load_readable(dir: &Path) -> Result<(Vec<Located>, Vec<CompareError>), CompareError> {
    let mut readable = Vec::new();
    let mut skipped = Vec::new();
    for path in report_paths(dir)? {
        match load_report(&path) {
            Ok(report) => readable.push(Located {
                dir: path.parent().map(Path::to_owned).unwrap_or_default(),
                report,
            }),
            Err(e) => skipped.push(e),
        }
    }
    Ok((readable, skipped))
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
    if !super::schema::readable(found) {
        return Err(CompareError::SchemaVersion {
            path: path.to_owned(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))
}

/// Pairs `base` and `new` by workload and backend and judges the run's throughput and each
/// operation's p50, p99 and p99.9 by the rule in [`Verdict`](super::Verdict), with `threshold_pct`
/// the smallest change that matters. Several reports of one workload and backend on a side
/// pool their runs: runs of the old and the new build made in turns (`base/1`, `new/1`,
/// `base/2`, ...) share whatever the machine was doing, which sets of runs made one after the
/// other do not. Subjects present on one side only are left out (`storebench compare` names
/// them).
pub fn compare(base: &[Report], new: &[Report], threshold_pct: f64) -> Vec<MetricChange> {
    let mut changes = Vec::new();
    for (key, b, n) in pairs(base, new) {
        let subject = format!("{}/{}", key.0, key.1);
        let throughput = |reports: &[&Report]| -> Vec<f64> {
            reports
                .iter()
                .flat_map(|r| match &r.repeat {
                    Some(repeat) => repeat.throughput_ops_per_sec.clone(),
                    None => vec![r.run.throughput_ops_per_sec],
                })
                .collect()
        };
        let (bt, nt) = (throughput(&b), throughput(&n));
        let runs = Runs {
            base: &bt,
            new: &nt,
            bigger_is_better: true,
            percentile: None,
        };
        let judged = judge(&runs, threshold_pct);
        changes.push(change(
            subject.clone(),
            "throughput",
            "ops/s",
            &runs,
            judged,
        ));
        for operation in operation_names(&b) {
            let stats = |reports: &[&'_ Report]| -> Vec<OperationStats> {
                reports
                    .iter()
                    .filter_map(|r| r.operations.iter().find(|o| o.operation == operation))
                    .cloned()
                    .collect()
            };
            let (bs, ns) = (stats(&b), stats(&n));
            if ns.is_empty() {
                continue;
            }
            // Each run of a report measured about as many operations as its median run.
            let samples = bs.iter().chain(&ns).map(|o| o.count).min().unwrap_or(0);
            let subject = format!("{subject}/{operation}");
            for (metric, q, pick) in PERCENTILES {
                let values = |reports: &[&Report]| -> Vec<f64> {
                    reports
                        .iter()
                        .flat_map(|r| percentile_runs(r, &operation, pick))
                        .collect()
                };
                let (bv, nv) = (values(&b), values(&n));
                let runs = Runs {
                    base: &bv,
                    new: &nv,
                    bigger_is_better: false,
                    percentile: Some((q, samples)),
                };
                let judged = judge(&runs, threshold_pct);
                changes.push(change(subject.clone(), metric, "ns", &runs, judged));
            }
        }
    }
    changes
}

/// Which percentile: p50, p99 or p99.9.
#[derive(Clone, Copy)]
enum Percentile {
    P50,
    P99,
    P999,
}

const PERCENTILES: [(&str, f64, Percentile); 3] = [
    ("p50", 0.5, Percentile::P50),
    ("p99", 0.99, Percentile::P99),
    ("p99.9", 0.999, Percentile::P999),
];

/// A report's runs of one percentile of `operation`: every repeat's, or its one run's.
fn percentile_runs(report: &Report, operation: &str, which: Percentile) -> Vec<f64> {
    let repeated = report
        .repeat
        .as_ref()
        .and_then(|r| r.latency_ns.get(operation));
    if let Some(r) = repeated {
        let runs = match which {
            Percentile::P50 => &r.p50,
            Percentile::P99 => &r.p99,
            Percentile::P999 => &r.p999,
        };
        return runs.iter().map(|&v| v as f64).collect();
    }
    let Some(op) = report.operations.iter().find(|o| o.operation == operation) else {
        return Vec::new();
    };
    let l = &op.latency_ns;
    vec![match which {
        Percentile::P50 => l.p50,
        Percentile::P99 => l.p99,
        Percentile::P999 => l.p999,
    } as f64]
}

/// The operation types any of `reports` measured, in name order.
fn operation_names(reports: &[&Report]) -> Vec<String> {
    let names: std::collections::BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.operations.iter().map(|o| o.operation.clone()))
        .collect();
    names.into_iter().collect()
}

type Subject = (String, String);

/// The reports of `base` and `new` by workload and backend, where both sides have some.
fn pairs<'a>(
    base: &'a [Report],
    new: &'a [Report],
) -> Vec<(Subject, Vec<&'a Report>, Vec<&'a Report>)> {
    let index = |reports: &'a [Report]| -> BTreeMap<Subject, Vec<&'a Report>> {
        let mut index: BTreeMap<Subject, Vec<&'a Report>> = BTreeMap::new();
        for r in reports {
            let key = (r.workload.name.clone(), r.backend.name.clone());
            index.entry(key).or_default().push(r);
        }
        index
    };
    let (base, mut new) = (index(base), index(new));
    base.into_iter()
        .filter_map(|(key, b)| new.remove(&key).map(|n| (key, b, n)))
        .collect()
}

/// `workload/backend` of the reports on one side only: (only in base, only in new).
pub(crate) fn unpaired(base: &[Report], new: &[Report]) -> (Vec<String>, Vec<String>) {
    let keys = |reports: &[Report]| -> std::collections::BTreeSet<String> {
        reports
            .iter()
            .map(|r| format!("{}/{}", r.workload.name, r.backend.name))
            .collect()
    };
    let (b, n) = (keys(base), keys(new));
    (
        b.difference(&n).cloned().collect(),
        n.difference(&b).cloned().collect(),
    )
}

/// For each pair `compare` would judge whose runs differ in setup, `workload/backend` and what
/// differs (see [`differences`](super::comparable::differences)).
pub(crate) fn incomparable(base: &[Report], new: &[Report]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (key, b, n) in pairs(base, new) {
        let all: Vec<&Report> = b.into_iter().chain(n).collect();
        let found = super::comparable::differences_among(&all);
        if !found.is_empty() {
            out.push((format!("{}/{}", key.0, key.1), found));
        }
    }
    out
}

/// `workload/backend` of the reports with failed operations, in the run or the load, or of
/// runs that were interrupted.
pub(crate) fn failed_runs(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .filter(|r| r.run.errors > 0 || r.load.errors > 0 || r.interrupted)
        .map(|r| format!("{}/{}", r.workload.name, r.backend.name))
        .collect()
}

fn change(
    subject: String,
    metric: &'static str,
    unit: &'static str,
    runs: &Runs<'_>,
    judged: Judgement,
) -> MetricChange {
    MetricChange {
        subject,
        metric,
        unit,
        bigger_is_better: runs.bigger_is_better,
        base: judged.base,
        new: judged.new,
        change_pct: judged.change_pct,
        noise_pct: judged.noise_pct,
        runs: (runs.base.len(), runs.new.len()),
        p_value: judged.p_value,
        verdict: judged.verdict,
    }
}

/// `changes` in the order a reader wants them: regressions first, then improvements, changes
/// within noise, and those not judged.
pub(crate) fn by_verdict(changes: &[MetricChange]) -> Vec<&MetricChange> {
    let mut sorted: Vec<&MetricChange> = changes.iter().collect();
    sorted.sort_by_key(|c| match c.verdict {
        Verdict::Regressed | Verdict::GrossRegression => 0,
        Verdict::Improved | Verdict::GrossImprovement => 1,
        Verdict::WithinNoise => 2,
        Verdict::TooFewSamples => 3,
        Verdict::InsufficientData => 4,
    });
    sorted
}

/// The rule the verdicts follow, said once above every comparison.
pub(crate) fn verdict_rule(threshold_pct: f64) -> String {
    format!(
        "A metric regressed (or improved) when every new run is worse (better) than every base \
         run and the medians differ by more than {threshold_pct}% and by more than the runs' \
         spread (the noise column); it needs {} runs a side (runs of both builds made in \
         turns; see reports/README.md) — with fewer, only throughput or p50 changed by more \
         than {}x is judged — and a percentile needs {} samples above it in a run.",
        super::judge::MIN_RUNS,
        super::judge::GROSS_FACTOR,
        super::judge::MIN_SAMPLES_ABOVE,
    )
}

/// The comparison as a Markdown table, regressions first.
pub(crate) fn comparison_table(changes: &[MetricChange], threshold_pct: f64) -> String {
    let mut out = format!(
        "{}\n\n\
         | subject | metric | base | new | change | noise | runs | p | verdict |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n",
        verdict_rule(threshold_pct)
    );
    for c in by_verdict(changes) {
        let verdict = match c.verdict {
            Verdict::Regressed | Verdict::GrossRegression => {
                c.verdict.label().replacen("regressed", "**regressed**", 1)
            }
            _ => c.verdict.label().to_owned(),
        };
        let p = c.p_value.map_or("–".to_owned(), |p| format!("{p:.3}"));
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} {} | {:.0} {} | {:+.1}% | ±{:.1}% | {}/{} | {p} | {verdict} |",
            c.subject,
            c.metric,
            c.base,
            c.unit,
            c.new,
            c.unit,
            c.change_pct,
            c.noise_pct,
            c.runs.0,
            c.runs.1
        );
    }
    out
}

/// The new values in github-action-benchmark's `customSmallerIsBetter` (latencies) or
/// `customBiggerIsBetter` (throughput) format.
pub(crate) fn action_benchmark_json(
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
