//! Compaction of one document: its chunks folded into one snapshot, once its heads are shown
//! to describe them.

use automerge::ActorId;

use super::change_log::{Chain, ChangeLogTable, corrupt, load_from};
use super::heads::Heads;
use super::stored_heads;
use crate::Result;

/// Folds every chunk of the document `heads` describes into one snapshot, appended as the
/// file's newest chunk, and returns the heads to store; `None` when it is one chunk already.
/// `me` is the actor the database writes as in this open.
pub(crate) fn compact(
    log: &mut ChangeLogTable<'_>,
    collection_name: &str,
    id: &str,
    heads: &Heads,
    me: &ActorId,
) -> Result<Option<Heads>> {
    if heads.chunks == 1 {
        return Ok(None);
    }
    // Saving never writes a change, so any actor will do.
    let mut logged = load_from(&*log, collection_name, id, heads, &ActorId::random())?;
    // Folding on heads that do not describe the log would erase the evidence with the chunks.
    if let Some(detail) = stored_heads::disagreement(heads, &mut logged, me) {
        return Err(corrupt(collection_name, id, &detail, None));
    }
    // A dead writer's number behind its change log (its lost change came back from a peer)
    // is moved on to its newest change.
    let writer = heads.writer.as_ref().map(|(actor, _)| actor);
    let writer = stored_heads::describe(&mut logged, writer).and_then(|h| h.writer);
    let snapshot = logged.doc.save();
    let mut folded = Vec::with_capacity(usize::try_from(heads.chunks).unwrap_or(0));
    let mut chain = Chain::new(&*log, collection_name, id, heads);
    while let Some((seq, _)) = chain.next_chunk()? {
        folded.push(seq);
    }
    let seq = log.next_seq()?;
    for seq in folded {
        log.remove(seq)?;
    }
    log.append((collection_name, id), seq, 0, &snapshot)?;
    Ok(Some(Heads {
        chunks: 1,
        last_seq: seq,
        writer,
        ..heads.clone()
    }))
}
