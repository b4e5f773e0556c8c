//! The Automerge write path: one change per upsert, appended to the change log beside the new
//! materialized value, in one transaction.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use automerge::ActorId;

use super::super::persistent::{CHANGE_LOG, CollectionRef, MaterializedWriter, Store, WritePath};
use super::cache::DocumentCache;
use super::change_log::{self, LoggedDocument};
use super::document;
use crate::{Document, Result};

/// Writes Automerge documents: the state every upsert of the backend shares.
pub(crate) struct AutomergeWrites {
    /// The actor this open of the database writes as. A fresh one per open, so that a change
    /// lost in a crash never shares its (actor, seq) with a later, different change.
    actor: ActorId,
    /// Held across each write transaction (see [`DocumentCache`]'s invariant). redb runs one
    /// write transaction at a time anyway, so this costs writers no concurrency.
    cache: Mutex<DocumentCache>,
}

impl AutomergeWrites {
    pub(crate) fn new(cache_capacity: usize, cache_bytes: usize) -> Self {
        Self {
            actor: ActorId::random(),
            cache: Mutex::new(DocumentCache::new(cache_capacity, cache_bytes)),
        }
    }

    pub(crate) fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub(crate) fn cache(&self) -> MutexGuard<'_, DocumentCache> {
        // Documents leave the cache before they are changed and return only after a commit, so
        // a panic while the lock was held cannot have left a half-changed document in it.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
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
        let mut cache = self.cache();
        let mut touched: HashMap<String, LoggedDocument> = HashMap::new();
        store.write(|txn| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            let mut log = txn.open_table(CHANGE_LOG)?;
            for (id, data) in docs {
                materialized.put(&id, &data)?;
                let mut logged = match touched.remove(&id) {
                    Some(logged) => logged,
                    None => match cache.take(collection.id, &id) {
                        Some(logged) => logged,
                        None => change_log::load(
                            &log,
                            collection.id,
                            &collection.name,
                            &id,
                            &self.actor,
                        )?
                        .unwrap_or_else(|| LoggedDocument::new(self.actor.clone())),
                    },
                };
                if let Some(chunk) = document::set_data(&mut logged.doc, data, collection, &id)? {
                    change_log::append(&mut log, collection.id, &id, &mut logged, &chunk)?;
                }
                touched.insert(id, logged);
            }
            materialized.finish()
        })?;
        for (id, logged) in touched {
            cache.put((collection.id, id), logged);
        }
        Ok(())
    }

    fn delete(&self, store: &Store, collection: &CollectionRef, id: &str) -> Result<()> {
        let mut cache = self.cache();
        cache.take(collection.id, id);
        store.write(|txn| {
            let mut materialized = MaterializedWriter::open(txn, collection.id)?;
            if materialized.remove(id)? {
                change_log::remove(&mut txn.open_table(CHANGE_LOG)?, collection.id, id)?;
            }
            materialized.finish()
        })
    }
}
