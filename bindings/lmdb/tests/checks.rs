//! LMDB through every check the harness has for a store it cannot put on its fault-injecting
//! disk, in one line: the model check with reopen and drop, the crash check by process death
//! in both durability modes, the concurrency check, the use-after-close check, the
//! file-damage check and the fuzz target's committed inputs.
//!
//! The file-damage check runs in a child process and is expected to fail: LMDB reads its file
//! through a memory map, and on one of the damaged copies the check makes the process dies of
//! `SIGBUS`; a file cut to 0 bytes opens as a new store (bindings/FINDINGS.md). When LMDB
//! mends them, that test fails.

use storebench::check::KnownDefect;
use storebench_lmdb::LmdbBinding;

/// With `OnFlush` the environment is opened `NO_SYNC`: each write is still a committed
/// transaction written to the file, only not synced ("don't flush system buffers to disk when
/// committing a transaction", LMDB's documentation of `MDB_NOSYNC`). A process that dies keeps
/// every commit, so writes since the last flush survive it.
const KNOWN: &[KnownDefect] = &[KnownDefect::new(
    "writes since the last flush survive a process's death (OnFlush: NO_SYNC)",
    |d| d.what.contains("on-flush") && d.what.contains("but the contract allows only"),
)];

storebench::check::conformance!(
    LmdbBinding,
    known: KNOWN,
    file_damage: fails,
    fuzz_inputs: ["../../fuzz/seeds/lmdb", "../../fuzz/regressions/lmdb"],
);
