//! `FjallStore`: collections of documents in one fjall database.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use storebench::{
    Collection, Document, DocumentPredicate, Durability, Error, Result, StorageBackend,
};

/// The keyspace of collection names: a name's [`prefix`] is a key with an empty value (the
/// prefix, not the name, since fjall takes no empty key).
const COLLECTIONS: &str = "collections";
/// The keyspace of documents, keyed by [`key`].
const DOCUMENTS: &str = "documents";

/// How big fjall's block cache is: the 64 MiB the built-in redb backends and SQLite get, so no
/// store is given more memory. fjall's default is 32 MiB.
pub(crate) const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// How a durable write is synced: `fsync`, data and metadata, as fjall's own examples persist.
pub(crate) const SYNC: PersistMode = PersistMode::SyncAll;

fn fjall(e: fjall::Error) -> Error {
    Error::backend("fjall", e)
}

/// The key of `id` in `collection`: the name's length (4 bytes, big-endian), the name, the id.
/// Every key of a collection starts with the same bytes and no other collection's does (the
/// length fixes where the name ends), so any UTF-8 name is isolated, and within a collection
/// keys sort as ids do, by their bytes.
fn prefix(collection: &str) -> Vec<u8> {
    // A name longer than 4 GiB cannot come through `&str` on the platforms the harness runs;
    // saturating keeps the encoding total.
    let len = u32::try_from(collection.len()).unwrap_or(u32::MAX);
    let mut key = Vec::with_capacity(4 + collection.len());
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(collection.as_bytes());
    key
}

fn key(collection: &str, id: &str) -> Vec<u8> {
    let mut key = prefix(collection);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The longest key fjall takes: a longer one makes its write batch panic.
const MAX_KEY: usize = u16::MAX as usize;

/// `key`, when fjall can store it: a name and id longer together than 65,531 bytes are an
/// error, not the panic fjall's batch would raise.
fn writable(key: Vec<u8>) -> Result<Vec<u8>> {
    if key.len() > MAX_KEY {
        return Err(Error::backend(
            "fjall",
            format!(
                "a key of {} bytes (collection name, id and 4 bytes): fjall keys are at most \
                 {MAX_KEY} bytes",
                key.len()
            ),
        ));
    }
    Ok(key)
}

/// Documents in one fjall database, two keyspaces: the collection names, and every document
/// under a key that starts with its collection (`key`). Writes go through fjall's atomic
/// write batches; what makes them durable depends on the mode (see the crate's docs).
///
/// ```
/// use storebench::{Durability, StorageBackend};
/// use storebench_fjall::FjallStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = FjallStore::open(dir.path(), Durability::OnFlush)?;
/// store.collection("cells").upsert("c1", b"alive".to_vec())?;
/// store.close()?;
/// let store = FjallStore::open(dir.path(), Durability::OnFlush)?;
/// assert_eq!(store.collection("cells").get("c1")?, Some(b"alive".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FjallStore {
    shared: Arc<Shared>,
}

struct Shared {
    durability: Durability,
    /// `None` once closed.
    open: RwLock<Option<Open>>,
    /// The collection names, as the database has them: loaded at open, added to as created.
    names: Mutex<BTreeSet<String>>,
}

struct Open {
    db: Database,
    collections: Keyspace,
    documents: Keyspace,
}

impl Shared {
    fn open(&self) -> Result<RwLockReadGuard<'_, Option<Open>>> {
        let guard = self.open.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(guard)
    }

    /// Commits what `fill` puts in one batch: synced before it returns with `EveryWrite`,
    /// left for `flush()` to persist with `OnFlush`.
    fn write(
        &self,
        fill: impl FnOnce(&Open, &mut fjall::OwnedWriteBatch) -> Result<()>,
    ) -> Result<()> {
        let guard = self.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let durability = match self.durability {
            Durability::EveryWrite => Some(SYNC),
            _ => None,
        };
        let mut batch = open.db.batch().durability(durability);
        fill(open, &mut batch)?;
        batch.commit().map_err(fjall)
    }
}

