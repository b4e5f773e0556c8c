//! Several threads upserting, deleting and reading overlapping ids: no lost update, counts
//! consistent, no deadlock.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::Kind;
use storebench::{Durability, Result, StorageBackend};

const THREADS: usize = 4;
const OPS_PER_THREAD: usize = 250;
const IDS: usize = 12;

/// What thread `t` does at step `i`: `Some(value)` upserts, `None` deletes, on id `id`.
fn step(t: usize, i: usize) -> (String, Option<Vec<u8>>) {
    let id = format!("k{}", (i * 7 + t * 3) % IDS);
    let value = if (i + t).is_multiple_of(5) {
        None
    } else {
        Some(format!("t{t}-{i}").into_bytes())
    };
    (id, value)
}

/// Runs `work` on another thread and fails the test if it does not finish in time.
fn bounded<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(limit)
        .expect("the concurrent run deadlocked or took far too long")
}

fn hammer(store: Arc<dyn StorageBackend>) -> Result<()> {
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (store, barrier) = (store.clone(), barrier.clone());
        handles.push(thread::spawn(move || -> Result<()> {
            // Every thread asks for the collection itself: concurrent creation must agree.
            let docs = store.collection("shared");
            barrier.wait();
            let own = format!("own-{t}");
            for i in 0..OPS_PER_THREAD {
                match step(t, i) {
                    (id, Some(value)) => docs.upsert(&id, value)?,
                    (id, None) => docs.delete(&id)?,
                }
                // Read-your-writes from this thread, while the others write: an id only this
                // thread touches must read back what it just wrote.
                let mine = format!("{t}:{i}").into_bytes();
                docs.upsert(&own, mine.clone())?;
                assert_eq!(
                    docs.get(&own)?,
                    Some(mine),
                    "thread {t} does not read its own write"
                );
                if i.is_multiple_of(10) {
                    let count = docs.count()?;
                    assert!(count <= IDS + THREADS, "count {count} beyond the id space");
                    let scanned = docs.scan()?;
                    assert!(
                        scanned.windows(2).all(|w| w[0].0 < w[1].0),
                        "scan out of order"
                    );
                }
            }
            Ok(())
        }));
    }
    // A reader that only reads, all along.
    let reader = {
        let store = store.clone();
        let barrier = barrier.clone();
        thread::spawn(move || -> Result<()> {
            barrier.wait();
            let docs = store.collection("shared");
            for i in 0..200 {
                let _ = docs.get(&format!("k{}", i % IDS))?;
                let found = docs.find(Box::new(|d| d.starts_with(b"t")))?;
                assert!(found.len() <= IDS + THREADS);
            }
            Ok(())
        })
    };
    for handle in handles {
        handle.join().expect("a writer panicked")?;
    }
    reader.join().expect("the reader panicked")?;

    let docs = store.collection("shared");
    for t in 0..THREADS {
        let last = format!("{t}:{}", OPS_PER_THREAD - 1).into_bytes();
        assert_eq!(
            docs.get(&format!("own-{t}"))?,
            Some(last),
            "another thread reads it too"
        );
    }
    let scanned = docs.scan()?;
    assert_eq!(docs.count()?, scanned.len(), "count equals the live ids");
    for k in 0..IDS {
        let id = format!("k{k}");
        // The last operation of each thread on this id: the final state must be one of them.
        let last_ops: BTreeSet<Option<Vec<u8>>> = (0..THREADS)
            .filter_map(|t| {
                (0..OPS_PER_THREAD)
                    .rev()
                    .map(|i| step(t, i))
                    .find(|(i, _)| *i == id)
            })
            .map(|(_, value)| value)
            .collect();
        let got = docs.get(&id)?;
        assert!(
            last_ops.contains(&got),
            "{id}: {got:?} is none of the last writes {last_ops:?}"
        );
    }
    Ok(())
}

#[test]
fn concurrent_writers_lose_no_update() -> Result<()> {
    for kind in [
        Kind::Memory,
        Kind::Automerge(Durability::OnFlush),
        Kind::Automerge(Durability::EveryWrite),
        Kind::Redb(Durability::OnFlush),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("concurrent.redb");
        let store: Arc<dyn StorageBackend> = match kind.open(&path)? {
            common::Opened::Memory(b) => Arc::new(b),
            common::Opened::Automerge(b) => Arc::new(b),
            common::Opened::Redb(b) => Arc::new(b),
        };
        let checked = store.clone();
        bounded(Duration::from_secs(120), move || hammer(checked))?;
        drop(store);
        if kind != Kind::Memory {
            let reopened = kind.open(&path)?;
            reopened.assert_verified()?;
            let docs = reopened.store().collection("shared");
            assert_eq!(docs.count()?, docs.scan()?.len(), "{}", kind.name());
        }
    }
    Ok(())
}
