//! Long histories and reopening: the Automerge backend keeps every change and rebuilds the same
//! value from its change log, hot or cold.

use crate::common;

use storebench::{AutomergeBackend, OpenOptions, RedbBackend, Result, StorageBackend};

fn value(i: usize) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; 1024];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

#[test]
fn one_document_updated_thousands_of_times_reopens_intact() -> Result<()> {
    const UPDATES: usize = 10_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.redb");
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    let docs = store.collection("docs");
    for i in 0..UPDATES {
        docs.upsert("hot", value(i))?;
    }
    store.close()?;

    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    let hot = store.collection("docs").get("hot")?;
    assert!(
        hot == Some(value(UPDATES - 1)),
        "the last update survives the reopen"
    );
    let report = store.verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.documents, 1);
    assert_eq!(report.chunks, UPDATES as u64, "one chunk per upsert");
    let mut doc = store.document("docs", "hot")?.expect("the document exists");
    assert_eq!(doc.get_changes(&[]).len(), UPDATES, "every change is kept");
    // Compaction folds the chunks into one snapshot of the same history.
    store.compact()?;
    let report = store.verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.chunks, 1);
    let mut doc = store.document("docs", "hot")?.expect("the document exists");
    assert_eq!(
        doc.get_changes(&[]).len(),
        UPDATES,
        "compaction keeps every change"
    );
    // Writing on after the reopen continues the same history.
    store.collection("docs").upsert("hot", value(UPDATES))?;
    let mut doc = store.document("docs", "hot")?.expect("the document exists");
    assert_eq!(doc.get_changes(&[]).len(), UPDATES + 1);
    assert!(store.verify()?.is_clean());
    Ok(())
}

#[test]
fn a_deleted_document_keeps_its_history_and_writes_on_from_it() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("d.redb");
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    let docs = store.collection("docs");
    for i in 0..10 {
        docs.upsert("x", value(i))?;
    }
    docs.delete("x")?;
    docs.delete("x")?;
    assert_eq!((docs.get("x")?, docs.count()?), (None, 0));
    // The delete is a change (a tombstone) a replica can receive; a second delete adds none.
    let mut doc = store.document("docs", "x")?.expect("its history stays");
    assert_eq!(doc.get_changes(&[]).len(), 11);
    assert!(automerge::ReadDoc::get(&doc, automerge::ROOT, "data").is_ok_and(|v| v.is_none()));
    assert!(store.verify()?.is_clean());
    docs.upsert("x", value(99))?;
    let mut doc = store.document("docs", "x")?.expect("exists");
    assert_eq!(doc.get_changes(&[]).len(), 12);
    assert_eq!(docs.count()?, 1);
    store.close()?;
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    store.collection("docs").delete("x")?;
    assert!(
        store.verify()?.is_clean(),
        "a delete by the next open's actor"
    );
    Ok(())
}

#[test]
fn close_releases_the_file_even_while_collection_handles_live() -> Result<()> {
    for kind in common::Kind::persistent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("closed");
        let opened = kind.open(&path)?;
        let kept = opened.store().collection("docs");
        kept.upsert("a", b"1".to_vec())?;
        opened.close()?;
        let err = kept.get("a").expect_err("the handle outlived its database");
        assert!(matches!(err, storebench::Error::Closed), "{err:?}");
        let reopened = kind.open(&path)?;
        assert_eq!(
            reopened.store().collection("docs").get("a")?,
            Some(b"1".to_vec())
        );
    }
    Ok(())
}

/// redb's in-memory storage behind a switch that makes every write and sync fail.
#[derive(Debug, Default)]
struct FailingStorage {
    inner: redb::backends::InMemoryBackend,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FailingStorage {
    fn check(&self) -> std::io::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("injected failure"));
        }
        Ok(())
    }
}

impl redb::StorageBackend for FailingStorage {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.check()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write(offset, data)
    }
}

