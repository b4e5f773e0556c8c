//! `Store`: one open redb database and the transactions every persistent backend runs on it.

use std::sync::{Mutex, PoisonError, RwLock};

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::batch::{Batch, Progress, Transactions};
use super::group_commit::{Carried, GroupCommit};
use super::options::OpenOptions;
use super::tables::{COLLECTIONS, CollectionId};
use super::view::View;
use crate::{Durability, Error, Result};

/// An open database: redb, the durability mode, and collection creations not yet written.
#[derive(Debug)]
pub(crate) struct Store {
    /// `None` once closed. Collection handles share the store and may outlive `close()`; the
    /// database itself must not, so that close releases the file. Transactions own what they
    /// need, so the lock is held only to begin one.
    db: RwLock<Option<Database>>,
    durability: Durability,
    /// Collections handed out by `collection()` whose creation has not been committed yet.
    /// Every later write transaction carries them, so a collection is durable no later than
    /// the next successful flush.
    pending_collections: Mutex<Vec<(String, CollectionId)>>,
    /// The open transaction `OnFlush` writes share until a flush.
    batch: Batch,
    /// The transactions `EveryWrite` writers share.
    group: GroupCommit,
}

impl Store {
    pub(crate) fn new(db: Database, options: &OpenOptions) -> Self {
        Self {
            db: RwLock::new(Some(db)),
            durability: options.durability,
            pending_collections: Mutex::default(),
            batch: Batch::new(options.batch_bytes, options.planted()),
            group: GroupCommit::default(),
        }
    }

