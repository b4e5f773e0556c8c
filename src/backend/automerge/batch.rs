//! A batch of changes from another replica, checked before any transaction: each change once,
//! in causal order, each of the one shape this store shows (bytes under the root key `data`,
//! or their delete). A refusal here never aborts writes sharing a transaction.

use std::collections::{HashMap, HashSet};

use automerge::{Change, ChangeHash, ScalarValue, legacy};

use super::chunk;
use super::document::DATA_KEY;
use super::planted::{ReplicationBug::NoChunkChecksum, planted};
use crate::Refusal;

/// A batch of changes for one document, each once, in causal order, each of the shape this
/// store shows: checked before any transaction, so a refusal never aborts writes that share
/// one.
pub(crate) struct Checked {
    pub(super) changes: Vec<Change>,
    pub(super) ops: Vec<Vec<legacy::Op>>,
}

/// Checks a batch for [`plan`](super::apply::plan).
///
/// # Errors
/// [`Refusal::Shape`]; [`Refusal::Malformed`] for a change Automerge parsed but cannot
/// decode, whose bytes its load would refuse (their chunk checksum does not match them), or
/// numbered 0; [`Refusal::DuplicateSeq`] for two changes numbered alike by one actor.
pub(crate) fn check(changes: Vec<Change>) -> Result<Checked, Refusal> {
    if let Some(damaged) = changes
        .iter()
        .find(|c| !chunk::checksum_matches(c.raw_bytes()) && !planted(NoChunkChecksum))
    {
        return Err(Refusal::Malformed {
            detail: format!(
                "the chunk checksum of change {} does not match its bytes: they were damaged",
                damaged.hash()
            ),
        });
    }
    let changes = causal_order(changes);
    numbered(&changes)?;
    let ops = changes.iter().map(shape).collect::<Result<_, _>>()?;
    Ok(Checked { changes, ops })
}

/// The changes, each once, with every change after those of the batch it depends on.
fn causal_order(changes: Vec<Change>) -> Vec<Change> {
    let mut seen = HashSet::new();
    let changes: Vec<Change> = changes
        .into_iter()
        .filter(|c| seen.insert(c.hash()))
        .collect();
    let index: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut waiting_on: Vec<usize> = changes
        .iter()
        .map(|c| c.deps().iter().filter(|d| index.contains_key(d)).count())
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, change) in changes.iter().enumerate() {
        for dep in change.deps() {
            if let Some(&d) = index.get(dep) {
                dependents[d].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..changes.len())
        .rev()
        .filter(|&i| waiting_on[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &after in dependents[i].iter().rev() {
            waiting_on[after] -= 1;
            if waiting_on[after] == 0 {
                ready.push(after);
            }
        }
    }
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Refuses numbers Automerge panics on or refuses whatever the document holds: 0, a number
/// other than 1 on a change naming its author, and one number on two changes of the batch.
fn numbered(changes: &[Change]) -> Result<(), Refusal> {
    let mut numbers = HashSet::new();
    for change in changes {
        let seq = change.seq();
        if seq == 0 || (seq != 1 && change.author().is_some()) {
            return Err(Refusal::Malformed {
                detail: format!(
                    "change {} is numbered {seq}{}",
                    change.hash(),
                    if seq == 0 {
                        ""
                    } else {
                        " and names its author"
                    }
                ),
            });
        }
        if !numbers.insert((change.actor_id(), seq)) {
            return Err(Refusal::DuplicateSeq {
                actor: change.actor_id().clone(),
                seq,
            });
        }
    }
    Ok(())
}

/// The ops of `change`, when each sets or deletes the bytes under the root key `data`.
fn shape(change: &Change) -> Result<Vec<legacy::Op>, Refusal> {
    // Automerge 0.12 parses some malformed changes it then panics decoding (an op naming an
    // actor the change does not list): from another replica, that is bad input, not a bug.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode()));
    let ops = decoded
        .map_err(|_| Refusal::Malformed {
            detail: "Automerge cannot decode its operations".into(),
        })?
        .operations;
    for op in &ops {
        let refuse = |detail: String| Err(Refusal::Shape { detail });
        if op.obj != legacy::ObjectId::Root {
            return refuse("changes an object below the root".into());
        }
        if op.key != legacy::Key::Map(DATA_KEY.into()) || op.insert {
            return refuse(format!("changes the root key {:?}", op.key));
        }
        match &op.action {
            legacy::OpType::Put(ScalarValue::Bytes(_)) | legacy::OpType::Delete => {}
            legacy::OpType::Put(other) => {
                return refuse(format!("puts {other:?} under `{DATA_KEY}`, not bytes"));
            }
            other => return refuse(format!("makes {other:?} under `{DATA_KEY}`")),
        }
    }
    Ok(ops)
}
