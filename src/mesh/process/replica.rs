//! One replica as a process (`storebench mesh-replica`): opens its store through the
//! binding registry, listens on 127.0.0.1, answers peers' sessions each on its own thread,
//! and obeys the coordinator's commands ([`super::control`]) on standard input.
//!
//! A peer whose session fails (it leaves, stalls, or sends what is no frame or no sync
//! message) is dropped with a line on standard error naming it and what happened; the
//! replica goes on serving others. The replica exits when told to finish or when its
//! standard input closes (the coordinator is gone), so it never outlives the run.

use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::control::{Command, Reply};
use crate::Durability;
use crate::binding::{Bindings, Handle};
use crate::mesh::LinkFaults;
use crate::mesh::faults::{self, Faults};
use crate::mesh::link::{Figures, LinkError, LinkFailure, MAX_ATTEMPTS, Side};
use crate::mesh::local::{COLLECTION, open_replicating};
use crate::mesh::run::{histogram, record, record_applied};
use crate::mesh::schedule::{digest, doc_id, value};
use crate::mesh::transport::TcpTransport;

/// What a replica process is: which store, where, and how its links behave.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) struct ReplicaSetup {
    /// The binding, by the name it is selected by.
    pub backend: String,
    /// Where its files go.
    pub dir: PathBuf,
    /// Its number in the run, from 0.
    pub index: usize,
    /// Documents in the run.
    pub documents: usize,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Faults its links inject into what it sends.
    pub faults: LinkFaults,
    /// The bound on every connect, read and write.
    pub io_timeout: Duration,
}

impl ReplicaSetup {
    /// Replica `index` of `backend` in `dir`, for a run of `documents` documents of
    /// `value_bytes` bytes; no faults, 10 s socket bound.
    pub(crate) fn new(
        backend: &str,
        dir: PathBuf,
        index: usize,
        documents: usize,
        value_bytes: usize,
    ) -> Self {
        ReplicaSetup {
            backend: backend.to_owned(),
            dir,
            index,
            documents,
            value_bytes,
            faults: LinkFaults::none(),
            io_timeout: Duration::from_secs(10),
        }
    }

    /// Faults its links inject.
    pub(crate) fn faults(mut self, faults: LinkFaults) -> Self {
        self.faults = faults;
        self
    }

    /// The bound on every socket operation.
    pub(crate) fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }
}

/// What the replica measured, shared by the control thread and the peers' threads.
struct Totals {
    apply_per_change: Histogram<u64>,
    changes_applied: u64,
    peers_dropped: u64,
    lost: u64,
    reordered: u64,
}

impl Totals {
    fn add(&mut self, figures: &Figures, faults: &Faults) {
        for received in &figures.applied {
            record_applied(&mut self.apply_per_change, received);
        }
        self.changes_applied += figures.changes();
        self.lost += faults.lost;
        self.reordered += faults.reordered;
    }
}

struct Replica {
    setup: ReplicaSetup,
    handle: Handle,
    ids: Vec<String>,
    totals: Mutex<Totals>,
    local_write: Mutex<Histogram<u64>>,
    answering: Answering,
    stopping: AtomicBool,
}

/// The peers' sessions this replica is answering. The initiating side of a session returns
/// once it has settled, which can be before the answering thread has added its figures to
/// the totals; figures are read only once those threads are done, or they would count a
/// change in one round's tally or the next by chance.
#[derive(Default)]
struct Answering {
    sessions: Mutex<usize>,
    ended: Condvar,
}

/// One answered session; it ends when this is dropped.
struct Answer<'a>(&'a Answering);

impl Answering {
    /// Counts a session in, before its thread starts, so no reader can miss it.
    fn begin(&self) -> Answer<'_> {
        *lock(&self.sessions) += 1;
        Answer(self)
    }

    /// Waits until no session is being answered, or `within` has passed (a peer stalled
    /// mid-session: its figures are then read as they stand).
    fn wait_idle(&self, within: Duration) {
        let sessions = lock(&self.sessions);
        let _idle = self
            .ended
            .wait_timeout_while(sessions, within, |sessions| *sessions > 0)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

impl Drop for Answer<'_> {
    fn drop(&mut self) {
        *lock(&self.0.sessions) -= 1;
        self.0.ended.notify_all();
    }
}

