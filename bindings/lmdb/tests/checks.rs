//! lmdb through every check the harness has for a store it cannot put on its fault-injecting
//! disk: the model check with reopen and drop, the crash check by process death in both
//! durability modes, the concurrency check, the use-after-close check and the file-damage
//! check.
//!
//! These are the tests `storebench::check::conformance!(LmdbBinding, known: KNOWN)` expands
//! to, written out because one cannot pass: LMDB reads its file through a memory map, and on
//! one of the damaged copies the check makes, the test process dies of `SIGBUS` (a file cut
//! shorter than the pages its meta page names would do it: bindings/FINDINGS.md). The file-damage check therefore runs in
//! a child process, and its test shows that it fails.

use std::sync::Arc;

use storebench::check::KnownDefect;
use storebench::check::conformance::{self, conclude};
use storebench_lmdb::LmdbBinding;

/// With `OnFlush` the environment is opened `NO_SYNC`: each write is still a committed
/// transaction written to the file, only not synced ("don't flush system buffers to disk when
/// committing a transaction", LMDB's documentation of `MDB_NOSYNC`). A process that dies keeps
/// every commit, so writes since the last flush survive it.
const KNOWN: &[KnownDefect] = &[KnownDefect::new(
    "writes since the last flush survive a process's death (OnFlush: NO_SYNC)",
    |d| d.what.contains("OnFlush") && d.what.contains("but the contract allows only"),
)];

/// The crash child of `conformance_crash`: returns at once unless started as one.
#[test]
fn conformance_crash_child() {
    storebench::check::crash_child(&LmdbBinding);
}

#[test]
fn conformance_model() {
    conclude(&LmdbBinding, conformance::model(&LmdbBinding, KNOWN));
}

#[test]
fn conformance_crash() {
    let child = || conformance::child(module_path!(), "conformance_crash_child");
    conclude(&LmdbBinding, conformance::crash(&LmdbBinding, KNOWN, child));
}

#[test]
fn conformance_concurrency() {
    conclude(&LmdbBinding, conformance::concurrency(&LmdbBinding, KNOWN));
}

#[test]
fn conformance_use_after_close() {
    conclude(
        &LmdbBinding,
        conformance::use_after_close(&LmdbBinding, KNOWN),
    );
}

/// The file-damage check, in the child [`the_file_damage_check_finds_what_lmdb_does_wrong`]
/// starts: on some damaged files the store may kill the process checking it.
#[test]
fn conformance_file_damage_child() {
    if conformance::is_child() {
        let checked = conformance::file_damage(Arc::new(LmdbBinding), KNOWN);
        conclude(&LmdbBinding, checked);
    }
}

/// The file-damage check fails on LMDB (bindings/FINDINGS.md: a file cut to 0 bytes opens as a new store, and a damaged copy can kill the process with SIGBUS), by a divergence or by
/// the death of the process that checks. When LMDB mends it, this fails: then run the check
/// as the other checks are, and update the findings.
#[test]
fn the_file_damage_check_finds_what_lmdb_does_wrong() {
    let ended = conformance::in_child(module_path!(), "conformance_file_damage_child")
        .expect("the test binary starts");
    assert!(
        !ended.status.success(),
        "the file-damage check passed: LMDB's findings are mended"
    );
}

/// Every committed seed and regression input of the `lmdb` fuzz target, as the fuzzer runs it
/// (a divergence panics).
#[test]
fn the_fuzz_targets_inputs_replay() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["seeds/lmdb", "regressions/lmdb"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
            panic!("{dir} is missing");
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let data = std::fs::read(entry.path()).expect("readable input");
            storebench::check::fuzz_binding(&LmdbBinding, &data)
                .unwrap_or_else(|d| panic!("{}: {d}", entry.path().display()));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no committed input");
}
