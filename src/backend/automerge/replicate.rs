//! Replication, document by document: a document's heads, the changes another replica lacks,
//! and applying the changes another replica sends.

use automerge::{ActorId, Change, ChangeHash};

use super::super::persistent::{CollectionRef, MaterializedWriter, with_view};
use super::apply::{self, Applied, Unplanned};
use super::backend::AutomergeBackend;
use super::batch;
use super::change_log::{self, ChangeLogTable};
use super::heads::Heads;
use super::stored_heads;
use crate::{ReplicationError, Result};

impl AutomergeBackend {
    /// The document's heads: the changes no other change depends on, sorted. One while its
    /// history is a chain; several after concurrent changes from other replicas were merged,
    /// until the next write. Empty when the document has no history here. A deleted document
    /// keeps its history, and so its heads.
    ///
    /// # Errors
    /// [`Error::Corrupt`](crate::Error::Corrupt) when its stored heads are damaged, or a
    /// storage error.
    pub fn heads(&self, collection: &str, id: &str) -> Result<Vec<ChangeHash>> {
        Ok(self
            .stored_heads(collection, id)?
            .map(|h| h.hashes)
            .unwrap_or_default())
    }

    /// How many values stand under the document concurrently: 1 for a document with a value,
    /// more while puts from replicas that had not seen each other conflict (the document's
    /// value is then the one Automerge's rule picks: the put with the greatest op id), 0 when
    /// it is deleted or absent. The next write to it resolves the conflict.
    ///
    /// # Errors
    /// As [`heads`](Self::heads).
    pub fn conflicts(&self, collection: &str, id: &str) -> Result<usize> {
        Ok(self
            .stored_heads(collection, id)?
            .map_or(0, |h| h.values.len()))
    }

    /// The document's stored heads, read as any read is: through the batch of unflushed
    /// writes while it holds some, which one lookup need not commit.
    fn stored_heads(&self, collection: &str, id: &str) -> Result<Option<Heads>> {
        let Some(collection) = self.inner.existing(collection) else {
            return Ok(None);
        };
        let view = self.inner.store().view()?;
        with_view!(view, |txn| stored_heads::read(
            &change_log::read(txn)?,
            collection.id,
            &collection.name,
            id
        ))
    }

    /// The document's changes a replica whose heads are `have` lacks: every change that is not
    /// one of `have` or before them, in an order [`apply_changes`](Self::apply_changes) takes.
    /// Hashes unknown here are skipped (the replica has changes this one lacks; those do not
    /// narrow what it needs from here). Reads the change log from its newest chunk back to
    /// where the two histories meet, so the cost follows what is sent, not the history
    /// (a compacted document is loaded whole).
    ///
    /// # Errors
    /// [`Error::Corrupt`](crate::Error::Corrupt) when its change log does not load, or a
    /// storage error.
    pub fn changes_since(
        &self,
        collection: &str,
        id: &str,
        have: &[ChangeHash],
    ) -> Result<Vec<Change>> {
        Ok(self.changes_for(collection, id, have)?.0)
    }

    /// [`changes_since`](Self::changes_since), and which of `have` are known here.
    pub(super) fn changes_for(
        &self,
        collection: &str,
        id: &str,
        have: &[ChangeHash],
    ) -> Result<(Vec<Change>, Vec<ChangeHash>)> {
        let Some(collection) = self.inner.existing(collection) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let txn = self.inner.store().read()?;
        changes_in(&change_log::read(&txn)?, &collection, id, have)
    }

    /// Applies changes another replica made to the document, in one transaction under the
    /// backend's durability, as a local write is. Idempotent: a change already here is
    /// skipped. The changes may come in any order among themselves; a change whose
    /// dependencies are neither here nor in the batch refuses the whole batch (nothing is
    /// kept, none waits: send it again with what it depends on). Afterwards `get`, `scan`,
    /// `find` and `count` show what Automerge's own merge of the same changes shows; a delete
    /// removes the document and stays in its history, and a delete concurrent with a put loses
    /// to it (Automerge keeps the put's value: a delete removes only the values it saw).
    ///
    /// A change that continues the document's heads with one put or delete is applied from the
    /// heads alone, as a local write; anything else (a change concurrent with one here, a
    /// conflict) loads the document and merges it.
    ///
    /// # Errors
    /// [`ReplicationError::ChangeRefused`] for a change that does anything
    /// but set or delete the bytes under `data`, whose dependencies are missing, or that
    /// Automerge would not load with the document: bytes damaged under a chunk header that
    /// still parses, or a number its actor gave another change or that skips one;
    /// [`ReplicationError::Store`] with [`Error::Corrupt`](crate::Error::Corrupt) when the
    /// stored document is damaged, or with a storage error. Nothing is stored on error.
    pub fn apply_changes(
        &self,
        collection: &str,
        id: &str,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<Applied, ReplicationError> {
        let _planted = self.planted();
        let refused = |reason| ReplicationError::ChangeRefused {
            collection: collection.to_owned(),
            id: id.to_owned(),
            reason,
        };
        let checked = batch::check(changes.into_iter().collect()).map_err(refused)?;
        let target = self.inner.target(collection);
        let mut applied = Applied::default();
        let mut refusal = None;
        let bytes = checked.changes.iter().map(|c| c.raw_bytes().len()).sum();
        // Planned in full before the first insert (see `apply::plan`), so it joins the writes
        // of the open batch as a local write does.
        self.inner.store().write(bytes, |txn, progress| {
            let mut materialized = MaterializedWriter::open(txn, target.id)?;
            let mut log = ChangeLogTable::open(txn)?;
            match apply::plan(
                &log,
                &materialized,
                &target,
                id,
                checked,
                self.inner.writer().actor(),
            ) {
                Ok(plan) => {
                    progress.writing();
                    applied = plan.write(&mut log, &mut materialized, &target, id)?;
                }
                // Refused having written nothing: writers sharing the transaction keep theirs.
                Err(Unplanned::Refused(reason)) => refusal = Some(reason),
                Err(Unplanned::Failed(error)) => return Err(error),
            }
            materialized.finish()
        })?;
        if let Some(reason) = refusal {
            return Err(refused(reason));
        }
        if applied.new > 0 {
            self.inner.writer().journal().record(target.id, [id]);
        }
        Ok(applied)
    }
}

/// [`AutomergeBackend::changes_for`] in a change log read already.
pub(super) fn changes_in(
    log: &impl change_log::ChangeLogRead,
    collection: &CollectionRef,
    id: &str,
    have: &[ChangeHash],
) -> Result<(Vec<Change>, Vec<ChangeHash>)> {
    let Some(stored) = stored_heads::read(log, collection.id, &collection.name, id)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    if let Some(walked) = change_log::changes_since(log, &collection.name, id, &stored, have)? {
        return Ok(walked);
    }
    // A compacted document: its snapshot is not one change, so load it.
    let actor = ActorId::random();
    let mut logged = change_log::load_from(log, &collection.name, id, &stored, &actor)?;
    let known: Vec<ChangeHash> = have
        .iter()
        .filter(|h| logged.doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    Ok((logged.doc.get_changes(&known), known))
}
