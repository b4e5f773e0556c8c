//! `LmdbStore`: collections of documents in one LMDB environment, through heed.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions};
use storebench::{
    Collection, Document, DocumentPredicate, Durability, Error, Result, StorageBackend,
};

/// The largest the environment's file may grow: LMDB maps it whole, so this is address space
/// reserved, not memory or disk used. A write past it fails with `MDB_MAP_FULL`.
pub(crate) const MAP_SIZE: usize = 16 << 30;

type Table = Database<Bytes, Bytes>;

fn lmdb(e: heed::Error) -> Error {
    Error::backend("lmdb", e)
}

/// The key of a collection's name and the prefix of its documents' keys: the name's length
/// (4 bytes, big-endian) and the name. No collection's prefix starts another's, so any UTF-8
/// name is isolated, and within a collection keys sort as ids do.
fn prefix(collection: &str) -> Vec<u8> {
    let len = u32::try_from(collection.len()).unwrap_or(u32::MAX);
    [&len.to_be_bytes()[..], collection.as_bytes()].concat()
}

fn key(collection: &str, id: &str) -> Vec<u8> {
    [prefix(collection).as_slice(), id.as_bytes()].concat()
}

/// Documents in one LMDB environment (`data.mdb`), two named databases: `collections` (a
/// key per collection) and `documents` (keyed by collection and id). Every write is its own
/// write transaction; see the crate's docs for what makes it durable.
///
/// ```
/// use storebench::{Durability, StorageBackend};
/// use storebench_lmdb::LmdbStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = LmdbStore::open(dir.path(), Durability::OnFlush)?;
/// store.collection("cells").upsert("c1", b"alive".to_vec())?;
/// store.close()?;
/// let store = LmdbStore::open(dir.path(), Durability::OnFlush)?;
/// assert_eq!(store.collection("cells").get("c1")?, Some(b"alive".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LmdbStore {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` once closed.
    open: RwLock<Option<Open>>,
    /// The collection names, as the environment has them.
    names: Mutex<BTreeSet<String>>,
}

struct Open {
    env: Env,
    collections: Table,
    documents: Table,
}

impl Shared {
    fn open(&self) -> Result<RwLockReadGuard<'_, Option<Open>>> {
        let guard = self.open.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(guard)
    }

    /// Runs `f` in a read transaction.
    fn read<T>(&self, f: impl FnOnce(&Open, &heed::RoTxn) -> heed::Result<T>) -> Result<T> {
        let guard = self.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let txn = open.env.read_txn().map_err(lmdb)?;
        f(open, &txn).map_err(lmdb)
    }

    /// Runs `f` in a write transaction of its own and commits it.
    fn write(&self, f: impl FnOnce(&Open, &mut heed::RwTxn) -> heed::Result<()>) -> Result<()> {
        let guard = self.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let mut txn = open.env.write_txn().map_err(lmdb)?;
        f(open, &mut txn).map_err(lmdb)?;
        txn.commit().map_err(lmdb)
    }

    /// Closes the environment, waiting until LMDB has let its file go.
    fn close(&self) {
        let open = self
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(open) = open {
            open.env.prepare_for_closing().wait();
        }
    }
}

/// The environment's flags for `durability`: none with `EveryWrite` (each commit syncs);
/// `NO_SYNC` with `OnFlush`, whose `flush()` syncs with `mdb_env_sync`.
pub(crate) fn flags(durability: Durability) -> EnvFlags {
    match durability {
        Durability::EveryWrite => EnvFlags::empty(),
        _ => EnvFlags::NO_SYNC,
    }
}

