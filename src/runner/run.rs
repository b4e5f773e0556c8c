//! A whole run of one workload on one backend: load, warm-up, measured run, measurements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::disk::bytes_below;
use super::error::RunError;
use super::log::OperationLog;
use super::monitor::{DEFAULT_SAMPLE_INTERVAL, Monitor, ResourceSeries, Tally};
use super::progress::Progress;
use super::recorder::{OperationHistograms, Recorder};
use super::rss;
use super::worker::{Schedule, Stop, Worker};
use crate::binding::{Concurrency, Selected, Settings, Versions};
use crate::workload::{KeySpace, Operation, Workload};
use crate::{Collection, Durability};

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// When the phase started.
    pub started_at: SystemTime,
    /// Wall-clock length of the phase.
    pub duration: Duration,
    /// Histograms by operation (the load phase has one: [`Operation::Load`], per batch).
    pub operations: BTreeMap<Operation, OperationHistograms>,
    /// Operations completed in each second of the phase; the last entry covers the final,
    /// partial second.
    pub per_second: Vec<u64>,
    /// Operations completed, successful or not. The histograms may hold more: a
    /// read-modify-write's read and update are recorded under read and update as well.
    pub completed: u64,
    /// Of them, those that succeeded.
    pub succeeded: u64,
    /// The load: documents its successful operations wrote, which is fewer than planned when
    /// it was interrupted or a batch failed. 0 for the run.
    pub documents: u64,
    /// What the resource monitor sampled over the phase and the flush that ended it; `None`
    /// when the monitor was off or its thread could not be started.
    pub resources: Option<ResourceSeries>,
}

impl PhaseOutcome {
    /// Operations completed, successful or not.
    pub fn operation_count(&self) -> u64 {
        self.completed
    }

    /// Successful operations per second over the phase: a backend that fails fast does not
    /// look fast.
    pub fn throughput(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        let succeeded = self.succeeded;
        if secs > 0.0 {
            succeeded as f64 / secs
        } else {
            0.0
        }
    }
}

/// Everything one run measured: plain data for the report module to render.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The workload as run (after command-line overrides).
    pub workload: Workload,
    /// The name the backend was selected by (`automerge-durable`).
    pub backend: String,
    /// The name of its binding (`automerge`).
    pub binding: String,
    /// Its durability, if it persists.
    pub durability: Option<Durability>,
    /// The binding's settings for this run.
    pub settings: Settings,
    /// The versions of what the store is built on, as its binding says.
    pub versions: Versions,
    /// The binding its throughput is set beside in reports, if any.
    pub reference: Option<String>,
    /// Whether the store discards what it is given ([`Binding::keeps_data`]).
    ///
    /// [`Binding::keeps_data`]: crate::binding::Binding::keeps_data
    pub stores_nothing: bool,
    /// The directory the store was kept in: `<workload>-<backend>` under the data directory,
    /// or with a `-2`, `-3`... suffix when that name was taken. Gone when the store kept no
    /// file there.
    pub store_dir: PathBuf,
    /// Seconds since the Unix epoch when the run started.
    pub started_at_unix: u64,
    /// Documents loaded, in batches.
    pub load: PhaseOutcome,
    /// The measured run.
    pub run: PhaseOutcome,
    /// Bytes of every file the store kept after the run, for stores that persist.
    pub file_bytes: Option<u64>,
    /// Bytes of ids and values live at the end of the run.
    pub live_bytes: u64,
    /// Peak resident memory of the process during this run, where the platform reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The resource monitor's interval between samples; `None` when it was off.
    pub sample_interval: Option<Duration>,
    /// Whether the run was interrupted (Ctrl-C, in the command line) before it ended: its
    /// figures cover what ran until then.
    pub interrupted: bool,
}

impl RunOutcome {
    /// File bytes per live logical byte, for persistent backends with live data.
    pub fn space_amplification(&self) -> Option<f64> {
        let file = self.file_bytes?;
        (self.live_bytes > 0).then(|| file as f64 / self.live_bytes as f64)
    }
}

/// Runs `workload` on a fresh store of `backend`, kept in a new directory under `data_dir`:
/// `<workload>-<backend>`, or with a `-2`, `-3`... suffix when that name is taken.
///
/// # Errors
/// [`RunError::Store`] when the store cannot be opened, flushed or closed;
/// [`RunError::Directory`] when the directory cannot be made; [`RunError::Unsupported`] when
/// the workload wants more threads than the binding allows. Failed (and panicking) operations
/// do not stop the run: they are counted and timed apart.
pub fn run(
    workload: &Workload,
    backend: &Selected,
    data_dir: &Path,
    progress: &dyn Progress,
) -> Result<RunOutcome, RunError> {
    let log = backend
        .binding()
        .logs_operations()
        .then(OperationLog::stdout);
    run_logged(
        workload,
        backend,
        data_dir,
        progress,
        log.as_ref(),
        Some(DEFAULT_SAMPLE_INTERVAL),
    )
}

