//! What every fuzz target shares: a record of how many operations each input checked, written
//! where `fuzz/run` reads it, so that its summary gives the median scenario executed and
//! operations checked per second, not only executions per second.
//!
//! `STOREBENCH_FUZZ_STATS=<file>` turns the record on; without it `record` does nothing. The
//! file is rewritten at most every quarter second, one `<operations> <inputs>` line per length
//! seen; libFuzzer ends the process without running destructors, so the last quarter second
//! may be missing from it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(250);

struct Record {
    path: PathBuf,
    inputs: BTreeMap<usize, u64>,
    written: Instant,
}

static RECORD: Mutex<Option<Option<Record>>> = Mutex::new(None);

/// Counts one input that checked `operations` operations.
pub fn record(operations: usize) {
    let mut guard = RECORD.lock().unwrap_or_else(|e| e.into_inner());
    let record = guard.get_or_insert_with(|| {
        std::env::var_os("STOREBENCH_FUZZ_STATS").map(|path| Record {
            path: PathBuf::from(path),
            inputs: BTreeMap::new(),
            written: Instant::now(),
        })
    });
    let Some(record) = record else {
        return;
    };
    *record.inputs.entry(operations).or_default() += 1;
    if record.written.elapsed() >= EVERY {
        record.written = Instant::now();
        let lines: String = record
            .inputs
            .iter()
            .map(|(ops, n)| format!("{ops} {n}\n"))
            .collect();
        // A statistic, not a result: a failed write loses a figure, never a finding.
        let _ = std::fs::write(&record.path, lines);
    }
}

/// Runs one input of a storebench target: a divergence is a crash the fuzzer keeps.
pub fn run(target: storebench::check::Target, data: &[u8]) {
    match target.run(data) {
        Ok(operations) => record(operations),
        Err(violation) => panic!("{violation}"),
    }
}

/// Runs one input of the convergence target, with the replication defect `STOREBENCH_PLANT`
/// names (`any-session`, `duplicate-seq`, `no-chunk-checksum`, `dead-writer-heads`) planted
/// back in every replica, to watch the fuzzer find it; with none named, as the fixed backend.
///
/// # Panics
/// On a violation, as [`run`]; on a name that is no defect, at the first input.
pub fn run_convergence(data: &[u8]) {
    static PLANTED: OnceLock<Option<storebench::check::ReplicationBug>> = OnceLock::new();
    let bug = *PLANTED.get_or_init(|| {
        let name = std::env::var("STOREBENCH_PLANT").unwrap_or_default();
        (!name.is_empty()).then(|| {
            name.parse()
                .unwrap_or_else(|e| panic!("STOREBENCH_PLANT: {e}"))
        })
    });
    match storebench::check::check_convergence_planted(data, bug) {
        Ok(ran) => record(ran.steps),
        Err(violation) if bug.is_some() => {
            panic!("{violation} (planted: {})", bug.map_or("", |b| b.name()))
        }
        Err(violation) => panic!("{violation}"),
    }
}

/// Counts one input of a target built on `fuzz_binding`, which decodes it as
/// [`Mix::Operations`](storebench::check::Mix::Operations).
pub fn record_scenario(data: &[u8]) {
    let scenario = storebench::check::Scenario::from_bytes(data, storebench::check::Mix::Operations);
    record(scenario.map_or(0, |s| s.ops.len()));
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
