//! Applying changes from another replica: idempotent, in any order within a batch, under the
//! same transactions and durability as local writes.
//!
//! A change is applied like a local write, from the heads alone (one chunk, the heads, the
//! materialized value), when what it depends on is here and the value it leaves is known: its
//! own put, no value, or the value that stood before it. That covers a replica writing on what
//! it last received and most concurrent writes: the heads then become the old heads less the
//! change's dependencies plus the change, the values those left standing plus its put, and the
//! greatest by (counter, actor) wins, as Automerge orders them. Its dependencies are looked
//! for among the heads, the batch and the newest chunks, and it must bear its actor's next
//! number ([`sequence`](super::sequence)). Anything else (a dependency further back, a
//! conflict whose winner's bytes are not at hand, an actor whose newest change is not at hand)
//! loads the document and lets Automerge merge, then describes the result in new heads. Either
//! way every change is checked as Automerge's load would check it, and the whole batch is
//! planned before anything is written, so a refused batch leaves nothing behind.

use automerge::{ActorId, AutoCommit, Change, ChangeHash, ScalarValue, legacy};

use super::actors::ActorFilter;
use super::batch::Checked;
use super::change_log::{self, ChangeLogRead, ChangeLogTable, LoggedDocument, corrupt};
use super::document;
use super::heads::{self, Heads};
use super::newest::Newest;
use super::planted::{ReplicationBug, planted};
use super::sequence::{self, Order};
use super::stored_heads;
use crate::Refusal;
use crate::backend::persistent::{CollectionRef, MaterializedWriter};
use crate::{Error, Result};

/// What applying a batch of changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// Changes new to this replica, now stored.
    pub new: usize,
    /// Changes it had already.
    pub known: usize,
    /// Whether the document had to be loaded and merged by Automerge (a concurrent change or a
    /// conflict), rather than applied from its heads.
    pub merged: bool,
}

/// The document's value after a change.
#[derive(Clone)]
enum Value {
    /// These bytes.
    Put(Vec<u8>),
    /// None: deleted.
    Removed,
    /// The one it had.
    Kept,
}

/// The writes a batch comes to, decided before any is made.
pub(crate) struct Plan {
    pub(crate) applied: Applied,
    /// The document's heads before the batch; `None` for a new document.
    stored: Option<Heads>,
    /// The new chunks, appended in this order.
    chunks: Vec<Change>,
    /// The heads after the batch. Their count of chunks and newest seq are the stored ones
    /// until [`Plan::write`] appends the chunks and knows where they went.
    heads: Option<Heads>,
    /// The document's value after the batch.
    value: Value,
}

/// Plans applying a checked batch to one document, reading its stored state from `log` and
/// whether it has a value from `materialized`; `me` is the actor the database writes as in
/// this open.
///
/// # Errors
/// [`Unplanned::Refused`] for changes with missing dependencies, that do not follow their
/// actor's changes here, or that Automerge finds inconsistent with the history while
/// merging; [`Unplanned::Failed`] with [`Error::Corrupt`] when the stored document is
/// damaged, or a storage error.
pub(crate) fn plan(
    log: &impl ChangeLogRead,
    materialized: &MaterializedWriter<'_>,
    collection: &CollectionRef,
    id: &str,
    checked: Checked,
    me: &ActorId,
) -> Result<Plan, Unplanned> {
    let Checked {
        changes,
        ops: decoded,
    } = checked;
    // Everything that can refuse the batch is found before it writes.
    let stored = stored_heads::read_to_append(log, materialized, collection, id)?;
    let mut newest = Newest::new(log, &collection.name, id, stored.as_ref());
    let mut plan = Plan {
        applied: Applied::default(),
        heads: stored.clone(),
        stored,
        chunks: Vec::new(),
        value: Value::Kept,
    };
    let mut rest = changes.into_iter().zip(decoded).peekable();
    while let Some((change, ops)) = rest.peek() {
        if plan
            .heads
            .as_ref()
            .is_some_and(|h| h.hashes.contains(&change.hash()))
        {
            plan.applied.known += 1;
        } else {
            match continue_heads(&mut newest, &plan, change, ops, me)? {
                Step::Known => plan.applied.known += 1,
                Step::Refused(reason) => return Err(Unplanned::Refused(reason)),
                Step::Apply(next, value) => {
                    plan.heads = Some(next);
                    if !matches!(value, Value::Kept) {
                        plan.value = value;
                    }
                    plan.chunks.push(change.clone());
                    plan.applied.new += 1;
                }
                Step::Merge => break,
            }
        }
        rest.next();
    }
    let rest: Vec<Change> = rest.map(|(change, _)| change).collect();
    if !rest.is_empty() {
        merge(log, collection, id, &mut plan, rest, me)?;
    }
    Ok(plan)
}

