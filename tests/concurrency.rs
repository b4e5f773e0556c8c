//! Several threads upserting, deleting and reading overlapping ids on every built-in backend,
//! through the library's concurrency check: no lost update, counts consistent, no deadlock.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use common::Kind;
use storebench::binding::{Binding, Handle};
use storebench::{
    Collection, Document, DocumentPredicate, Durability, InMemoryBackend, StorageBackend,
};

/// Runs `work` on another thread and fails the test if it does not finish in time.
fn bounded<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(limit)
        .expect("the concurrent run deadlocked or took far too long")
}

#[test]
fn concurrent_writers_lose_no_update() {
    for kind in Kind::all() {
        let name = kind.name().to_owned();
        let checked = bounded(Duration::from_secs(120), move || {
            let dir = tempfile::tempdir().expect("temp dir");
            let durability = kind.durability().unwrap_or(Durability::OnFlush);
            storebench::check::check_concurrency(kind.selected().binding(), durability, dir.path())
        });
        if let Err(violation) = checked {
            panic!("{name}: {violation}");
        }
    }
}

/// A store whose every `collection()` call gives a handle that keeps its writes to itself:
/// the thread that holds it reads its own writes, and no other handle ever sees them.
struct HandleBuffered;

struct HandleBufferedStore(InMemoryBackend);

struct BufferedCollection {
    published: Arc<dyn Collection>,
    /// This handle's writes: a value, or `None` for a delete.
    own: Mutex<BTreeMap<String, Option<Vec<u8>>>>,
}

impl BufferedCollection {
    fn own(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<Vec<u8>>>> {
        self.own.lock().expect("not poisoned")
    }
}

impl Collection for BufferedCollection {
    fn name(&self) -> &str {
        self.published.name()
    }
    fn upsert(&self, doc_id: &str, data: Vec<u8>) -> storebench::Result<()> {
        self.own().insert(doc_id.to_owned(), Some(data));
        Ok(())
    }
    fn upsert_many(&self, docs: Vec<Document>) -> storebench::Result<()> {
        self.own()
            .extend(docs.into_iter().map(|(id, data)| (id, Some(data))));
        Ok(())
    }
    fn get(&self, doc_id: &str) -> storebench::Result<Option<Vec<u8>>> {
        match self.own().get(doc_id) {
            Some(written) => Ok(written.clone()),
            None => self.published.get(doc_id),
        }
    }
    fn delete(&self, doc_id: &str) -> storebench::Result<()> {
        self.own().insert(doc_id.to_owned(), None);
        Ok(())
    }
    fn scan(&self) -> storebench::Result<Vec<Document>> {
        self.published.scan()
    }
    fn scan_prefix(&self, prefix: &str) -> storebench::Result<Vec<Document>> {
        self.published.scan_prefix(prefix)
    }
    fn scan_range(&self, start: &str, limit: usize) -> storebench::Result<Vec<Document>> {
        self.published.scan_range(start, limit)
    }
    fn find(&self, predicate: DocumentPredicate) -> storebench::Result<Vec<Document>> {
        self.published.find(predicate)
    }
    fn count(&self) -> storebench::Result<usize> {
        self.published.count()
    }
}

impl StorageBackend for HandleBufferedStore {
    fn collection(&self, name: &str) -> Arc<dyn Collection> {
        Arc::new(BufferedCollection {
            published: self.0.collection(name),
            own: Mutex::default(),
        })
    }
    fn list_collections(&self) -> Vec<String> {
        self.0.list_collections()
    }
    fn flush(&self) -> storebench::Result<()> {
        Ok(())
    }
    fn close(self) -> storebench::Result<()> {
        Ok(())
    }
}

impl Binding for HandleBuffered {
    fn name(&self) -> &str {
        "handle-buffered"
    }
    fn durabilities(&self) -> &[Durability] {
        &[]
    }
    fn open(&self, _: &Path, _: Option<Durability>) -> storebench::Result<Handle> {
        Ok(Handle::new(HandleBufferedStore(InMemoryBackend::new())))
    }
}

/// Each thread reads its own writes from such a store, so only the state after the threads
/// are done shows what was lost.
#[test]
fn writes_no_other_thread_sees_are_lost_updates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let found =
        storebench::check::check_concurrency(&HandleBuffered, Durability::OnFlush, dir.path())
            .expect_err("every thread's writes are lost");
    assert!(found.what.contains("lost thread 0's last write"), "{found}");
}
