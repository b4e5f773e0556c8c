//! The Automerge write path: one change per upsert or delete, built from the document's heads
//! and appended to its change log beside the new materialized value, in one transaction. No
//! document is loaded, so the cost does not depend on the history, hot or cold, merged or not,
//! and nothing of a document stays in memory.

use automerge::ActorId;

use super::super::persistent::{CHANGE_LOG, CollectionRef, MaterializedWriter, Store, WritePath};
use super::change_log::{self, ChangeLogTable};
use super::heads::{self, Edit, Heads};
use super::sync::Journal;
use crate::{Document, Result};

/// Writes Automerge documents: the state every upsert of the backend shares.
pub(crate) struct AutomergeWrites {
    /// The actor this open of the database writes as. A fresh one per open, so that a change
    /// lost in a crash never shares its (actor, seq) with a later, different change.
    actor: ActorId,
    /// Which documents changed since each peer last synced.
    journal: Journal,
}

impl AutomergeWrites {
    pub(crate) fn new() -> Self {
        Self {
            actor: ActorId::random(),
            journal: Journal::default(),
        }
    }

    pub(crate) fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }
}

impl WritePath for AutomergeWrites {
    const BACKEND: &'static str = "automerge";

    fn upsert_many(
        &self,
        store: &Store,
        collection: &CollectionRef,
        docs: Vec<Document>,
    ) -> Result<()> {
        // Kept for the journal, which asks whether it records only after the commit: a sync
        // session that starts recording while this write is in flight gets it stamped. A
        // failed write is stamped too (a failed commit may be durable); an extra offer of an
        // unchanged document costs a line of heads.
        let mut ids = Vec::with_capacity(docs.len());
        let written = store.write(|txn| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            let mut log = txn.open_table(CHANGE_LOG)?;
            for (id, data) in docs {
                materialized.put(&id, &data)?;
                self.append(&mut log, collection, &id, Edit::Put(data))?;
                ids.push(id);
            }
            materialized.finish()
        });
        self.journal
            .record(collection.id, ids.iter().map(String::as_str));
        written
    }

    fn delete(&self, store: &Store, collection: &CollectionRef, id: &str) -> Result<()> {
        let mut deleted = false;
        let written = store.write(|txn| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            if materialized.remove(id)? {
                // A tombstone: the history stays, so a replica syncing from one that never saw
                // the delete does not bring the document back.
                let mut log = txn.open_table(CHANGE_LOG)?;
                deleted = true;
                self.append(&mut log, collection, id, Edit::Delete)?;
            }
            materialized.finish()
        });
        if deleted {
            self.journal.record(collection.id, [id]);
        }
        written
    }
}

impl AutomergeWrites {
    /// Appends the change that makes `edit` to the document's change log, and its heads.
    fn append(
        &self,
        log: &mut ChangeLogTable<'_>,
        collection: &CollectionRef,
        id: &str,
        edit: Edit,
    ) -> Result<()> {
        let previous = heads::read_to_write(log, collection.id, &collection.name, id)?;
        let put = matches!(edit, Edit::Put(_));
        let change = heads::next_change(previous.as_ref(), &self.actor, edit);
        let seq = previous.as_ref().map_or(1, |p| p.last_seq + 1);
        change_log::append(log, collection.id, &collection.name, id, seq, &change)?;
        let next = Heads::after_local(previous.as_ref(), &change, seq, put);
        heads::write(log, collection.id, id, &next)
    }
}