    /// Every completed write, for a read: through the open batch while it holds writes,
    /// otherwise a read transaction.
    pub(crate) fn view(&self) -> Result<View<'_>> {
        match self.batch.reader()? {
            Some(batch) => Ok(View::Batch(batch)),
            None => Ok(View::Committed(self.begin_read()?)),
        }
    }

    /// A read transaction holding every completed write: the open batch is committed first,
    /// without a sync. For reads that take long or read much (a sync session, `verify`),
    /// which should not hold writers off.
    pub(crate) fn read(&self) -> Result<ReadTransaction> {
        self.batch.publish(self)?;
        self.begin_read()
    }

    /// Runs `apply` as a write. `OnFlush`: in the open batch (see [`Batch`]), which `apply`
    /// must tell through [`Progress`] when it first changes the transaction; `bytes` counts
    /// toward the batch's bound. `EveryWrite`: in a durable transaction shared with concurrent
    /// writers (see [`GroupCommit`]).
    ///
    /// redb admits one write transaction at a time, so writes are serialised here: whatever
    /// `apply` reads of the database cannot change before it returns. When `apply` fails before
    /// it changes anything, nothing of it is visible or durable.
    pub(crate) fn write(
        &self,
        bytes: usize,
        apply: impl FnOnce(&WriteTransaction, &Progress) -> Result<()>,
    ) -> Result<()> {
        match self.durability {
            Durability::OnFlush => self.batch.write(self, bytes, apply),
            Durability::EveryWrite => self.group.write(
                || self.begin(redb::Durability::Immediate),
                |txn| apply(txn, &Progress::default()),
                |carried| self.committed(carried),
            ),
        }
    }

    /// Runs `apply` in a transaction of its own, aborted whole if it fails: for writes that
    /// may fail after changing many documents. `OnFlush` commits the batch first.
    pub(crate) fn write_alone(
        &self,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        match self.durability {
            Durability::OnFlush => self.batch.write_alone(self, apply),
            Durability::EveryWrite => self.group.write(
                || self.begin(redb::Durability::Immediate),
                apply,
                |carried| self.committed(carried),
            ),
        }
    }

    /// Makes every completed write durable.
    pub(crate) fn flush(&self) -> Result<()> {
        match self.durability {
            Durability::OnFlush => self.batch.flush(self, self.owed()),
            // An empty transaction committed with a sync, after the shared one in progress.
            Durability::EveryWrite => {
                let (txn, carried) = self.begin(redb::Durability::Immediate)?;
                txn.commit()?;
                self.committed(&carried);
                Ok(())
            }
        }
    }

    /// Records a new collection and commits it, if the database lets us, with the next
    /// transaction: the open batch, one of its own, or (`EveryWrite`) a shared one that begins
    /// after this.
    pub(crate) fn create_collection(&self, name: &str, id: CollectionId) {
        self.pending().push((name.to_owned(), id));
        // A failure here leaves the collection pending: `collection()` cannot fail, and the
        // next write or flush retries it (and reports the storage error if it persists).
        let _ = self.write(name.len(), |_, _| Ok(()));
    }

    fn begin_read(&self) -> Result<ReadTransaction> {
        Ok(self
            .database()
            .as_ref()
            .ok_or(Error::Closed)?
            .begin_read()?)
    }

    /// Whether a collection creation waits for a commit.
    fn owed(&self) -> bool {
        !self.pending().is_empty()
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
        // No transaction begins from here on; the flush waits for an open one to commit, so
        // that no write succeeds after the close.
        let flushed = match self.durability {
            Durability::OnFlush => self.batch.close(self, self.owed()),
            Durability::EveryWrite => {
                self.group.close();
                self.flush()
            }
        };
        flushed?;
        let db = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match db.map(Database::close) {
            // A write another thread began before the close still runs; redb closes the file
            // when it ends. Everything up to the flush above is durable either way.
            Some(Err(redb::DatabaseError::TransactionInProgress)) | Some(Ok(())) | None => Ok(()),
            Some(Err(e)) => Err(Error::Storage(Box::new(redb::Error::from(e)))),
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

impl Transactions for Store {
    /// Begins a write transaction that carries every pending collection; returns them too.
    fn begin(&self, durability: redb::Durability) -> Result<(WriteTransaction, Carried)> {
        let mut txn = self
            .database()
            .as_ref()
            .ok_or(Error::Closed)?
            .begin_write()?;
        txn.set_durability(durability)?;
        let mut carried = Carried::new();
        self.carry(&txn, &mut carried, &Progress::default())?;
        Ok((txn, carried))
    }

    fn carry(
        &self,
        txn: &WriteTransaction,
        carried: &mut Carried,
        progress: &Progress,
    ) -> Result<()> {
        // Every batched write asks: copy only what is new, and nothing in the usual case.
        let new: Carried = self
            .pending()
            .iter()
            .filter(|p| !carried.contains(p))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        progress.writing();
        let mut collections = txn.open_table(COLLECTIONS)?;
        for (name, id) in new {
            collections.insert(name.as_str(), id)?;
            carried.push((name, id));
        }
        Ok(())
    }

    /// Collections a committed transaction carried are pending no more.
    fn committed(&self, carried: &Carried) {
        if !carried.is_empty() {
            self.pending().retain(|entry| !carried.contains(entry));
        }
    }
}

impl Drop for Store {
    /// Dropped without `close()`, a store flushes, as redb does, ignoring errors: there is no
    /// one left to tell.
    fn drop(&mut self) {
        if self.durability == Durability::OnFlush {
            let _ = self.flush();
        }
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
        Store::new(db, &OpenOptions::new().durability(durability))
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
        store.committed(&carried);
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

    const T: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("t");

    /// A write of `key` to the test table, telling the batch before it changes anything.
    fn put(key: u64) -> impl FnOnce(&WriteTransaction, &Progress) -> Result<()> {
        move |txn, progress| {
            progress.writing();
            txn.open_table(T)?.insert(key, key)?;
            Ok(())
        }
    }

    /// The keys of the test table, as a reader sees them.
    fn keys(store: &Store) -> Result<Vec<u64>> {
        fn read(txn: &impl super::super::view::Snapshot) -> Result<Vec<u64>> {
            let table = txn.table(T)?;
            let mut keys = Vec::new();
            for entry in table.iter()? {
                keys.push(entry?.0.value());
            }
            Ok(keys)
        }
        let view = store.view()?;
        super::super::view::with_view!(view, |txn| read(txn))
    }

    fn reads_through_the_batch(store: &Store) -> bool {
        matches!(store.view(), Ok(View::Batch(_)))
    }

    #[test]
    fn on_flush_writes_join_one_transaction_that_readers_read_through_until_a_flush() {
        let store = store(Durability::OnFlush);
        for key in 0..3 {
            store.write(8, put(key)).expect("write");
        }
        assert!(reads_through_the_batch(&store), "nothing committed yet");
        let other = std::thread::scope(|s| s.spawn(|| keys(&store)).join().expect("reader"));
        assert_eq!(
            other.expect("read"),
            [0, 1, 2],
            "another thread sees every write"
        );
        store.flush().expect("flush");
        assert!(!reads_through_the_batch(&store), "committed");
        assert_eq!(keys(&store).expect("read"), [0, 1, 2]);
    }

    #[test]
    fn a_full_batch_commits_and_a_later_flush_still_syncs() {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("in-memory database");
        let store = Store::new(db, &OpenOptions::new().batch_bytes(16));
        store.write(8, put(1)).expect("write");
        assert!(reads_through_the_batch(&store));
        store.write(8, put(2)).expect("write");
        assert!(
            !reads_through_the_batch(&store),
            "16 bytes reached: committed"
        );
        assert!(store.batch.unsynced(), "without a sync");
        store.flush().expect("flush");
        assert!(!store.batch.unsynced(), "the flush synced it");
        assert_eq!(keys(&store).expect("read"), [1, 2]);
    }

    #[test]
    fn a_write_refused_before_it_changes_anything_leaves_the_batch_whole() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        let refused = store.write(8, |_, _| Err(Error::Closed));
        assert!(matches!(refused, Err(Error::Closed)), "{refused:?}");
        store.write(8, put(2)).expect("the batch goes on");
        store.flush().expect("flush");
        assert_eq!(keys(&store).expect("read"), [1, 2]);
    }

    #[test]
    fn a_write_that_fails_part_way_loses_the_batch_and_the_store_refuses_until_reopened() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        store.flush().expect("flush");
        store.write(8, put(2)).expect("write");
        let failed = store.write(8, |txn, progress| {
            put(3)(txn, progress)?;
            Err(Error::Closed)
        });
        assert!(matches!(failed, Err(Error::Closed)), "its own error");
        for refused in [
            keys(&store).map(|_| ()),
            store.write(8, put(4)),
            store.flush(),
        ] {
            assert!(
                matches!(refused, Err(Error::BatchLost { .. })),
                "{refused:?}"
            );
        }
        // What was committed is the last flush, without half of anything.
        let txn = store.begin_read().expect("read");
        let table = txn.open_table(T).expect("table");
        let committed: Vec<u64> = table
            .iter()
            .expect("iter")
            .map(|e| e.expect("entry").0.value())
            .collect();
        assert_eq!(committed, [1]);
    }

    #[test]
    fn a_write_that_panics_loses_the_batch() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(8, |txn, progress| {
                put(2)(txn, progress)?;
                panic!("a bug half-way through a write")
            })
        }));
        assert!(panicked.is_err());
        assert!(matches!(keys(&store), Err(Error::BatchLost { .. })));
    }

    #[test]
    fn a_write_that_panics_before_it_changes_anything_leaves_the_batch_whole() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(8, |_, _| panic!("a bug while planning"))
        }));
        assert!(panicked.is_err());
        assert_eq!(keys(&store).expect("read"), [1], "the batch goes on");
        store.flush().expect("flush");
        assert_eq!(keys(&store).expect("read"), [1]);
    }

    #[test]
    fn a_write_that_changes_nothing_leaves_readers_on_the_committed_state() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        store.flush().expect("flush");
        store
            .write(8, |_, _| Ok(()))
            .expect("a write with nothing to do");
        assert!(!reads_through_the_batch(&store));
        assert!(!store.batch.unsynced(), "and owes no sync");
    }

    #[test]
    fn a_write_alone_commits_the_batch_first_and_aborts_alone() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        let failed = store.write_alone(|txn| {
            txn.open_table(T)?.insert(2, 2)?;
            Err(Error::Closed)
        });
        assert!(matches!(failed, Err(Error::Closed)));
        assert_eq!(
            keys(&store).expect("read"),
            [1],
            "the batch kept, the failed write gone"
        );
        store
            .write_alone(|txn| {
                txn.open_table(T)?.insert(3, 3)?;
                Ok(())
            })
            .expect("write alone");
        assert_eq!(keys(&store).expect("read"), [1, 3]);
    }

    #[test]
    fn a_closed_store_refuses_writes_and_keeps_what_it_flushed() {
        let store = store(Durability::OnFlush);
        store.write(8, put(1)).expect("write");
        store.close().expect("close");
        assert!(matches!(store.write(8, put(2)), Err(Error::Closed)));
        assert!(matches!(store.view(), Err(Error::Closed)));
    }
}
