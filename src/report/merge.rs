//! Merging the reports of client processes that ran one workload together, YCSB's way to drive
//! a store from more than one machine (each client loads its own `insertstart`/`insertcount`
//! range): histograms added, operations counted once each, and throughput summed over the
//! interval in which every client was running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use super::compare::{CompareError, load_report, report_paths};
use super::from_outcome::latency;
use super::hgrm::percentile_distribution;
use super::interval_log::interval_log;
use super::schema::{OperationStats, Phase, Report};
use super::write::WriteError;

/// Why client reports could not be merged.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum MergeError {
    /// A report or histogram could not be read.
    Unreadable(CompareError),
    /// The reports are not of runs that belong together; `why` says what differs.
    Incomparable {
        /// `<workload>/<backend>`.
        subject: String,
        /// What differs.
        why: String,
    },
    /// The merged report could not be written.
    Write(WriteError),
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::Unreadable(e) => write!(f, "{e}"),
            MergeError::Incomparable { subject, why } => {
                write!(f, "{subject}: the runs cannot be merged: {why}")
            }
            MergeError::Write(e) => write!(f, "{e}: {}", e.source),
        }
    }
}

impl std::error::Error for MergeError {}

/// Workload parameters each client may set for itself: its share of the load, its threads,
/// its random stream.
const PER_CLIENT: [&str; 4] = ["insert_start", "insert_count", "threads", "seed"];

/// Merges the runs found under each of `clients` (each a client's `--out` directory) by
/// workload and backend, and writes each merged report and its histograms under `out` in the
/// same layout. Every client must hold the same runs.
///
/// # Errors
/// [`MergeError`] naming the report, the difference, or the file that failed.
pub(crate) fn merge_clients(clients: &[PathBuf], out: &Path) -> Result<Vec<Report>, MergeError> {
    let mut runs: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for client in clients {
        let paths = report_paths(client).map_err(MergeError::Unreadable)?;
        for path in paths {
            let dir = path.parent().unwrap_or(client);
            let relative = dir.strip_prefix(client).unwrap_or(dir).to_owned();
            runs.entry(relative).or_default().push(dir.to_owned());
        }
    }
    let mut merged = Vec::new();
    for (relative, dirs) in runs {
        if dirs.len() != clients.len() {
            return Err(MergeError::Incomparable {
                subject: relative.display().to_string(),
                why: format!(
                    "only {} of the {} client directories hold this run",
                    dirs.len(),
                    clients.len()
                ),
            });
        }
        let read = dirs
            .iter()
            .map(|d| read_run(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(MergeError::Unreadable)?;
        let (report, histograms) = merge(&read)?;
        write(&report, &histograms, &out.join(&relative)).map_err(MergeError::Write)?;
        merged.push(report);
    }
    Ok(merged)
}

/// One client's run: its report, and its service-time histograms by file stem.
type Run = (Report, BTreeMap<String, Histogram<u64>>);

fn read_run(dir: &Path) -> Result<Run, CompareError> {
    let report = load_report(&dir.join("report.json"))?;
    let mut histograms = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e.to_string()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "hlog")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            histograms.insert(stem.to_owned(), read_hlog(&path)?);
        }
    }
    Ok((report, histograms))
}

fn unreadable(path: &Path, reason: String) -> CompareError {
    CompareError::Unreadable {
        path: path.to_owned(),
        reason,
    }
}

/// Every interval of an interval log, added into one histogram.
fn read_hlog(path: &Path) -> Result<Histogram<u64>, CompareError> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e.to_string()))?;
    let mut total = crate::runner::new_histogram();
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| unreadable(path, format!("{e:?}")))?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| unreadable(path, e.to_string()))?;
        let h: Histogram<u64> = deserializer
            .deserialize(&mut encoded.as_slice())
            .map_err(|e| unreadable(path, format!("{e:?}")))?;
        total
            .add(&h)
            .map_err(|e| unreadable(path, format!("{e:?}")))?;
    }
    Ok(total)
}

