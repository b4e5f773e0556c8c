//! One criterion group per operation, with `memory`, `redb` and `automerge` side by side in
//! each (`BenchmarkId::new(backend, parameter)`), OnFlush.
//!
//! `cargo bench --bench ops` (all groups) or `cargo bench --bench ops -- get` (one group).

mod common;

use std::hint::black_box;

use common::{BACKENDS, fresh, id, value};
use criterion::Criterion;
use criterion::{BatchSize, BenchmarkId, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [64, 1024, 16 * 1024];
/// Documents preloaded for reads and updates.
const PRELOADED: u64 = 1000;

fn preload(store: &dyn storebench::StorageBackend, len: usize) {
    let docs = store.collection("bench");
    let batch = (0..PRELOADED).map(|i| (id(i), value(len, i))).collect();
    docs.upsert_many(batch).expect("preload");
    store.flush().expect("flush");
}

fn upsert_new(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_new");
    for len in SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        for backend in BACKENDS {
            let (_dir, store) = fresh(backend);
            let docs = store.collection("bench");
            let mut next = 0u64;
            group.bench_with_input(BenchmarkId::new(backend, len), &len, |b, &len| {
                b.iter_batched(
                    || {
                        next += 1;
                        (id(next), value(len, next))
                    },
                    |(doc, v)| docs.upsert(&doc, v).expect("upsert"),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

fn upsert_existing(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_existing");
    for len in SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        for backend in BACKENDS {
            let (_dir, store) = fresh(backend);
            preload(store.store(), len);
            let docs = store.collection("bench");
            let mut n = 0u64;
            group.bench_with_input(BenchmarkId::new(backend, len), &len, |b, &len| {
                b.iter_batched(
                    || {
                        n += 1;
                        (id(n % PRELOADED), value(len, n))
                    },
                    |(doc, v)| docs.upsert(&doc, v).expect("upsert"),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

fn get(c: &mut Criterion) {
    for (name, hit) in [("get_hit", true), ("get_miss", false)] {
        let mut group = c.benchmark_group(name);
        for len in SIZES {
            group.throughput(Throughput::Elements(1));
            for backend in BACKENDS {
                let (_dir, store) = fresh(backend);
                preload(store.store(), len);
                let docs = store.collection("bench");
                let mut n = 0u64;
                group.bench_with_input(BenchmarkId::new(backend, len), &len, |b, &len| {
                    b.iter(|| {
                        n += 1;
                        let key = if hit {
                            id(n % PRELOADED)
                        } else {
                            format!("missing-{n}")
                        };
                        let found = docs.get(&key).expect("get");
                        assert_eq!(found.as_ref().map(Vec::len), hit.then_some(len));
                        black_box(found)
                    });
                });
            }
        }
        group.finish();
    }
}

fn delete(c: &mut Criterion) {
    let mut group = c.benchmark_group("delete");
    group.throughput(Throughput::Elements(1));
    for backend in BACKENDS {
        let (_dir, store) = fresh(backend);
        let docs = store.collection("bench");
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new(backend, 1024), |b| {
            // Each iteration deletes a document written (untimed) just before.
            b.iter_batched(
                || {
                    n += 1;
                    let doc = id(n);
                    docs.upsert(&doc, value(1024, n)).expect("setup upsert");
                    doc
                },
                |doc| {
                    docs.delete(&doc).expect("delete");
                },
                BatchSize::SmallInput,
            );
        });
        assert_eq!(
            docs.count().expect("count"),
            0,
            "{backend}: every document deleted"
        );
    }
    group.finish();
}

fn scans(c: &mut Criterion) {
    for documents in [100u64, 1000] {
        let stores: Vec<_> = BACKENDS
            .iter()
            .map(|backend| {
                let (dir, store) = fresh(backend);
                let docs = store.collection("bench");
                docs.upsert_many((0..documents).map(|i| (id(i), value(256, i))).collect())
                    .expect("load");
                (backend, dir, store)
            })
            .collect();
        let groups: [(&str, u64); 5] = [
            ("scan", documents),
            ("scan_range", 50),
            ("scan_prefix", 10),
            ("find", documents),
            ("count", 1),
        ];
        for (name, elements) in groups {
            let mut group = c.benchmark_group(name);
            group.throughput(Throughput::Elements(elements));
            for (backend, _dir, store) in &stores {
                let docs = store.collection("bench");
                group.bench_function(BenchmarkId::new(**backend, documents), |b| {
                    b.iter(|| {
                        let found = match name {
                            "scan" => docs.scan().expect("scan").len(),
                            "scan_range" => docs
                                .scan_range(&id(documents / 2), 50)
                                .expect("range")
                                .len(),
                            // doc-000000x: ten ids share each prefix of all but the last digit.
                            "scan_prefix" => docs
                                .scan_prefix(&id(documents / 2)[..11])
                                .expect("prefix")
                                .len(),
                            "find" => docs
                                .find(Box::new(|d| d.first() == Some(&0)))
                                .expect("find")
                                .len(),
                            _ => docs.count().expect("count"),
                        };
                        assert!(found > 0 || name == "find");
                        black_box(found)
                    });
                });
            }
            group.finish();
        }
    }
}

fn flush(c: &mut Criterion) {
    let mut group = c.benchmark_group("flush");
    group.throughput(Throughput::Elements(1));
    for backend in BACKENDS {
        let (_dir, store) = fresh(backend);
        let docs = store.collection("bench");
        let mut n = 0u64;
        // One write (untimed) then a flush: what a durable checkpoint costs after a small
        // change. PerIteration, so that every timed flush has exactly one write to persist.
        group.bench_function(BenchmarkId::new(backend, "after-one-write"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    docs.upsert(&id(n % 100), value(1024, n)).expect("upsert");
                },
                |()| store.flush().expect("flush"),
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn upsert_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_many");
    for batch in [10u64, 100] {
        group.throughput(Throughput::Elements(batch));
        for backend in BACKENDS {
            let (_dir, store) = fresh(backend);
            let docs = store.collection("bench");
            let mut n = 0u64;
            group.bench_with_input(BenchmarkId::new(backend, batch), &batch, |b, &batch| {
                b.iter_batched(
                    || {
                        n += 1;
                        (0..batch)
                            .map(|i| (id(n * batch + i), value(1024, n)))
                            .collect::<Vec<_>>()
                    },
                    |docs_batch| docs.upsert_many(docs_batch).expect("upsert_many"),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = ops;
    config = common::criterion();
    targets = upsert_new, upsert_existing, get, delete, scans, flush, upsert_many
}
criterion_main!(ops);
