//! A hostile peer: it crafts changes no honest replica sends, and hands them to a replica
//! through `apply_changes` or in a sync message of its own, framed and sealed (its checksum
//! matching) as an honest one is. Each must be refused with its typed reason, store nothing,
//! and leave `verify()` clean and the document writable.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ScalarValue};

use super::link::state;
use super::run::{COLLECTION, DOCS, Replica, StepError, write};
use crate::backend::{SyncDocEntry, SyncMessage, SyncPeer};
use crate::{Refusal, ReplicationError};

/// The bytes a damaged change puts: found in its chunk, where a flipped byte still parses.
const DAMAGED_VALUE: [u8; 24] = [0xd7; 24];
/// The bytes a reused (actor, seq) puts: no honest write here puts 33 bytes.
const REUSED_VALUE: [u8; 33] = [0xee; 33];

/// What the hostile peer forges.
#[derive(Debug, Clone, Copy)]
enum Forgery {
    /// A change with the (actor, seq) of one the replica holds, other bytes, same
    /// dependencies (Automerge's "duplicate seq").
    ReusedSeq,
    /// A change built on the replica's heads, one byte of its value flipped under a chunk
    /// header that still parses.
    Damaged,
    /// A change of another document, depending on changes the target document lacks.
    WrongDocument,
}

/// Forges a change for replica `r`'s document `arg & 3`: `arg >> 2 & 3` picks the forgery (3 as 0),
/// `arg >> 4 & 1` the way in (a sync message, or `apply_changes`), `arg >> 5` which change it
/// is made from. Whether there was one to forge (a reused seq needs a change to reuse, a
/// change of another document one with dependencies the target lacks).
pub(super) fn forge(replica: &mut Replica, r: usize, arg: u8) -> Result<bool, StepError> {
    let id = DOCS[usize::from(arg & 3)];
    let forgery = [Forgery::ReusedSeq, Forgery::Damaged, Forgery::WrongDocument]
        [usize::from(arg >> 2 & 3) % 3];
    let by_message = arg >> 4 & 1 == 1;
    let pick = usize::from(arg >> 5);
    let failed = |e: crate::Error| StepError::Failed(r, e.into());
    let store = &replica.store;
    let forged = match forgery {
        Forgery::ReusedSeq => reused_seq(store.document(COLLECTION, id).map_err(failed)?, pick),
        Forgery::Damaged => damaged(store.document(COLLECTION, id).map_err(failed)?, pick),
        Forgery::WrongDocument => {
            let other = DOCS[(usize::from(arg & 3) + 1 + pick % 3) % DOCS.len()];
            let target = store.document(COLLECTION, id).map_err(failed)?;
            let source = store.document(COLLECTION, other).map_err(failed)?;
            wrong_document(source, target, pick)
        }
    };
    let Some(bytes) = forged else {
        return Ok(false);
    };
    let before = state(store, r)?;
    let outcome = if by_message {
        send_in_message(store, id, bytes)
    } else {
        match Change::try_from(bytes.as_slice()) {
            Ok(change) => store.apply_changes(COLLECTION, id, [change]).map(drop),
            // Not even a change to hand over: the way in is closed to it.
            Err(_) => return Ok(false),
        }
    };
    let what = format!(
        "replica {r}, {} by {}",
        describe(forgery),
        if by_message {
            "a sync message"
        } else {
            "apply_changes"
        }
    );
    match (forgery, by_message, outcome) {
        (
            Forgery::ReusedSeq,
            _,
            Err(ReplicationError::ChangeRefused {
                reason: Refusal::DuplicateSeq { .. },
                ..
            }),
        ) => {}
        (
            Forgery::Damaged,
            _,
            Err(ReplicationError::ChangeRefused {
                reason: Refusal::Malformed { .. },
                ..
            }),
        ) => {}
        (
            Forgery::WrongDocument,
            false,
            Err(ReplicationError::ChangeRefused {
                reason: Refusal::MissingDependencies { .. },
                ..
            }),
        ) => {}
        // A sync message leaves a document whose changes lack a dependency as it is, and
        // asks for what it lacks.
        (Forgery::WrongDocument, true, Ok(())) => {}
        (_, _, Ok(())) => return Err(StepError::Violation(format!("{what}: stored"))),
        (_, _, Err(e @ ReplicationError::ChangeRefused { .. })) => {
            return Err(StepError::Violation(format!("{what}: refused as {e}")));
        }
        (_, _, Err(other)) => return Err(StepError::Failed(r, other)),
    }
    if state(store, r)? != before {
        return Err(StepError::Violation(format!(
            "{what}: refused, but the replica changed"
        )));
    }
    let report = store.verify().map_err(failed)?;
    if !report.is_clean() {
        return Err(StepError::Violation(format!(
            "{what}: refused, then verify() finds {:?}",
            report.problems
        )));
    }
    // The document stays writable: a write after it must not collide with anything stored.
    write(replica, r, id, Some(vec![arg]))?;
    Ok(true)
}

