//! What the criterion benches share: the backends side by side, and small criterion settings
//! so that every group finishes in seconds on two cores.

#![allow(dead_code)] // each bench uses a different part

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use storebench::{AutomergeBackend, InMemoryBackend, OpenOptions, RedbBackend, StorageBackend};

/// The backends compared in every group, by the names `BenchmarkId` shows.
pub const BACKENDS: [&str; 3] = ["memory", "redb", "automerge"];

/// A fresh backend named `name` (OnFlush) in a new temporary directory, which must outlive it.
pub fn fresh(name: &str) -> (tempfile::TempDir, Box<dyn StorageBackend>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(name, dir.path());
    (dir, store)
}

/// Opens a fresh backend named `name` with its file in `dir` (OnFlush).
pub fn open(name: &str, dir: &Path) -> Box<dyn StorageBackend> {
    open_with(name, dir, OpenOptions::new())
}

/// As [`open`], with options.
pub fn open_with(name: &str, dir: &Path, options: OpenOptions) -> Box<dyn StorageBackend> {
    let path = dir.join(format!("{name}.redb"));
    let opened: storebench::Result<Box<dyn StorageBackend>> = match name {
        "memory" => Ok(Box::new(InMemoryBackend::new())),
        "redb" => RedbBackend::open(&path, options).map(|b| Box::new(b) as Box<dyn StorageBackend>),
        "automerge" => {
            AutomergeBackend::open(&path, options).map(|b| Box::new(b) as Box<dyn StorageBackend>)
        }
        other => panic!("unknown backend {other}"),
    };
    opened.unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// A value of `len` bytes that differs with `seed`.
pub fn value(len: usize, seed: u64) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(17)).collect();
    let tag = seed.to_le_bytes();
    let n = tag.len().min(len);
    v[..n].copy_from_slice(&tag[..n]);
    v
}

/// An id for document number `i`.
pub fn id(i: u64) -> String {
    format!("doc-{i:08}")
}

/// Short warm-up and measurement: enough for stable medians on these operations, short
/// enough that `cargo bench` over every group stays in minutes.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args()
}
