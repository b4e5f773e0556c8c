//! The Automerge write path: one change per upsert or delete, built from the document's heads
//! and appended to its change log beside the new materialized value, in one transaction. No
//! document is loaded, so the cost does not depend on the history, hot or cold, merged or not,
//! and nothing of a document stays in memory.
//!
//! A write is planned first (every heads read, every change built) and made after: a damaged
//! document refuses the write before it changes anything, so the batch of unflushed writes it
//! would have joined stays whole.

use std::collections::HashMap;

use automerge::{ActorId, Change};

use super::super::persistent::{CollectionRef, MaterializedWriter, Store, WritePath};
use super::change_log::ChangeLogTable;
use super::heads::{self, Edit, Heads};
use super::stored_heads;
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

/// One document's write, planned: the change to append after the chunk `previous` (0 for a
/// new document) and the heads after it, which name the seq it will take.
struct Planned {
    id: String,
    /// The new value; `None` for a delete.
    value: Option<Vec<u8>>,
    previous: u64,
    change: Change,
    heads: Heads,
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
        let bytes = docs.iter().map(|(id, data)| id.len() + data.len()).sum();
        // Kept for the journal, which asks whether it records only after the commit: a sync
        // session that starts recording while this write is in flight gets it stamped. A
        // failed write is stamped too (a failed commit may be durable); an extra offer of an
        // unchanged document costs a line of heads.
        let mut ids = Vec::with_capacity(docs.len());
        let written = store.write(bytes, |txn, progress| {
            let mut log = ChangeLogTable::open(txn)?;
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            // A later value for an id earlier in the batch follows that one's change.
            let mut planned: Vec<Planned> = Vec::with_capacity(docs.len());
            let mut latest: HashMap<String, usize> = HashMap::new();
            let repeats_possible = docs.len() > 1;
            // Chunks are appended in the order planned, from the file's next seq.
            for (seq, (id, data)) in (log.next_seq()?..).zip(docs) {
                let previous = match latest.get(&id) {
                    Some(&at) => Some(planned[at].heads.clone()),
                    None => stored_heads::read_to_append(&log, &materialized, collection, &id)?,
                };
                let next = self.plan(previous.as_ref(), seq, id, Some(data));
                if repeats_possible {
                    latest.insert(next.id.clone(), planned.len());
                }
                planned.push(next);
            }
            progress.writing();
            for write in planned {
                if let Some(value) = &write.value {
                    materialized.put(&write.id, value)?;
                }
                self.append(&mut log, collection, &write)?;
                ids.push(write.id);
            }
            materialized.finish()
        });
        self.journal
            .record(collection.id, ids.iter().map(String::as_str));
        written
    }

    fn delete(&self, store: &Store, collection: &CollectionRef, id: &str) -> Result<()> {
        let mut deleted = false;
        let written = store.write(id.len(), |txn, progress| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            if !materialized.contains(id)? {
                return Ok(());
            }
            // A tombstone: the history stays, so a replica syncing from one that never saw
            // the delete does not bring the document back.
            let mut log = ChangeLogTable::open(txn)?;
            let previous = stored_heads::read_to_append(&log, &materialized, collection, id)?;
            let seq = log.next_seq()?;
            let tombstone = self.plan(previous.as_ref(), seq, id.to_owned(), None);
            progress.writing();
            materialized.remove(id)?;
            self.append(&mut log, collection, &tombstone)?;
            deleted = true;
            materialized.finish()
        });
        if deleted {
            self.journal.record(collection.id, [id]);
        }
        written
    }
}

impl AutomergeWrites {
    /// The change that puts `value` (or, for `None`, deletes) on top of `previous`, to be
    /// appended as chunk `seq`.
    fn plan(
        &self,
        previous: Option<&Heads>,
        seq: u64,
        id: String,
        value: Option<Vec<u8>>,
    ) -> Planned {
        let edit = match &value {
            Some(data) => Edit::Put(data.clone()),
            None => Edit::Delete,
        };
        let change = heads::next_change(previous, &self.actor, edit);
        let heads = Heads::after_local(previous, &change, seq, value.is_some());
        Planned {
            id,
            value,
            previous: previous.map_or(0, |p| p.last_seq),
            change,
            heads,
        }
    }

    /// Appends a planned change to the change log, and the document's heads.
    fn append(
        &self,
        log: &mut ChangeLogTable<'_>,
        collection: &CollectionRef,
        write: &Planned,
    ) -> Result<()> {
        log.append(
            (&collection.name, &write.id),
            write.heads.last_seq,
            write.previous,
            write.change.raw_bytes(),
        )?;
        stored_heads::write(log, collection.id, &write.id, &write.heads)
    }
}