/// What to do with one change.
enum Step {
    /// It is here already.
    Known,
    /// Apply it from the heads: these heads and this value after it.
    Apply(Heads, Value),
    /// Let Automerge merge it and the rest of the batch.
    Merge,
    /// Refuse it: Automerge would not load the document with it.
    Refused(Refusal),
}

/// Whether `change` can be applied from the heads (`Step::Apply`), and with what result.
fn continue_heads<L: ChangeLogRead>(
    newest: &mut Newest<'_, L>,
    plan: &Plan,
    change: &Change,
    ops: &[legacy::Op],
    me: &ActorId,
) -> Result<Step> {
    let heads = plan.heads.as_ref();
    let hash = change.hash();
    let deps = change.deps();
    if plan.chunks.iter().any(|c| c.hash() == hash) {
        return Ok(Step::Known);
    }
    // Dependencies neither heads nor earlier in the batch must be in the newest chunks.
    let mut looking: Vec<ChangeHash> = deps
        .iter()
        .filter(|d| !heads.is_some_and(|h| h.hashes.contains(d)))
        .filter(|d| !plan.chunks.iter().any(|c| c.hash() == **d))
        .copied()
        .collect();
    match heads {
        // A new document here: its first change depends on nothing.
        None if looking.is_empty() => {}
        // A first change concurrent with one here could be anywhere in the log.
        Some(_) if deps.is_empty() => return Ok(Step::Merge),
        // Depending on heads and the batch only, it is not here (a head would depend on it).
        Some(_) if looking.is_empty() => {}
        Some(_) => {
            // If it is here, it is after all it depends on: the chunks back to the oldest of
            // those hold it.
            let mut here = false;
            let mut at = 0;
            while !looking.is_empty() {
                let Some(stored) = newest.get(at)? else {
                    return Ok(Step::Merge);
                };
                let stored = stored.hash;
                here |= stored == hash;
                looking.retain(|d| *d != stored);
                at += 1;
            }
            if here {
                return Ok(Step::Known);
            }
        }
        None => return Ok(Step::Merge),
    }
    match sequence::follows_from_heads(&plan.chunks, heads, newest, change)? {
        Order::Follows => {}
        Order::Unknown => return Ok(Step::Merge),
        Order::Refused(reason) => return Ok(Step::Refused(reason)),
    }
    let [op] = ops else {
        return Ok(Step::Merge);
    };
    let (mut values, mut hashes) = match heads {
        None => (Vec::new(), Vec::new()),
        Some(h) => (
            h.values.clone(),
            h.hashes
                .iter()
                .filter(|x| !deps.contains(x))
                .copied()
                .collect::<Vec<_>>(),
        ),
    };
    let winner_before = values.last().cloned();
    values.retain(|v| !op.pred.iter().any(|p| p == v));
    let put = match &op.action {
        legacy::OpType::Put(ScalarValue::Bytes(bytes)) => {
            values.push(legacy::OpId(
                change.start_op().get(),
                change.actor_id().clone(),
            ));
            values.sort_by(heads::lamport);
            Some(bytes.clone())
        }
        _ => None,
    };
    let ours = legacy::OpId(change.start_op().get(), change.actor_id().clone());
    let value = match (values.last(), put) {
        (None, _) => Value::Removed,
        (Some(winner), Some(bytes)) if *winner == ours => Value::Put(bytes),
        (Some(winner), _) if Some(winner) == winner_before.as_ref() => Value::Kept,
        // Another value stood behind the one that went: its bytes are in the history.
        _ => return Ok(Step::Merge),
    };
    hashes.push(hash);
    hashes.sort_unstable();
    Ok(Step::Apply(
        Heads {
            chunks: plan.stored_chunks().0,
            last_seq: plan.stored_chunks().1,
            hashes,
            max_op: heads.map_or(0, |h| h.max_op).max(change.max_op()),
            values,
            writer: writer_after(heads.and_then(|h| h.writer.as_ref()), change, me),
            actors: heads
                .map_or(ActorFilter::EMPTY, |h| h.actors)
                .with(change.actor_id()),
        },
        value,
    ))
}

/// The writer of the heads once `change` is applied. Its actor's number moves on when that
/// is the writer's (an earlier open's change, lost in a crash, back from a peer), or when it
/// is this open's actor, which continues from it next (a peer cannot hold a change of this
/// open's that it lacks, but a forger can: the next local change must not reuse its number).
fn writer_after(
    writer: Option<&(ActorId, u64)>,
    change: &Change,
    me: &ActorId,
) -> Option<(ActorId, u64)> {
    let actor = change.actor_id();
    match writer {
        Some((writer, _)) if writer == actor && !planted(ReplicationBug::DeadWriterHeads) => {
            Some((actor.clone(), change.seq()))
        }
        _ if actor == me => Some((actor.clone(), change.seq())),
        other => other.cloned(),
    }
}

/// Why a batch was not planned: the peer's changes are refused (nothing was written, and the
/// writers sharing the transaction keep theirs), or the store failed.
pub(crate) enum Unplanned {
    Refused(Refusal),
    Failed(Error),
}

