//! The command-line grammar.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Benchmark CRDT document-store backends with YCSB-style workloads.
#[derive(Debug, Parser)]
#[command(name = "storebench", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run workloads on backends; write a report per workload and backend.
    Run(RunArgs),
    /// List the workloads in the workloads directory and the backends, with descriptions.
    List(ListArgs),
    /// Compare two sets of reports; exit 1 when a metric regressed beyond its noise, 4 when
    /// none did but some could not be judged (fewer than five runs a side).
    Compare(CompareArgs),
    /// Render Markdown comparisons of every report.json under the directories (runs nothing).
    Report(ReportArgs),
    /// Merge the reports of client processes that ran one workload together (each loading its
    /// own insertstart/insertcount range) into one report per workload and backend.
    Merge(MergeArgs),
    /// Run replication workloads: replicas of a store writing shared documents and syncing
    /// over a topology; write DIR/<workload>/<backend>/mesh.json and mesh.md, and DIR/index.html.
    Mesh(MeshArgs),
    /// One replica of a `mesh --transport tcp` run, started by the coordinator: opens its
    /// store, listens on 127.0.0.1, prints its port, then obeys commands on standard input.
    #[command(hide = true)]
    MeshReplica(MeshReplicaArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MeshArgs {
    /// Built-in replication workloads (mesh-sync, partition-heal) or TOML files.
    #[arg(required = true)]
    pub(crate) workloads: Vec<String>,
    /// Backends whose stores replicate, comma-separated (default: automerge).
    #[arg(long, value_delimiter = ',', default_value = "automerge")]
    pub(crate) backend: Vec<String>,
    /// Where reports go.
    #[arg(long, default_value = "reports/mesh")]
    pub(crate) out: PathBuf,
    /// No progress on standard error.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// How replicas sync: `in-process` (every replica in this process) or `tcp` (each
    /// replica a process of its own, syncing over TCP on 127.0.0.1).
    #[arg(long, default_value = "in-process", value_parser = ["in-process", "tcp"])]
    pub(crate) transport: String,
    #[command(flatten)]
    pub(crate) faults: FaultArgs,
    /// With `--transport tcp`: the bound on every connect, read and write between replicas
    /// and on every answer a replica gives, e.g. `10s`, `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) io_timeout: Duration,
}

/// Faults every link injects into the sync messages it carries.
#[derive(Debug, Clone, Args)]
pub(crate) struct FaultArgs {
    /// The share of sync messages a link drops, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) loss: f64,
    /// The share a link holds back and delivers after the next one, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) reorder: f64,
    /// How long each sync message waits before it is sent, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) delay_ms: f64,
    /// Seeds which messages are lost and reordered.
    #[arg(long, default_value_t = 0)]
    pub(crate) fault_seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct MeshReplicaArgs {
    /// The binding, by name.
    #[arg(long)]
    pub(crate) backend: String,
    /// Where its files go.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// Its number in the run.
    #[arg(long)]
    pub(crate) index: usize,
    /// Documents in the run.
    #[arg(long)]
    pub(crate) documents: usize,
    /// Bytes per value.
    #[arg(long)]
    pub(crate) value_bytes: usize,
    /// The bound on every socket operation, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) io_timeout_ms: u64,
    /// The share of sync messages it drops.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) loss: f64,
    /// The share it delivers late.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) reorder: f64,
    /// How long each sync message waits, in microseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) delay_us: u64,
    /// Seeds its faults.
    #[arg(long, default_value_t = 0)]
    pub(crate) fault_seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Each client's --out directory; each must hold the same workloads and backends.
    #[arg(required = true, num_args = 2..)]
    pub(crate) clients: Vec<PathBuf>,
    /// Where the merged DIR/<workload>/<backend>/report.json and histograms go.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Directories holding report.json files, at any depth.
    #[arg(required = true)]
    pub(crate) dirs: Vec<PathBuf>,
    /// Where README.md (the index) and <workload>.md go. By default, the first directory.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Set side by side runs of one workload made differently (other parameters, threads,
    /// target or storebench version); by default refused, exit 2.
    #[arg(long)]
    pub(crate) allow_incomparable: bool,
    /// Write only index.html, the self-contained page (by default it is written beside the
    /// Markdown).
    #[arg(long, conflicts_with = "markdown")]
    pub(crate) html: bool,
    /// Write only the Markdown and its SVG plots, no index.html.
    #[arg(long)]
    pub(crate) markdown: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The directory of the base reports (every report.json under it).
    pub(crate) base: PathBuf,
    /// The directory of the new reports.
    pub(crate) new: PathBuf,
    /// The smallest change that matters, in percent: runs that differ by less are within
    /// noise however cleanly they separate.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) threshold: f64,
    /// Compare runs whose workload parameters, threads, target, durability or storebench
    /// version differ (by default refused, exit 2).
    #[arg(long)]
    pub(crate) allow_incomparable: bool,
    /// `markdown` (a table), or github-action-benchmark JSON: `json` or `smaller-is-better`
    /// (latencies, `customSmallerIsBetter`), `bigger-is-better` (throughput,
    /// `customBiggerIsBetter`).
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "json", "bigger-is-better", "smaller-is-better"])]
    pub(crate) format: String,
    /// Also write the comparison as one self-contained HTML page to this file: the verdicts,
    /// and both sets' charts side by side.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Workload files, or names of files in the workloads directory (`ycsb-a`).
    #[arg(required = true)]
    pub(crate) workloads: Vec<String>,
    /// Backends, comma-separated, by the names `list` shows (the built-in ones: memory,
    /// automerge, automerge-durable, redb, redb-durable, null, basic). By default, every
    /// registered backend but null and basic.
    #[arg(long, value_delimiter = ',')]
    pub(crate) backend: Vec<String>,
    /// Where reports go: DIR/<workload>/<backend>/report.json and histograms.
    #[arg(long, default_value = "reports/latest")]
    pub(crate) out: PathBuf,
    /// Where database files go: each run makes a fresh `<workload>-<backend>` directory in it
    /// (with a `-2`, `-3`... suffix when the name is taken) and leaves it there, for you to
    /// remove; the directory is printed and recorded in the report (`store_dirs`). By
    /// default, a temporary directory removed afterwards.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Worker threads (overrides the workload's `threadcount`).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Operations in the measured run (overrides `operationcount` and `maxexecutiontime`).
    #[arg(long, conflicts_with = "duration")]
    pub(crate) ops: Option<u64>,
    /// The fewest operations a measured run makes, all operation types together: a workload
    /// whose `operationcount` is lower (but not 0, a load alone) runs this many instead, and
    /// the report says so. An operation type with a small share gets fewer samples: compare
    /// marks its thin percentiles. 0 runs every file's own count; `--ops` and `--duration`
    /// are taken as given.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) min_ops: u64,
    /// Length of the measured run, e.g. `30s`, `2m`, `500ms` (overrides `maxexecutiontime`).
    #[arg(long, value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,
    /// How often the resource monitor samples the load and the run (operations by type,
    /// CPU time, resident memory, device I/O, store size), e.g. `250ms`, `1s`; at least 1ms.
    #[arg(long, default_value = "250ms", value_parser = parse_sample_interval)]
    pub(crate) sample_interval: Duration,
    /// The seed (overrides the workload's `seed`).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Run each workload on each backend this many times; the report is the run with the
    /// median throughput, and keeps every run's figures so `compare` can tell noise.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) repeat: u32,
    /// A run of which nothing is heard this long (no load batch, no 1,024 operations of a
    /// worker, no phase begun or ended) fails as hung, saying where it was, and the next
    /// backend runs; e.g. `90s`, `5m`. `0` waits for ever.
    #[arg(long, value_parser = parse_hang_after, default_value = "5m")]
    pub(crate) hang_after: Duration,
    /// Log every operation each run issues, as YCSB's BasicDB prints them, to
    /// DIR/<workload>/<backend>/operations.log under --out (the last repeat's). The `basic`
    /// backend logs to standard output without it.
    #[arg(long)]
    pub(crate) log_operations: bool,
    /// Run even a dataset whose records alone need more memory (for an in-memory store) or
    /// disk (for one that keeps files) than is available; by default refused, exit 2.
    #[arg(long)]
    pub(crate) no_capacity_check: bool,
    /// Print neither progress nor summaries; only errors.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// The directory holding named workloads.
    #[arg(long, default_value = "workloads")]
    pub(crate) workloads_dir: PathBuf,
    /// Names this invocation in its reports, so that the reports of several `run` processes
    /// (a loop running each backend in a process of its own) share tables in `report`. By
    /// default, an id of its own: rows of two invocations never share a table.
    #[arg(long, value_parser = parse_invocation)]
    pub(crate) invocation: Option<String>,
    /// Sets a workload property, as YCSB's `-p key=value`: after the file's, before the other
    /// flags (`--threads`, `--ops`...). Repeatable; `-p recordcount=5000 -p threadcount=2`.
    #[arg(short = 'p', long = "property", value_name = "KEY=VALUE", value_parser = parse_property)]
    pub(crate) properties: Vec<(String, String)>,
}