/// [`run`], with every operation the workload issues (warm-up and load included) written to
/// `log` as YCSB's `BasicDB` prints them (the log is flushed at the end), and the resources
/// of the load and the run sampled every `sample_interval`. With `None` no monitor runs and
/// the workers publish no counts: the `harness` bench measures the monitor's cost so.
///
/// # Errors
/// As [`run`]; [`RunError::OperationLog`] when the log cannot be written.
pub fn run_logged(
    workload: &Workload,
    backend: &Selected,
    data_dir: &Path,
    progress: &dyn Progress,
    log: Option<&OperationLog>,
    sample_interval: Option<Duration>,
) -> Result<RunOutcome, RunError> {
    let binding = backend.binding();
    if binding.concurrency() == Concurrency::SingleThread && workload.threads > 1 {
        return Err(RunError::Unsupported {
            backend: backend.name().to_owned(),
            reason: format!(
                "the store allows one thread at a time, and the workload asks for {}; run it \
                 with --threads 1",
                workload.threads
            ),
        });
    }
    let started_at_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let durability = backend.durability(workload.durability);
    let dir = RunDir::create(data_dir, &format!("{}-{}", workload.name, backend.name()))?;
    rss::reset_peak();
    let failed = RunError::store(backend.name());
    let opened = binding.open(&dir.path, durability).map_err(&failed)?;
    let store = opened.store();
    let collections: Vec<Arc<dyn Collection>> = workload
        .collections
        .iter()
        .map(|name| store.collection(name))
        .collect();
    let keys = KeySpace::new(workload.record_count);
    let threads = workload.threads as u64;
    let progress_phase = |phase: &str, total: Option<u64>| {
        progress.phase(&workload.name, backend.name(), phase, total);
    };
    // The monitor samples the load and the run, each with the flush that ends it, since a
    // store that writes on flush does its writing there; not the warm-up, which is not
    // measured. It walks the store's directory only for a store that keeps files.
    let store_files = durability.map(|_| dir.path.clone());
    let monitor = || {
        sample_interval.map(|interval| {
            let tally = Arc::new(Tally::new(workload.threads));
            let monitor = Monitor::start(Arc::clone(&tally), store_files.clone(), interval);
            (tally, monitor)
        })
    };
    let finish = |monitor: Option<(Arc<Tally>, Monitor)>| monitor?.1.finish();

    // Load: this client's keys (`insertstart`, `insertcount`) in batches dealt round-robin
    // to the threads.
    progress_phase("load", Some(workload.insert_count));
    let load_monitor = monitor();
    let tally = load_monitor.as_ref().map(|(tally, _)| &**tally);
    let mut load = timed_phase(workload.threads, tally, false, |t, start, recorder| {
        let mut worker = Worker::new(workload, &collections, &keys, threads + t).logging(log);
        let batch = workload.load_batch_size as u64;
        let (first, end) = (
            workload.insert_start,
            workload.insert_start + workload.insert_count,
        );
        let batches = (0..workload.insert_count.div_ceil(batch))
            .filter(|b| b % threads == t)
            .map(|b| first + b * batch..(first + (b + 1) * batch).min(end));
        worker.load(batches, start, recorder, progress);
    });
    progress.finish();
    store.flush().map_err(&failed)?;
    load.resources = finish(load_monitor);
    if let Some(series) = &mut load.resources {
        series.live_as_written();
    }

    // Warm-up and run share each thread's worker, so the run continues the warm-up's
    // random stream and caches stay as the warm-up left them.
    let mut workers: Vec<Worker<'_>> = (0..threads)
        .map(|t| Worker::new(workload, &collections, &keys, t).logging(log))
        .collect();
    if workload.warmup_operation_count > 0 || workload.warmup_time.is_some() {
        progress_phase(
            "warm-up",
            workload
                .warmup_time
                .is_none()
                .then_some(workload.warmup_operation_count),
        );
        let start = Instant::now();
        std::thread::scope(|scope| {
            for (t, worker) in workers.iter_mut().enumerate() {
                let stop = match workload.warmup_time {
                    Some(time) => Stop::At(start + time),
                    None => {
                        Stop::Operations(share(workload.warmup_operation_count, threads, t as u64))
                    }
                };
                scope.spawn(move || worker.run(stop, start, None, None, progress));
            }
        });
        progress.finish();
    }

    let total = workload
        .max_execution_time
        .is_none()
        .then_some(workload.operation_count);
    progress_phase("run", total);
    // Open loop: each thread runs at target / threads; seconds between its operations.
    let interval = workload.target.map(|t| threads as f64 / t);
    let run_monitor = monitor();
    let tally = run_monitor.as_ref().map(|(tally, _)| &**tally);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut recorders = recorders(workload.threads, tally, interval.is_some());
    std::thread::scope(|scope| {
        for (t, (worker, recorder)) in workers.iter_mut().zip(recorders.iter_mut()).enumerate() {
            let stop = match workload.max_execution_time {
                Some(time) => Stop::At(start + time),
                None => Stop::Operations(share(workload.operation_count, threads, t as u64)),
            };
            let schedule = interval.map(|interval| Schedule {
                interval,
                offset: t as f64 / threads as f64,
            });
            scope.spawn(move || worker.run(stop, start, schedule, Some(recorder), progress));
        }
    });
    let mut run = merge(started_at, start.elapsed(), recorders);
    // Whether the measurements are partial: an interrupt during the final scan or the close
    // cut nothing short.
    let interrupted = super::interrupt::interrupted();
    progress.finish();
    drop(workers);

    store.flush().map_err(&failed)?;
    run.resources = finish(run_monitor);
    let peak_rss_bytes = rss::peak_bytes();
    let (mut live_bytes, mut live_documents) = (0u64, 0u64);
    for collection in &collections {
        for (id, value) in collection.scan().map_err(&failed)? {
            live_bytes += (id.len() + value.len()) as u64;
            live_documents += 1;
        }
    }
    if let Some(series) = &mut run.resources {
        series.live_from_end(live_bytes, live_documents);
    }
    drop(collections);
    opened.close().map_err(&failed)?;
    if let Some(log) = log {
        log.flush()
            .map_err(|source| RunError::OperationLog { source })?;
    }
    let file_bytes = match durability {
        Some(_) => Some(dir.bytes()?),
        None => {
            // A store that keeps nothing leaves no empty directory behind; one that wrote
            // files anyway keeps them, for whoever wants to look.
            let _ = std::fs::remove_dir(&dir.path);
            None
        }
    };
    Ok(RunOutcome {
        workload: workload.clone(),
        backend: backend.name().to_owned(),
        binding: binding.name().to_owned(),
        durability,
        settings: binding.settings(durability),
        versions: binding.versions(),
        reference: binding.reference().map(str::to_owned),
        stores_nothing: !binding.keeps_data(),
        store_dir: dir.path.clone(),
        started_at_unix,
        load,
        run,
        file_bytes,
        live_bytes,
        peak_rss_bytes,
        sample_interval,
        interrupted,
    })
}

