//! Several threads upserting, deleting and reading overlapping ids on every built-in backend,
//! through the library's concurrency check: no lost update, counts consistent, no deadlock.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::Kind;
use storebench::Durability;

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
