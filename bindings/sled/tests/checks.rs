//! sled through every check the harness has for a store it cannot put on its fault-injecting
//! disk: the model check with reopen and drop, the crash check by process death in both
//! durability modes, the concurrency check, the use-after-close check and the file-damage
//! check.
//!
//! These are the tests `storebench::check::conformance!(SledBinding, known: KNOWN)` expands
//! to, written out because one cannot pass without listing as known a defect sled does not
//! document: a bit flipped or a page zeroed inside its log opens, silently, at an earlier
//! state (bindings/FINDINGS.md). The file-damage check therefore runs in a child process, and its test shows
//! that it fails.

use std::sync::Arc;

use storebench::check::KnownDefect;
use storebench::check::conformance::{self, conclude};
use storebench_sled::SledBinding;

/// sled recovers its log up to the last whole message: a log cut short reads as a write torn
/// by a crash, and the store opens at the last write that survived, which may be before the
/// last flush.
///
/// And `Db::flush` is a floor, not a boundary: sled writes its log buffers out as they fill,
/// so writes since the last flush may survive a crash too (its documentation promises that
/// `flush` makes the writes before it durable, nothing about those after).
const KNOWN: &[KnownDefect] = &[
    KnownDefect::new("a truncated log opens at an earlier state", |d| {
        d.what.contains("db with Truncate") && d.what.contains("silently wrong data")
    }),
    KnownDefect::new(
        "writes since the last flush may survive a crash (OnFlush)",
        |d| d.what.contains("OnFlush") && d.what.contains("but the contract allows only"),
    ),
];

/// The crash child of `conformance_crash`: returns at once unless started as one.
#[test]
fn conformance_crash_child() {
    storebench::check::crash_child(&SledBinding);
}

#[test]
fn conformance_model() {
    conclude(&SledBinding, conformance::model(&SledBinding, KNOWN));
}

#[test]
fn conformance_crash() {
    let child = || conformance::child(module_path!(), "conformance_crash_child");
    conclude(&SledBinding, conformance::crash(&SledBinding, KNOWN, child));
}

#[test]
fn conformance_concurrency() {
    conclude(&SledBinding, conformance::concurrency(&SledBinding, KNOWN));
}

#[test]
fn conformance_use_after_close() {
    conclude(
        &SledBinding,
        conformance::use_after_close(&SledBinding, KNOWN),
    );
}

/// The file-damage check, in the child [`the_file_damage_check_finds_what_sled_does_wrong`]
/// starts: on some damaged files the store may kill the process checking it.
#[test]
fn conformance_file_damage_child() {
    if conformance::is_child() {
        let checked = conformance::file_damage(Arc::new(SledBinding), KNOWN);
        conclude(&SledBinding, checked);
    }
}

/// The file-damage check fails on sled (bindings/FINDINGS.md: a damaged log opens, silently, at an earlier state), by a divergence or by
/// the death of the process that checks. When sled mends it, this fails: then run the check
/// as the other checks are, and update the findings.
#[test]
fn the_file_damage_check_finds_what_sled_does_wrong() {
    let ended = conformance::in_child(module_path!(), "conformance_file_damage_child")
        .expect("the test binary starts");
    assert!(
        !ended.status.success(),
        "the file-damage check passed: sled's findings are mended"
    );
}

/// Every committed seed and regression input of the `sled` fuzz target, as the fuzzer runs it
/// (a divergence panics).
#[test]
fn the_fuzz_targets_inputs_replay() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["seeds/sled", "regressions/sled"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
            panic!("{dir} is missing");
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let data = std::fs::read(entry.path()).expect("readable input");
            storebench::check::fuzz_binding(&SledBinding, &data)
                .unwrap_or_else(|d| panic!("{}: {d}", entry.path().display()));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no committed input");
}
