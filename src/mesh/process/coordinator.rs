//! The coordinator's side: starts a process per replica, drives them through the run's
//! steps, and gathers their figures. Every process is held by a guard that kills it when
//! the run ends any way but cleanly, so a failed run leaves no replica behind.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::control::{Command, Reply};
use super::error::{ReplicaError, ReplicaFailure};
use crate::binding::Selected;
use crate::mesh::run::{
    Finished, LinkSync, MeshOptions, Replicas, TcpOptions, dir_bytes, histogram,
};
use crate::mesh::workload::MeshWorkload;
use crate::{Error, Result};

/// Lines of a failed replica's log its error quotes.
const LAST_WORDS: usize = 5;

/// One replica process.
struct Process {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    addr: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
}

/// Every replica process of a run; dropping it kills those still running.
pub(crate) struct ProcessReplicas {
    backend: String,
    processes: Vec<Process>,
    pending: Vec<Vec<(usize, u64)>>,
    io_timeout: Duration,
}

impl ProcessReplicas {
    /// Starts a replica process per replica of `workload` and waits until each listens.
    pub(crate) fn spawn(
        workload: &MeshWorkload,
        selected: &Selected,
        dir: &Path,
        options: &MeshOptions,
        tcp: &TcpOptions,
    ) -> Result<Self> {
        let mut replicas = ProcessReplicas {
            backend: selected.name().to_owned(),
            processes: Vec::with_capacity(workload.replicas),
            pending: vec![Vec::new(); workload.replicas],
            io_timeout: tcp.io_timeout,
        };
        // Started together, waited for together: the stores open in parallel. Each is held
        // by the guard from the moment it runs, ready or not.
        for r in 0..workload.replicas {
            let process = replicas.start(r, workload, selected.name(), dir, options, tcp)?;
            replicas.processes.push(process);
        }
        for r in 0..workload.replicas {
            let failure = match replicas.processes[r].reply_within(tcp.ready_timeout) {
                Ok(Reply::Ready { port }) => {
                    replicas.processes[r].addr.set_port(port);
                    continue;
                }
                Ok(other) => ReplicaFailure::Garbled {
                    line: format!("{other:?}"),
                    doing: "starting".into(),
                },
                Err(Silence::Timeout) => ReplicaFailure::NeverReady {
                    waited: tcp.ready_timeout,
                },
                Err(Silence::Closed) => return Err(replicas.exited(r, "starting")),
                Err(Silence::Garbled(line)) => ReplicaFailure::Garbled {
                    line,
                    doing: "starting".into(),
                },
            };
            return Err(replicas.failed(r, failure));
        }
        Ok(replicas)
    }

