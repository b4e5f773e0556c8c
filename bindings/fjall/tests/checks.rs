//! fjall through every check the harness has for a store it cannot put on its fault-injecting
//! disk, in one line: the model check with reopen and drop, the crash check by process death
//! in both durability modes, the concurrency check, the use-after-close check, the
//! file-damage check and the fuzz target's committed inputs.
//!
//! The file-damage check runs in a child process and is expected to fail: on some damaged
//! files fjall panics while opening, and panics again in a destructor while that panic
//! unwinds, which aborts the process checking; on others it opens an earlier or empty state
//! without an error (bindings/FINDINGS.md). When fjall mends them, that test fails.

use storebench::check::KnownDefect;
use storebench_fjall::FjallBinding;

/// fjall recovers its journal up to the last whole batch: a journal cut short reads as a
/// write torn by a crash, and the store opens at the last batch that survived, which may be
/// before the last flush.
const KNOWN: &[KnownDefect] = &[KnownDefect::new(
    "a truncated journal opens at an earlier state",
    |d| d.what.contains(".jnl with Truncate") && d.what.contains("silently wrong data"),
)];

storebench::check::conformance!(
    FjallBinding,
    known: KNOWN,
    file_damage: fails,
    fuzz_inputs: ["../../fuzz/seeds/fjall", "../../fuzz/regressions/fjall"],
);
