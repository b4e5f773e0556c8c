//! fjall through every check the harness has for a store it cannot put on its fault-injecting
//! disk: the model check with reopen and drop, the crash check by process death in both
//! durability modes, the concurrency check, the use-after-close check and the file-damage
//! check.
//!
//! These are the tests `storebench::check::conformance!(FjallBinding, known: KNOWN)` expands
//! to, written out because one cannot pass here: on some damaged files fjall panics while
//! opening, and panics again in a destructor while that panic unwinds, which aborts the whole
//! test process (bindings/FINDINGS.md). The file-damage check therefore runs in a child process, and its test shows
//! that it fails.

use std::sync::Arc;

use storebench::check::KnownDefect;
use storebench::check::conformance::{self, conclude};
use storebench_fjall::FjallBinding;

/// fjall recovers its journal up to the last whole batch: a journal cut short reads as a
/// write torn by a crash, and the store opens at the last batch that survived, which may be
/// before the last flush.
const KNOWN: &[KnownDefect] = &[KnownDefect::new(
    "a truncated journal opens at an earlier state",
    |d| d.what.contains(".jnl with Truncate") && d.what.contains("silently wrong data"),
)];

/// The crash child of `conformance_crash`: returns at once unless started as one.
#[test]
fn conformance_crash_child() {
    storebench::check::crash_child(&FjallBinding);
}

#[test]
fn conformance_model() {
    conclude(&FjallBinding, conformance::model(&FjallBinding, KNOWN));
}

#[test]
fn conformance_crash() {
    let child = || conformance::child(module_path!(), "conformance_crash_child");
    conclude(
        &FjallBinding,
        conformance::crash(&FjallBinding, KNOWN, child),
    );
}

#[test]
fn conformance_concurrency() {
    conclude(
        &FjallBinding,
        conformance::concurrency(&FjallBinding, KNOWN),
    );
}

#[test]
fn conformance_use_after_close() {
    conclude(
        &FjallBinding,
        conformance::use_after_close(&FjallBinding, KNOWN),
    );
}

/// The file-damage check, in the child [`the_file_damage_check_finds_what_fjall_does_wrong`]
/// starts: on some damaged files the store may kill the process checking it.
#[test]
fn conformance_file_damage_child() {
    if conformance::is_child() {
        let checked = conformance::file_damage(Arc::new(FjallBinding), KNOWN);
        conclude(&FjallBinding, checked);
    }
}

/// The file-damage check fails on fjall (bindings/FINDINGS.md: it opens some damaged files to an earlier or empty state, silently, and on others panics, then aborts), by a divergence or by
/// the death of the process that checks. When fjall mends it, this fails: then run the check
/// as the other checks are, and update the findings.
#[test]
fn the_file_damage_check_finds_what_fjall_does_wrong() {
    let ended = conformance::in_child(module_path!(), "conformance_file_damage_child")
        .expect("the test binary starts");
    assert!(
        !ended.status.success(),
        "the file-damage check passed: fjall's findings are mended"
    );
}

/// Every committed seed and regression input of the `fjall` fuzz target, as the fuzzer runs it
/// (a divergence panics).
#[test]
fn the_fuzz_targets_inputs_replay() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["seeds/fjall", "regressions/fjall"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir)) else {
            panic!("{dir} is missing");
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let data = std::fs::read(entry.path()).expect("readable input");
            storebench::check::fuzz_binding(&FjallBinding, &data)
                .unwrap_or_else(|d| panic!("{}: {d}", entry.path().display()));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no committed input");
}
