//! The `convergence` target: two to four Automerge replicas, each on its own fault-injecting
//! disk, writing on their own, syncing over links that lose, repeat and reorder messages,
//! crashing and failing I/O; then synced to quiescence over a reliable link.
//!
//! A message may also arrive damaged: it must be refused whole, storing nothing.
//!
//! Checks: every replica shows the same documents with the same heads; that is what plain
//! Automerge's merge of every surviving change shows; every local write acknowledged as durable
//! (an `EveryWrite` replica's write that returned) is among the surviving changes; every
//! replica reopens with `verify()` clean and the same values.
//!
//! An input is a header byte (bits 0-1: how many replicas, bit 2 on: replica i writes
//! durably for bit 2 + i), then two bytes per step: a tag (low four bits the kind, high four
//! which replica or link) and an argument. Any bytes decode. Syncing takes most of the kinds:
//! a session settles only after several messages each way.

use automerge::{AutoCommit, ChangeHash, ReadDoc, ScalarValue};

use crate::fault::{Disk, PowerLoss};
use crate::{AutomergeBackend, Durability, Error, OpenOptions, StorageBackend, SyncSession};

/// The most steps an input runs.
pub const MAX_STEPS: usize = 64;
const DOCS: [&str; 4] = ["d0", "d1", "d2", "d3"];
const COLLECTION: &str = "shared";

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
        }
    }
}

struct Replica {
    disk: Disk,
    store: AutomergeBackend,
    durable: bool,
    /// Per acknowledged durable write, the document and its heads right after: the write's
    /// change is one of them, and must survive.
    acked: Vec<(&'static str, Vec<ChangeHash>)>,
}

/// A sync session between replicas `a` and `b` and the messages on the wire.
struct Link {
    a: usize,
    b: usize,
    sessions: [SyncSession; 2],
    /// Messages in flight: `true` when going to `b`.
    wire: Vec<(bool, Vec<u8>)>,
}

impl Link {
    /// The session and replica at one end: the receiving end of a message going `to_b`.
    fn end(&self, to_b: bool) -> (usize, usize) {
        if to_b { (1, self.b) } else { (0, self.a) }
    }
}

/// Runs one input: what it ran, found converged.
///
/// # Errors
/// The violation found.
pub fn check_convergence(data: &[u8]) -> Result<Converged, String> {
    let Some((&header, steps)) = data.split_first() else {
        return Ok(Converged::default());
    };
    let count = 2 + usize::from(header & 3) % 3;
    let mut replicas = Vec::with_capacity(count);
    for r in 0..count {
        let disk = Disk::new();
        let durable = header >> (2 + r) & 1 == 1;
        let store = open(&disk, durable).map_err(|e| format!("replica {r} opens: {e}"))?;
        replicas.push(Replica {
            disk,
            store,
            durable,
            acked: Vec::new(),
        });
    }
    let mut ran = Converged {
        durable: replicas.iter().map(|r| r.durable).collect(),
        ..Converged::default()
    };
    let mut links: Vec<Link> = Vec::new();
    for step in steps.chunks_exact(2).take(MAX_STEPS) {
        let (tag, arg) = (step[0], step[1]);
        let (kind, which) = (tag & 15, usize::from(tag >> 4));
        let r = which % count;
        ran.steps += 1;
        let doc = DOCS[usize::from(arg & 3)];
        let outcome = match kind {
            0..=2 => write(&mut replicas[r], r, doc, Some(vec![arg >> 2])).map(|()| {
                ran.writes += 1;
            }),
            3 => write(&mut replicas[r], r, doc, None).map(|()| ran.writes += 1),
            4..=7 => send(&mut links, &replicas, which, arg).map(|sent| {
                ran.sent += usize::from(sent);
            }),
            8..=12 => deliver(&mut links, &replicas, which, arg).map(|d| ran.count(d)),
            13 | 14 => exchange(&mut links, &replicas, which).map(|(sent, delivered)| {
                ran.sent += sent;
                ran.delivered += delivered;
            }),
            _ if arg & 1 == 0 => {
                crash(&mut replicas, &mut links, r, arg >> 1)?;
                ran.crashes += 1;
                Ok(())
            }
            _ => {
                replicas[r].disk.fail_in(u64::from(arg >> 1) % 16);
                Ok(())
            }
        };
        if let Err(StepError::Violation(violation)) = outcome {
            return Err(violation);
        }
        if let Err(StepError::Failed(on, error)) = outcome {
            // Only an injected failure may fail an operation; the replica then goes down.
            if replicas[on].disk.failures() == 0 {
                return Err(format!(
                    "replica {on} failed with no fault injected: {error}"
                ));
            }
            crash(&mut replicas, &mut links, on, arg)?;
            ran.failed += 1;
            ran.crashes += 1;
        }
    }
    settle(&mut replicas)?;
    check_converged(&replicas)?;
    for (r, replica) in replicas.into_iter().enumerate() {
        reopen_clean(r, replica)?;
    }
    Ok(ran)
}

fn open(disk: &Disk, durable: bool) -> crate::Result<AutomergeBackend> {
    let durability = if durable {
        Durability::EveryWrite
    } else {
        Durability::OnFlush
    };
    AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new().durability(durability))
}

