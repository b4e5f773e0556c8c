//! Reopen and cold reads: the time to open a database of 10,000 or 100,000 documents, with the
//! default page-checksum verification (`checked`, which reads the whole file) and without it
//! (`trusted`, where nothing should load eagerly), and to read one document right after
//! opening.
//!
//! `cargo bench --bench open`

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{id, open_with, value};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use storebench::{AutomergeBackend, OpenOptions, RedbBackend, StorageBackend};

const SIZES: [u64; 2] = [10_000, 100_000];

fn reopen(c: &mut Criterion) {
    let mut open_group = c.benchmark_group("open");
    open_group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    let dirs: Vec<_> = SIZES
        .iter()
        .flat_map(|&documents| ["redb", "automerge"].map(|backend| (backend, documents)))
        .map(|(backend, documents)| {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = open_with(backend, dir.path(), OpenOptions::new());
            let docs = store.collection("docs");
            for chunk in (0..documents).collect::<Vec<_>>().chunks(1000) {
                docs.upsert_many(chunk.iter().map(|&i| (id(i), value(1024, i))).collect())
                    .expect("load");
            }
            store.flush().expect("flush");
            drop(docs);
            drop(store);
            (backend, documents, dir)
        })
        .collect();
    let open = |backend: &str, path: &std::path::Path, check: bool| -> Box<dyn StorageBackend> {
        let options = OpenOptions::new().check_integrity(check);
        match backend {
            "redb" => Box::new(RedbBackend::open(path, options).expect("open")),
            _ => Box::new(AutomergeBackend::open(path, options).expect("open")),
        }
    };
    for (backend, documents, dir) in &dirs {
        let path = dir.path().join("store.redb");
        for (mode, check) in [("checked", true), ("trusted", false)] {
            let id = BenchmarkId::new(format!("{backend}-{mode}"), documents);
            open_group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let store = open(backend, &path, check);
                        total += start.elapsed();
                        drop(store);
                    }
                    total
                });
            });
        }
    }
    open_group.finish();

    let mut read_group = c.benchmark_group("cold_read");
    read_group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for (backend, documents, dir) in &dirs {
        let path = dir.path().join("store.redb");
        read_group.bench_function(BenchmarkId::new(*backend, documents), |b| {
            let mut n = 0u64;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // A fresh open has an empty page cache: the first read goes to the file.
                    let store = open(backend, &path, false);
                    let docs = store.collection("docs");
                    n += 7919;
                    let start = Instant::now();
                    let found = docs.get(&id(n % documents)).expect("get");
                    total += start.elapsed();
                    assert_eq!(found.map(|v| v.len()), Some(1024));
                    black_box(());
                }
                total
            });
        });
    }
    read_group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = reopen
}
criterion_main!(benches);
