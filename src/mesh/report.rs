//! What a replication run measured, as JSON for tools and Markdown for people.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::faults::LinkFaults;
use super::run::MeshOptions;
use super::workload::MeshWorkload;
use crate::Durability;

/// A latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Latency {
    pub(crate) fn of(histogram: &Histogram<u64>) -> Latency {
        let us = |nanos: u64| nanos as f64 / 1000.0;
        Latency {
            count: histogram.len(),
            p50_us: us(histogram.value_at_quantile(0.5)),
            p99_us: us(histogram.value_at_quantile(0.99)),
            max_us: us(histogram.max()),
        }
    }
}

/// One sync round during the writes, as it ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MeshRound {
    /// Seconds into the writes (the runner's divergence reads left out).
    pub seconds: f64,
    /// Local writes made by then, on every replica together.
    pub writes: u64,
    /// Messages the round sent.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Documents whose value differed between replicas after it.
    pub divergence: u64,
}

/// The figures a run gathers, before the ratios are worked out.
pub(crate) struct Measured {
    pub(crate) run_time: Duration,
    pub(crate) rounds: u64,
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) changes_replicated: u64,
    pub(crate) local_write: Latency,
    pub(crate) apply_per_change: Latency,
    pub(crate) peak_divergence: u64,
    pub(crate) round_series: Vec<MeshRound>,
    pub(crate) heal_rounds: u64,
    pub(crate) heal_time: Duration,
    pub(crate) heal_messages: u64,
    pub(crate) heal_bytes: u64,
    pub(crate) heal_changes: u64,
    pub(crate) file_bytes: Vec<u64>,
    pub(crate) sessions: u64,
    pub(crate) sessions_stalled: u64,
    pub(crate) messages_lost: u64,
    pub(crate) messages_reordered: u64,
}

/// One replication run: a workload on one store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MeshReport {
    /// The workload as run.
    pub workload: MeshWorkload,
    /// The store, by the name it was selected by.
    pub backend: String,
    /// Its durability, when it has one.
    pub durability: Option<String>,
    /// How replicas synced: `in-process`, or `tcp` (each replica a process).
    pub transport: String,
    /// The faults every link injected, when any.
    pub faults: Option<LinkFaults>,
    /// Seconds the writes and their rounds took (not the runner's reads that measure
    /// divergence).
    pub seconds: f64,
    /// Sync rounds during the writes.
    pub rounds: u64,
    /// Messages and bytes those rounds sent, in all.
    pub messages: u64,
    /// The bytes of those messages.
    pub bytes: u64,
    /// Per round.
    pub messages_per_round: f64,
    /// Per round.
    pub bytes_per_round: f64,
    /// Changes the rounds applied on the replicas that received them (a change reaching three
    /// replicas counts three times).
    pub changes_replicated: u64,
    /// Bytes sent per change replicated.
    pub bytes_per_replicated_change: f64,
    /// A local write (upsert), as the writing replica saw it.
    pub local_write: Latency,
    /// Applying one received change: each message's applying time (reading, planning,
    /// writing and committing its changes, in one transaction) divided among its changes.
    pub apply_per_change: Latency,
    /// Documents whose value differed between replicas after a round, at the most.
    pub peak_divergence: u64,
    /// Each round during the writes: its traffic and the divergence after it.
    pub round_series: Vec<MeshRound>,
    /// Rounds over every link after the last write that still applied changes, before one
    /// that applied none (0: the replicas already held the same changes).
    pub heal_rounds: u64,
    /// Seconds those rounds took.
    pub heal_seconds: f64,
    /// Messages and bytes they sent.
    pub heal_messages: u64,
    /// The bytes of those messages.
    pub heal_bytes: u64,
    /// The changes they applied.
    pub heal_changes: u64,
    /// Wall-clock seconds from the first write until the replicas agreed: the writes and
    /// their rounds, then the healing rounds (the runner's divergence reads left out).
    pub converge_seconds: f64,
    /// Sync sessions started, in rounds and healing.
    pub sessions: u64,
    /// Of those, sessions that stalled (a message lost) and were started anew.
    pub sessions_stalled: u64,
    /// Messages the links' faults dropped.
    pub messages_lost: u64,
    /// Messages the links' faults delivered after a later one.
    pub messages_reordered: u64,
    /// Each replica's files at the end, in bytes.
    pub file_bytes: Vec<u64>,
    /// Their mean per local write made anywhere (each replica holds every write).
    pub file_bytes_per_write: f64,
}

