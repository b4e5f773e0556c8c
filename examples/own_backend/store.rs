//! `SnapshotStore`: a small store written outside storebench, against its public traits only.
//! Every collection lives in memory; a flush rewrites the whole state into one file (written
//! aside, synced, renamed over the old one), so a crash leaves the last flush exactly. The
//! file ends with a checksum of the rest, so a damaged file is refused, not read as data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use storebench::{Collection, Document, DocumentPredicate, Durability, Result, StorageBackend};

type Collections = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// The store: its file, its durability, and the state every collection handle shares.
pub struct SnapshotStore {
    shared: Arc<Shared>,
}

struct Shared {
    file: PathBuf,
    durability: Durability,
    state: Mutex<Collections>,
    /// Set by `close()`: a collection handle kept past it refuses every operation.
    closed: AtomicBool,
}

impl SnapshotStore {
    /// Opens the store kept in `file`, or a new one when there is no file.
    pub fn open(file: &Path, durability: Durability) -> Result<Self> {
        let state = match std::fs::read(file) {
            Ok(bytes) => decode(&bytes).ok_or_else(|| {
                storebench::Error::backend("snapshot", format!("{} is damaged", file.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Collections::new(),
            Err(e) => return Err(storebench::Error::backend("snapshot", e)),
        };
        let shared = Shared {
            file: file.to_owned(),
            durability,
            state: Mutex::new(state),
            closed: AtomicBool::new(false),
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, Collections> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> Result<()> {
        match self.closed.load(Ordering::SeqCst) {
            true => Err(storebench::Error::Closed),
            false => Ok(()),
        }
    }

    /// Writes the whole state aside, syncs it and renames it over the file.
    fn write_file(&self, state: &Collections) -> Result<()> {
        let aside = self.file.with_extension("tmp");
        let io = |e| storebench::Error::backend("snapshot", e);
        let mut out = std::fs::File::create(&aside).map_err(io)?;
        out.write_all(&encode(state)).map_err(io)?;
        out.sync_all().map_err(io)?;
        std::fs::rename(&aside, &self.file).map_err(io)?;
        if let Some(dir) = self.file.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// Applies `change` to one collection; with `EveryWrite`, the file is rewritten before
    /// the lock is let go, so writes reach it in order.
    fn write(
        &self,
        collection: &str,
        change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
    ) -> Result<()> {
        self.open()?;
        let mut state = self.state();
        change(state.entry(collection.to_owned()).or_default());
        match self.durability {
            Durability::EveryWrite => self.write_file(&state),
            _ => Ok(()),
        }
    }

    fn read<T>(
        &self,
        collection: &str,
        read: impl FnOnce(&BTreeMap<String, Vec<u8>>) -> T,
    ) -> Result<T> {
        self.open()?;
        let state = self.state();
        Ok(read(state.get(collection).unwrap_or(&BTreeMap::new())))
    }
}

impl StorageBackend for SnapshotStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        let mut state = self.shared.state();
        if !state.contains_key(name) {
            state.insert(name.to_owned(), BTreeMap::new());
            // A new collection is a write like any other. If the file cannot be written now,
            // the next write or flush writes it (the trait leaves creation no way to fail).
            if self.shared.durability == Durability::EveryWrite {
                let _ = self.shared.write_file(&state);
            }
        }
        Arc::new(SnapshotCollection {
            name: name.to_owned(),
            shared: self.shared.clone(),
        })
    }

    fn list_collections(&self) -> Vec<String> {
        self.shared.state().keys().cloned().collect()
    }

    fn flush(&self) -> Result<()> {
        let state = self.shared.state();
        self.shared.write_file(&state)
    }

    fn close(self) -> Result<()> {
        let state = self.shared.state();
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.write_file(&state)
    }
}

struct SnapshotCollection {
    name: String,
    shared: Arc<Shared>,
}

fn owned<'a>(docs: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> Vec<Document> {
    docs.map(|(id, v)| (id.clone(), v.clone())).collect()
}

impl Collection for SnapshotCollection {
    fn name(&self) -> &str {
        &self.name
    }

    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> Result<()> {
        self.shared.write(&self.name, |docs| {
            docs.insert(doc_id.to_owned(), data);
        })
    }

    fn upsert_many(&self, batch: Vec<Document>) -> Result<()> {
        self.shared.write(&self.name, |docs| docs.extend(batch))
    }

    fn get(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.shared
            .read(&self.name, |docs| docs.get(doc_id).cloned())
    }

    fn delete(&self, doc_id: &str) -> Result<()> {
        self.shared.write(&self.name, |docs| {
            docs.remove(doc_id);
        })
    }

    fn scan(&self) -> Result<Vec<Document>> {
        self.shared.read(&self.name, |docs| owned(docs.iter()))
    }

    fn scan_prefix(&self, prefix: &str) -> Result<Vec<Document>> {
        self.shared.read(&self.name, |docs| {
            owned(
                docs.range(prefix.to_owned()..)
                    .take_while(|(id, _)| id.starts_with(prefix)),
            )
        })
    }

    fn scan_range(&self, start: &str, limit: usize) -> Result<Vec<Document>> {
        self.shared.read(&self.name, |docs| {
            owned(docs.range(start.to_owned()..).take(limit))
        })
    }

    fn find(&self, predicate: DocumentPredicate) -> Result<Vec<Document>> {
        self.shared.read(&self.name, |docs| {
            owned(docs.iter().filter(|(_, v)| predicate(v)))
        })
    }

    fn count(&self) -> Result<usize> {
        self.shared.read(&self.name, BTreeMap::len)
    }
}

/// Length-prefixed fields: collection count, then per collection its name and documents; then
/// the checksum of all that.
fn encode(state: &Collections) -> Vec<u8> {
    let mut out = Vec::new();
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend((bytes.len() as u64).to_le_bytes());
        out.extend(bytes);
    };
    out.extend((state.len() as u64).to_le_bytes());
    for (name, docs) in state {
        field(&mut out, name.as_bytes());
        out.extend((docs.len() as u64).to_le_bytes());
        for (id, value) in docs {
            field(&mut out, id.as_bytes());
            field(&mut out, value);
        }
    }
    out.extend(checksum(&out).to_le_bytes());
    out
}

/// FNV-1a, 64 bits: enough to tell a damaged file from a sound one, which is all it is for.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn decode(bytes: &[u8]) -> Option<Collections> {
    let (mut bytes, sum) = bytes.split_last_chunk::<8>()?;
    if checksum(bytes) != u64::from_le_bytes(*sum) {
        return None;
    }
    let number = |bytes: &mut &[u8]| -> Option<u64> {
        let (n, rest) = bytes.split_first_chunk::<8>()?;
        *bytes = rest;
        Some(u64::from_le_bytes(*n))
    };
    let field = |bytes: &mut &[u8], len: u64| -> Option<Vec<u8>> {
        let len = usize::try_from(len).ok().filter(|&l| l <= bytes.len())?;
        let (field, rest) = bytes.split_at(len);
        *bytes = rest;
        Some(field.to_vec())
    };
    let mut state = Collections::new();
    for _ in 0..number(&mut bytes)? {
        let len = number(&mut bytes)?;
        let name = String::from_utf8(field(&mut bytes, len)?).ok()?;
        let docs = state.entry(name).or_default();
        for _ in 0..number(&mut bytes)? {
            let len = number(&mut bytes)?;
            let id = String::from_utf8(field(&mut bytes, len)?).ok()?;
            let len = number(&mut bytes)?;
            docs.insert(id, field(&mut bytes, len)?);
        }
    }
    bytes.is_empty().then_some(state)
}
