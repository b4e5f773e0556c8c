//! Compaction of one document: its chunks folded into one snapshot, once its heads are shown
//! to describe them.

use automerge::ActorId;

use super::super::persistent::CollectionId;
use super::change_log::{ChangeLogTable, chunks, corrupt, load};
use super::heads::Heads;
use super::stored_heads;
use crate::Result;

/// Folds every chunk of the document `heads` describes into one snapshot at its last seq, and
/// returns the heads to store; `None` when it is one chunk already. `me` is the actor the
/// database writes as in this open.
pub(crate) fn compact(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
    heads: &Heads,
    me: &ActorId,
) -> Result<Option<Heads>> {
    if heads.snapshot_seq == heads.last_seq {
        return Ok(None);
    }
    // Saving never writes a change, so any actor will do.
    let Some(mut logged) = load(log, collection, collection_name, id, &ActorId::random())? else {
        return Err(corrupt(
            collection_name,
            id,
            "its heads outlive its change log",
            None,
        ));
    };
    // Folding on heads that do not describe the log would erase the evidence with the chunks.
    if let Some(detail) = stored_heads::disagreement(heads, &mut logged, me) {
        return Err(corrupt(collection_name, id, &detail, None));
    }
    // A dead writer's number behind its change log (its lost change came back from a peer)
    // is moved on to its newest change.
    let writer = heads.writer.as_ref().map(|(actor, _)| actor);
    let writer = stored_heads::describe(&mut logged, writer).and_then(|h| h.writer);
    let snapshot = logged.doc.save();
    log.retain_in(chunks(collection, id), |_, _| false)?;
    log.insert((collection, id, heads.last_seq), snapshot.as_slice())?;
    Ok(Some(Heads {
        snapshot_seq: heads.last_seq,
        writer,
        ..heads.clone()
    }))
}
