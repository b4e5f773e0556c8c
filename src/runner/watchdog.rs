//! A run watched for a store that stops answering: the run goes on a thread of its own and
//! reports its progress over a channel, so that a run with no progress for too long ends
//! as hung, saying where, and the caller goes on to the next backend. A hung thread cannot be
//! stopped from outside: it is left behind, and dies with the process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use super::error::RunError;
use super::{OperationLog, Progress, RunOutcome, panic_message, run_logged};
use crate::binding::Selected;
use crate::workload::Workload;

/// How a watched run ended.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one a run: boxing would save nothing that counts
pub enum Watched {
    /// The run returned this.
    Finished(Result<RunOutcome, RunError>),
    /// A panic escaped the store (its open or close: a panicking operation is counted, not
    /// thrown), with this message.
    Panicked(String),
    /// Nothing was heard of the run for the watch's length.
    Hung(Hang),
}

/// Where a run was when it stopped answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hang {
    /// The phase it was in (`load`, `warm-up`, `run`), or what it was doing between phases.
    pub step: String,
    /// Operations of that phase completed, as last reported.
    pub done: u64,
    /// The phase's operation count, when known.
    pub total: Option<u64>,
    /// How long nothing was heard.
    pub silent_for: Duration,
}

impl fmt::Display for Hang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the store hangs: no progress in {:.1} s, {}",
            self.silent_for.as_secs_f64(),
            self.step
        )?;
        match self.total {
            Some(total) => write!(f, " ({} of {total} operations done)", self.done),
            None if self.done > 0 => write!(f, " ({} operations done)", self.done),
            None => Ok(()),
        }
    }
}

/// What the run's thread tells the watch.
#[allow(clippy::large_enum_variant)] // `Ended` is sent once a run
enum Event {
    Phase {
        workload: String,
        backend: String,
        phase: String,
        total: Option<u64>,
    },
    Advance(u64),
    Finish,
    Ended(std::thread::Result<Result<RunOutcome, RunError>>),
}

/// The run's side of the channel: a [`Progress`] that relays.
struct Relay(Sender<Event>);

impl Progress for Relay {
    fn phase(&self, workload: &str, backend: &str, phase: &str, total: Option<u64>) {
        // A send fails only when the watch has given up on the run; then nobody listens.
        let _ = self.0.send(Event::Phase {
            workload: workload.to_owned(),
            backend: backend.to_owned(),
            phase: phase.to_owned(),
            total,
        });
    }
    fn advance(&self, done: u64) {
        let _ = self.0.send(Event::Advance(done));
    }
    fn finish(&self) {
        let _ = self.0.send(Event::Finish);
    }
}

/// [`run_logged`] on a thread of its own (its resources sampled every `sample_interval`, or
/// not at all), its progress passed on to `progress`, ended as
/// [`Watched::Hung`] when nothing is heard of it for `hang_after` (the runner reports every
/// 1,024 operations a worker completes, and every load batch; `None` waits for ever).
///
/// The store's directory is made under `data_dir` as [`run_logged`] makes it; a hung run's
/// thread keeps its store open there.
pub fn run_watched(
    workload: &Workload,
    backend: &Selected,
    data_dir: &Path,
    progress: &dyn Progress,
    log: Option<OperationLog>,
    sample_interval: Option<Duration>,
    hang_after: Option<Duration>,
) -> Watched {
    let (events, heard) = mpsc::channel();
    let ended = events.clone();
    let name = backend.name().to_owned();
    let (workload, backend, data_dir): (Workload, Selected, PathBuf) =
        (workload.clone(), backend.clone(), data_dir.to_owned());
    let spawned = std::thread::Builder::new()
        .name(format!("run-{name}"))
        .spawn(move || {
            let relay = Relay(events);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let log = log.as_ref();
                run_logged(&workload, &backend, &data_dir, &relay, log, sample_interval)
            }));
            let _ = ended.send(Event::Ended(result));
        });
    if let Err(source) = spawned {
        return Watched::Finished(Err(RunError::Thread { source }));
    }
    let mut at = Hang {
        step: "opening the store".to_owned(),
        done: 0,
        total: None,
        silent_for: Duration::ZERO,
    };
    let mut phase = None;
    loop {
        let event = match hang_after {
            Some(limit) => heard.recv_timeout(limit),
            None => heard.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Phase {
                workload,
                backend,
                phase: entered,
                total,
            }) => {
                progress.phase(&workload, &backend, &entered, total);
                at.step = format!("in the {entered} phase");
                at.done = 0;
                at.total = total;
                phase = Some(entered);
            }
            Ok(Event::Advance(done)) => {
                progress.advance(done);
                at.done += done;
            }
            Ok(Event::Finish) => {
                progress.finish();
                if let Some(phase) = &phase {
                    at.step = format!("after the {phase} phase (in a flush, a close or a check)");
                }
            }
            Ok(Event::Ended(Ok(result))) => return Watched::Finished(result),
            Ok(Event::Ended(Err(panic))) => {
                return Watched::Panicked(panic_message(panic.as_ref()));
            }
            Err(RecvTimeoutError::Timeout) => {
                progress.finish();
                at.silent_for = hang_after.unwrap_or_default();
                return Watched::Hung(at);
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Watched::Panicked("the run's thread ended without an answer".into());
            }
        }
    }
}
