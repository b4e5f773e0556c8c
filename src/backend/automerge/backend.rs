//! `AutomergeBackend`: every document an Automerge CRDT document, persisted in one redb file.

use std::path::Path;

use automerge::{ActorId, AutoCommit};

use super::super::persistent::{
    OpenOptions, PersistentBackend, VerifyReport, WritePath, open_path, open_storage,
};
use super::change_log::{self, ChangeLogRead, ChangeLogTable};
use super::compaction;
use super::planted::{InForce, ReplicationBug};
use super::stored_heads;
use super::sync::Identity;
use super::writes::AutomergeWrites;
use crate::{Collection, Result, StorageBackend};

/// Every document an Automerge document (its bytes under the root key `data`), persisted in
/// one redb file.
///
/// Reads never touch Automerge: the current bytes of every document are kept materialized
/// beside its change log. An upsert builds the document's next Automerge change from the few
/// fields of its stored heads, appends it as one chunk and rewrites one value, in a single
/// transaction: no document is loaded, so the cost does not grow with the history and no
/// document stays in memory. See [`OpenOptions`] for durability.
///
/// ```
/// use storebench::{AutomergeBackend, OpenOptions, StorageBackend};
///
/// let dir = tempfile::tempdir()?;
/// let store = AutomergeBackend::open(dir.path().join("mesh.redb"), OpenOptions::new())?;
/// let cells = store.collection("cells");
/// cells.upsert("c1", b"v1".to_vec())?;
/// cells.upsert("c1", b"v2".to_vec())?;
/// assert_eq!(cells.get("c1")?, Some(b"v2".to_vec()));
///
/// // The CRDT behind the value, with its whole history, for merging replicas.
/// let mut doc = store.document("cells", "c1")?.expect("the document exists");
/// assert_eq!(doc.get_changes(&[]).len(), 2);
/// assert!(store.verify()?.is_clean());
/// store.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AutomergeBackend {
    pub(super) inner: PersistentBackend<AutomergeWrites>,
    /// Who this replica is to its peers.
    pub(super) identity: Identity,
    /// The replication defect planted back in this open (feature `check` only).
    planted: Option<ReplicationBug>,
}

impl AutomergeBackend {
    /// Opens the database at `path`, creating it if the file does not exist.
    ///
    /// No document is loaded eagerly. The default integrity check reads every page, so that
    /// open grows with the file (14 ms at 100,000 small documents against 1.1 ms at 100, in
    /// `cargo bench --bench targets`); with [`OpenOptions::check_integrity`] off it costs the
    /// same for any size.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the file cannot be opened,
    /// [`Error::AlreadyOpen`](crate::Error::AlreadyOpen) when another handle holds it,
    /// [`Error::NotADatabase`](crate::Error::NotADatabase),
    /// [`Error::WrongBackend`](crate::Error::WrongBackend),
    /// [`Error::UnsupportedFormat`](crate::Error::UnsupportedFormat) or
    /// [`Error::CorruptDatabase`](crate::Error::CorruptDatabase) when the file is not one this
    /// backend can read.
    pub fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let opened = open_path(path.as_ref(), &options, AutomergeWrites::BACKEND)?;
        Self::from_opened(opened, &options)
    }

    /// Opens a database kept in any redb storage: redb's in-memory storage, or a
    /// fault-injecting one for crash tests.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_storage(
        storage: impl redb::StorageBackend,
        options: OpenOptions,
    ) -> Result<Self> {
        let opened = open_storage(storage, &options, AutomergeWrites::BACKEND, None)?;
        Self::from_opened(opened, &options)
    }

    fn from_opened(
        opened: super::super::persistent::Opened,
        options: &OpenOptions,
    ) -> Result<Self> {
        let inner = PersistentBackend::new(opened, AutomergeWrites::new());
        let identity = Identity::load(inner.store())?;
        Ok(Self {
            inner,
            identity,
            planted: options.replication_bug(),
        })
    }

    /// Puts this open's planted replication defect in force on the thread until dropped.
    pub(super) fn planted(&self) -> InForce {
        InForce::enter(self.planted)
    }

    /// A copy of the Automerge document behind `id`, with its whole history: to export its
    /// changes, or to merge it with another replica. A deleted document's history is there
    /// too (its last change removed the value); `None` when the document has no history here.
    ///
    /// The copy writes as a fresh actor, so changes made to it never share an (actor, seq)
    /// with the backend's own later changes.
    ///
    /// # Errors
    /// [`Error::Corrupt`](crate::Error::Corrupt) when its change log does not load, or a
    /// storage error.
    pub fn document(&self, collection: &str, id: &str) -> Result<Option<AutoCommit>> {
        let Some(collection) = self.inner.existing(collection) else {
            return Ok(None);
        };
        let writes = self.inner.writer();
        let txn = self.inner.store().read()?;
        let log = change_log::read(&txn)?;
        let loaded = change_log::load(&log, collection.id, &collection.name, id, writes.actor())?;
        Ok(loaded.map(|logged| logged.doc.with_actor(ActorId::random())))
    }

    /// Checks the whole database: rebuilds every document from its change log and compares it
    /// with its materialized value, and checks every collection's count. Reads every chunk, so
    /// it takes time proportional to the file.
    ///
    /// # Errors
    /// Only storage errors; inconsistencies are listed in the report.
    pub fn verify(&self) -> Result<VerifyReport> {
        let _planted = self.planted();
        super::verify::verify(
            &self.inner.store().read()?,
            &self.inner.collection_refs(),
            self.inner.writer().actor(),
        )
    }

    /// Folds every document's change log into one snapshot, makes every write durable, and
    /// shrinks the file to what the data needs (redb's compaction). The state and every change
    /// stay; documents load faster afterwards, small values take less room, and the free pages
    /// every update leaves behind go back to the file system. Takes time proportional to the
    /// database, and holds writers off while it folds.
    ///
    /// # Errors
    /// [`Error::Corrupt`](crate::Error::Corrupt) when a change log does not load or its heads
    /// do not describe it (nothing is changed then); [`Error::Storage`](crate::Error::Storage) when another thread holds a
    /// transaction open (a scan in progress) or the file cannot be rewritten.
    pub fn compact(&self) -> Result<()> {
        let _planted = self.planted();
        let collections = self.inner.collection_refs();
        let me = self.inner.writer().actor();
        let store = self.inner.store();
        store.write_alone(|txn| {
            // Every document, deleted ones too, has heads.
            let mut log = ChangeLogTable::open(txn)?;
            for (collection_id, id) in log.documents()? {
                let name = collections
                    .iter()
                    .find(|c| c.id == collection_id)
                    .map_or_else(|| format!("#{collection_id}"), |c| c.name.clone());
                let Some(stored) = stored_heads::read(&log, collection_id, &name, &id)? else {
                    continue;
                };
                if let Some(folded) = compaction::compact(&mut log, &name, &id, &stored, me)? {
                    stored_heads::write(&mut log, collection_id, &id, &folded)?;
                }
            }
            Ok(())
        })?;
        store.compact()
    }
}

