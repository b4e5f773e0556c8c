//! What the criterion benches share: the backends side by side, and small criterion settings
//! so that every group finishes in seconds on two cores.

#![allow(dead_code)] // each bench uses a different part

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use storebench::binding::builtin::{AutomergeBinding, RedbBinding};
use storebench::binding::{Binding, Bindings, Handle};
use storebench::{Durability, OpenOptions};

/// The backends compared in every group, by the names their bindings have and `BenchmarkId`
/// shows.
pub const BACKENDS: [&str; 3] = ["memory", "redb", "automerge"];

/// A fresh store of the binding `name` (OnFlush) in a new temporary directory, which must
/// outlive it.
pub fn fresh(name: &str) -> (tempfile::TempDir, Handle) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(name, dir.path());
    (dir, store)
}

/// Opens the store of the built-in binding `name` kept in `dir` (OnFlush).
pub fn open(name: &str, dir: &Path) -> Handle {
    let selected = Bindings::builtin()
        .select(name)
        .unwrap_or_else(|e| panic!("{e}"));
    open_binding(selected.binding(), dir)
}

/// As [`open`], with options for the persistent ones.
pub fn open_with(name: &str, dir: &Path, options: OpenOptions) -> Handle {
    match name {
        "redb" => open_binding(&RedbBinding::new(options), dir),
        "automerge" => open_binding(&AutomergeBinding::new(options), dir),
        other => open(other, dir),
    }
}

fn open_binding(binding: &dyn Binding, dir: &Path) -> Handle {
    let durability = (!binding.durabilities().is_empty()).then_some(Durability::OnFlush);
    binding
        .open(dir, durability)
        .unwrap_or_else(|e| panic!("open {}: {e}", binding.name()))
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