/// `--sample-interval`: a duration of at least a millisecond, the unit the report keeps it in.
fn parse_sample_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    if interval < Duration::from_millis(1) {
        return Err(format!(
            "`{text}` is shorter than the shortest interval, 1ms"
        ));
    }
    Ok(interval)
}

/// `--hang-after`: a duration, or `0` in any unit for no limit (which `parse_duration`,
/// made for intervals that must pass, refuses).
fn parse_hang_after(text: &str) -> Result<Duration, String> {
    let unit = text.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    let number = &text[..text.len() - unit.len()];
    let zero = number.trim().parse::<f64>() == Ok(0.0);
    if zero && ["", "ms", "s", "m", "h"].contains(&unit) {
        Ok(Duration::ZERO)
    } else {
        parse_duration(text)
    }
}

/// `--invocation`: a non-empty name of printable characters.
fn parse_invocation(text: &str) -> Result<String, String> {
    if text.is_empty() || text.chars().any(char::is_control) {
        Err("an invocation is a non-empty name without control characters".into())
    } else {
        Ok(text.to_owned())
    }
}

/// `-p key=value`.
fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("`{text}` is not key=value")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The directory holding the workloads.
    #[arg(long, default_value = "workloads")]
    pub(crate) workloads_dir: PathBuf,
}

/// `30s`, `2m`, `1h`, `500ms`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{unit}` is not a unit: use ms, s, m or h")),
    };
    // Up to a year: longer is a typo, and would overflow the clock.
    if seconds > 0.0 && seconds <= 365.0 * 86_400.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "`{text}` must be a positive duration of at most a year"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert_eq!(
            parse_sample_interval("250ms"),
            Ok(Duration::from_millis(250))
        );
        assert!(parse_sample_interval("0.0001").is_err());
        assert_eq!(parse_hang_after("0"), Ok(Duration::ZERO));
        assert_eq!(parse_hang_after("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_hang_after("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_hang_after("-1s").is_err());
        assert!(parse_hang_after("0x").is_err());
    }
}