/// Why a step did not complete.
enum StepError {
    /// Replica `.0` failed: allowed only after an injected fault, and it then goes down.
    Failed(usize, Error),
    /// The contract is broken.
    Violation(String),
}

/// A local put (`Some`) or delete on replica `r`.
fn write(
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
    .map_err(|e| StepError::Failed(r, e))?;
    if replica.durable {
        let heads = replica
            .store
            .heads(COLLECTION, id)
            .map_err(|e| StepError::Failed(r, e))?;
        replica.acked.push((id, heads));
    }
    Ok(())
}

fn link<'a>(links: &'a mut Vec<Link>, replicas: &[Replica], which: usize) -> &'a mut Link {
    let count = replicas.len();
    // Every unordered pair, numbered.
    let pairs: Vec<(usize, usize)> = (0..count)
        .flat_map(|a| (a + 1..count).map(move |b| (a, b)))
        .collect();
    let (a, b) = pairs[which % pairs.len()];
    let at = match links.iter().position(|l| (l.a, l.b) == (a, b)) {
        Some(at) => at,
        None => {
            links.push(Link {
                a,
                b,
                sessions: [
                    replicas[a].store.sync_session(),
                    replicas[b].store.sync_session(),
                ],
                wire: Vec::new(),
            });
            links.len() - 1
        }
    };
    &mut links[at]
}

/// One side of a link (the other, if that one has nothing to say) puts its next message on
/// the wire; whether either had one.
fn send(
    links: &mut Vec<Link>,
    replicas: &[Replica],
    which: usize,
    arg: u8,
) -> Result<bool, StepError> {
    let link = link(links, replicas, which);
    for from_a in [arg & 1 == 0, arg & 1 == 1] {
        let (side, replica) = link.end(!from_a);
        if let Some(message) = link.sessions[side]
            .next_message(&replicas[replica].store)
            .map_err(|e| StepError::Failed(replica, e))?
        {
            link.wire.push((from_a, message));
            return Ok(true);
        }
    }
    Ok(false)
}

/// What became of a message [`deliver`] took from a wire.
enum Delivery {
    /// The wire was empty.
    None,
    Delivered,
    Lost,
    /// Delivered and kept to arrive again.
    Repeated,
    /// Damaged on the way and refused whole.
    Refused,
}

/// A message on a link's wire (any of them, not only the oldest) is delivered, or lost, or
/// delivered and kept to arrive again, or damaged.
fn deliver(
    links: &mut Vec<Link>,
    replicas: &[Replica],
    which: usize,
    arg: u8,
) -> Result<Delivery, StepError> {
    let link = link(links, replicas, which);
    if link.wire.is_empty() {
        return Ok(Delivery::None);
    }
    let at = usize::from(arg >> 3) % link.wire.len();
    let (delivery, (to_b, message)) = match arg & 7 {
        0..=4 => (Delivery::Delivered, link.wire.remove(at)),
        5 => {
            link.wire.remove(at);
            return Ok(Delivery::Lost);
        }
        6 => (Delivery::Repeated, link.wire[at].clone()),
        _ => {
            let (to_b, mut message) = link.wire.remove(at);
            let flip = (usize::from(arg) * 31) % message.len();
            message[flip] ^= 0x5a;
            return damaged(link, replicas, to_b, &message).map(|()| Delivery::Refused);
        }
    };
    let (side, replica) = link.end(to_b);
    link.sessions[side]
        .receive(&replicas[replica].store, &message)
        .map_err(|e| StepError::Failed(replica, e))?;
    Ok(delivery)
}

