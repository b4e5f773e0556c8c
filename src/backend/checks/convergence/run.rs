//! Running one convergence input: the replicas, their links and the steps.

use automerge::ChangeHash;

use super::link::{self, Link};
use super::{hostile, verdict};
use crate::backend::ReplicationBug;
use crate::fault::{Disk, PowerLoss};
use crate::{AutomergeBackend, Durability, OpenOptions, ReplicationError, StorageBackend};

/// The most steps an input runs.
pub const MAX_STEPS: usize = 64;
pub(super) const DOCS: [&str; 4] = ["d0", "d1", "d2", "d3"];
pub(super) const COLLECTION: &str = "shared";

/// What a convergence input ran, found converged: the replicas, and the steps by what they did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Converged {
    /// Per replica, whether it writes durably (`EveryWrite`).
    pub durable: Vec<bool>,
    /// Steps run.
    pub steps: usize,
    /// Local puts and deletes that returned.
    pub writes: usize,
    /// Messages a sync session put on a wire.
    pub sent: usize,
    /// Messages delivered (and taken off the wire).
    pub delivered: usize,
    /// Messages lost.
    pub lost: usize,
    /// Messages delivered and kept on the wire to arrive again.
    pub repeated: usize,
    /// Damaged messages, refused whole.
    pub refused: usize,
    /// Messages of another session or meant for another replica, delivered.
    pub misdelivered: usize,
    /// Sessions a link dropped for new ones: asked for, or stalled by a misdelivered message.
    pub new_sessions: usize,
    /// Changes the hostile peer forged, each refused.
    pub forged: usize,
    /// Flushes that returned.
    pub flushes: usize,
    /// Settles before the last, each followed by `verify()` and `compact()`.
    pub settles: usize,
    /// Power losses, asked for or after an injected failure.
    pub crashes: usize,
    /// Operations an injected failure failed (the replica then went down).
    pub failed: usize,
}

impl Converged {
    fn count(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::None => {}
            Delivery::Delivered => self.delivered += 1,
            Delivery::Lost => self.lost += 1,
            Delivery::Repeated => self.repeated += 1,
            Delivery::Refused => self.refused += 1,
            Delivery::Misdelivered => self.misdelivered += 1,
            Delivery::Stalled => self.new_sessions += 1,
        }
    }
}

/// What became of a message a step took from a wire.
pub(super) enum Delivery {
    /// There was none to take.
    None,
    Delivered,
    Lost,
    /// Delivered and kept to arrive again.
    Repeated,
    /// Damaged on the way and refused whole.
    Refused,
    /// Of another session, or meant for another replica.
    Misdelivered,
    /// Refused by a session stalled by a misdelivered message: the link starts new ones.
    Stalled,
}