/// Runs replica `setup` of a binding in `bindings` until told to finish or its standard
/// input closes.
///
/// # Errors
/// The binding is unknown, its store does not open or does not replicate, the socket cannot
/// listen, or standard output is gone; each in a sentence.
pub(crate) fn serve_replica(setup: ReplicaSetup, bindings: &Bindings) -> Result<(), String> {
    let selected = bindings.select(&setup.backend).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&setup.dir).map_err(|e| format!("{}: {e}", setup.dir.display()))?;
    let handle = open_replicating(
        &selected,
        &setup.dir,
        selected.durability(Durability::default()),
    )
    .map_err(|e| crate::error::with_causes(&e))?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("listening: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listening: {e}"))?;
    let replica = Replica {
        ids: (0..setup.documents).map(doc_id).collect(),
        setup,
        handle,
        totals: Mutex::new(Totals {
            apply_per_change: histogram(),
            changes_applied: 0,
            peers_dropped: 0,
            lost: 0,
            reordered: 0,
        }),
        local_write: Mutex::new(histogram()),
        answering: Answering::default(),
        stopping: AtomicBool::new(false),
    };
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            for stream in listener.incoming() {
                if replica.stopping.load(Ordering::Acquire) {
                    break;
                }
                match stream {
                    Ok(stream) => {
                        let replica = &replica;
                        let answer = replica.answering.begin();
                        scope.spawn(move || {
                            replica.answer(stream);
                            drop(answer);
                        });
                    }
                    Err(e) => replica.log(&format!("a connection failed before it began: {e}")),
                }
            }
        });
        let outcome = replica.obey(addr.port());
        replica.stopping.store(true, Ordering::Release);
        // Wakes the listener so it sees the flag; a failure means it is gone already.
        let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        outcome
    });
    replica
        .handle
        .close()
        .map_err(|e| crate::error::with_causes(&e))?;
    outcome
}

