//! The crate's own stores through every check any binding gets, each in the one line a user
//! writes for theirs (`storebench::check::conformance!`).

use storebench::binding::builtin::{AutomergeBinding, MemoryBinding, RedbBinding};

mod memory {
    storebench::check::conformance!(super::MemoryBinding);
}

mod redb {
    storebench::check::conformance!(super::RedbBinding::default());
}

mod automerge {
    storebench::check::conformance!(super::AutomergeBinding::default());
}
