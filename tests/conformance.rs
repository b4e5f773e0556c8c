//! The crate's own stores through every check any binding gets, each in the one line a user
//! writes for theirs (`storebench::check::conformance!`).

use storebench::binding::builtin::{AutomergeBinding, MemoryBinding, RedbBinding};
use storebench::check::KnownDefect;

/// The redb-based stores open an existing file of 0 bytes as a new, empty database, so a file
/// cut to nothing after flushes succeeded reads back as a store that never held data. Known
/// rather than refused at open: a 0-byte file is also what a crash right after the file's
/// creation leaves, before any flush, and refusing it would make that store unopenable.
const OPENS_A_CUT_FILE_AS_NEW: &[KnownDefect] = &[KnownDefect::new(
    "a file cut to 0 bytes opens as a new, empty store",
    |d| d.what.contains("Truncate(0)") && d.what.contains("every flush lost"),
)];

mod memory {
    storebench::check::conformance!(super::MemoryBinding);
}

mod redb {
    storebench::check::conformance!(super::RedbBinding::default(), known: super::OPENS_A_CUT_FILE_AS_NEW);
}

mod automerge {
    storebench::check::conformance!(super::AutomergeBinding::default(), known: super::OPENS_A_CUT_FILE_AS_NEW);
}
