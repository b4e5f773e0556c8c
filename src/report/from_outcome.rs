//! Summarising a `RunOutcome` into a `Report`.

use hdrhistogram::Histogram;

use super::environment;
use super::schema::{
    BackendInfo, Latency, OperationStats, Phase, Report, Resources, SCHEMA_VERSION, WorkloadInfo,
};
use crate::runner::{PhaseOutcome, RunOutcome};
use crate::workload::{Operation, Workload};

impl Report {
    /// The report of one run.
    pub fn from_outcome(outcome: &RunOutcome) -> Report {
        let workload = &outcome.workload;
        let persistent = outcome.durability.is_some();
        let run_secs = outcome.run.duration.as_secs_f64();
        let operations = outcome
            .run
            .operations
            .iter()
            .map(|(op, h)| OperationStats {
                operation: op.name().to_owned(),
                count: h.service.len(),
                errors: h.failed.len(),
                throughput_ops_per_sec: if run_secs > 0.0 {
                    h.service.len() as f64 / run_secs
                } else {
                    0.0
                },
                latency_ns: latency(&h.service),
                intended_latency_ns: h.intended.as_ref().map(latency),
                failed_latency_ns: (!h.failed.is_empty()).then(|| latency(&h.failed)),
                first_error: h.first_error.clone(),
            })
            .collect();
        Report {
            schema_version: SCHEMA_VERSION,
            storebench_version: env!("CARGO_PKG_VERSION").to_owned(),
            workload: WorkloadInfo {
                name: workload.name.clone(),
                description: workload.description.clone(),
                parameters: parameters(workload),
            },
            backend: BackendInfo {
                name: outcome.backend.clone(),
                binding: outcome.binding.clone(),
                settings: outcome.settings.clone(),
                versions: outcome.versions.clone(),
                reference: outcome.reference.clone(),
                stores_nothing: outcome.stores_nothing,
                durability: outcome.durability.map(|d| d.to_string()),
            },
            seed: workload.seed,
            threads: workload.threads,
            target_ops_per_sec: workload.target,
            started_at_unix: outcome.started_at_unix,
            machine: environment::machine(),
            crates: environment::crates(),
            load: load_phase(&outcome.load, workload.load_batch_size),
            run: phase(&outcome.run),
            operations,
            throughput_series: outcome.run.per_second.clone(),
            file_bytes: outcome.file_bytes.filter(|_| persistent),
            live_bytes: outcome.live_bytes,
            space_amplification: outcome.space_amplification(),
            peak_rss_bytes: outcome.peak_rss_bytes,
            ignored_properties: workload.ignored_properties.clone(),
            notes: {
                let mut notes = notes(workload);
                notes.extend(resource_notes(outcome));
                if outcome.interrupted {
                    notes.push(format!(
                        "interrupted after {} load operations and {} run operations: the \
                         figures cover what ran until then",
                        outcome.load.completed, outcome.run.completed
                    ));
                }
                notes
            },
            interrupted: outcome.interrupted,
            repeat: None,
            invocation: None,
            store_dirs: Vec::new(),
        }
    }
}

/// Every workload parameter as the run used it. A timed run (`maxexecutiontime`,
/// `--duration`) ignores the operation count, so it shows as `null`; `run.operations` holds
/// what ran.
fn parameters(workload: &Workload) -> serde_json::Value {
    // A Workload is plain data; serializing it cannot fail.
    let mut parameters = serde_json::to_value(workload).unwrap_or_default();
    if workload.max_execution_time.is_some() {
        parameters["operation_count"] = serde_json::Value::Null;
    }
    parameters
}

