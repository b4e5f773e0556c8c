//! The replication check, for any binding whose stores replicate
//! ([`Handle::replicating`](crate::binding::Handle::replicating)): replicas of the store write
//! apart and sync in pairs through the binding's [`SyncEndpoint`], some sessions cut off
//! part-way and some replicas closed and reopened; then every pair syncs until nothing
//! changes. A sound store ends with every replica showing the same documents, each value one
//! that some replica wrote, and the same again after each reopens.
//!
//! It needs nothing of the store but the binding API, as the mesh runner does. The Automerge
//! backend's own convergence check (`check_convergence`, beside the backend) goes further with
//! what only that store exposes: its heads, forged changes, power loss on the fault-injecting
//! disk.
//!
//! An input is a header byte (bit 0: three replicas rather than two), then two bytes per step:
//! a tag (low three bits the kind, the rest which replica) and an argument. Any bytes decode.
//!
//! | kind | step                                                                              |
//! |------|-----------------------------------------------------------------------------------|
//! | 0-2  | put: document `arg & 3`, a value naming the replica and `arg`                      |
//! | 3    | delete: document `arg & 3`                                                        |
//! | 4-5  | a session with another replica, to its end                                        |
//! | 6    | a session with another replica, cut off after `arg & 3` messages                  |
//! | 7    | the replica is closed and reopened: it must show what it showed                   |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::checker::{State, state};
use crate::binding::{Binding, Handle, SyncEndpoint};
use crate::error::with_causes;

/// The collection every replica writes.
const COLLECTION: &str = "replicated";
const DOCS: [&str; 4] = ["r0", "r1", "r2", "r3"];
/// The most steps an input runs.
pub const MAX_REPLICATION_STEPS: usize = 48;
/// Turns a session may take before it is called endless: a few messages each way settle one.
const MAX_TURNS: usize = 64;

/// What a replication input ran, found converged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replicated {
    /// Replicas.
    pub replicas: usize,
    /// Puts and deletes that returned.
    pub writes: usize,
    /// Sessions run to their end.
    pub sessions: usize,
    /// Sessions cut off part-way.
    pub cut: usize,
    /// Replicas closed and reopened.
    pub reopens: usize,
    /// Messages delivered.
    pub messages: usize,
}

/// Runs one input against replicas of `binding`'s store, each in a directory of its own under
/// `dir`: what it ran, found converged.
///
/// # Errors
/// The violation found: a store that does not replicate, an operation or message that failed,
/// a session that never settles, replicas that differ after settling, a value nobody wrote, or
/// a reopen that changed what a replica shows.
pub fn check_replication(
    binding: &dyn Binding,
    dir: &Path,
    data: &[u8],
) -> Result<Replicated, String> {
    let Some((&header, steps)) = data.split_first() else {
        return Ok(Replicated::default());
    };
    let mut run = Run::open(binding, dir, 2 + usize::from(header & 1))?;
    for step in steps.chunks_exact(2).take(MAX_REPLICATION_STEPS) {
        run.step(step[0], step[1])?;
    }
    run.settle()?;
    run.converged()?;
    for r in 0..run.replicas.len() {
        run.reopen(r)?;
    }
    Ok(run.done)
}

struct Run<'b> {
    binding: &'b dyn Binding,
    dirs: Vec<PathBuf>,
    /// Each replica's store: `None` only while it is being reopened.
    replicas: Vec<Option<Handle>>,
    /// Every value written to each document, by any replica.
    written: BTreeMap<&'static str, BTreeSet<Vec<u8>>>,
    done: Replicated,
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Both sides said they were done.
    Settled,
    /// Neither side had anything to send, and they were not both done.
    Stalled,
    /// It was cut off.
    Cut,
}

impl<'b> Run<'b> {
    fn open(binding: &'b dyn Binding, dir: &Path, count: usize) -> Result<Self, String> {
        let mut run = Run {
            binding,
            dirs: (0..count)
                .map(|r| dir.join(format!("replica-{r}")))
                .collect(),
            replicas: Vec::with_capacity(count),
            written: BTreeMap::new(),
            done: Replicated {
                replicas: count,
                ..Replicated::default()
            },
        };
        for r in 0..count {
            let handle = run.open_replica(r)?;
            if handle.sync().is_none() {
                return Err(format!(
                    "the `{}` store does not replicate: its binding's Handle starts no sync \
                     session (see Handle::replicating)",
                    binding.name()
                ));
            }
            run.replicas.push(Some(handle));
        }
        Ok(run)
    }

