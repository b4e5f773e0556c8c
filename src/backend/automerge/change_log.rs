//! A document's change log: the chunks its Automerge state is stored as, and their compaction.
//!
//! An upsert appends one chunk, the raw bytes of one change, at the next seq; it never reads
//! the chunks before it (see [`super::heads`]). Compaction folds a document's chunks into one
//! snapshot (`save()`): the state is the same, it loads faster (a snapshot loads at about
//! 4.6 µs per change here, increments at about 11 µs) and, for small values, takes less room.
//! It costs time proportional to the history, so it runs only when asked for
//! ([`AutomergeBackend::compact`](crate::AutomergeBackend::compact)), never on the write path.

use automerge::{ActorId, AutoCommit, LoadOptions, OnPartialLoad};
use redb::{ReadableTable, Table};

use super::super::persistent::CollectionId;
use super::heads::{HEADS_SEQ, Heads};
use crate::{Error, Result};

/// The change-log table, read or written.
pub(crate) type ChangeLogTable<'txn> =
    Table<'txn, (CollectionId, &'static str, u64), &'static [u8]>;

/// The change-log table, read in a read or a write transaction.
pub(crate) trait ChangeLogRead:
    ReadableTable<(CollectionId, &'static str, u64), &'static [u8]>
{
}

impl<T: ReadableTable<(CollectionId, &'static str, u64), &'static [u8]>> ChangeLogRead for T {}

/// A document loaded from its chunks, with the seqs they span.
#[derive(Debug)]
pub(crate) struct LoggedDocument {
    pub(crate) doc: AutoCommit,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
}

/// Loads a document from its chunks, or `None` when it has none.
///
/// # Errors
/// [`Error::Corrupt`] when Automerge refuses the chunks.
pub(crate) fn load(
    log: &impl ChangeLogRead,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
    actor: &ActorId,
) -> Result<Option<LoggedDocument>> {
    let mut first_seq = None;
    let mut last_seq = 0;
    let mut bytes = Vec::new();
    for chunk in log.range(chunks(collection, id))? {
        let (key, chunk) = chunk?;
        first_seq.get_or_insert(key.value().2);
        last_seq = key.value().2;
        bytes.extend_from_slice(chunk.value());
    }
    let Some(first_seq) = first_seq else {
        return Ok(None);
    };
    // One load of every chunk, refusing a partial one: `load_incremental` would log a damaged
    // chunk and carry on without it, and the next compaction would then erase the damage (and
    // the history behind it) for good.
    let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
    let mut doc = AutoCommit::load_with_options(&bytes, options).map_err(|e| {
        corrupt(
            collection_name,
            id,
            "its Automerge change log does not load",
            Some(e),
        )
    })?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(corrupt(
            collection_name,
            id,
            "its change log lacks changes that others depend on",
            None,
        ));
    }
    doc.set_actor(actor.clone());
    Ok(Some(LoggedDocument {
        doc,
        first_seq,
        last_seq,
    }))
}

/// Whether the document has any chunk.
pub(crate) fn exists(log: &impl ChangeLogRead, collection: CollectionId, id: &str) -> Result<bool> {
    Ok(log.range(chunks(collection, id))?.next().is_some())
}

/// The keys of a document's chunks: every seq before its heads.
fn chunks(collection: CollectionId, id: &str) -> std::ops::Range<(u64, &str, u64)> {
    (collection, id, 0)..(collection, id, HEADS_SEQ)
}

/// Folds every chunk of the document `heads` describes into one snapshot at its last seq, and
/// returns the heads to store; `None` when it is one chunk already.
pub(crate) fn compact(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
    heads: &Heads,
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
    if let Some(detail) = super::heads::disagreement(heads, &mut logged) {
        return Err(corrupt(collection_name, id, &detail, None));
    }
    let snapshot = logged.doc.save();
    log.retain_in(chunks(collection, id), |_, _| false)?;
    log.insert((collection, id, heads.last_seq), snapshot.as_slice())?;
    Ok(Some(Heads {
        snapshot_seq: heads.last_seq,
        ..heads.clone()
    }))
}

/// The error for a document whose stored state is damaged.
pub(crate) fn corrupt(
    collection: &str,
    id: &str,
    detail: &str,
    source: Option<automerge::AutomergeError>,
) -> Error {
    Error::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
        detail: detail.to_owned(),
        source: source.map(Box::new),
    }
}