/// A damaged message must be refused whole, storing nothing; the session is then over, and
/// the link starts a new one.
fn damaged(
    link: &mut Link,
    replicas: &[Replica],
    to_b: bool,
    message: &[u8],
) -> Result<(), StepError> {
    let (side, replica) = link.end(to_b);
    let store = &replicas[replica].store;
    let heads = |store: &AutomergeBackend| -> Result<Vec<_>, StepError> {
        DOCS.iter()
            .map(|id| {
                store
                    .heads(COLLECTION, id)
                    .map_err(|e| StepError::Failed(replica, e))
            })
            .collect()
    };
    let before = heads(store)?;
    match link.sessions[side].receive(store, message) {
        Err(Error::Sync { .. } | Error::ChangeRefused { .. }) if heads(store)? == before => {}
        Err(Error::Sync { .. } | Error::ChangeRefused { .. }) => {
            return Err(StepError::Violation(format!(
                "replica {replica} refused a damaged message but stored changes from it"
            )));
        }
        Ok(()) => {
            return Err(StepError::Violation(format!(
                "replica {replica} accepted a damaged message"
            )));
        }
        Err(other) => return Err(StepError::Failed(replica, other)),
    }
    link.sessions = [
        replicas[link.a].store.sync_session(),
        replicas[link.b].store.sync_session(),
    ];
    link.wire.clear();
    Ok(())
}

/// Both sides of a link send their next message, and it arrives: how many were sent, and how
/// many delivered.
fn exchange(
    links: &mut Vec<Link>,
    replicas: &[Replica],
    which: usize,
) -> Result<(usize, usize), StepError> {
    let (mut sent, mut delivered) = (0, 0);
    for arg in [0, 1] {
        sent += usize::from(send(links, replicas, which, arg)?);
        let link = link(links, replicas, which);
        if let Some((to_b, message)) = link.wire.pop() {
            let (side, replica) = link.end(to_b);
            link.sessions[side]
                .receive(&replicas[replica].store, &message)
                .map_err(|e| StepError::Failed(replica, e))?;
            delivered += 1;
        }
    }
    Ok((sent, delivered))
}

/// Power loss on replica `r`, keeping the unsynced writes `arg` picks, and a reopen. Every
/// link it was on goes with it.
fn crash(replicas: &mut [Replica], links: &mut Vec<Link>, r: usize, arg: u8) -> Result<(), String> {
    links.retain(|l| l.a != r && l.b != r);
    let loss = PowerLoss {
        keep: u64::from(arg).wrapping_mul(0x0101_0101_0101_0101),
        keep_rest: arg & 1 == 1,
        tear: arg >> 6,
    };
    let replica = &mut replicas[r];
    let survived = replica.disk.power_loss(loss);
    // The old store writes nothing more (its disk is dead); dropping it releases the file.
    let store = open(&survived, replica.durable)
        .map_err(|e| format!("replica {r} does not reopen after a power loss: {e}"))?;
    replica.store = store;
    replica.disk = survived;
    Ok(())
}

/// Syncs every pair over a reliable link until a round changes nothing.
fn settle(replicas: &mut [Replica]) -> Result<(), String> {
    for replica in replicas.iter() {
        replica.disk.disarm();
    }
    let count = replicas.len();
    for round in 0..=count + 1 {
        let mut applied = 0;
        for a in 0..count {
            for b in a + 1..count {
                let stats = replicas[a]
                    .store
                    .sync_with(&replicas[b].store)
                    .map_err(|e| format!("round {round}, replicas {a} and {b}: {e}"))?;
                applied += stats.changes_applied;
            }
        }
        if applied == 0 && round > 0 {
            return Ok(());
        }
    }
    Err(format!(
        "replicas still exchanged changes after {} rounds",
        count + 2
    ))
}