/// The directory a run's store lives in: created fresh, never one that was there before, so a
/// run touches no file it did not create. It stays after the run, for the caller to inspect
/// or remove with `data_dir`.
struct RunDir {
    path: PathBuf,
}

impl RunDir {
    fn create(parent: &Path, name: &str) -> Result<Self, RunError> {
        let io = |path: &Path, source| RunError::Directory {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        for n in 1u32.. {
            let path = match n {
                1 => parent.join(name),
                n => parent.join(format!("{name}-{n}")),
            };
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(&path, e)),
            }
        }
        unreachable!("some directory name is free")
    }

    /// Bytes of every file below the directory.
    fn bytes(&self) -> Result<u64, RunError> {
        bytes_below(&self.path).map_err(|source| RunError::Directory {
            path: self.path.clone(),
            source,
        })
    }
}

/// Thread `t`'s share of `total` operations over `threads` threads.
fn share(total: u64, threads: u64, t: u64) -> u64 {
    total / threads + u64::from(t < total % threads)
}

/// A recorder for each of `threads` threads, each publishing to its block of `tally` when the
/// monitor runs.
fn recorders(threads: usize, tally: Option<&Tally>, open_loop: bool) -> Vec<Recorder> {
    (0..threads)
        .map(|t| {
            let recorder = Recorder::new(open_loop);
            match tally {
                Some(tally) => recorder.tallying(tally.thread(t)),
                None => recorder,
            }
        })
        .collect()
}

/// Runs `work` on `threads` threads, each with its own recorder (publishing to its block of
/// `tally`, if any), and merges what they recorded.
fn timed_phase(
    threads: usize,
    tally: Option<&Tally>,
    open_loop: bool,
    work: impl Fn(u64, Instant, &mut Recorder) + Sync,
) -> PhaseOutcome {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut recorders = recorders(threads, tally, open_loop);
    std::thread::scope(|scope| {
        for (t, recorder) in recorders.iter_mut().enumerate() {
            let work = &work;
            scope.spawn(move || work(t as u64, start, recorder));
        }
    });
    merge(started_at, start.elapsed(), recorders)
}

fn merge(started_at: SystemTime, duration: Duration, recorders: Vec<Recorder>) -> PhaseOutcome {
    let mut recorders = recorders.into_iter();
    let mut all = recorders.next().unwrap_or_else(|| Recorder::new(false));
    for r in recorders {
        all.merge(&r);
    }
    let (completed, succeeded) = all.counts();
    let documents = all.documents();
    let (operations, per_second) = all.into_operations();
    PhaseOutcome {
        started_at,
        duration,
        operations,
        per_second,
        completed,
        succeeded,
        documents,
        resources: None,
    }
}
