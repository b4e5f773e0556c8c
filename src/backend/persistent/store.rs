//! `Store`: one open redb database and the transactions every persistent backend runs on it.

use std::sync::{Mutex, PoisonError, RwLock};

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::group_commit::GroupCommit;
use super::tables::{COLLECTIONS, CollectionId};
use crate::{Durability, Error, Result};

/// An open database: redb, the durability mode, and collection creations not yet written.
#[derive(Debug)]
pub(crate) struct Store {
    /// `None` once closed. Collection handles share the store and may outlive `close()`; the
    /// database itself must not, so that close releases the file. Transactions own what they
    /// need, so the lock is held only to begin one.
    db: RwLock<Option<Database>>,
    durability: Durability,
    /// Collections handed out by `collection()` whose creation has not been committed yet
    /// (its own commit failed). Every later write transaction carries them, so a collection is
    /// durable no later than the next successful flush.
    pending_collections: Mutex<Vec<(String, CollectionId)>>,
    /// The transactions `EveryWrite` writers share.
    group: GroupCommit,
}

impl Store {
    pub(crate) fn new(db: Database, durability: Durability) -> Self {
        Self {
            db: RwLock::new(Some(db)),
            durability,
            pending_collections: Mutex::default(),
            group: GroupCommit::default(),
        }
    }

    /// A snapshot of every committed write, durable or not.
    pub(crate) fn read(&self) -> Result<ReadTransaction> {
        Ok(self
            .database()
            .as_ref()
            .ok_or(Error::Closed)?
            .begin_read()?)
    }

    /// Runs `apply` in a write transaction and commits it with the store's durability: for
    /// `OnFlush` without a sync; for `EveryWrite` durably, sharing the transaction and its sync
    /// with concurrent writers (see [`GroupCommit`]).
    ///
    /// redb admits one write transaction at a time, so writes are serialised here: whatever
    /// `apply` reads of the database cannot change before the commit. When `apply` or the commit
    /// fails, nothing of the transaction is visible or durable (`EveryWrite`: a failed sync may
    /// have made it durable anyway).
    pub(crate) fn write(&self, apply: impl FnOnce(&WriteTransaction) -> Result<()>) -> Result<()> {
        match self.durability {
            Durability::OnFlush => self.commit(redb::Durability::None, apply),
            Durability::EveryWrite => self.group.write(
                || self.begin(redb::Durability::Immediate),
                apply,
                |carried| self.created(carried),
            ),
        }
    }

    /// Makes every committed write durable: an empty transaction committed with a sync.
    pub(crate) fn flush(&self) -> Result<()> {
        self.commit(redb::Durability::Immediate, |_| Ok(()))
    }

    /// Records a new collection and commits it, if the database lets us, with the next
    /// transaction: one of its own, or (`EveryWrite`) a shared one that begins after this.
    pub(crate) fn create_collection(&self, name: &str, id: CollectionId) {
        self.pending().push((name.to_owned(), id));
        // A failure here leaves the collection pending: `collection()` cannot fail, and the
        // next write or flush retries it (and reports the storage error if it persists).
        let _ = self.write(|_| Ok(()));
    }

    fn commit(
        &self,
        durability: redb::Durability,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let (txn, pending) = self.begin(durability)?;
        // On an error the transaction is dropped, which aborts it.
        apply(&txn)?;
        txn.commit()?;
        self.created(&pending);
        Ok(())
    }

    /// Begins a write transaction that carries every pending collection; returns them too.
    fn begin(
        &self,
        durability: redb::Durability,
    ) -> Result<(WriteTransaction, Vec<(String, CollectionId)>)> {
        let mut txn = self
            .database()
            .as_ref()
            .ok_or(Error::Closed)?
            .begin_write()?;
        txn.set_durability(durability)?;
        let pending = self.pending().clone();
        if !pending.is_empty() {
            let mut collections = txn.open_table(COLLECTIONS)?;
            for (name, id) in &pending {
                collections.insert(name.as_str(), id)?;
            }
        }
        Ok((txn, pending))
    }

    /// Collections a committed transaction carried are pending no more.
    fn created(&self, carried: &[(String, CollectionId)]) {
        if !carried.is_empty() {
            self.pending().retain(|entry| !carried.contains(entry));
        }
    }

    /// Makes every write durable, then rewrites the file without its free pages (redb's
    /// compaction): the space a copy-on-write B-tree leaves behind goes back to the file system.
    ///
    /// Fails with `Error::Storage` while another thread holds a read or write transaction open.
    pub(crate) fn compact(&self) -> Result<()> {
        self.flush()?;
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        db.as_mut().ok_or(Error::Closed)?.compact()?;
        Ok(())
    }

    /// Flushes and closes the database; every later operation fails with [`Error::Closed`].
    pub(crate) fn close(&self) -> Result<()> {
        // No shared transaction begins from here on; the flush waits for an open one to
        // commit, so that no `EveryWrite` write succeeds after the close.
        self.group.close();
        self.flush()?;
        let db = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match db.map(Database::close) {
            // A write another thread began before the close still runs; redb closes the file
            // when it ends. Everything up to the flush above is durable either way.
            Some(Err(redb::DatabaseError::TransactionInProgress)) | Some(Ok(())) | None => Ok(()),
            Some(Err(e)) => Err(Error::Storage(Box::new(e.into()))),
        }
    }

    fn database(&self) -> std::sync::RwLockReadGuard<'_, Option<Database>> {
        // Only `close` writes the lock, with a single `take`: a poisoned lock is still sound.
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<(String, CollectionId)>> {
        // The list is only pushed to and filtered; a panic elsewhere cannot leave it torn.
        self.pending_collections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableTable;

    use super::*;

    fn store(durability: Durability) -> Store {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("in-memory database");
        Store::new(db, durability)
    }

    fn committed(store: &Store) -> Vec<(String, CollectionId)> {
        let txn = store.read().expect("read");
        let Ok(table) = txn.open_table(COLLECTIONS) else {
            return Vec::new();
        };
        table
            .iter()
            .expect("iter")
            .map(|entry| {
                let (name, id) = entry.expect("entry");
                (name.value().to_owned(), id.value())
            })
            .collect()
    }

    /// A collection created while another thread's transaction is open is not in that
    /// transaction: its commit must leave the newcomer pending for the next one. (Reached when
    /// the open transaction carries an older pending collection, whose own commit had failed.)
    #[test]
    fn a_commit_leaves_pending_what_it_did_not_carry() {
        let store = store(Durability::OnFlush);
        store.pending().push(("older".to_owned(), 1));
        let (txn, carried) = store.begin(redb::Durability::Immediate).expect("begin");
        store.pending().push(("newer".to_owned(), 2));
        txn.commit().expect("commit");
        store.created(&carried);
        assert_eq!(
            *store.pending(),
            [("newer".to_owned(), 2)],
            "only what it carried"
        );
        store
            .flush()
            .expect("the next transaction carries the newer");
        assert_eq!(
            committed(&store),
            [("newer".to_owned(), 2), ("older".to_owned(), 1)]
        );
        assert!(store.pending().is_empty());
    }
}