impl Replica {
    /// Says it is ready, then answers commands until told to finish or the input closes.
    fn obey(&self, port: u16) -> Result<(), String> {
        let stdout = std::io::stdout();
        let say = |reply: &Reply| -> Result<(), String> {
            let line = serde_json::to_string(reply).map_err(|e| e.to_string())?;
            let mut out = stdout.lock();
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("the coordinator is gone: {e}"))
        };
        say(&Reply::Ready { port })?;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let command = match serde_json::from_str::<Command>(&line) {
                Ok(command) => command,
                Err(e) => {
                    say(&Reply::Failed {
                        error: format!("`{line}` is no command: {e}"),
                    })?;
                    continue;
                }
            };
            let finish = matches!(command, Command::Finish);
            let reply = self
                .run(command)
                .unwrap_or_else(|error| Reply::Failed { error });
            say(&reply)?;
            if finish {
                break;
            }
        }
        Ok(())
    }

    fn run(&self, command: Command) -> Result<Reply, String> {
        let store_error = |e: crate::Error| crate::error::with_causes(&e);
        match command {
            Command::Write { writes } => {
                let docs = self.handle.collection(COLLECTION);
                let mut local = lock(&self.local_write);
                for (doc, tag) in writes {
                    let id = self.ids.get(doc).ok_or(format!("no document {doc}"))?;
                    let value = value(tag, self.setup.value_bytes);
                    let at = Instant::now();
                    docs.upsert(id, value).map_err(store_error)?;
                    record(&mut local, at.elapsed(), 1);
                }
                Ok(Reply::Wrote)
            }
            Command::Sync { addr, peer, sync } => self
                .start(addr, peer, sync)
                .map_err(|e| crate::error::with_causes(&e)),
            Command::Stats => {
                // Half the coordinator's bound on this reply.
                self.answering.wait_idle(self.setup.io_timeout / 2);
                let totals = lock(&self.totals);
                Ok(Reply::Stats {
                    changes_applied: totals.changes_applied,
                    peers_dropped: totals.peers_dropped,
                    lost: totals.lost,
                    reordered: totals.reordered,
                })
            }
            Command::Digests => {
                let docs = self.handle.collection(COLLECTION);
                let digests = (self.ids.iter())
                    .map(|id| Ok(digest(docs.get(id)?.as_deref())))
                    .collect::<crate::Result<_>>()
                    .map_err(store_error)?;
                Ok(Reply::Digests { digests })
            }
            Command::Finish => {
                self.answering.wait_idle(self.setup.io_timeout);
                let problems = self.handle.verify().transpose().map_err(store_error)?;
                Ok(Reply::Finished {
                    problems: problems.unwrap_or_default(),
                    local_write: recorded(&lock(&self.local_write)),
                    apply_per_change: recorded(&lock(&self.totals).apply_per_change),
                })
            }
        }
    }

    /// Syncs with the replica at `addr`, starting sessions until one settles.
    fn start(&self, addr: SocketAddr, peer: usize, sync: u64) -> Result<Reply, LinkError> {
        let failed = |failure| LinkError {
            peer: format!("replica {peer} at {addr}"),
            failure,
        };
        let (mut messages, mut bytes) = (0, 0);
        for attempt in 1..=MAX_ATTEMPTS {
            let stream = faults::stream(self.setup.index, peer, sync, attempt);
            let mut faults = Faults::new(self.setup.faults, stream);
            let transport = TcpTransport::connect(addr, self.setup.io_timeout)
                .map_err(|e| failed(LinkFailure::Transport(e)))?;
            let mut side = Side::new(self.endpoint(), transport);
            let settled = side
                .greet(stream)
                .and_then(|()| side.run(true, &mut faults));
            lock(&self.totals).add(&side.figures, &faults);
            messages += side.figures.link_messages();
            bytes += side.figures.link_bytes();
            if settled.map_err(failed)? {
                return Ok(Reply::Synced {
                    messages,
                    bytes,
                    sessions: attempt,
                });
            }
        }
        Err(failed(LinkFailure::Unsettled {
            attempts: MAX_ATTEMPTS,
        }))
    }

    /// Answers one peer's session; a failure drops the peer, never the replica.
    fn answer(&self, stream: TcpStream) {
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "a peer".to_owned(), |a| a.to_string());
        if self.stopping.load(Ordering::Acquire) {
            return;
        }
        let failed = |failure| LinkError {
            peer: peer.clone(),
            failure,
        };
        let outcome = TcpTransport::over(stream, self.setup.io_timeout)
            .map_err(|e| failed(LinkFailure::Transport(e)))
            .and_then(|transport| {
                let mut side = Side::new(self.endpoint(), transport);
                let stream = side.greeted().map_err(failed)?;
                let mut faults = Faults::new(self.setup.faults, faults::answering(stream));
                let settled = side.run(false, &mut faults);
                lock(&self.totals).add(&side.figures, &faults);
                settled.map_err(failed)
            });
        if let Err(e) = outcome {
            lock(&self.totals).peers_dropped += 1;
            self.log(&format!("dropped {}", crate::error::with_causes(&e)));
        }
    }

    fn endpoint(&self) -> Box<dyn crate::binding::SyncEndpoint + '_> {
        self.handle
            .sync()
            .expect("checked when opened: the store replicates")
    }

    fn log(&self, line: &str) {
        eprintln!("storebench mesh-replica {}: {line}", self.setup.index);
    }
}

/// A lock whose holder panicked still guards figures worth reporting.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A histogram's recorded values, (nanoseconds, count), to ship and rebuild.
fn recorded(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
    histogram
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}