/// What a reader comparing with YCSB must know about how this workload ran.
fn notes(workload: &Workload) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(in_file) = workload.operation_count_in_file {
        notes.push(format!(
            "ran {} operations where the workload gives {in_file}, so that the percentiles rest \
             on enough samples (storebench run --min-ops; 0 runs the file's count)",
            workload.operation_count
        ));
    }
    if workload.load_batch_size > 1 {
        notes.push(format!(
            "the load wrote batches of {} documents through upsert_many, each timed as one \
             operation; YCSB times one insert per record",
            workload.load_batch_size
        ));
    }
    let one_field = !workload.write_all_fields && workload.field_count > 1;
    if one_field && workload.runs(Operation::Update) {
        notes.push(
            "an update writes one field: through a store of whole documents that is a get, the \
             field replaced, and an upsert, timed together as the update"
                .into(),
        );
    }
    if one_field && workload.runs(Operation::ReadModifyWrite) {
        notes.push(
            "a read-modify-write's update writes one field: the field is replaced in the \
             record it read, and the whole record upserted"
                .into(),
        );
    }
    if workload.runs(Operation::ReadModifyWrite) {
        notes.push(
            "each read-modify-write's read and write are counted and timed under read and \
             update too, as YCSB counts them"
                .into(),
        );
    }
    if workload.runs(Operation::Read) && !workload.read_all_fields {
        notes.push("a read asks for one field; the store returns the whole document".into());
    }
    notes
}

/// What a reader of the resource figures must know: where some are missing, and why.
fn resource_notes(outcome: &RunOutcome) -> Vec<String> {
    let mut notes = Vec::new();
    let series = [&outcome.load, &outcome.run].map(|p| p.resources.as_ref());
    if outcome.sample_interval.is_none() {
        notes.push("the resource monitor was off: resources is null".into());
    } else if series.iter().any(Option::is_none) {
        notes.push(
            "the resource monitor's thread could not be started: a phase has no resource \
             samples (resources is null)"
                .into(),
        );
    }
    let monitored = series.iter().flatten();
    if monitored.clone().any(|s| s.device_write_bytes.is_none()) {
        notes.push(
            "device I/O is not reported on this platform (Linux's /proc/self/io, with task I/O \
             accounting): device bytes and write and read amplification are null"
                .into(),
        );
    }
    if monitored.clone().any(|s| s.cpu_user.is_none()) {
        notes.push("CPU time is not reported on this platform: cpu columns are null".into());
    }
    notes
}

fn phase(p: &PhaseOutcome) -> Phase {
    Phase {
        started_at_unix_ms: p
            .started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        duration_secs: p.duration.as_secs_f64(),
        operations: p.operation_count(),
        // Operations, not histogram entries: a read-modify-write's parts are in those too.
        errors: p.completed - p.succeeded,
        throughput_ops_per_sec: p.throughput(),
        documents: None,
        batch_size: None,
        latency_ns: None,
        resources: p.resources.as_ref().map(Resources::from_series),
    }
}

/// The load's totals: the documents it really wrote (not `insertcount`, which an interrupted
/// load or a failed batch falls short of), and their rate.
fn load_phase(p: &PhaseOutcome, batch_size: usize) -> Phase {
    let documents = p.documents;
    let secs = p.duration.as_secs_f64();
    Phase {
        throughput_ops_per_sec: if secs > 0.0 {
            documents as f64 / secs
        } else {
            0.0
        },
        documents: Some(documents),
        batch_size: Some(batch_size),
        latency_ns: p
            .operations
            .get(&Operation::Load)
            .or_else(|| p.operations.get(&Operation::Insert))
            .map(|h| latency(&h.service)),
        ..phase(p)
    }
}

/// The summary of a histogram in nanoseconds (all zero when it is empty).
pub(crate) fn latency(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency {
            mean: 0.0,
            min: 0,
            p50: 0,
            p90: 0,
            p95: 0,
            p99: 0,
            p999: 0,
            p9999: 0,
            max: 0,
        };
    }
    Latency {
        mean: h.mean(),
        min: h.min(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p95: h.value_at_quantile(0.95),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        p9999: h.value_at_quantile(0.9999),
        max: h.max(),
    }
}