/// The merged report and histograms of the runs of one workload and backend.
fn merge(runs: &[Run]) -> Result<Run, MergeError> {
    let Some((first, _)) = runs.first() else {
        return Err(MergeError::Incomparable {
            subject: String::new(),
            why: "no runs".into(),
        });
    };
    let subject = format!("{}/{}", first.workload.name, first.backend.name);
    let incomparable = |why: String| MergeError::Incomparable {
        subject: subject.clone(),
        why,
    };
    let shared = |r: &Report| {
        let mut p = r.workload.parameters.clone();
        if let Some(p) = p.as_object_mut() {
            for key in PER_CLIENT {
                p.remove(key);
            }
        }
        (r.backend.name.clone(), r.backend.durability.clone(), p)
    };
    for (report, _) in &runs[1..] {
        if shared(report) != shared(first) {
            return Err(incomparable(
                "their workloads or backends differ in more than insertstart, insertcount, \
                 threadcount and seed"
                    .into(),
            ));
        }
    }

    // The interval every client was running in.
    let window = |p: &Phase| {
        let start = p.started_at_unix_ms as f64 / 1000.0;
        (start, start + p.duration_secs)
    };
    let start = runs
        .iter()
        .map(|r| window(&r.0.run).0)
        .fold(f64::MIN, f64::max);
    let end = runs
        .iter()
        .map(|r| window(&r.0.run).1)
        .fold(f64::MAX, f64::min);
    if end <= start {
        return Err(incomparable(
            "their measured runs do not overlap in time: they did not run together".into(),
        ));
    }
    let earliest = runs
        .iter()
        .map(|r| window(&r.0.run).0)
        .fold(f64::MAX, f64::min);

    let mut histograms: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for (_, hs) in runs {
        for (stem, h) in hs {
            let total = histograms
                .entry(stem.clone())
                .or_insert_with(crate::runner::new_histogram);
            // Histograms of one shape always add; saturation only clamps counts.
            let _ = total.add(h);
        }
    }

    let mut report = first.clone();
    report.threads = runs.iter().map(|r| r.0.threads).sum();
    report.target_ops_per_sec = runs
        .iter()
        .map(|r| r.0.target_ops_per_sec)
        .sum::<Option<f64>>();
    report.started_at_unix = runs.iter().map(|r| r.0.started_at_unix).min().unwrap_or(0);
    report.load = merge_load(
        runs,
        histograms.get("load-insert").or(histograms.get("load")),
    );
    report.run = merge_run(runs, start, end);
    report.operations = merge_operations(runs, &histograms);
    report.throughput_series = merge_series(runs, earliest);
    report.file_bytes = runs.iter().map(|r| r.0.file_bytes).sum();
    report.live_bytes = runs.iter().map(|r| r.0.live_bytes).sum();
    report.space_amplification = report
        .file_bytes
        .filter(|_| report.live_bytes > 0)
        .map(|f| f as f64 / report.live_bytes as f64);
    report.peak_rss_bytes = runs.iter().filter_map(|r| r.0.peak_rss_bytes).max();
    report.repeat = None;
    report.interrupted = runs.iter().any(|r| r.0.interrupted);
    for (r, _) in &runs[1..] {
        for ignored in &r.ignored_properties {
            if !report.ignored_properties.contains(ignored) {
                report.ignored_properties.push(ignored.clone());
            }
        }
    }
    report.notes.push(format!(
        "merged from {} client processes: latencies from their histograms added, run \
         throughput summed over the {:.3} s in which all were running; file and live bytes \
         summed, peak RSS the largest; failed-operation and intended latencies are each \
         client's own and not merged",
        runs.len(),
        end - start
    ));
    Ok((report, histograms))
}