fn describe(forgery: Forgery) -> &'static str {
    match forgery {
        Forgery::ReusedSeq => "a change reusing an (actor, seq) it holds with other bytes",
        Forgery::Damaged => "a change damaged under a chunk header that parses",
        Forgery::WrongDocument => "a change of another document",
    }
}

/// A change bearing the actor, number and dependencies of the document's change `pick`, with
/// other bytes.
fn reused_seq(doc: Option<AutoCommit>, pick: usize) -> Option<Vec<u8>> {
    let mut doc = doc?;
    let changes = doc.get_changes(&[]);
    let original = changes.get(pick % changes.len().max(1))?;
    // At the original's dependencies, its actor's next number is the original's.
    let mut fork = doc.fork_at(original.deps()).ok()?;
    fork.set_actor(original.actor_id().clone());
    let forged = put(&mut fork, &REUSED_VALUE)?;
    (forged.seq() == original.seq()).then(|| forged.raw_bytes().to_vec())
}

/// A change on the document's heads (or a new document's first), a byte of its value flipped.
fn damaged(doc: Option<AutoCommit>, pick: usize) -> Option<Vec<u8>> {
    let mut doc = doc.unwrap_or_else(|| AutoCommit::new().with_actor(ActorId::random()));
    let mut bytes = put(&mut doc, &DAMAGED_VALUE)?.raw_bytes().to_vec();
    let at = bytes
        .windows(DAMAGED_VALUE.len())
        .position(|w| w == DAMAGED_VALUE)?;
    bytes[at + pick % DAMAGED_VALUE.len()] ^= 0x01;
    Some(bytes)
}

/// A change of `source` that depends on a change `target` lacks.
fn wrong_document(
    source: Option<AutoCommit>,
    target: Option<AutoCommit>,
    pick: usize,
) -> Option<Vec<u8>> {
    let mut source = source?;
    let mut target = target.unwrap_or_default();
    let candidates: Vec<Change> = source
        .get_changes(&[])
        .into_iter()
        .filter(|c| {
            c.deps()
                .iter()
                .any(|d| target.get_change_meta_by_hash(d).is_none())
        })
        .collect();
    let change = candidates.get(pick % candidates.len().max(1))?;
    Some(change.raw_bytes().to_vec())
}

/// Commits a put of `value` under `data` to `doc`: the change made.
fn put(doc: &mut AutoCommit, value: &[u8]) -> Option<Change> {
    doc.put(automerge::ROOT, "data", ScalarValue::Bytes(value.to_vec()))
        .ok()?;
    doc.commit_with(CommitOptions::default().with_time(0));
    doc.get_last_local_change()
}

/// The hostile peer opens a session with the store and sends, as its first message, the
/// forged change for document `id`.
fn send_in_message(
    store: &crate::AutomergeBackend,
    id: &str,
    change: Vec<u8>,
) -> Result<(), ReplicationError> {
    let message = SyncMessage {
        hello: Some(SyncPeer {
            replica: ActorId::random().to_bytes().try_into().expect("16 bytes"),
            incarnation: 1,
        }),
        session: 0x5eed,
        to_session: 0,
        seq: 1,
        ack: 0,
        done: false,
        complete: false,
        docs: vec![SyncDocEntry {
            collection: COLLECTION.into(),
            id: id.into(),
            heads: Vec::new(),
            changes: vec![change],
            have: None,
        }],
    };
    store.sync_session().receive(store, &message.encode())
}