    /// Starts replica `r`'s process, its output read on a thread of its own. A failure to
    /// start stops those started before (the guard, as the error drops `self`).
    fn start(
        &mut self,
        r: usize,
        workload: &MeshWorkload,
        backend: &str,
        dir: &Path,
        options: &MeshOptions,
        tcp: &TcpOptions,
    ) -> Result<Process> {
        let log = dir.join(format!("replica-{r}.log"));
        let spawn_failed = |e: std::io::Error| {
            Error::backend(
                backend,
                ReplicaError {
                    replica: r,
                    pid: None,
                    failure: ReplicaFailure::Spawn(e),
                    last_words: String::new(),
                },
            )
        };
        let stderr = File::create(&log).map_err(spawn_failed)?;
        let faults = options.faults;
        let mut child = std::process::Command::new(&tcp.program)
            .arg("mesh-replica")
            .args(["--backend", backend])
            .arg("--dir")
            .arg(dir.join(format!("replica-{r}")))
            .args(["--index", &r.to_string()])
            .args(["--documents", &workload.documents.to_string()])
            .args(["--value-bytes", &workload.value_bytes.to_string()])
            .args(["--io-timeout-ms", &tcp.io_timeout.as_millis().to_string()])
            .args(["--loss", &faults.loss.to_string()])
            .args(["--reorder", &faults.reorder.to_string()])
            .args(["--delay-us", &faults.delay.as_micros().to_string()])
            .args(["--fault-seed", &faults.seed.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(spawn_failed)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            unreachable!("both were piped");
        };
        let (send, replies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Process {
            child,
            stdin,
            replies,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir: dir.join(format!("replica-{r}")),
            log,
        })
    }

    /// Sends each replica its command, then gathers their replies in order: they carry
    /// them out in parallel.
    fn ask_all(&mut self, commands: Vec<(usize, Command)>, waited: Duration) -> Result<Vec<Reply>> {
        for (r, command) in &commands {
            self.send(*r, command)?;
        }
        commands
            .iter()
            .map(|(r, command)| self.reply(*r, waited, command))
            .collect()
    }

    /// The same command to every replica.
    fn ask_everyone(&mut self, command: &Command, waited: Duration) -> Result<Vec<Reply>> {
        let commands = (0..self.processes.len())
            .map(|r| (r, command.clone()))
            .collect();
        self.ask_all(commands, waited)
    }

    fn ask(&mut self, r: usize, command: &Command, waited: Duration) -> Result<Reply> {
        self.send(r, command)?;
        self.reply(r, waited, command)
    }

    fn send(&mut self, r: usize, command: &Command) -> Result<()> {
        let line =
            serde_json::to_string(command).map_err(|e| Error::backend(self.backend.clone(), e))?;
        let process = &mut self.processes[r];
        if writeln!(process.stdin, "{line}")
            .and_then(|()| process.stdin.flush())
            .is_err()
        {
            return Err(self.exited(r, &command.doing()));
        }
        Ok(())
    }

    fn reply(&mut self, r: usize, waited: Duration, command: &Command) -> Result<Reply> {
        let doing = command.doing();
        match self.processes[r].reply_within(waited) {
            Ok(Reply::Failed { error }) => {
                Err(self.failed(r, ReplicaFailure::Failed { doing, error }))
            }
            Ok(reply) => Ok(reply),
            Err(Silence::Timeout) => Err(self.failed(r, ReplicaFailure::Silent { waited, doing })),
            Err(Silence::Closed) => Err(self.exited(r, &doing)),
            Err(Silence::Garbled(line)) => {
                Err(self.failed(r, ReplicaFailure::Garbled { line, doing }))
            }
        }
    }

    /// Replica `r` is gone: how it exited.
    fn exited(&mut self, r: usize, doing: &str) -> Error {
        let process = &mut self.processes[r];
        // Its output closed: it is exiting, if not gone already.
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match process.child.try_wait() {
                Ok(Some(status)) => break status.to_string(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break "it closed its output".to_owned(),
            }
        };
        self.failed(
            r,
            ReplicaFailure::Exited {
                status,
                doing: doing.to_owned(),
            },
        )
    }

    /// The error for replica `r`, after every process is stopped (so the error's promise
    /// holds however the caller goes on).
    fn failed(&mut self, r: usize, failure: ReplicaFailure) -> Error {
        let pid = self.processes.get(r).map(|p| p.child.id());
        self.stop_all();
        let last_words = self
            .processes
            .get(r)
            .map(|p| last_lines(&p.log))
            .unwrap_or_default();
        Error::backend(
            self.backend.clone(),
            ReplicaError {
                replica: r,
                pid,
                failure,
                last_words,
            },
        )
    }

    /// Kills and reaps every process still running.
    fn stop_all(&mut self) {
        for process in &mut self.processes {
            if let Ok(None) = process.child.try_wait() {
                let _ = process.child.kill();
            }
            let _ = process.child.wait();
        }
    }

    /// Sends every replica its writes since the last round; they make them in parallel.
    fn flush_writes(&mut self) -> Result<()> {
        let commands: Vec<_> = (self.pending.iter_mut().enumerate())
            .filter(|(_, writes)| !writes.is_empty())
            .map(|(r, writes)| {
                let writes = std::mem::take(writes);
                (r, Command::Write { writes })
            })
            .collect();
        for reply in self.ask_all(commands, self.io_timeout)? {
            if !matches!(reply, Reply::Wrote) {
                return Err(self.out_of_turn(&reply));
            }
        }
        Ok(())
    }

    fn out_of_turn(&self, reply: &Reply) -> Error {
        Error::backend(
            self.backend.clone(),
            format!("a replica answered {reply:?} out of turn"),
        )
    }
}

impl Replicas for ProcessReplicas {
    fn write(&mut self, replica: usize, doc: usize, tag: u64) -> Result<()> {
        self.pending[replica].push((doc, tag));
        Ok(())
    }