impl StorageBackend for AutomergeBackend {
    fn collection(&self, name: &str) -> std::sync::Arc<dyn Collection> {
        self.inner.collection(name)
    }

    fn list_collections(&self) -> Vec<String> {
        self.inner.list_collections()
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// Also marks the database as closed for its peers (see `sync::identity`), in the last
    /// commit: what they recorded of this replica stays true across the reopen.
    fn close(self) -> Result<()> {
        let marked = self.identity.closing(self.inner.store());
        let closed = self.inner.close();
        marked.and(closed)
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableTable;

    use super::super::super::persistent::{HEADS, MATERIALIZED};
    use super::super::heads::Heads;
    use super::*;
    use crate::StorageBackend;
    use crate::fault::Disk;

    fn open(disk: &Disk) -> AutomergeBackend {
        AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new()).expect("opens")
    }

    /// Heads stored before an earlier open's change, lost in a crash and back from a peer,
    /// moved the number of their writer (a dead actor) on: that number is behind the change
    /// log. `verify()` finds them sound, and compaction moves the number on.
    #[test]
    fn a_dead_writers_number_behind_its_change_log_is_sound_and_compaction_moves_it_on() {
        let disk = Disk::new();
        let store = open(&disk);
        for value in [b"one", b"two"] {
            store
                .collection("docs")
                .upsert("d", value.to_vec())
                .expect("upsert");
        }
        store.close().expect("close");
        let db = redb::Builder::new()
            .create_with_backend(disk.storage())
            .expect("a sound file");
        let txn = db.begin_write().expect("write");
        {
            let values = txn.open_table(MATERIALIZED).expect("table");
            let (c, _) = values.first().expect("read").expect("a value").0.value();
            let mut heads_table = txn.open_table(HEADS).expect("table");
            let stored = heads_table.get((c, "d")).expect("get").expect("heads");
            let mut heads = Heads::decode(stored.value()).expect("heads decode");
            drop(stored);
            let writer = heads.writer.as_mut().expect("written here");
            assert_eq!(writer.1, 2);
            writer.1 = 1;
            heads_table
                .insert((c, "d"), heads.encode().as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
        drop(db);

        let store = open(&disk);
        let report = store.verify().expect("verify");
        assert!(report.is_clean(), "{:?}", report.problems);
        store.compact().expect("compacts");
        let c = store.inner.existing("docs").expect("the collection").id;
        let heads = {
            let txn = store.inner.store().read().expect("read");
            let log = change_log::read(&txn).expect("tables");
            stored_heads::read(&log, c, "docs", "d")
                .expect("reads")
                .expect("heads")
        };
        assert_eq!(heads.writer.map(|(_, seq)| seq), Some(2), "moved on");
        store
            .collection("docs")
            .upsert("d", b"three".to_vec())
            .expect("writable");
        assert!(store.verify().expect("verify").is_clean());
    }
}
