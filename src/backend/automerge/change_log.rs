//! A document's change log: the chunks its Automerge state is stored as, and when they are
//! compacted.
//!
//! An upsert appends one incremental chunk (a few hundred bytes plus the value), so its cost
//! does not depend on how long the history is. A snapshot (`save()`) costs time proportional to
//! the history, so it is taken only when the increments since the last one number as many as
//! the saves the snapshot holds (and at least [`MIN_INCREMENTS`]): the history at least doubles
//! between snapshots, which keeps the amortised compaction cost per upsert constant, and the
//! stored increments never outweigh the history in the snapshot by much.

use automerge::{ActorId, AutoCommit, LoadOptions, OnPartialLoad};
use redb::{ReadableTable, Table};

use super::super::persistent::CollectionId;
use crate::{Error, Result};

/// Increments allowed before the first compaction.
pub(crate) const MIN_INCREMENTS: u64 = 64;

/// The change-log table, read or written.
pub(crate) type ChangeLogTable<'txn> =
    Table<'txn, (CollectionId, &'static str, u64), &'static [u8]>;

/// A document loaded from its change log, with where its log stands.
#[derive(Debug, Clone)]
pub(crate) struct LoggedDocument {
    pub(crate) doc: AutoCommit,
    /// The seq of the first chunk: the saves folded into the snapshot, or 1 (0 in memory for a
    /// new document) before the first compaction, when the first chunk is the first increment.
    pub(crate) snapshot_seq: u64,
    /// The seq of the last chunk (0 for a document with no log yet).
    pub(crate) last_seq: u64,
    /// The bytes of its chunks: the history the document holds, and about what it weighs in
    /// memory, since a loaded document keeps every value it ever had.
    pub(crate) log_bytes: u64,
}

impl LoggedDocument {
    /// A document with no history, writing as `actor`.
    pub(crate) fn new(actor: ActorId) -> Self {
        Self {
            doc: AutoCommit::new().with_actor(actor),
            snapshot_seq: 0,
            last_seq: 0,
            log_bytes: 0,
        }
    }

    /// Whether the increments since the snapshot are due to be folded into a new one.
    fn compaction_due(&self) -> bool {
        self.last_seq - self.snapshot_seq >= MIN_INCREMENTS.max(self.snapshot_seq)
    }
}

/// Loads a document from its chunks, or `None` when it has none.
///
/// # Errors
/// [`Error::Corrupt`] when Automerge refuses the chunks.
pub(crate) fn load(
    log: &impl ReadableTable<(CollectionId, &'static str, u64), &'static [u8]>,
    collection: CollectionId,
    collection_name: &str,
    id: &str,
    actor: &ActorId,
) -> Result<Option<LoggedDocument>> {
    let mut snapshot_seq = None;
    let mut last_seq = 0;
    let mut bytes = Vec::new();
    for chunk in log.range((collection, id, 0)..=(collection, id, u64::MAX))? {
        let (key, chunk) = chunk?;
        snapshot_seq.get_or_insert(key.value().2);
        last_seq = key.value().2;
        bytes.extend_from_slice(chunk.value());
    }
    let Some(snapshot_seq) = snapshot_seq else {
        return Ok(None);
    };
    let corrupt = |detail: &str, source: Option<automerge::AutomergeError>| Error::Corrupt {
        collection: collection_name.to_owned(),
        id: id.to_owned(),
        detail: detail.to_owned(),
        source: source.map(Box::new),
    };
    // One load of every chunk, refusing a partial one: `load_incremental` would log a damaged
    // chunk and carry on without it, and the next compaction would then erase the damage (and
    // the history behind it) for good.
    let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
    let mut doc = AutoCommit::load_with_options(&bytes, options)
        .map_err(|e| corrupt("its Automerge change log does not load", Some(e)))?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(corrupt(
            "its change log lacks changes that others depend on",
            None,
        ));
    }
    doc.set_actor(actor.clone());
    Ok(Some(LoggedDocument {
        doc,
        snapshot_seq,
        last_seq,
        log_bytes: bytes.len() as u64,
    }))
}

/// Appends `chunk` as the document's next save, compacting the log when it is due.
pub(crate) fn append(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    id: &str,
    logged: &mut LoggedDocument,
    chunk: &[u8],
) -> Result<()> {
    logged.last_seq += 1;
    if logged.compaction_due() {
        let snapshot = logged.doc.save();
        remove(log, collection, id)?;
        log.insert((collection, id, logged.last_seq), snapshot.as_slice())?;
        logged.snapshot_seq = logged.last_seq;
        logged.log_bytes = snapshot.len() as u64;
    } else {
        log.insert((collection, id, logged.last_seq), chunk)?;
        logged.log_bytes += chunk.len() as u64;
    }
    Ok(())
}

/// Removes every chunk of a document.
pub(crate) fn remove(
    log: &mut ChangeLogTable<'_>,
    collection: CollectionId,
    id: &str,
) -> Result<()> {
    log.retain_in((collection, id, 0)..=(collection, id, u64::MAX), |_, _| {
        false
    })?;
    Ok(())
}