    fn sync(&mut self, a: usize, b: usize, sync: u64) -> Result<LinkSync> {
        self.flush_writes()?;
        let command = Command::Sync {
            addr: self.processes[b].addr,
            peer: b,
            sync,
        };
        // Every session is bounded by its socket operations; a link retries a stalled one.
        let waited = self.io_timeout * 2 * crate::mesh::link::MAX_ATTEMPTS;
        match self.ask(a, &command, waited)? {
            Reply::Synced {
                messages,
                bytes,
                sessions,
            } => Ok(LinkSync {
                messages,
                bytes,
                sessions,
            }),
            other => Err(self.out_of_turn(&other)),
        }
    }

    fn changes_applied(&mut self) -> Result<u64> {
        self.flush_writes()?;
        let mut total = 0;
        for reply in self.ask_everyone(&Command::Stats, self.io_timeout)? {
            match reply {
                Reply::Stats {
                    changes_applied, ..
                } => total += changes_applied,
                other => return Err(self.out_of_turn(&other)),
            }
        }
        Ok(total)
    }

    fn digests(&mut self) -> Result<Vec<Vec<Option<u64>>>> {
        self.flush_writes()?;
        self.ask_everyone(&Command::Digests, self.io_timeout)?
            .into_iter()
            .map(|reply| match reply {
                Reply::Digests { digests } => Ok(digests),
                other => Err(self.out_of_turn(&other)),
            })
            .collect()
    }

    fn finish(mut self) -> Result<Finished> {
        self.flush_writes()?;
        let mut totals = (0, 0);
        for reply in self.ask_everyone(&Command::Stats, self.io_timeout)? {
            if let Reply::Stats {
                lost, reordered, ..
            } = reply
            {
                totals = (totals.0 + lost, totals.1 + reordered);
            }
        }
        let (mut local_write, mut apply_per_change) = (histogram(), histogram());
        // Checking a whole store takes longer than a command.
        let replies = self.ask_everyone(&Command::Finish, self.io_timeout * 6)?;
        for (r, reply) in replies.into_iter().enumerate() {
            let Reply::Finished {
                problems,
                local_write: local,
                apply_per_change: apply,
            } = reply
            else {
                return Err(self.out_of_turn(&reply));
            };
            if !problems.is_empty() {
                return Err(Error::backend(
                    self.backend.clone(),
                    format!("replica {r} fails its check: {}", problems.join("; ")),
                ));
            }
            for (nanos, count) in local {
                let _ = local_write.record_n(nanos, count);
            }
            for (nanos, count) in apply {
                let _ = apply_per_change.record_n(nanos, count);
            }
        }
        let mut file_bytes = Vec::with_capacity(self.processes.len());
        for r in 0..self.processes.len() {
            let deadline = Instant::now() + self.io_timeout;
            loop {
                match self.processes[r].child.try_wait() {
                    Ok(Some(status)) if status.success() => break,
                    Ok(Some(_)) => return Err(self.exited(r, "closing its store")),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => {
                        return Err(self.failed(
                            r,
                            ReplicaFailure::Silent {
                                waited: self.io_timeout,
                                doing: "closing its store".into(),
                            },
                        ));
                    }
                }
            }
            file_bytes.push(dir_bytes(&self.processes[r].dir));
        }
        Ok(Finished {
            local_write,
            apply_per_change,
            file_bytes,
            lost: totals.0,
            reordered: totals.1,
        })
    }
}

impl Drop for ProcessReplicas {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Why no reply came.
enum Silence {
    Timeout,
    Closed,
    Garbled(String),
}

impl Process {
    fn reply_within(&mut self, waited: Duration) -> std::result::Result<Reply, Silence> {
        match self.replies.recv_timeout(waited) {
            Ok(line) => serde_json::from_str(&line).map_err(|_| Silence::Garbled(line)),
            Err(RecvTimeoutError::Timeout) => Err(Silence::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(Silence::Closed),
        }
    }
}

/// The last lines of a log, joined.
fn last_lines(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(LAST_WORDS)..].join(" | ")
}