pub(super) struct Replica {
    pub(super) disk: Disk,
    pub(super) store: AutomergeBackend,
    pub(super) durable: bool,
    /// Per acknowledged durable write, the document and its heads right after: the write's
    /// change is one of them, and must survive.
    pub(super) acked: Vec<(&'static str, Vec<ChangeHash>)>,
}

/// Why a step did not complete.
pub(super) enum StepError {
    /// Replica `.0` failed: allowed only after an injected fault, and it then goes down.
    Failed(usize, ReplicationError),
    /// The contract is broken.
    Violation(String),
}

/// Runs one input: what it ran, found converged.
///
/// # Errors
/// The violation found.
pub fn check_convergence(data: &[u8]) -> Result<Converged, String> {
    check_convergence_planted(data, None)
}

/// As [`check_convergence`], with `bug` planted back in every replica: to show the check finds
/// it (`Err`), and from which inputs.
///
/// # Errors
/// The violation found.
pub fn check_convergence_planted(
    data: &[u8],
    bug: Option<ReplicationBug>,
) -> Result<Converged, String> {
    let Some((&header, steps)) = data.split_first() else {
        return Ok(Converged::default());
    };
    let count = 2 + usize::from(header & 3) % 3;
    let mut run = Run {
        bug,
        replicas: Vec::with_capacity(count),
        links: Vec::new(),
        late: Vec::new(),
        ran: Converged::default(),
    };
    for r in 0..count {
        let disk = Disk::new();
        let durable = header >> (2 + r) & 1 == 1;
        let store = open(&disk, durable, bug).map_err(|e| format!("replica {r} opens: {e}"))?;
        run.replicas.push(Replica {
            disk,
            store,
            durable,
            acked: Vec::new(),
        });
    }
    run.ran.durable = run.replicas.iter().map(|r| r.durable).collect();
    for step in steps.chunks_exact(2).take(MAX_STEPS) {
        run.step(step[0], step[1])?;
    }
    run.settle()?;
    verdict::check_converged(&run.replicas)?;
    for (r, replica) in run.replicas.into_iter().enumerate() {
        verdict::reopen_clean(r, replica, bug)?;
    }
    Ok(run.ran)
}

/// The replicas, their links, and what the steps did so far.
struct Run {
    bug: Option<ReplicationBug>,
    replicas: Vec<Replica>,
    links: Vec<Link>,
    /// Messages of sessions the links dropped, to arrive late: see [`link::Late`].
    late: Vec<link::Late>,
    ran: Converged,
}

impl Run {
    fn step(&mut self, tag: u8, arg: u8) -> Result<(), String> {
        let count = self.replicas.len();
        let (kind, which) = (tag & 15, usize::from(tag >> 4));
        let r = which % count;
        self.ran.steps += 1;
        let doc = DOCS[usize::from(arg & 3)];
        let outcome = match kind {
            0..=2 => write(&mut self.replicas[r], r, doc, Some(vec![arg >> 2])),
            3 => write(&mut self.replicas[r], r, doc, None),
            4..=7 => link::send(&mut self.links, &self.replicas, which, arg).map(|sent| {
                self.ran.sent += usize::from(sent);
            }),
            8..=11 => link::deliver(&mut self.links, &mut self.late, &self.replicas, which, arg)
                .map(|d| self.ran.count(d)),
            12 => hostile::forge(&mut self.replicas[r], r, arg).map(|forged| {
                self.ran.forged += usize::from(forged);
            }),
            13 => link::exchange(&mut self.links, &mut self.late, &self.replicas, which).map(
                |(sent, got)| {
                    self.ran.sent += sent;
                    self.ran.delivered += got;
                },
            ),
            14 if arg & 3 == 0 => {
                link::new_sessions(&mut self.links, &mut self.late, &self.replicas, which);
                self.ran.new_sessions += 1;
                Ok(())
            }
            14 => link::misdeliver(&mut self.links, &self.late, &self.replicas, which, arg)
                .map(|d| self.ran.count(d)),
            _ => match arg & 3 {
                0 | 2 => {
                    self.crash(r, arg.rotate_right(1))?;
                    Ok(())
                }
                1 => {
                    self.replicas[r].disk.fail_in(u64::from(arg >> 1) % 16);
                    Ok(())
                }
                _ if arg & 4 == 0 => flush(&mut self.replicas[r], r),
                _ => {
                    self.settle()?;
                    self.ran.settles += 1;
                    Ok(())
                }
            },
        };
        match outcome {
            Ok(()) => {
                if matches!(kind, 0..=3) {
                    self.ran.writes += 1;
                }
                if kind == 15 && arg & 7 == 3 {
                    self.ran.flushes += 1;
                }
                Ok(())
            }
            Err(StepError::Violation(violation)) => Err(violation),
            // Only an injected failure may fail an operation; the replica then goes down.
            Err(StepError::Failed(on, error)) if self.replicas[on].disk.failures() == 0 => Err(
                format!("replica {on} failed with no fault injected: {error}"),
            ),
            Err(StepError::Failed(on, _)) => {
                self.crash(on, arg)?;
                self.ran.failed += 1;
                Ok(())
            }
        }
    }