fn check_converged(replicas: &[Replica]) -> Result<(), String> {
    let fail = |e: Error| e.to_string();
    for id in DOCS {
        let mut merged = AutoCommit::new();
        for replica in replicas {
            if let Some(mut doc) = replica.store.document(COLLECTION, id).map_err(fail)? {
                merged
                    .apply_changes(doc.get_changes(&[]))
                    .map_err(|e| format!("{id}: the replicas' changes do not merge: {e}"))?;
            }
        }
        let expected = value(&merged).map_err(|e| format!("{id}: {e}"))?;
        let heads = merged.get_heads();
        for (r, replica) in replicas.iter().enumerate() {
            let shown = replica.store.collection(COLLECTION).get(id).map_err(fail)?;
            if shown != expected {
                return Err(format!(
                    "replica {r} shows {shown:?} for {id}, Automerge's merge {expected:?}"
                ));
            }
            if replica.store.heads(COLLECTION, id).map_err(fail)? != heads {
                return Err(format!(
                    "replica {r} has other heads for {id} than the merge"
                ));
            }
            let conflicts = merged
                .get_all(automerge::ROOT, "data")
                .map_or(0, |v| v.len());
            if replica.store.conflicts(COLLECTION, id).map_err(fail)? != conflicts {
                return Err(format!("replica {r} counts other conflicts for {id}"));
            }
            for (doc, acked) in &replica.acked {
                if *doc == id
                    && acked
                        .iter()
                        .any(|h| merged.get_change_meta_by_hash(h).is_none())
                {
                    return Err(format!(
                        "replica {r} acknowledged a durable write to {id} that no replica has"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn value(doc: &AutoCommit) -> Result<Option<Vec<u8>>, String> {
    match doc.get(automerge::ROOT, "data") {
        Ok(None) => Ok(None),
        Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Bytes(b) => Ok(Some(b.clone())),
            other => Err(format!("the merge holds {other:?}")),
        },
        Ok(Some((other, _))) => Err(format!("the merge holds {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Closes a replica, reopens it: `verify()` clean and the same values.
fn reopen_clean(r: usize, replica: Replica) -> Result<(), String> {
    let docs = replica.store.collection(COLLECTION);
    let before: Vec<Option<Vec<u8>>> = DOCS
        .iter()
        .map(|id| docs.get(id))
        .collect::<crate::Result<_>>()
        .map_err(|e| e.to_string())?;
    drop(docs);
    replica
        .store
        .close()
        .map_err(|e| format!("replica {r} closes: {e}"))?;
    let store =
        open(&replica.disk, replica.durable).map_err(|e| format!("replica {r} reopens: {e}"))?;
    let report = store.verify().map_err(|e| e.to_string())?;
    if !report.is_clean() {
        return Err(format!("replica {r} after reopen: {:?}", report.problems));
    }
    let docs = store.collection(COLLECTION);
    for (id, was) in DOCS.iter().zip(before) {
        let now = docs.get(id).map_err(|e| e.to_string())?;
        if now != was {
            return Err(format!(
                "replica {r}: {id} was {was:?}, after reopen {now:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        ];
        let ran = check_convergence(&input).expect("the replicas converge");
        assert_eq!(
            ran,
            Converged {
                durable: vec![false, true, false, false],
                steps: 15,
                writes: 2,
                sent: 6,
                delivered: 3,
                lost: 1,
                repeated: 1,
                refused: 1,
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
                let store = open(&disk, false).expect("an in-memory disk opens");
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
        let found = reopen_clean(0, moved).expect_err("the other disk is empty");
        assert_eq!(found, "replica 0: d0 was Some([1]), after reopen None");
        let kept = replicas(&[Some(1)]).remove(0);
        reopen_clean(0, kept).expect("a close keeps what was written");
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
