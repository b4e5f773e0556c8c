//! What one more upsert costs as a document's history grows, Automerge beside raw redb.
//!
//! `cargo run --release --example history_cost [UPDATES]` updates one 1 KiB document UPDATES
//! times (default 10,000) on each backend, OnFlush, in one run, and prints the median cost of
//! the first updates and of the last ones. A flat Automerge line is the point: the write path
//! appends one change and never re-saves the history.

use std::time::{Duration, Instant};

use storebench::{AutomergeBackend, OpenOptions, RedbBackend, StorageBackend};

const WINDOW: usize = 100;
const VALUE_BYTES: usize = 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let updates: usize = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|e| format!("UPDATES must be a whole number: {e}"))?,
        None => 10_000,
    };
    if updates < 2 * WINDOW {
        return Err(format!("UPDATES must be at least {}", 2 * WINDOW).into());
    }
    let dir = tempfile::tempdir()?;
    let automerge = AutomergeBackend::open(dir.path().join("automerge.redb"), OpenOptions::new())?;
    let redb = RedbBackend::open(dir.path().join("redb.redb"), OpenOptions::new())?;
    let runs = [
        ("automerge", time_updates(&automerge, updates)?),
        ("redb", time_updates(&redb, updates)?),
    ];

    println!("one 1 KiB document updated {updates} times, OnFlush; median of {WINDOW} updates");
    println!(
        "{:<10} {:>14} {:>14} {:>8}",
        "backend", "first updates", "last updates", "last/first"
    );
    for (name, times) in &runs {
        let first = median(&times[1..=WINDOW]);
        let last = median(&times[updates - WINDOW..]);
        println!(
            "{name:<10} {:>14} {:>14} {:>8.2}",
            format!("{first:?}"),
            format!("{last:?}"),
            last.as_secs_f64() / first.as_secs_f64()
        );
    }
    let (a, r) = (&runs[0].1, &runs[1].1);
    println!(
        "automerge/redb at the last updates: {:.2}x",
        median(&a[updates - WINDOW..]).as_secs_f64() / median(&r[updates - WINDOW..]).as_secs_f64()
    );
    let report = automerge.verify()?;
    assert!(report.is_clean(), "verify: {:?}", report.problems);
    println!(
        "verify: {} documents, {} chunks, clean",
        report.documents, report.chunks
    );
    Ok(())
}

/// Times each of `updates` upserts of one document; the value changes every time.
fn time_updates(store: &dyn StorageBackend, updates: usize) -> storebench::Result<Vec<Duration>> {
    let docs = store.collection("history");
    let mut value = vec![0u8; VALUE_BYTES];
    let mut times = Vec::with_capacity(updates);
    for i in 0..updates {
        value[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let start = Instant::now();
        docs.upsert("doc", value.clone())?;
        times.push(start.elapsed());
    }
    assert_eq!(docs.get("doc")?.as_deref(), Some(value.as_slice()));
    store.flush()?;
    Ok(times)
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}
