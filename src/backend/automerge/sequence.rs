//! Each actor numbers its changes to a document 1, 2, 3, …, each depending on the one before.
//! Automerge's load refuses a document where two changes share an actor's number ("duplicate
//! seq"), and panics on one where a change skips a number or comes before the change numbered
//! one less; so a change from another replica is stored only when it bears its actor's next
//! number here and depends on its actor's newest change.
//!
//! Applied from the heads, the actor's newest change is found without loading the document:
//! among the batch's new changes, among the newest chunks (each actor's changes are appended in
//! the order of their numbers), or known absent by the heads' filter of actors; otherwise the
//! document is loaded and merged, and the same rule is checked against it.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, Change, ChangeHash};

use super::change_log::ChangeLogRead;
use super::heads::Heads;
use super::newest::Newest;
use super::planted::{ReplicationBug, planted};
use crate::Refusal;
use crate::Result;

/// Whether a change follows its actor's changes, as far as the heads and the newest chunks
/// tell.
pub(crate) enum Order {
    Follows,
    /// The newest chunks do not tell: merge.
    Unknown,
    Refused(Refusal),
}

/// Whether `change`, new to the document, follows its actor's changes: `batch` holds the new
/// changes planned before it, oldest first; `heads` are the document's with those (`None`: it
/// has no history here, nor any planned); `newest` reads its log.
pub(crate) fn follows_from_heads<L: ChangeLogRead>(
    batch: &[Change],
    heads: Option<&Heads>,
    newest: &mut Newest<'_, L>,
    change: &Change,
) -> Result<Order> {
    let actor = change.actor_id();
    // The actor's newest change, and the changes newer than it: a path from `change` back to
    // it runs through those alone.
    let mut newer: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
    let mut previous = None;
    for c in batch.iter().rev() {
        if c.actor_id() == actor {
            previous = Some((c.seq(), c.hash()));
            break;
        }
        newer.insert(c.hash(), c.deps().to_vec());
    }
    if previous.is_none() && heads.is_some_and(|h| h.actors.may_hold(actor)) {
        let mut at = 0;
        previous = loop {
            let Some(c) = newest.get(at)? else {
                if newest.read_all() {
                    break None;
                }
                return Ok(Order::Unknown);
            };
            if c.actor == *actor {
                break Some((c.seq, c.hash));
            }
            newer.insert(c.hash, c.deps.clone());
            at += 1;
        };
    }
    Ok(
        match follows(change, previous, |hash| newer.get(hash).cloned()) {
            Some(refusal) => Order::Refused(refusal),
            None => Order::Follows,
        },
    )
}

/// Checks `new` (changes not in `doc`, in causal order, each with every dependency in `doc`
/// or earlier in `new`) against the loaded document, before Automerge applies them.
pub(crate) fn check_merged(doc: &mut AutoCommit, new: &[Change]) -> Result<(), Refusal> {
    // Each actor's newest change in the document: its number, hash and largest op counter.
    let mut newest: HashMap<ActorId, (u64, ChangeHash, u64)> = HashMap::new();
    for meta in doc.get_changes_meta(&[]) {
        let entry = newest
            .entry(meta.actor.into_owned())
            .or_insert((0, meta.hash, 0));
        if meta.seq > entry.0 {
            *entry = (meta.seq, meta.hash, meta.max_op);
        }
    }
    let mut batch: HashMap<ChangeHash, (u64, Vec<ChangeHash>)> = HashMap::new();
    for change in new {
        let previous = newest.get(change.actor_id()).copied();
        let target_max_op = previous.map_or(0, |(_, _, max_op)| max_op);
        // A change after the previous one has larger op counters than any of its ops: the
        // walk back goes through those alone.
        let refusal = follows(change, previous.map(|(seq, hash, _)| (seq, hash)), |hash| {
            let (start_op, deps) = match batch.get(hash) {
                Some((start_op, deps)) => (*start_op, deps.clone()),
                None => doc
                    .get_change_meta_by_hash(hash)
                    .map(|m| (m.start_op, m.deps))?,
            };
            (start_op > target_max_op).then_some(deps)
        });
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        newest.insert(
            change.actor_id().clone(),
            (change.seq(), change.hash(), change.max_op()),
        );
        batch.insert(
            change.hash(),
            (change.start_op().get(), change.deps().to_vec()),
        );
    }
    Ok(())
}

/// The refusal, if `change` does not follow `previous`, its actor's newest change here (its
/// number and hash; `None` when the actor has none): the next number, and depending on it.
/// `deps_of` gives the dependencies of a change a path back to `previous` may run through.
fn follows(
    change: &Change,
    previous: Option<(u64, ChangeHash)>,
    deps_of: impl FnMut(&ChangeHash) -> Option<Vec<ChangeHash>>,
) -> Option<Refusal> {
    let held = previous.map_or(0, |(seq, _)| seq);
    let out_of_sequence = || Refusal::OutOfSequence {
        actor: change.actor_id().clone(),
        seq: change.seq(),
        expected: held + 1,
    };
    match (change.seq(), previous) {
        (seq, _) if seq <= held && planted(ReplicationBug::DuplicateSeq) => None,
        (seq, _) if seq <= held => Some(Refusal::DuplicateSeq {
            actor: change.actor_id().clone(),
            seq,
        }),
        (seq, _) if seq - held > 1 => Some(out_of_sequence()),
        (_, Some((_, hash))) if !reaches(change.deps(), hash, deps_of) => Some(out_of_sequence()),
        _ => None,
    }
}

/// Whether walking back from `deps` reaches `target`; `deps_of` gives a change's
/// dependencies, or `None` for a change the walk need not go through.
fn reaches(
    deps: &[ChangeHash],
    target: ChangeHash,
    mut deps_of: impl FnMut(&ChangeHash) -> Option<Vec<ChangeHash>>,
) -> bool {
    let mut stack: Vec<ChangeHash> = deps.to_vec();
    let mut visited = HashSet::new();
    while let Some(hash) = stack.pop() {
        if hash == target {
            return true;
        }
        if visited.insert(hash)
            && let Some(deps) = deps_of(&hash)
        {
            stack.extend(deps);
        }
    }
    false
}