    fn open_replica(&self, r: usize) -> Result<Handle, String> {
        let dir = &self.dirs[r];
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("replica {r}: cannot make {}: {e}", dir.display()))?;
        let durability = self.binding.durabilities().first().copied();
        self.binding
            .open(dir, durability)
            .map_err(|e| format!("replica {r}: open: {}", with_causes(&e)))
    }

    fn replica(&self, r: usize) -> &Handle {
        self.replicas[r]
            .as_ref()
            .expect("a replica is open between steps")
    }

    fn step(&mut self, tag: u8, arg: u8) -> Result<(), String> {
        let n = self.replicas.len();
        let r = usize::from(tag >> 3) % n;
        let other = (r + 1 + usize::from(arg) % (n - 1)) % n;
        let doc = DOCS[usize::from(arg & 3)];
        match tag & 7 {
            0..=2 => {
                let value = vec![b'v', r as u8, arg];
                self.replica(r)
                    .collection(COLLECTION)
                    .upsert(doc, value.clone())
                    .map_err(|e| format!("replica {r}: upsert {doc}: {}", with_causes(&e)))?;
                self.written.entry(doc).or_default().insert(value);
                self.done.writes += 1;
            }
            3 => {
                self.replica(r)
                    .collection(COLLECTION)
                    .delete(doc)
                    .map_err(|e| format!("replica {r}: delete {doc}: {}", with_causes(&e)))?;
                self.done.writes += 1;
            }
            4 | 5 => {
                self.session(r, other, None)?;
            }
            6 => {
                self.session(r, other, Some(usize::from(arg & 3)))?;
            }
            _ => self.reopen(r)?,
        }
        Ok(())
    }

    /// A session between replicas `a` and `b`, counted.
    fn session(&mut self, a: usize, b: usize, cut: Option<usize>) -> Result<Ended, String> {
        let (ended, messages) = self.run_session(a, b, cut)?;
        self.done.messages += messages;
        match ended {
            Ended::Cut => self.done.cut += 1,
            Ended::Settled | Ended::Stalled => self.done.sessions += 1,
        }
        Ok(ended)
    }

    /// Runs a session between replicas `a` and `b`, `a` speaking first, turn by turn: a side
    /// sends every message it has, then the other does, until two turns in a row send nothing;
    /// `cut` ends it after that many messages. How it ended, and the messages delivered.
    fn run_session(
        &self,
        a: usize,
        b: usize,
        cut: Option<usize>,
    ) -> Result<(Ended, usize), String> {
        let (mut ends, mut quiet, mut sent) = ([self.endpoint(a)?, self.endpoint(b)?], 0, 0);
        let sides = [a, b];
        for turn in 0..MAX_TURNS {
            let (from, to) = (turn % 2, 1 - turn % 2);
            let mut this_turn = 0;
            while let Some(message) = ends[from].next_message().map_err(|e| {
                format!("replica {}: next message: {}", sides[from], with_causes(&e))
            })? {
                if cut == Some(sent) {
                    return Ok((Ended::Cut, sent));
                }
                ends[to].receive(&message).map_err(|e| {
                    format!(
                        "replica {} refused a message of replica {}, on a link that loses \
                         nothing: {}",
                        sides[to],
                        sides[from],
                        with_causes(&e)
                    )
                })?;
                (sent, this_turn) = (sent + 1, this_turn + 1);
            }
            quiet = if this_turn == 0 { quiet + 1 } else { 0 };
            if quiet >= 2 {
                let settled = ends[0].is_done() && ends[1].is_done();
                return Ok((
                    if settled {
                        Ended::Settled
                    } else {
                        Ended::Stalled
                    },
                    sent,
                ));
            }
        }
        Err(format!(
            "a session between replicas {a} and {b} went on past {MAX_TURNS} turns"
        ))
    }

    fn endpoint(&self, r: usize) -> Result<Box<dyn SyncEndpoint + '_>, String> {
        self.replica(r)
            .sync()
            .ok_or_else(|| format!("replica {r} stopped starting sync sessions"))
    }

    /// Every pair syncs, on a link that loses nothing, until a round changes nothing: each
    /// session must settle.
    fn settle(&mut self) -> Result<(), String> {
        let n = self.replicas.len();
        for _ in 0..n {
            let before = self.states()?;
            for a in 0..n {
                for b in a + 1..n {
                    let ended = self.session(a, b, None)?;
                    if ended != Ended::Settled {
                        return Err(format!(
                            "a session between replicas {a} and {b}, on a link that loses \
                             nothing, ended {ended:?}"
                        ));
                    }
                }
            }
            if self.states()? == before {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Every replica shows the same documents, each value one that some replica wrote.
    fn converged(&self) -> Result<(), String> {
        let states = self.states()?;
        if let Some((r, differs)) = states
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, s)| **s != states[0])
        {
            return Err(format!(
                "after every pair synced, replica {r} shows {differs:?} and replica 0 {:?}",
                states[0]
            ));
        }
        let shown = states[0]
            .iter()
            .find(|(name, _)| name == COLLECTION)
            .map_or(&[][..], |(_, docs)| docs.as_slice());
        for (id, value) in shown {
            let doc = DOCS.iter().find(|d| **d == id.as_str());
            if !doc.is_some_and(|d| self.written.get(d).is_some_and(|v| v.contains(value))) {
                return Err(format!(
                    "document {id:?} shows {value:?}, which no replica wrote"
                ));
            }
        }
        Ok(())
    }

    /// Closes replica `r` and opens it again: it shows what it showed.
    fn reopen(&mut self, r: usize) -> Result<(), String> {
        let before = state(self.replica(r).store()).map_err(|e| with_causes(&e))?;
        let closing = self.replicas[r]
            .take()
            .expect("a replica is open between steps");
        closing
            .close()
            .map_err(|e| format!("replica {r}: close: {}", with_causes(&e)))?;
        let reopened = self.open_replica(r)?;
        let after = state(reopened.store()).map_err(|e| with_causes(&e))?;
        self.replicas[r] = Some(reopened);
        self.done.reopens += 1;
        if before != after {
            return Err(format!(
                "replica {r} showed {before:?} before it was closed and {after:?} after it \
                 reopened"
            ));
        }
        Ok(())
    }

    fn states(&self) -> Result<Vec<State>, String> {
        (0..self.replicas.len())
            .map(|r| {
                state(self.replica(r).store())
                    .map_err(|e| format!("replica {r}: {}", with_causes(&e)))
            })
            .collect()
    }
}