impl MeshReport {
    pub(crate) fn new(
        workload: &MeshWorkload,
        backend: &str,
        durability: Option<Durability>,
        options: &MeshOptions,
        m: Measured,
    ) -> MeshReport {
        let per = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let mean_file = per(m.file_bytes.iter().sum(), m.file_bytes.len() as u64);
        MeshReport {
            workload: workload.clone(),
            backend: backend.to_owned(),
            durability: durability.map(|d| d.to_string()),
            transport: options.transport.name().to_owned(),
            faults: options.faults.any().then_some(options.faults),
            seconds: m.run_time.as_secs_f64(),
            rounds: m.rounds,
            messages: m.messages,
            bytes: m.bytes,
            messages_per_round: per(m.messages, m.rounds),
            bytes_per_round: per(m.bytes, m.rounds),
            changes_replicated: m.changes_replicated,
            bytes_per_replicated_change: per(m.bytes, m.changes_replicated),
            local_write: m.local_write,
            apply_per_change: m.apply_per_change,
            peak_divergence: m.peak_divergence,
            round_series: m.round_series,
            heal_rounds: m.heal_rounds,
            heal_seconds: m.heal_time.as_secs_f64(),
            heal_messages: m.heal_messages,
            heal_bytes: m.heal_bytes,
            heal_changes: m.heal_changes,
            converge_seconds: (m.run_time + m.heal_time).as_secs_f64(),
            sessions: m.sessions,
            sessions_stalled: m.sessions_stalled,
            messages_lost: m.messages_lost,
            messages_reordered: m.messages_reordered,
            file_bytes: m.file_bytes,
            file_bytes_per_write: mean_file / workload.operations as f64,
        }
    }

    /// The report as a Markdown section.
    pub fn to_markdown(&self) -> String {
        let w = &self.workload;
        let mut out = format!(
            "## {} on {} ({})\n\n{}",
            w.name,
            self.backend,
            self.transport,
            self.setup()
        );
        out.push_str(".\n\n| measure | value |\n|---|---:|\n");
        for (measure, value) in self.measures() {
            let _ = writeln!(out, "| {measure} | {value} |");
        }
        out
    }

    /// How the run was made, in a sentence without its full stop.
    pub(crate) fn setup(&self) -> String {
        let w = &self.workload;
        let mut out = format!(
            "{} replicas ({:?}), {} documents of {} B, {} writes, a round every {} writes",
            w.replicas, w.topology, w.documents, w.value_bytes, w.operations, w.sync_every
        );
        if let Some(p) = w.partition {
            let _ = write!(
                out,
                "; replica {} cut off from write {} to {}",
                p.replica, p.from, p.to
            );
        }
        if let Some(f) = &self.faults {
            let _ = write!(
                out,
                "; links lose {:.0}%, reorder {:.0}% and delay {:.1} ms of messages (seed {})",
                f.loss * 100.0,
                f.reorder * 100.0,
                f.delay.as_secs_f64() * 1000.0,
                f.seed
            );
        }
        out
    }

    /// What the run measured, as (measure, value) rows: the Markdown's and the page's table.
    pub(crate) fn measures(&self) -> Vec<(&'static str, String)> {
        let files: Vec<String> = self.file_bytes.iter().map(ToString::to_string).collect();
        vec![
            ("writes and rounds", format!("{:.2} s", self.seconds)),
            ("sync rounds", self.rounds.to_string()),
            (
                "messages per round",
                format!("{:.1}", self.messages_per_round),
            ),
            ("bytes per round", format!("{:.0}", self.bytes_per_round)),
            ("changes replicated", self.changes_replicated.to_string()),
            (
                "bytes per replicated change",
                format!("{:.1}", self.bytes_per_replicated_change),
            ),
            (
                "local write p50 / p99",
                format!(
                    "{:.1} / {:.1} µs",
                    self.local_write.p50_us, self.local_write.p99_us
                ),
            ),
            (
                "apply per change p50 / p99",
                format!(
                    "{:.1} / {:.1} µs",
                    self.apply_per_change.p50_us, self.apply_per_change.p99_us
                ),
            ),
            (
                "peak divergence",
                format!(
                    "{} of {} documents",
                    self.peak_divergence, self.workload.documents
                ),
            ),
            (
                "rounds to converge after the last write",
                format!(
                    "{} ({:.3} s, {} messages, {} bytes, {} changes)",
                    self.heal_rounds,
                    self.heal_seconds,
                    self.heal_messages,
                    self.heal_bytes,
                    self.heal_changes
                ),
            ),
            (
                "wall-clock to converge",
                format!("{:.2} s", self.converge_seconds),
            ),
            (
                "sync sessions (stalled and restarted)",
                format!("{} ({})", self.sessions, self.sessions_stalled),
            ),
            (
                "messages lost / reordered",
                format!("{} / {}", self.messages_lost, self.messages_reordered),
            ),
            ("file bytes per replica", files.join(", ")),
            (
                "file bytes per write",
                format!("{:.0}", self.file_bytes_per_write),
            ),
        ]
    }
}
