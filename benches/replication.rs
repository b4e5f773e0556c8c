//! Replication between Automerge replicas, each group beside the local write it compares with:
//!
//! - `apply_remote`: applying one change another replica wrote on what this one has (`apply`)
//!   against making the same write locally (`upsert`), over 1,000 documents of 1 KiB;
//! - `upsert_on_merged_heads`: local upserts on a document of 10, 1,000 or 100,000 changes
//!   whose history merged concurrent changes ten times (`merged-history`), and each right
//!   after merging one more (`after-merge`: two heads, two conflicting values; the merge loads
//!   the document, so the upsert after it runs with cold caches);
//! - `sync_round`: one sync session between two replicas of 1,000 documents after 1, 10 or
//!   100 of them changed on one side.
//!
//! `cargo bench --bench replication`

mod common;

use std::time::Duration;

use common::{id, value};
use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use storebench::{AutomergeBackend, OpenOptions, StorageBackend};

const DOCUMENTS: u64 = 1_000;
const COLLECTION: &str = "replicated";

fn replica(dir: &tempfile::TempDir, name: &str) -> AutomergeBackend {
    AutomergeBackend::open(dir.path().join(name), OpenOptions::new()).expect("open")
}

/// Two replicas holding the same `DOCUMENTS` documents.
fn synced_pair(dir: &tempfile::TempDir) -> (AutomergeBackend, AutomergeBackend) {
    let (a, b) = (replica(dir, "a"), replica(dir, "b"));
    let batch = (0..DOCUMENTS).map(|d| (id(d), value(1024, d))).collect();
    a.collection(COLLECTION).upsert_many(batch).expect("load");
    a.sync_with(&b).expect("sync");
    (a, b)
}

fn apply_remote(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply_remote");
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = synced_pair(&dir);
    let local = a.collection(COLLECTION);
    let mut n = 0u64;
    group.bench_function("upsert", |bench| {
        bench.iter(|| {
            n += 1;
            local
                .upsert(&id(n % DOCUMENTS), value(1024, n))
                .expect("upsert");
        });
    });
    // b catches up, then writes on what it has; a applies each change as it comes.
    a.sync_with(&b).expect("sync");
    let remote = b.collection(COLLECTION);
    let mut m = 0u64;
    group.bench_function("apply", |bench| {
        bench.iter_batched(
            || {
                m += 1;
                let doc = id(m % DOCUMENTS);
                remote.upsert(&doc, value(1024, m)).expect("remote write");
                let heads = a.heads(COLLECTION, &doc).expect("heads");
                let changes = b.changes_since(COLLECTION, &doc, &heads).expect("changes");
                (doc, changes)
            },
            |(doc, changes)| {
                let applied = a.apply_changes(COLLECTION, &doc, changes).expect("apply");
                assert!(applied.new == 1 && !applied.merged, "{applied:?}");
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn upsert_on_merged_heads(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_on_merged_heads");
    // `after-merge` loads the document before each measured upsert: slow at 100,000 changes,
    // so few flat samples.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(1));
    // `cargo bench -- --test` (CI) runs each once: the 100,000-change build is for measuring.
    let histories: &[u64] = if std::env::args().any(|a| a == "--test") {
        &[10, 1_000]
    } else {
        &[10, 1_000, 100_000]
    };
    for &history in histories {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (replica(&dir, "a"), replica(&dir, "b"));
        let doc = id(0);
        let docs = a.collection(COLLECTION);
        // b's chain of the document never sees a's: each of its changes is concurrent with
        // a's latest, and merging it leaves two heads and two values.
        let theirs = b.collection(COLLECTION);
        let mut m = 0u64;
        let mut merge = || {
            m += 1;
            theirs
                .upsert(&doc, value(1024, u64::MAX - m))
                .expect("theirs");
            let changes = b.changes_since(COLLECTION, &doc, &[]).expect("changes");
            a.apply_changes(COLLECTION, &doc, changes).expect("merge");
            assert_eq!(a.conflicts(COLLECTION, &doc).expect("conflicts"), 2);
            value(1024, m)
        };
        // A history merged ten times on the way.
        for n in 0..history {
            if n > 0 && n % (history / 10) == 0 {
                merge();
            }
            docs.upsert(&doc, value(1024, n)).expect("build");
        }
        merge();
        let mut n = 0u64;
        group.bench_with_input(
            BenchmarkId::new("merged-history", history),
            &history,
            |bench, _| {
                bench.iter(|| {
                    n += 1;
                    docs.upsert(&doc, value(1024, n)).expect("upsert");
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("after-merge", history),
            &history,
            |bench, _| {
                bench.iter_batched(
                    &mut merge,
                    |mine| docs.upsert(&doc, mine).expect("upsert"),
                    BatchSize::PerIteration,
                );
            },
        );
    }
    group.finish();
}

fn sync_round(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync_round");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    for changed in [1u64, 10, 100] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = synced_pair(&dir);
        let docs = a.collection(COLLECTION);
        let mut n = 0u64;
        group.throughput(Throughput::Elements(changed));
        group.bench_with_input(
            BenchmarkId::new("automerge", changed),
            &changed,
            |bench, _| {
                bench.iter_batched(
                    || {
                        let batch = (0..changed)
                            .map(|k| {
                                n += 1;
                                (id((n * 7 + k) % DOCUMENTS), value(1024, n))
                            })
                            .collect();
                        docs.upsert_many(batch).expect("changes");
                    },
                    |()| {
                        let stats = a.sync_with(&b).expect("sync");
                        assert!(stats.changes_sent >= 1, "{stats:?}");
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = apply_remote, upsert_on_merged_heads, sync_round
}
criterion_main!(benches);
