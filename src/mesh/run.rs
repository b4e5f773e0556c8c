//! Running a replication workload: replicas write in turn, sync in rounds over the topology's
//! links (a cut-off replica's links skipped), then sync until they agree. The same steps
//! drive replicas in this process (`local`) or each in its own (`process`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::faults::LinkFaults;
use super::report::{Latency, Measured, MeshReport, MeshRound};
use super::schedule::{Step, steps};
use super::workload::MeshWorkload;
use crate::binding::Selected;
use crate::{Durability, Error, Result};

/// How a run reaches its replicas, and what the links between them do to messages.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MeshOptions {
    /// How replicas sync. By default, in this process.
    pub transport: MeshTransport,
    /// Faults injected into every link. By default, none.
    pub faults: LinkFaults,
}

impl MeshOptions {
    /// Replicas in this process, links without faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replicas reached through `transport`.
    pub fn transport(mut self, transport: MeshTransport) -> Self {
        self.transport = transport;
        self
    }

    /// Links that inject `faults`.
    pub fn faults(mut self, faults: LinkFaults) -> Self {
        self.faults = faults;
        self
    }
}

/// How replicas sync.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum MeshTransport {
    /// Every replica in this process, messages passed through in-memory channels.
    #[default]
    InProcess,
    /// Every replica a process of its own, syncing over TCP on 127.0.0.1.
    Tcp(TcpOptions),
}

impl MeshTransport {
    /// Its name in reports: `in-process` or `tcp`.
    pub fn name(&self) -> &'static str {
        match self {
            MeshTransport::InProcess => "in-process",
            MeshTransport::Tcp(_) => "tcp",
        }
    }
}

/// How replica processes are started and how long they are waited for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TcpOptions {
    /// The program run as each replica, with `mesh-replica` and its options: a `storebench`
    /// command ([`crate::cli::main`]) whose bindings include the one run.
    pub program: PathBuf,
    /// The bound on every connect, read and write between replicas, and on every answer a
    /// replica gives the coordinator but a sync's. By default, 10 s.
    pub io_timeout: Duration,
    /// How long a replica may take to open its store and listen. By default, 30 s.
    pub ready_timeout: Duration,
}

impl TcpOptions {
    /// Replicas run as `program mesh-replica …`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        TcpOptions {
            program: program.into(),
            io_timeout: Duration::from_secs(10),
            ready_timeout: Duration::from_secs(30),
        }
    }

    /// The bound on every socket operation. By default, 10 s.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// How long a replica may take to become ready. By default, 30 s.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }
}

/// The replicas of a run, however they are reached.
pub(crate) trait Replicas {
    /// Replica `replica` writes the value of `tag` to document `doc`.
    fn write(&mut self, replica: usize, doc: usize, tag: u64) -> Result<()>;
    /// Syncs `a` with `b`, `a` starting, for the `sync`th time on that link.
    fn sync(&mut self, a: usize, b: usize, sync: u64) -> Result<LinkSync>;
    /// Changes applied on all replicas so far.
    fn changes_applied(&mut self) -> Result<u64>;
    /// Each replica's digest of each document (see [`super::schedule::digest`]).
    fn digests(&mut self) -> Result<Vec<Vec<Option<u64>>>>;
    /// Checks and closes every replica and gathers what they measured.
    fn finish(self) -> Result<Finished>;
}

/// What syncing one link took.
pub(crate) struct LinkSync {
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    /// Sessions started: 1 unless some stalled.
    pub(crate) sessions: u32,
}

/// What the replicas measured themselves.
pub(crate) struct Finished {
    pub(crate) local_write: Histogram<u64>,
    pub(crate) apply_per_change: Histogram<u64>,
    pub(crate) file_bytes: Vec<u64>,
    pub(crate) lost: u64,
    pub(crate) reordered: u64,
}

/// What the rounds so far sent and applied.
#[derive(Default)]
struct Traffic {
    messages: u64,
    bytes: u64,
    sessions: u64,
    stalled: u64,
}

impl Traffic {
    fn add(&mut self, link: &LinkSync) {
        self.messages += link.messages;
        self.bytes += link.bytes;
        self.sessions += u64::from(link.sessions);
        self.stalled += u64::from(link.sessions - 1);
    }
}

/// Runs `workload` on replicas of `selected` in this process, each in its own directory
/// under `dir`, and measures it. `on_progress` hears the number of local writes done, now
/// and then.
///
/// # Errors
/// As [`run_mesh_with`].
pub fn run_mesh(
    workload: &MeshWorkload,
    selected: &Selected,
    dir: &Path,
    on_progress: impl FnMut(u64),
) -> Result<MeshReport> {
    run_mesh_with(workload, selected, dir, &MeshOptions::new(), on_progress)
}

