//! The report: plain data, serialized as `report.json`. Its shape is documented in
//! `reports/README.md` and `reports/report.schema.json`; any change to it bumps
//! [`SCHEMA_VERSION`], except a field added with a default (`#[serde(default)]`): reports of
//! older builds still read, and older builds refuse the new field by name (unknown fields are
//! errors), so the committed baselines stay comparable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version of the report format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 6;

/// The oldest version this build still reads. Version 6 added only `resources` to each phase,
/// which a version-5 report lacks (`null`): both measure the same things the same way, so the
/// committed version-5 baselines read, and `compare` and `report` set them beside version-6
/// runs.
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 5;

/// Whether this build reads reports of `version`.
pub(crate) fn readable(version: u64) -> bool {
    (u64::from(OLDEST_READABLE_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION)).contains(&version)
}

/// One run of one workload on one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The storebench version that ran it.
    pub storebench_version: String,
    /// What ran.
    pub workload: WorkloadInfo,
    /// Where it ran.
    pub backend: BackendInfo,
    /// The seed of every worker's random stream.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Target operations per second (open loop), or `None` for closed loop.
    pub target_ops_per_sec: Option<f64>,
    /// Seconds since the Unix epoch at the start.
    pub started_at_unix: u64,
    /// The machine.
    pub machine: Machine,
    /// Versions of the harness's crates that decide the measurements (storebench, its
    /// histograms); the store's are in `backend.versions`.
    pub crates: BTreeMap<String, String>,
    /// The load phase.
    pub load: Phase,
    /// The measured run.
    pub run: Phase,
    /// Per operation type, in the measured run.
    pub operations: Vec<OperationStats>,
    /// Operations completed in each second of the measured run; the last entry covers the
    /// final, partial second.
    pub throughput_series: Vec<u64>,
    /// Bytes of the database file after the run (`null` for in-memory backends).
    pub file_bytes: Option<u64>,
    /// Bytes of ids and values live at the end.
    pub live_bytes: u64,
    /// `file_bytes / live_bytes`.
    pub space_amplification: Option<f64>,
    /// Peak resident memory of the process during the run.
    pub peak_rss_bytes: Option<u64>,
    /// Properties of the workload file that do not apply here (YCSB's `workload`, `db`,
    /// `table`, ...): accepted, and listed so nobody believes they took effect.
    pub ignored_properties: Vec<String>,
    /// Where this run's operations differ from YCSB's in mechanics, each said once.
    pub notes: Vec<String>,
    /// Whether the run was interrupted (Ctrl-C) before it ended: its figures are partial, and
    /// `compare` treats it as a failed run.
    pub interrupted: bool,
    /// With `--repeat N`: every run's figures. The rest of the report is the run with the
    /// median throughput.
    pub repeat: Option<Repeat>,
    /// Which `storebench run` wrote it (its start in Unix milliseconds, process id and a count):
    /// `report` sets side by side only rows of one invocation, so a run left in `--out` by an
    /// earlier one is never paired with this one's. `null` in reports of older builds.
    #[serde(default)]
    pub invocation: Option<String>,
    /// With `storebench run --data`: the directory each run's store was kept in, in run order
    /// (with a `-2`, `-3`... suffix when `<workload>-<backend>` was taken). Empty for
    /// temporary stores, removed after the run.
    #[serde(default)]
    pub store_dirs: Vec<String>,
}

impl AsRef<Report> for Report {
    fn as_ref(&self) -> &Report {
        self
    }
}

/// The spread of repeated runs of one workload on one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// How many runs' figures are kept: the complete ones, or the interrupted one when none
    /// completed (an interrupted run after complete ones would pull the median with partial
    /// figures, so it is left out).
    pub runs: usize,
    /// How many runs were asked for (`--repeat`); more than the complete ones when
    /// interrupted, and the report is then marked `interrupted`. Older builds did not write
    /// it (0).
    #[serde(default)]
    pub requested: usize,
    /// Each run's successful operations per second, in run order.
    pub throughput_ops_per_sec: Vec<f64>,
    /// Per operation, each run's p50, p99 and p99.9 in nanoseconds, in run order.
    pub latency_ns: BTreeMap<String, RepeatLatency>,
    /// The backends of the command, by name, in the order every run of this workload was made
    /// (`storebench run` alternates them: A B B A A B ...); empty when the runs were made
    /// alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<String>,
}

/// One operation's latency percentiles over repeated runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatLatency {
    /// Each run's median.
    pub p50: Vec<u64>,
    /// Each run's 99th percentile.
    pub p99: Vec<u64>,
    /// Each run's 99.9th percentile.
    pub p999: Vec<u64>,
}

/// The workload, by name and with every resolved parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadInfo {
    /// The workload's name (its file stem).
    pub name: String,
    /// Its one-line description.
    pub description: String,
    /// Every parameter as resolved (defaults applied, overrides included).
    pub parameters: serde_json::Value,
}

/// The backend, as its binding describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendInfo {
    /// The name it was selected by: its binding's, or `<binding>-durable`.
    pub name: String,
    /// Its binding's name.
    pub binding: String,
    /// `on-flush` or `every-write` for stores that persist.
    pub durability: Option<String>,
    /// The binding's settings for the run (page cache, synchronous mode, ...).
    pub settings: BTreeMap<String, String>,
    /// The versions of what the store is built on (its crate, its engine), as its binding
    /// says; empty in reports of older builds.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// The binding whose throughput reports set beside this one's, if any.
    pub reference: Option<String>,
    /// Whether the store discards what it is given (`null`, `basic`): its figures measure
    /// the harness alone, so tables never mark them best.
    #[serde(default)]
    pub stores_nothing: bool,
}