#[test]
fn open_with_storage_runs_on_any_redb_storage_and_reports_io_failures() -> Result<()> {
    use std::sync::atomic::Ordering;
    type Opener = fn(FailingStorage) -> Result<Box<dyn StorageBackend>>;
    let openers: [(&str, Opener); 2] = [
        ("automerge", |s| {
            Ok(Box::new(AutomergeBackend::open_with_storage(
                s,
                OpenOptions::new(),
            )?))
        }),
        ("redb", |s| {
            Ok(Box::new(storebench::RedbBackend::open_with_storage(
                s,
                OpenOptions::new(),
            )?))
        }),
    ];
    for (name, open) in openers {
        let storage = FailingStorage::default();
        let failing = storage.failing.clone();
        let store = open(storage)?;
        let docs = store.collection("docs");
        docs.upsert("a", b"1".to_vec())?;
        store.flush()?;
        failing.store(true, Ordering::SeqCst);
        // OnFlush: a write may stay in memory until the flush; one of the two reaches the
        // failing storage.
        let upsert = docs.upsert("b", vec![2; 100_000]);
        let flushed = store.flush();
        assert!(
            upsert.is_err() || flushed.is_err(),
            "{name}: a failing storage went unnoticed"
        );
        // The operation that met the failure says so; the write it lost, and the writes
        // since the last flush with it, are not served stale: every later operation refuses
        // until the database is reopened.
        let err = upsert.err().or(flushed.err()).expect("an error");
        assert!(
            matches!(err, storebench::Error::Storage(_)),
            "{name}: {err:?}"
        );
        let read = docs.get("a");
        assert!(
            matches!(read, Err(storebench::Error::BatchLost { .. })),
            "{name}: {read:?}"
        );
    }
    Ok(())
}

#[test]
fn compact_shrinks_the_file_and_keeps_every_document_and_change() -> Result<()> {
    use common::state;

    let dir = tempfile::tempdir().expect("temp dir");
    for automerge in [true, false] {
        let path = dir.path().join(format!("compact-{automerge}.redb"));
        let open = |path: &std::path::Path| -> Result<Box<dyn Compacting>> {
            Ok(if automerge {
                Box::new(AutomergeBackend::open(path, OpenOptions::new())?)
            } else {
                Box::new(RedbBackend::open(path, OpenOptions::new())?)
            })
        };
        let opened = open(&path)?;
        let docs = opened.store().collection("docs");
        for round in 0..20 {
            for d in 0..100 {
                docs.upsert(&format!("doc-{d:03}"), value(round * 100 + d))?;
            }
        }
        let before = state(opened.store())?;
        opened.store().flush()?;
        let bytes_before = std::fs::metadata(&path).expect("the file").len();
        opened.compact()?;
        let bytes_after = std::fs::metadata(&path).expect("the file").len();
        assert!(
            bytes_after < bytes_before,
            "automerge={automerge}: {bytes_before} bytes before compaction, {bytes_after} after"
        );
        assert_eq!(state(opened.store())?, before, "automerge={automerge}");
        // Writes go on after a compaction, and the whole of it survives a reopen.
        docs.upsert("doc-000", value(0))?;
        drop(docs);
        opened.store().flush()?;
        drop(opened);
        if automerge {
            let reopened = AutomergeBackend::open(&path, OpenOptions::new())?;
            assert!(reopened.verify()?.is_clean());
            assert_eq!(reopened.collection("docs").get("doc-000")?, Some(value(0)));
            let mut doc = reopened.document("docs", "doc-000")?.expect("the document");
            assert_eq!(doc.get_changes(&[]).len(), 21, "every change is kept");
        } else {
            let reopened = RedbBackend::open(&path, OpenOptions::new())?;
            assert!(reopened.verify()?.is_clean());
            assert_eq!(reopened.collection("docs").get("doc-000")?, Some(value(0)));
        }
    }
    Ok(())
}

/// The two persistent backends' `compact()`, behind one object for the test above.
trait Compacting {
    fn store(&self) -> &dyn StorageBackend;
    fn compact(&self) -> Result<()>;
}

impl Compacting for AutomergeBackend {
    fn store(&self) -> &dyn StorageBackend {
        self
    }
    fn compact(&self) -> Result<()> {
        AutomergeBackend::compact(self)
    }
}

impl Compacting for RedbBackend {
    fn store(&self) -> &dyn StorageBackend {
        self
    }
    fn compact(&self) -> Result<()> {
        RedbBackend::compact(self)
    }
}

/// The built-in persistent backends flush when dropped without `close()`, as redb does (the
/// model check allows any store either the last flush or everything; these keep everything).
#[test]
fn a_backend_dropped_without_close_keeps_every_write() -> Result<()> {
    for kind in common::Kind::persistent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dropped");
        let opened = kind.open(&path)?;
        opened.collection("docs").upsert("a", b"1".to_vec())?;
        opened.collection("created");
        drop(opened);
        let reopened = kind.open(&path)?;
        assert_eq!(
            reopened.list_collections(),
            ["created", "docs"],
            "{}",
            kind.name()
        );
        assert_eq!(
            reopened.collection("docs").get("a")?,
            Some(b"1".to_vec()),
            "{}",
            kind.name()
        );
    }
    Ok(())
}
