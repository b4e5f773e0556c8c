//! How a persistent backend is opened: durability and cache sizes.

use super::batch::BatchBug;
use crate::Durability;
#[cfg(feature = "automerge-backend")]
use crate::backend::automerge::ReplicationBug;

/// Options for opening a persistent backend.
///
/// ```
/// use storebench::{Durability, OpenOptions};
///
/// let options = OpenOptions::new().durability(Durability::EveryWrite).page_cache_bytes(16 << 20);
/// assert_eq!(options.durability, Durability::EveryWrite);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// When writes become durable. By default, [`Durability::OnFlush`].
    pub durability: Durability,
    /// Bytes of redb's page cache. By default, 64 MiB.
    pub page_cache_bytes: usize,
    /// Verify the checksum of every page when opening, and refuse a damaged file with
    /// [`Error::CorruptDatabase`](crate::Error::CorruptDatabase). By default, on.
    ///
    /// It reads the whole file, so open time grows with the database. Turn it off only for
    /// files this process wrote and trusts: without it an open still refuses a truncated file
    /// or one whose roots are damaged (and redb checks every page after a crash), but a page
    /// damaged inside a cleanly closed file is trusted, and reading it may return wrong data
    /// or fail inside redb.
    pub check_integrity: bool,
    /// Bytes of `OnFlush` writes (ids and values, as written) the open transaction holds
    /// before it commits them without a sync. By default, 4 MiB.
    ///
    /// `OnFlush` writes share one open transaction until the next flush rather than paying a
    /// commit each. This bounds what that transaction holds in memory (redb keeps the pages it
    /// changed until they commit) and how long the write that reaches it takes to commit. The
    /// commit it makes is not durable: a crash still reopens at the last flush.
    pub batch_bytes: usize,
    /// A bug planted in the batch of `OnFlush` writes, for the checks' own tests.
    #[cfg(feature = "check")]
    #[doc(hidden)]
    pub planted: Option<BatchBug>,
    /// A replication defect planted back in the Automerge backend, for the convergence
    /// check's own tests.
    #[cfg(all(feature = "check", feature = "automerge-backend"))]
    #[doc(hidden)]
    pub replication_bug: Option<ReplicationBug>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            durability: Durability::OnFlush,
            page_cache_bytes: 64 << 20,
            check_integrity: true,
            batch_bytes: 4 << 20,
            #[cfg(feature = "check")]
            planted: None,
            #[cfg(all(feature = "check", feature = "automerge-backend"))]
            replication_bug: None,
        }
    }
}

impl OpenOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets when writes become durable.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the size of redb's page cache in bytes.
    pub fn page_cache_bytes(mut self, bytes: usize) -> Self {
        self.page_cache_bytes = bytes;
        self
    }

    /// Sets whether every page is verified when the database is opened.
    pub fn check_integrity(mut self, check: bool) -> Self {
        self.check_integrity = check;
        self
    }

    /// The bug planted in the batch, if any (only the feature `check` plants one).
    pub(crate) fn planted(&self) -> Option<BatchBug> {
        #[cfg(feature = "check")]
        return self.planted;
        #[cfg(not(feature = "check"))]
        None
    }

    /// The replication defect planted back, if any (only the feature `check` plants one).
    #[cfg(feature = "automerge-backend")]
    pub(crate) fn replication_bug(&self) -> Option<ReplicationBug> {
        #[cfg(feature = "check")]
        return self.replication_bug;
        #[cfg(not(feature = "check"))]
        None
    }

    /// Sets the bytes of `OnFlush` writes held in the open transaction before it commits
    /// without a sync (at least one write is always held).
    pub fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setter_sets_its_option_alone() {
        let default = OpenOptions::new();
        let set = OpenOptions::new()
            .durability(Durability::EveryWrite)
            .page_cache_bytes(1 << 20)
            .check_integrity(false)
            .batch_bytes(1 << 10);
        assert_eq!(set.durability, Durability::EveryWrite);
        assert_eq!(set.page_cache_bytes, 1 << 20);
        assert!(!set.check_integrity);
        assert_eq!(set.batch_bytes, 1 << 10);
        assert_eq!(
            OpenOptions::new().check_integrity(false).page_cache_bytes,
            default.page_cache_bytes
        );
    }
}