impl From<Error> for Unplanned {
    fn from(error: Error) -> Self {
        Unplanned::Failed(error)
    }
}

/// Loads the document, lets Automerge apply what `plan` has so far and `rest`, and describes
/// the result in the plan.
fn merge(
    log: &impl ChangeLogRead,
    collection: &CollectionRef,
    id: &str,
    plan: &mut Plan,
    rest: Vec<Change>,
    me: &ActorId,
) -> Result<(), Unplanned> {
    // Nothing is written through this document, so any actor will do.
    let mut doc = match &plan.stored {
        Some(heads) => {
            change_log::load_from(log, &collection.name, id, heads, &ActorId::random())?.doc
        }
        None => AutoCommit::new(),
    };
    let inconsistent = |e: automerge::AutomergeError| {
        Unplanned::Refused(Refusal::Malformed {
            detail: format!("inconsistent with this replica's history: {e}"),
        })
    };
    doc.apply_changes(plan.chunks.clone())
        .map_err(inconsistent)?;
    let rest_len = rest.len();
    let new: Vec<Change> = rest
        .into_iter()
        .filter(|c| doc.get_change_meta_by_hash(&c.hash()).is_none())
        .collect();
    // What Automerge would queue, lacking what it depends on, is refused before the rest is
    // checked: the batch is sent again with what it lacks.
    let mut missing: Vec<ChangeHash> = Vec::new();
    for (at, change) in new.iter().enumerate() {
        for dep in change.deps() {
            if doc.get_change_meta_by_hash(dep).is_none()
                && !new[..at].iter().any(|c| c.hash() == *dep)
            {
                missing.push(*dep);
            }
        }
    }
    if !missing.is_empty() {
        missing.sort_unstable();
        missing.dedup();
        return Err(Unplanned::Refused(Refusal::MissingDependencies { missing }));
    }
    sequence::check_merged(&mut doc, &new).map_err(Unplanned::Refused)?;
    // Automerge 0.12 panics on some changes it should refuse (an actor's numbers out of
    // order): whatever the checks above missed is bad input, not a bug.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.apply_changes(new.clone())
    }))
    .map_err(|_| {
        Unplanned::Refused(Refusal::Malformed {
            detail: "Automerge cannot apply it to this replica's history".into(),
        })
    })?
    .map_err(inconsistent)?;
    // Automerge queues a change whose dependencies it lacks, and leaves it out of the document.
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(Unplanned::Refused(Refusal::MissingDependencies { missing }));
    }
    plan.applied.known += rest_len - new.len();
    plan.applied.new += new.len();
    plan.applied.merged = true;
    // The writer's number is its newest change's in the merged history (see `writer_after`).
    let writer = match new.iter().any(|c| c.actor_id() == me) {
        true => Some(me),
        false => plan
            .heads
            .as_ref()
            .and_then(|h| h.writer.as_ref().map(|(a, _)| a)),
    }
    .cloned();
    plan.chunks.extend(new);
    let mut logged = LoggedDocument {
        doc,
        chunks: plan.stored_chunks().0,
        last_seq: plan.stored_chunks().1,
    };
    let described = stored_heads::describe(&mut logged, writer.as_ref()).ok_or_else(|| {
        Unplanned::Failed(corrupt(
            &collection.name,
            id,
            "its merged history has a head without metadata",
            None,
        ))
    })?;
    plan.value = if described.values.is_empty() {
        Value::Removed
    } else {
        Value::Put(document::data(&logged.doc, &collection.name, id).map_err(Unplanned::Failed)?)
    };
    plan.heads = Some(described);
    Ok(())
}

impl Plan {
    /// How many chunks the document had before the batch, and the newest's seq (0 for none),
    /// which the first new chunk links to.
    fn stored_chunks(&self) -> (u64, u64) {
        self.stored
            .as_ref()
            .map_or((0, 0), |h| (h.chunks, h.last_seq))
    }

    /// Makes the planned writes; nothing when every change was known.
    pub(crate) fn write(
        self,
        log: &mut ChangeLogTable<'_>,
        materialized: &mut MaterializedWriter<'_>,
        collection: &CollectionRef,
        id: &str,
    ) -> Result<Applied> {
        let (stored_chunks, mut previous) = self.stored_chunks();
        let Some(mut heads) = self.heads.filter(|_| !self.chunks.is_empty()) else {
            return Ok(self.applied);
        };
        for change in &self.chunks {
            let seq = log.next_seq()?;
            log.append((&collection.name, id), seq, previous, change.raw_bytes())?;
            previous = seq;
        }
        heads.chunks = stored_chunks + self.chunks.len() as u64;
        heads.last_seq = previous;
        stored_heads::write(log, collection.id, id, &heads)?;
        match &self.value {
            Value::Put(value) => materialized.put(id, value)?,
            Value::Removed => {
                materialized.remove(id)?;
            }
            Value::Kept => {}
        }
        Ok(self.applied)
    }
}