fn merge_load(runs: &[Run], latencies: Option<&Histogram<u64>>) -> Phase {
    let loads: Vec<&Phase> = runs.iter().map(|r| &r.0.load).collect();
    let start = loads
        .iter()
        .map(|p| p.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let end = loads
        .iter()
        .map(|p| p.started_at_unix_ms as f64 / 1000.0 + p.duration_secs)
        .fold(0.0, f64::max);
    let duration = (end - start as f64 / 1000.0).max(0.0);
    let documents: u64 = loads.iter().filter_map(|p| p.documents).sum();
    Phase {
        started_at_unix_ms: start,
        duration_secs: duration,
        operations: loads.iter().map(|p| p.operations).sum(),
        errors: loads.iter().map(|p| p.errors).sum(),
        throughput_ops_per_sec: if duration > 0.0 {
            documents as f64 / duration
        } else {
            0.0
        },
        documents: Some(documents),
        batch_size: loads.first().and_then(|p| p.batch_size),
        latency_ns: latencies.map(latency),
        // Each client sampled its own process; their columns do not add up to one series.
        resources: None,
    }
}

/// The run phase over `start..end` (seconds since the epoch): each client's operations in that
/// window, from its per-second series, prorated at the window's edges.
fn merge_run(runs: &[Run], start: f64, end: f64) -> Phase {
    let mut succeeded = 0.0;
    for (r, _) in runs {
        let began = r.run.started_at_unix_ms as f64 / 1000.0;
        let in_window: f64 = r
            .throughput_series
            .iter()
            .enumerate()
            .map(|(i, &ops)| {
                let (from, to) = (began + i as f64, began + i as f64 + 1.0);
                let overlap = (to.min(end) - from.max(start)).max(0.0);
                ops as f64 * overlap
            })
            .sum();
        let ok = if r.run.operations > 0 {
            1.0 - r.run.errors as f64 / r.run.operations as f64
        } else {
            0.0
        };
        succeeded += in_window * ok;
    }
    Phase {
        started_at_unix_ms: (start * 1000.0) as u64,
        duration_secs: end - start,
        operations: runs.iter().map(|r| r.0.run.operations).sum(),
        errors: runs.iter().map(|r| r.0.run.errors).sum(),
        throughput_ops_per_sec: succeeded / (end - start),
        documents: None,
        batch_size: None,
        latency_ns: None,
        resources: None,
    }
}

fn merge_operations(
    runs: &[Run],
    histograms: &BTreeMap<String, Histogram<u64>>,
) -> Vec<OperationStats> {
    let mut merged: Vec<OperationStats> = Vec::new();
    for (r, _) in runs {
        for op in &r.operations {
            match merged.iter_mut().find(|m| m.operation == op.operation) {
                Some(m) => {
                    m.count += op.count;
                    m.errors += op.errors;
                    m.throughput_ops_per_sec += op.throughput_ops_per_sec;
                    if m.first_error.is_none() {
                        m.first_error.clone_from(&op.first_error);
                    }
                }
                None => merged.push(op.clone()),
            }
        }
    }
    for op in &mut merged {
        if let Some(h) = histograms.get(&op.operation) {
            op.latency_ns = latency(h);
        }
        op.intended_latency_ns = None;
        op.failed_latency_ns = None;
    }
    merged
}

/// Per-second counts added, each client's shifted by the whole seconds it started after the
/// first.
fn merge_series(runs: &[Run], earliest: f64) -> Vec<u64> {
    let mut series: Vec<u64> = Vec::new();
    for (r, _) in runs {
        let offset = (r.run.started_at_unix_ms as f64 / 1000.0 - earliest).round() as usize;
        for (i, &ops) in r.throughput_series.iter().enumerate() {
            if series.len() <= offset + i {
                series.resize(offset + i + 1, 0);
            }
            series[offset + i] += ops;
        }
    }
    series
}

fn write(
    report: &Report,
    histograms: &BTreeMap<String, Histogram<u64>>,
    dir: &Path,
) -> Result<(), WriteError> {
    let fail = |path: PathBuf| move |source| WriteError { path, source };
    std::fs::create_dir_all(dir).map_err(fail(dir.to_owned()))?;
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other);
    let path = dir.join("report.json");
    let json = json.map_err(fail(path.clone()))?;
    super::write::write_whole(&path, &json).map_err(fail(path))?;
    let started =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(report.run.started_at_unix_ms);
    let duration = std::time::Duration::from_secs_f64(report.run.duration_secs);
    for (stem, h) in histograms {
        let path = dir.join(format!("{stem}.hgrm"));
        std::fs::write(&path, percentile_distribution(h)).map_err(fail(path))?;
        let path = dir.join(format!("{stem}.hlog"));
        let log = interval_log(h, started, duration, stem).map_err(fail(path.clone()))?;
        std::fs::write(&path, log).map_err(fail(path))?;
    }
    Ok(())
}