/// The machine a report was made on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Operating system (`linux`, ...).
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// CPU model, where known.
    pub cpu_model: Option<String>,
    /// Total memory, where known.
    pub memory_bytes: Option<u64>,
}

/// One phase's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// When the phase started, in milliseconds since the Unix epoch: what lines up the runs
    /// of client processes that ran together (see `merge`).
    pub started_at_unix_ms: u64,
    /// Wall-clock seconds.
    pub duration_secs: f64,
    /// Operations completed (load: timed load operations, inserts or batches).
    pub operations: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Successful operations per second (load: documents per second).
    pub throughput_ops_per_sec: f64,
    /// Load: documents loaded. `None` for the run.
    pub documents: Option<u64>,
    /// Load: documents per timed load operation; 1 is one timed insert per record, as YCSB
    /// loads. `None` for the run.
    pub batch_size: Option<usize>,
    /// Load: latency of each timed load operation. `None` for the run.
    pub latency_ns: Option<Latency>,
    /// What the resource monitor sampled over the phase; `None` in reports of version 5, of
    /// merged client processes, and when the monitor could not run.
    #[serde(default)]
    pub resources: Option<Resources>,
}

/// One phase's resource samples, as columns (entry `i` of each is sample `i`), and the totals
/// derived from them. The first sample is taken as the phase starts, the last after the flush
/// that ends it, so the last entry of a counter is the phase's total. Counters (`cpu_*`,
/// `device_*`, `logical_*`, `operations`) count from the phase's start; `rss_bytes` and
/// `store_bytes` are the value at the instant. A column the platform does not report is
/// `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// The interval asked for between samples, in milliseconds.
    pub interval_ms: u64,
    /// When each sample was taken, in milliseconds since the phase started.
    pub elapsed_ms: Vec<u64>,
    /// Operations completed (failed ones included) by type, for the types that ran: a
    /// read-modify-write counts once, so at the last sample they sum to the phase's
    /// `operations`.
    pub operations: BTreeMap<String, Vec<u64>>,
    /// Bytes of ids and values the workload gave the store in operations that succeeded.
    pub logical_write_bytes: Vec<u64>,
    /// Bytes of ids and values the store returned to the workload.
    pub logical_read_bytes: Vec<u64>,
    /// User CPU time of the whole process (the harness's work included), in microseconds.
    pub cpu_user_us: Option<Vec<u64>>,
    /// System CPU time of the whole process, in microseconds.
    pub cpu_system_us: Option<Vec<u64>>,
    /// Resident memory of the process.
    pub rss_bytes: Option<Vec<u64>>,
    /// Bytes the process caused the storage devices to write (Linux task I/O accounting).
    pub device_write_bytes: Option<Vec<u64>>,
    /// Bytes the process caused the storage devices to read (a read served from the page
    /// cache counts nothing).
    pub device_read_bytes: Option<Vec<u64>>,
    /// Bytes of the store's files; `None` for a store kept in memory.
    pub store_bytes: Option<Vec<u64>>,
    /// `store_bytes` per live logical byte at each sample; an entry is `None` while nothing
    /// is live. Live bytes are estimated: in the load, what it has written so far; in the
    /// run, the bytes live at its end less the documents inserted since the sample (plus
    /// those deleted), at the end's mean document size.
    pub space_amplification: Option<Vec<Option<f64>>>,
    /// The phase's totals.
    pub totals: ResourceTotals,
}

/// A phase's resource totals: the last sample's counters and the ratios made of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTotals {
    /// Operations completed, all types together.
    pub operations: u64,
    /// Bytes of ids and values written (inserts, updates, the load's documents).
    pub logical_write_bytes: u64,
    /// Bytes of ids and values read back (reads, scans, finds, the read of an update).
    pub logical_read_bytes: u64,
    /// Bytes the process caused the devices to write; `None` where not reported.
    pub device_write_bytes: Option<u64>,
    /// Bytes the process caused the devices to read; `None` where not reported.
    pub device_read_bytes: Option<u64>,
    /// User CPU time of the process, in microseconds.
    pub cpu_user_us: Option<u64>,
    /// System CPU time of the process, in microseconds.
    pub cpu_system_us: Option<u64>,
    /// `device_write_bytes / logical_write_bytes`: bytes the devices were made to write per
    /// byte the workload wrote.
    pub write_amplification: Option<f64>,
    /// `device_read_bytes / logical_read_bytes`.
    pub read_amplification: Option<f64>,
    /// CPU time (user and system) per operation, in microseconds.
    pub cpu_us_per_operation: Option<f64>,
}

/// One operation type's measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationStats {
    /// `read`, `update`, `insert`, `scan`, `read-modify-write`, `delete`, `find`, `count`,
    /// `scan-prefix`.
    pub operation: String,
    /// Successful operations.
    pub count: u64,
    /// Failed operations.
    pub errors: u64,
    /// Successful operations per second of the run.
    pub throughput_ops_per_sec: f64,
    /// Service time of successful operations.
    pub latency_ns: Latency,
    /// Latency from the intended start (open loop only).
    pub intended_latency_ns: Option<Latency>,
    /// Service time of failed operations, when any failed.
    pub failed_latency_ns: Option<Latency>,
    /// What a failed operation said, when any failed: the first failure of the
    /// lowest-numbered thread that had one.
    pub first_error: Option<String>,
}

/// A latency distribution in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile (YCSB's summary prints it).
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
}
