//! A batch of changes from another replica, checked before any transaction: each change once,
//! in causal order, each of the one shape this store shows (bytes under the root key `data`,
//! or their delete). A refusal here never aborts writes sharing a transaction.

use std::collections::{HashMap, HashSet};
use std::fmt;

use automerge::{ActorId, Change, ChangeHash, ScalarValue, legacy};

use super::chunk;
use super::document::DATA_KEY;
use super::planted::{ReplicationBug::NoChunkChecksum, planted};

/// Why changes from another replica were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The bytes are not an Automerge change (random, truncated, or damaged in transit: their
    /// chunk checksum does not match them), or one Automerge finds inconsistent with the
    /// history while merging.
    Malformed {
        /// What Automerge said.
        detail: String,
    },
    /// The changes depend on changes this replica does not have. Nothing is kept: send them
    /// again with the changes they depend on (a sync session does this by itself).
    MissingDependencies {
        /// The changes missing.
        missing: Vec<ChangeHash>,
    },
    /// A change does something other than set the document's bytes under the root key `data`
    /// or delete them, which this store cannot show through its API.
    Shape {
        /// What the change does.
        detail: String,
    },
    /// A change bears a number its actor gave another change of the document (Automerge's
    /// "duplicate seq"): two replicas or opens wrote as one actor, or the change was forged.
    /// Automerge refuses to load a document holding both.
    DuplicateSeq {
        /// The actor.
        actor: ActorId,
        /// The number the two changes share.
        seq: u64,
    },
    /// A change does not follow its actor's change before it: it skips a number, or does not
    /// depend on the change numbered one less. Automerge cannot load a document holding it.
    OutOfSequence {
        /// The actor.
        actor: ActorId,
        /// The change's number.
        seq: u64,
        /// The number the actor's next change here must bear.
        expected: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed { detail } => write!(f, "not an Automerge change ({detail})"),
            Refusal::MissingDependencies { missing } => write!(
                f,
                "they depend on {} change(s) this replica lacks, the first {}; send those too",
                missing.len(),
                missing.first().map(ToString::to_string).unwrap_or_default()
            ),
            Refusal::Shape { detail } => write!(
                f,
                "a change {detail}; a storebench document holds only bytes under the root key \
                 `{DATA_KEY}`"
            ),
            Refusal::DuplicateSeq { actor, seq } => write!(
                f,
                "actor {actor} numbered another change {seq} already: two replicas wrote as one \
                 actor, or the change was forged"
            ),
            Refusal::OutOfSequence {
                actor,
                seq,
                expected,
            } if *seq == *expected => write!(
                f,
                "change {seq} of actor {actor} does not depend on that actor's change before it"
            ),
            Refusal::OutOfSequence {
                actor,
                seq,
                expected,
            } => write!(
                f,
                "change {seq} of actor {actor} skips a number: that actor's next change here is \
                 {expected}"
            ),
        }
    }
}

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