impl FjallStore {
    /// Opens the database in the directory `path`, creating it when there is none,
    /// configured for `durability` (README.md lists the settings). fjall locks the directory:
    /// another open of it fails until this store closes.
    ///
    /// # Errors
    /// [`Error::Backend`] with fjall's error when the database cannot be opened or recovered.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            .manual_journal_persist(manual_journal_persist(durability))
            .open()
            .map_err(fjall)?;
        let collections = db
            .keyspace(COLLECTIONS, KeyspaceCreateOptions::default)
            .map_err(fjall)?;
        let documents = db
            .keyspace(DOCUMENTS, KeyspaceCreateOptions::default)
            .map_err(fjall)?;
        let mut names = BTreeSet::new();
        for guard in collections.iter() {
            let key = guard.key().map_err(fjall)?;
            let name = key.get(4..).unwrap_or_default();
            names.insert(text(name.to_vec(), "collection name")?);
        }
        Ok(Self {
            shared: Arc::new(Shared {
                durability,
                open: RwLock::new(Some(Open {
                    db,
                    collections,
                    documents,
                })),
                names: Mutex::new(names),
            }),
        })
    }
}

/// fjall's `manual_journal_persist` for `durability`. By default fjall hands every write
/// batch to the operating system as it commits, so that it survives the process's death.
/// `OnFlush` promises only the last flush, so the journal stays in fjall's buffer until
/// `flush()` persists it; `EveryWrite` syncs every batch anyway.
pub(crate) fn manual_journal_persist(durability: Durability) -> bool {
    durability == Durability::OnFlush
}

/// `bytes` as the UTF-8 they were written as; anything else is damage.
fn text(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| Error::backend("fjall", format!("{what} is not UTF-8: {e}")))
}

impl StorageBackend for FjallStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let mut names = self
            .shared
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !names.contains(name) {
            // The trait gives creation no way to fail: when the name cannot be written now,
            // it is not listed, and the collection's handle still works.
            let written = self.shared.write(|open, batch| {
                batch.insert(&open.collections, writable(prefix(name))?, b"");
                Ok(())
            });
            if written.is_ok() {
                names.insert(name.to_owned());
            }
        }
        Arc::new(FjallCollection {
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
        match self.shared.durability {
            Durability::EveryWrite => Ok(()),
            _ => open.db.persist(SYNC).map_err(fjall),
        }
    }

    fn close(self) -> Result<()> {
        self.flush()?;
        let open = self
            .shared
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropping the last handle stops fjall's workers and releases the directory's lock.
        drop(open);
        Ok(())
    }
}

struct FjallCollection {
    name: String,
    /// Every key of this collection starts with it ([`prefix`]).
    prefix: Vec<u8>,
    shared: Arc<Shared>,
}

impl FjallCollection {
    /// Documents from the key `from` on, in order, while they are this collection's, at most
    /// `limit`.
    fn documents(&self, from: &[u8], limit: usize) -> Result<Vec<Document>> {
        let guard = self.shared.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let mut docs = Vec::new();
        if limit == 0 {
            return Ok(docs);
        }
        for item in open.documents.range(from..) {
            let (key, value) = item.into_inner().map_err(fjall)?;
            let Some(id) = key.strip_prefix(self.prefix.as_slice()) else {
                break;
            };
            docs.push((text(id.to_vec(), "document id")?, value.to_vec()));
            if docs.len() == limit {
                break;
            }
        }
        Ok(docs)
    }
}

impl Collection for FjallCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.shared.write(|open, batch| {
            batch.insert(&open.documents, writable(key(&self.name, doc_id))?, data);
            Ok(())
        })
    }

    fn upsert_many(&self, docs: Vec<Document>) -> Result<()> {
        self.shared.write(|open, batch| {
            for (id, data) in docs {
                batch.insert(&open.documents, writable(key(&self.name, &id))?, data);
            }
            Ok(())
        })
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        let guard = self.shared.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let value = open.documents.get(key(&self.name, doc_id)).map_err(fjall)?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.shared.write(|open, batch| {
            batch.remove(&open.documents, writable(key(&self.name, doc_id))?);
            Ok(())
        })
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.documents(&self.prefix, usize::MAX)
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        let from = key(&self.name, prefix);
        let mut docs = self.documents(&from, usize::MAX)?;
        // Ids from the prefix on, in order, until one no longer starts with it.
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
        let guard = self.shared.open()?;
        let open = guard.as_ref().ok_or(Error::Closed)?;
        let mut n = 0;
        for item in open.documents.prefix(&self.prefix) {
            item.key().map_err(fjall)?;
            n += 1;
        }
        Ok(n)
    }
}
