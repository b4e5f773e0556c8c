//! The cost of one more upsert to a document that already has 10, 1,000 or 100,000 changes,
//! `automerge` beside `redb`, on a freshly reopened database. A flat `automerge` line is what
//! proves the write path does not grow with history.
//!
//! Each iteration adds a change, so histories grow during measurement; the documents are
//! spread so that each ends below about twice its starting history (one document at 100,000).
//!
//! `cargo bench --bench history`

mod common;

use std::time::Duration;

use common::{id, open_with, value};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use storebench::{OpenOptions, StorageBackend};

const HISTORIES: [u64; 3] = [10, 1_000, 100_000];
/// Iterations criterion runs in this group's warm-up and measurement, roughly.
const EXPECTED_ITERATIONS: u64 = 32_000;

/// How many documents share the iterations at `history`, so each at most doubles.
fn documents(history: u64) -> u64 {
    (EXPECTED_ITERATIONS / history).clamp(1, 4_000)
}

fn build(store: &dyn StorageBackend, history: u64, documents: u64) {
    let docs = store.collection("history");
    for round in 0..history {
        // One batch per round: every document gets one more change.
        let batch = (0..documents)
            .map(|d| (id(d), value(1024, round)))
            .collect();
        docs.upsert_many(batch).expect("build history");
    }
    store.flush().expect("flush");
}

fn history(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_after_history");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    for history in HISTORIES {
        for backend in ["automerge", "redb"] {
            let documents = documents(history);
            let dir = tempfile::tempdir().expect("temp dir");
            // Built, then reopened: the measured upserts start from a fresh open, as a cold
            // document would; the Automerge write path loads nothing either way.
            let builder = open_with(backend, dir.path(), OpenOptions::new());
            build(builder.store(), history, documents);
            drop(builder);
            let store = open_with(backend, dir.path(), OpenOptions::new());
            let docs = store.collection("history");
            let mut n = 0u64;
            group.bench_with_input(BenchmarkId::new(backend, history), &history, |b, _| {
                b.iter(|| {
                    n += 1;
                    docs.upsert(&id(n % documents), value(1024, n))
                        .expect("upsert");
                });
            });
            let last = id((n.max(1) - 1) % documents);
            assert_eq!(docs.get(&last).expect("get").map(|v| v.len()), Some(1024));
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = history
}
criterion_main!(benches);