    /// Every pair synced to quiescence, then each replica's `verify()` and `compact()`.
    ///
    /// A replica whose disk failed a call no operation reported (`collection()` creating a
    /// collection returns no error; the store then refuses every later write, as it must after
    /// an I/O error) goes down first: the sync would meet the error.
    fn settle(&mut self) -> Result<(), String> {
        for r in 0..self.replicas.len() {
            if self.replicas[r].disk.failures() > 0 {
                self.crash(r, 0)?;
            }
        }
        verdict::settle(&mut self.replicas)?;
        verdict::sound_after_settling(&mut self.replicas)
    }

    /// Power loss on replica `r`, keeping the unsynced writes `loss` picks, and a reopen.
    /// Every link it was on starts new sessions; what was on their wires arrives late, if at
    /// all.
    fn crash(&mut self, r: usize, loss: u8) -> Result<(), String> {
        let power_loss = PowerLoss {
            keep: u64::from(loss).wrapping_mul(0x0101_0101_0101_0101),
            keep_rest: loss & 1 == 1,
            tear: loss >> 6,
        };
        let replica = &mut self.replicas[r];
        let survived = replica.disk.power_loss(power_loss);
        // The old store writes nothing more (its disk is dead); dropping it releases the file.
        let store = open(&survived, replica.durable, self.bug)
            .map_err(|e| format!("replica {r} does not reopen after a power loss: {e}"))?;
        replica.store = store;
        replica.disk = survived;
        self.ran.crashes += 1;
        link::after_crash(&mut self.links, &mut self.late, &self.replicas, r);
        Ok(())
    }
}

pub(super) fn open(
    disk: &Disk,
    durable: bool,
    bug: Option<ReplicationBug>,
) -> crate::Result<AutomergeBackend> {
    let durability = if durable {
        Durability::EveryWrite
    } else {
        Durability::OnFlush
    };
    let mut options = OpenOptions::new().durability(durability);
    options.replication_bug = bug;
    AutomergeBackend::open_with_storage(disk.storage(), options)
}

/// A local put (`Some`) or delete on replica `r`.
pub(super) fn write(
    replica: &mut Replica,
    r: usize,
    id: &'static str,
    value: Option<Vec<u8>>,
) -> Result<(), StepError> {
    let docs = replica.store.collection(COLLECTION);
    match value {
        Some(value) => docs.upsert(id, value),
        None => docs.delete(id),
    }
    .map_err(|e| StepError::Failed(r, e.into()))?;
    if replica.durable {
        let heads = replica
            .store
            .heads(COLLECTION, id)
            .map_err(|e| StepError::Failed(r, e.into()))?;
        replica.acked.push((id, heads));
    }
    Ok(())
}

/// A flush on replica `r`: every write it made so far is acknowledged as durable.
fn flush(replica: &mut Replica, r: usize) -> Result<(), StepError> {
    replica
        .store
        .flush()
        .map_err(|e| StepError::Failed(r, e.into()))?;
    acknowledge_all(replica).map_err(|e| StepError::Failed(r, e.into()))
}

/// Notes every document's heads as durable, after a flush or a compaction returned.
pub(super) fn acknowledge_all(replica: &mut Replica) -> crate::Result<()> {
    for id in DOCS {
        let heads = replica.store.heads(COLLECTION, id)?;
        if !heads.is_empty() {
            replica.acked.push((id, heads));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ScalarValue};

    use super::verdict::{check_converged, reopen_clean, settle};
    use super::*;

    /// One input of every kind of step, each where its outcome is certain: decoded and counted
    /// as the encoding says.
    #[test]
    fn an_input_runs_as_the_encoding_says() {
        #[rustfmt::skip]
        let input = [
            0b0000_1010,            // four replicas (2 % 3 + 2); replica 1 durable (bit 3)
            0x10, 1 | 5 << 2,       // put on replica 1: d1 = [5]
            0x03, 2,                // delete on replica 0: d2
            0x04, 0, 0x05, 1,       // link 0 (replicas 0 and 1): each side's first message
            0x08, 7,                // the first damaged: refused, the link starts anew
            0x04, 0, 0x04, 1,       // each side's first message again
            0x08, 6, 0x08, 5,       // the first delivered and kept, then lost
            0x08, 0, 0x08, 0,       // the second delivered; then the wire is empty
            0x2f, 1 << 1,           // power loss on replica 2
            0x1f, 1,                // replica 1's disk fails its next mutating call,
            0x10, 0,                // which a durable put makes: it goes down
            0x0d, 0,                // link 0 anew (replica 1 went down): both first messages cross
            0x04, 0,                // replica 0 says its next message to 1
            0x0e, 0,                // link 0 drops its sessions: that message arrives late
            0x0e, 1,                // the late one, a first message, is taken by 1's new session
            0x1c, 1,                // on replica 1's d1: a change reusing (actor, seq) [apply]
            0x1c, 1 | 1 << 2 | 1 << 4, // a damaged change, in a sync message
            0x1c, 2 << 2,           // a change of d1 (depending on its first) for d0 [apply]
            0x0f, 3,                // a flush on replica 0
            0x0f, 7,                // a settle
        ];
        let ran = check_convergence(&input).expect("the replicas converge");
        assert_eq!(
            ran,
            Converged {
                durable: vec![false, true, false, false],
                steps: 23,
                writes: 2,
                sent: 7,
                delivered: 3,
                lost: 1,
                repeated: 1,
                refused: 1,
                misdelivered: 1,
                new_sessions: 1,
                forged: 3,
                flushes: 1,
                settles: 1,
                crashes: 2,
                failed: 1,
            }
        );
    }

    fn replicas(values: &[Option<u8>]) -> Vec<Replica> {
        values
            .iter()
            .map(|value| {
                let disk = Disk::new();
                let store = open(&disk, false, None).expect("an in-memory disk opens");
                if let Some(v) = value {
                    let docs = store.collection(COLLECTION);
                    docs.upsert("d0", vec![*v]).expect("a write");
                }
                Replica {
                    disk,
                    store,
                    durable: false,
                    acked: Vec::new(),
                }
            })
            .collect()
    }

    /// A replica that comes back from close and reopen with other values is caught: here its
    /// store was on one disk and it reopens from another, empty one.
    #[test]
    fn a_replica_that_reopens_without_its_values_is_caught() {
        let mut moved = replicas(&[Some(1)]).remove(0);
        moved.disk = Disk::new();
        let found = reopen_clean(0, moved, None).expect_err("the other disk is empty");
        assert_eq!(found, "replica 0: d0 was Some([1]), after reopen None");
        let kept = replicas(&[Some(1)]).remove(0);
        reopen_clean(0, kept, None).expect("a close keeps what was written");
    }

    /// The verdict after settling fails on replicas that show other values, or that lost a
    /// write one of them acknowledged as durable.
    #[test]
    fn replicas_that_differ_or_lost_a_durable_write_are_caught() {
        let apart = replicas(&[Some(1), None]);
        let found = check_converged(&apart).expect_err("replica 1 never saw d0");
        assert_eq!(
            found,
            "replica 1 shows None for d0, Automerge's merge Some([1])"
        );
        let mut synced = replicas(&[Some(1), Some(2)]);
        settle(&mut synced).expect("a reliable link settles");
        check_converged(&synced).expect("settled replicas agree");
        // A change hash no replica has, as a write lost after it was acknowledged leaves.
        use automerge::transaction::Transactable;
        let mut other = AutoCommit::new();
        other
            .put(automerge::ROOT, "data", ScalarValue::Bytes(vec![9]))
            .expect("a put");
        synced[0].acked.push(("d0", other.get_heads()));
        let found = check_converged(&synced).expect_err("the acknowledged write is gone");
        assert_eq!(
            found,
            "replica 0 acknowledged a durable write to d0 that no replica has"
        );
    }
}