impl LmdbStore {
    /// Opens the environment in the directory `path`, creating it when there is none,
    /// configured for `durability` (README.md lists the settings). heed refuses a second
    /// open of the same environment in this process until this store closes.
    ///
    /// # Errors
    /// [`Error::Backend`] with heed's error when the environment cannot be opened.
    #[allow(unsafe_code)]
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let mut options = EnvOpenOptions::new();
        options.map_size(MAP_SIZE).max_dbs(2);
        // SAFETY: `NO_SYNC` is unsafe only in that a system crash may undo the commits since
        // the last `mdb_env_sync`; `OnFlush` promises no more than its last flush, which syncs.
        unsafe { options.flags(flags(durability)) };
        // SAFETY: the environment's file is mapped; it must not be changed behind LMDB's back
        // while open. The store keeps it alone (heed refuses a second open in this process,
        // LMDB's lock file coordinates others) and the harness only damages files it closed.
        let env = unsafe { options.open(path) }.map_err(lmdb)?;
        let mut txn = env.write_txn().map_err(lmdb)?;
        let collections: Table = env
            .create_database(&mut txn, Some("collections"))
            .map_err(lmdb)?;
        let documents: Table = env
            .create_database(&mut txn, Some("documents"))
            .map_err(lmdb)?;
        let mut names = BTreeSet::new();
        for item in collections.iter(&txn).map_err(lmdb)? {
            let (key, _) = item.map_err(lmdb)?;
            let name = String::from_utf8(key.get(4..).unwrap_or_default().to_vec())
                .map_err(|e| Error::backend("lmdb", format!("a collection name: {e}")))?;
            names.insert(name);
        }
        txn.commit().map_err(lmdb)?;
        Ok(Self {
            shared: Arc::new(Shared {
                open: RwLock::new(Some(Open {
                    env,
                    collections,
                    documents,
                })),
                names: Mutex::new(names),
            }),
        })
    }
}

impl Drop for LmdbStore {
    /// Closes the environment, though collection handles may live on, so that it can be
    /// opened again.
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl StorageBackend for LmdbStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let mut names = self
            .shared
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !names.contains(name) {
            // The trait gives creation no way to fail: when the name cannot be written now,
            // it is not listed, and the collection's handle still works.
            let written = self
                .shared
                .write(|open, txn| open.collections.put(txn, &prefix(name), &[]));
            if written.is_ok() {
                names.insert(name.to_owned());
            }
        }
        Arc::new(LmdbCollection {
            name: name.to_owned(),
            prefix: prefix(name),
            shared: self.shared.clone(),
        })
    }

    fn list_collections(&self) -> Vec<String> {
        let names = self
            .shared
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        names.iter().cloned().collect()
    }

    fn flush(&self) -> Result<()> {
        let guard = self.shared.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        open.env.force_sync().map_err(lmdb)
    }

    fn close(self) -> Result<()> {
        self.flush()?;
        self.shared.close();
        Ok(())
    }
}

struct LmdbCollection {
    name: String,
    prefix: Vec<u8>,
    shared: Arc<Shared>,
}

impl LmdbCollection {
    /// Documents from the key `from` on, in order, while they are this collection's, at most
    /// `limit`.
    fn documents(&self, from: &[u8], limit: usize) -> Result<Vec<Document>> {
        let docs = self.shared.read(|open, txn| {
            let range = (Bound::Included(from), Bound::Unbounded);
            let mut docs = Vec::new();
            for item in open.documents.range(txn, &range)?.take(limit) {
                let (key, value) = item?;
                let Some(id) = key.strip_prefix(self.prefix.as_slice()) else {
                    break;
                };
                docs.push((id.to_vec(), value.to_vec()));
            }
            Ok(docs)
        })?;
        docs.into_iter()
            .map(|(id, data)| {
                let id = String::from_utf8(id)
                    .map_err(|e| Error::backend("lmdb", format!("a document id: {e}")))?;
                Ok((id, data))
            })
            .collect()
    }
}

impl Collection for LmdbCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.shared
            .write(|open, txn| open.documents.put(txn, &key(&self.name, doc_id), &data))
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.shared.write(|open, txn| {
            for (id, data) in &docs {
                open.documents.put(txn, &key(&self.name, id), data)?;
            }
            Ok(())
        })
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.shared.read(|open, txn| {
            let value = open.documents.get(txn, &key(&self.name, doc_id))?;
            Ok(value.map(<[u8]>::to_vec))
        })
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.shared.write(|open, txn| {
            open.documents
                .delete(txn, &key(&self.name, doc_id))
                .map(drop)
        })
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.documents(&self.prefix, usize::MAX)
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        let mut docs = self.documents(&key(&self.name, prefix), usize::MAX)?;
        let end = docs
            .iter()
            .position(|(id, _)| !id.starts_with(prefix))
            .unwrap_or(docs.len());
        docs.truncate(end);
        Ok(docs)
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        self.documents(&key(&self.name, start), limit)
    }

    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        let docs = self.scan()?;
        Ok(docs
            .into_iter()
            .filter(|(_, data)| predicate(data))
            .collect())
    }

    fn count(&self) -> Result<usize> {
        self.shared.read(|open, txn| {
            let mut n = 0;
            for item in open.documents.prefix_iter(txn, &self.prefix)? {
                item?;
                n += 1;
            }
            Ok(n)
        })
    }
}
