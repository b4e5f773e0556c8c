//! The runner through the library: the same seed replays the same operations.

use std::path::Path;

use storebench::binding::{Bindings, Selected};
use storebench::runner::{NoProgress, RunOutcome, run};
use storebench::workload::{Operation, Workload};

fn workload(seed: u64, threads: usize) -> Workload {
    let text = format!(
        "recordcount = 200\noperationcount = 3000\nfieldlength = 64\nthreadcount = {threads}\n\
         seed = {seed}\nreadproportion = 0.3\nupdateproportion = 0.3\ninsertproportion = 0.2\n\
         deleteproportion = 0.2\nrequestdistribution = \"zipfian\"\n"
    );
    Workload::from_toml("seeded", &text, Path::new("seeded.toml")).expect("valid workload")
}

fn backend(name: &str) -> Selected {
    Bindings::builtin()
        .select(name)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn counts(outcome: &RunOutcome) -> Vec<(Operation, u64)> {
    outcome
        .run
        .operations
        .iter()
        .map(|(op, h)| (*op, h.service.len() + h.failed.len()))
        .collect()
}

#[test]
fn the_same_seed_replays_the_same_operations() -> Result<(), storebench::runner::RunError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = run(&workload(5, 1), &backend("memory"), dir.path(), &NoProgress)?;
    let again = run(&workload(5, 1), &backend("memory"), dir.path(), &NoProgress)?;
    let other = run(&workload(6, 1), &backend("memory"), dir.path(), &NoProgress)?;
    assert_eq!(counts(&first), counts(&again));
    // One thread: the final data, down to every value's length, is the same.
    assert_eq!(first.live_bytes, again.live_bytes);
    assert_ne!(
        (counts(&first), first.live_bytes),
        (counts(&other), other.live_bytes)
    );
    // Several threads interleave freely, but each replays its own sequence.
    let a = run(&workload(5, 3), &backend("memory"), dir.path(), &NoProgress)?;
    let b = run(&workload(5, 3), &backend("memory"), dir.path(), &NoProgress)?;
    assert_eq!(counts(&a), counts(&b));
    assert_eq!(a.run.operation_count(), 3000);
    Ok(())
}

#[test]
fn a_persistent_run_measures_its_file() -> Result<(), storebench::runner::RunError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = run(
        &workload(1, 2),
        &backend("automerge"),
        dir.path(),
        &NoProgress,
    )?;
    let file = outcome.file_bytes.expect("a persistent backend has a file");
    assert!(file > 0);
    let amplification = outcome.space_amplification().expect("live data");
    assert!((amplification - file as f64 / outcome.live_bytes as f64).abs() < 1e-9);
    // The load phase wrote every record, one timed insert each (YCSB's way, the default).
    let load = &outcome.load.operations;
    assert_eq!(
        load.get(&Operation::Insert).map(|h| h.service.len()),
        Some(200)
    );
    assert!(!load.contains_key(&Operation::Load));
    // loadbatchsize > 1: batches through upsert_many, each timed as one load operation.
    let mut batched = workload(1, 1);
    batched.load_batch_size = 100;
    let outcome = run(&batched, &backend("redb"), dir.path(), &NoProgress)?;
    let load = &outcome.load.operations;
    assert_eq!(load.get(&Operation::Load).map(|h| h.service.len()), Some(2));
    Ok(())
}

#[test]
fn the_comparison_has_a_row_per_backend_and_the_crdt_overhead()
-> Result<(), storebench::runner::RunError> {
    use storebench::report::{Report, comparison_markdown};
    let dir = tempfile::tempdir().expect("temp dir");
    let reports: Vec<Report> = [backend("automerge"), backend("redb")]
        .into_iter()
        .map(|backend| {
            run(&workload(3, 1), &backend, dir.path(), &NoProgress)
                .map(|o| Report::from_outcome(&o))
        })
        .collect::<Result<_, _>>()?;
    let table = comparison_markdown(&reports);
    assert!(table.contains("## seeded"), "{table}");
    for row in ["| automerge |", "| redb |"] {
        assert!(table.contains(row), "{row} missing: {table}");
    }
    for column in ["read p50 µs", "insert p99 µs", "space amp."] {
        assert!(table.contains(column), "{column} missing: {table}");
    }
    let redb = reports[1].run.throughput_ops_per_sec;
    let automerge = reports[0].run.throughput_ops_per_sec;
    assert!(
        table.contains(&format!("{:.2}x", redb / automerge)),
        "{table}"
    );
    Ok(())
}

#[test]
fn a_run_that_cannot_start_says_whose_fault_it_is() {
    use storebench::runner::RunError;

    let dir = tempfile::tempdir().expect("temp dir");
    // A data directory below a plain file cannot be made: the harness's failure, not a store's.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").expect("write");
    let err = run(
        &workload(5, 1),
        &backend("redb"),
        &file.join("runs"),
        &NoProgress,
    )
    .expect_err("no directory below a file");
    assert!(
        matches!(&err, RunError::Directory { path, .. } if path.starts_with(&file)),
        "{err:?}"
    );
    assert!(err.to_string().contains("run directory"), "{err}");
}