/// Runs `workload` on replicas of `selected`, each in its own directory under `dir`, reached
/// and linked as `options` say, and measures it.
///
/// # Errors
/// [`Error::Backend`] when the binding's stores do not replicate; any store error; a link
/// that does not settle ([`LinkError`](super::LinkError) as the source), a replica process
/// that fails ([`ReplicaError`](super::ReplicaError)), or replicas that do not agree after
/// healing.
pub fn run_mesh_with(
    workload: &MeshWorkload,
    selected: &Selected,
    dir: &Path,
    options: &MeshOptions,
    on_progress: impl FnMut(u64),
) -> Result<MeshReport> {
    let durability = selected.durability(Durability::default());
    let measured = match &options.transport {
        MeshTransport::InProcess => {
            let replicas = super::local::LocalReplicas::open(workload, selected, dir, options)?;
            drive(workload, selected.name(), replicas, on_progress)?
        }
        MeshTransport::Tcp(tcp) => {
            let replicas =
                super::process::ProcessReplicas::spawn(workload, selected, dir, options, tcp)?;
            drive(workload, selected.name(), replicas, on_progress)?
        }
    };
    Ok(MeshReport::new(
        workload,
        selected.name(),
        durability,
        options,
        measured,
    ))
}

/// Takes `replicas` through `workload`'s steps, heals them, and gathers the figures.
fn drive(
    workload: &MeshWorkload,
    backend: &str,
    mut replicas: impl Replicas,
    mut on_progress: impl FnMut(u64),
) -> Result<Measured> {
    let mut traffic = Traffic::default();
    let mut rounds = 0;
    let mut syncs = vec![0u64; workload.replicas * workload.replicas];
    let mut peak_divergence = 0;
    let mut round_series = Vec::new();
    let mut writes = 0;
    // Reading every document on every replica after each round is the runner's, not the
    // store's: it is kept out of the run's time.
    let mut scanning = Duration::ZERO;
    let started = Instant::now();
    for step in steps(workload) {
        match step {
            Step::Write {
                op,
                replica,
                doc,
                tag,
            } => {
                replicas.write(replica, doc, tag)?;
                writes = op + 1;
                if op % 1000 == 999 {
                    on_progress(op + 1);
                }
            }
            Step::Round { links } => {
                let (messages, bytes) = (traffic.messages, traffic.bytes);
                for (a, b) in links {
                    let sync = &mut syncs[a * workload.replicas + b];
                    *sync += 1;
                    traffic.add(&replicas.sync(a, b, *sync)?);
                }
                rounds += 1;
                let seconds = started.elapsed().saturating_sub(scanning).as_secs_f64();
                let scan = Instant::now();
                let differing = divergence(&replicas.digests()?);
                scanning += scan.elapsed();
                peak_divergence = peak_divergence.max(differing);
                round_series.push(MeshRound {
                    seconds,
                    writes,
                    messages: traffic.messages - messages,
                    bytes: traffic.bytes - bytes,
                    divergence: differing,
                });
            }
        }
    }
    let run_time = started.elapsed().saturating_sub(scanning);
    let changes_replicated = replicas.changes_applied()?;
    // Healing: rounds over every link until one changes nothing (values alike is not enough:
    // a replica may still lack a concurrent put that lost), then the values must agree.
    let healing = Instant::now();
    let mut heal_rounds = 0;
    let mut heal = Traffic::default();
    let mut applied = changes_replicated;
    loop {
        if heal_rounds > 2 * workload.replicas as u64 {
            return Err(Error::backend(
                backend,
                format!(
                    "replicas still exchange changes after {heal_rounds} rounds over every link"
                ),
            ));
        }
        for (a, b) in workload.links() {
            let sync = &mut syncs[a * workload.replicas + b];
            *sync += 1;
            heal.add(&replicas.sync(a, b, *sync)?);
        }
        let now = replicas.changes_applied()?;
        if now == applied {
            break;
        }
        applied = now;
        heal_rounds += 1;
    }
    let heal_time = healing.elapsed();
    let differing = divergence(&replicas.digests()?);
    if differing > 0 {
        return Err(Error::backend(
            backend,
            format!("{differing} documents differ between replicas that exchange nothing more"),
        ));
    }
    let finished = replicas.finish()?;
    Ok(Measured {
        run_time,
        rounds,
        messages: traffic.messages,
        bytes: traffic.bytes,
        changes_replicated,
        local_write: Latency::of(&finished.local_write),
        apply_per_change: Latency::of(&finished.apply_per_change),
        peak_divergence,
        round_series,
        heal_rounds,
        heal_time,
        heal_messages: heal.messages,
        heal_bytes: heal.bytes,
        heal_changes: applied - changes_replicated,
        file_bytes: finished.file_bytes,
        sessions: traffic.sessions + heal.sessions,
        sessions_stalled: traffic.stalled + heal.stalled,
        messages_lost: finished.lost,
        messages_reordered: finished.reordered,
    })
}

/// How many documents do not hold the same value on every replica.
fn divergence(digests: &[Vec<Option<u64>>]) -> u64 {
    let Some((first, others)) = digests.split_first() else {
        return 0;
    };
    (0..first.len())
        .filter(|&d| others.iter().any(|o| o.get(d) != first.get(d)))
        .count() as u64
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// Records `n` samples of `took`, in nanoseconds.
pub(crate) fn record(histogram: &mut Histogram<u64>, took: Duration, n: u64) {
    let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
    // Saturates beyond an hour, which no single write takes.
    let _ = histogram.record_n(nanos.min(histogram.high()), n);
}

/// Records what applying one message did: its time divided among its changes.
pub(crate) fn record_applied(histogram: &mut Histogram<u64>, received: &crate::binding::Received) {
    if received.changes > 0 {
        let per_change = received.applying / u32::try_from(received.changes).unwrap_or(u32::MAX);
        record(histogram, per_change, received.changes);
    }
}

/// The bytes of the files in `dir` (a replica keeps its files at its top level).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
