//! `SledStore`: collections of documents in one sled database, a tree per collection.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use storebench::{
    Collection, Document, DocumentPredicate, Durability, Error, Result, StorageBackend,
};

/// How big sled's page cache is: the 64 MiB the built-in redb backends and SQLite get, so no
/// store is given more memory. sled's default is 1 GiB.
pub(crate) const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What a collection's tree is called: this before its name, so that no name meets sled's
/// own default tree (`__sled__default`).
const TREE: &[u8] = b"c:";

fn sled(e: sled::Error) -> Error {
    Error::backend("sled", e)
}

/// Documents in one sled database: each collection a tree named `c:` and its name, each
/// document a key (its id) in that tree. `flush()` is sled's `Db::flush`, which syncs.
///
/// ```
/// use storebench::{Durability, StorageBackend};
/// use storebench_sled::SledStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = SledStore::open(dir.path(), Durability::OnFlush)?;
/// store.collection("cells").upsert("c1", b"alive".to_vec())?;
/// store.close()?;
/// let store = SledStore::open(dir.path(), Durability::OnFlush)?;
/// assert_eq!(store.collection("cells").get("c1")?, Some(b"alive".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SledStore {
    shared: Arc<Shared>,
}

struct Shared {
    durability: Durability,
    /// `None` once closed: closing drops every tree with the database, which releases its
    /// file, though collection handles may outlive the store.
    open: RwLock<Option<Open>>,
}

struct Open {
    db: sled::Db,
    /// The trees opened so far, by collection name.
    trees: RwLock<HashMap<String, sled::Tree>>,
}

impl Open {
    fn tree(&self, name: &str) -> Result<sled::Tree> {
        let trees = self.trees.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(tree) = trees.get(name) {
            return Ok(tree.clone());
        }
        drop(trees);
        let tree = self.db.open_tree(tree_name(name)).map_err(sled)?;
        let mut trees = self.trees.write().unwrap_or_else(PoisonError::into_inner);
        trees.insert(name.to_owned(), tree.clone());
        Ok(tree)
    }
}

fn tree_name(collection: &str) -> Vec<u8> {
    [TREE, collection.as_bytes()].concat()
}

impl Shared {
    /// Runs `f` on the open database.
    fn with<T>(&self, f: impl FnOnce(&Open) -> Result<T>) -> Result<T> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        f(open.as_ref().ok_or(Error::Closed)?)
    }

    /// Runs the write `f` on `collection`'s tree, then, with `EveryWrite`, flushes (syncs)
    /// before returning.
    fn write(&self, collection: &str, f: impl FnOnce(&sled::Tree) -> Result<()>) -> Result<()> {
        self.with(|open| {
            f(&open.tree(collection)?)?;
            if self.durability == Durability::EveryWrite {
                open.db.flush().map_err(sled)?;
            }
            Ok(())
        })
    }
}

impl SledStore {
    /// Opens the database in the directory `path`, creating it when there is none,
    /// configured for `durability` (README.md lists the settings). sled locks its file:
    /// another open of it fails until this store closes.
    ///
    /// # Errors
    /// [`Error::Backend`] with sled's error when the database cannot be opened or recovered.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let db = open_when_unlocked(path)?;
        Ok(Self {
            shared: Arc::new(Shared {
                durability,
                open: RwLock::new(Some(Open {
                    db,
                    trees: RwLock::new(HashMap::new()),
                })),
            }),
        })
    }
}

/// How long an open waits for the file lock a dropped database of this process still holds.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens the database at `path`, waiting up to [`LOCK_WAIT`] for its file lock: sled 0.34
/// releases it only when the last of its threads lets the database go, a moment after the
/// `Db` is dropped, so a reopen straight after a close can find it still held.
fn open_when_unlocked(path: &Path) -> Result<sled::Db> {
    let start = Instant::now();
    loop {
        match config(path).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && start.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            opened => return opened.map_err(sled),
        }
    }
}

/// sled's configuration: the same in both modes. Background flushing (sled's default, every
/// 500 ms) is off: `OnFlush` promises the last flush, and `EveryWrite` flushes every write.
fn config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(None)
}

impl StorageBackend for SledStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        // The trait gives creation no way to fail: when the tree cannot be opened now, the
        // collection's first operation opens it.
        let _ = self.shared.write(name, |_| Ok(()));
        Arc::new(SledCollection {
            name: name.to_owned(),
            shared: self.shared.clone(),
        })
    }

    fn list_collections(&self) -> Vec<String> {
        let names = self.shared.with(|open| {
            let mut names: Vec<String> = open
                .db
                .tree_names()
                .into_iter()
                .filter_map(|name| {
                    let name = name.strip_prefix(TREE)?;
                    String::from_utf8(name.to_vec()).ok()
                })
                .collect();
            names.sort();
            Ok(names)
        });
        names.unwrap_or_default()
    }

    fn flush(&self) -> Result<()> {
        self.shared
            .with(|open| open.db.flush().map(drop).map_err(sled))
    }

    fn close(self) -> Result<()> {
        self.flush()?;
        let open = self
            .shared
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropping the database and its trees releases its file.
        drop(open);
        Ok(())
    }
}

impl Drop for SledStore {
    /// Lets the database go, though collection handles may live on: a store dropped without
    /// `close()` releases its file too, so it can be opened again.
    fn drop(&mut self) {
        let open = self
            .shared
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(open);
    }
}

struct SledCollection {
    name: String,
    shared: Arc<Shared>,
}

/// The documents `items` gives, in order, at most `limit`.
fn documents(
    items: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    limit: usize,
) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for item in items.take(limit) {
        let (id, data) = item.map_err(sled)?;
        let id = String::from_utf8(id.to_vec())
            .map_err(|e| Error::backend("sled", format!("a document id is not UTF-8: {e}")))?;
        docs.push((id, data.to_vec()));
    }
    Ok(docs)
}

impl Collection for SledCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.shared.write(&self.name, |tree| {
            tree.insert(doc_id.as_bytes(), data).map(drop).map_err(sled)
        })
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (id, data) in docs {
            batch.insert(id.as_bytes(), data);
        }
        self.shared
            .write(&self.name, |tree| tree.apply_batch(batch).map_err(sled))
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.shared.with(|open| {
            let value = open.tree(&self.name)?.get(doc_id).map_err(sled)?;
            Ok(value.map(|v| v.to_vec()))
        })
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.shared.write(&self.name, |tree| {
            tree.remove(doc_id.as_bytes()).map(drop).map_err(sled)
        })
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.shared
            .with(|open| documents(open.tree(&self.name)?.iter(), usize::MAX))
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        self.shared
            .with(|open| documents(open.tree(&self.name)?.scan_prefix(prefix), usize::MAX))
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        self.shared
            .with(|open| documents(open.tree(&self.name)?.range(start.as_bytes()..), limit))
    }

    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        let docs = self.scan()?;
        Ok(docs
            .into_iter()
            .filter(|(_, data)| predicate(data))
            .collect())
    }

    fn count(&self) -> Result<usize> {
        self.shared.with(|open| {
            let mut n = 0;
            for item in open.tree(&self.name)?.iter().keys() {
                item.map_err(sled)?;
                n += 1;
            }
            Ok(n)
        })
    }
}
