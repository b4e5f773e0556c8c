//! What the workers have done so far, readable by the monitor while they run: per thread,
//! operations completed by type and the logical bytes they moved.
//!
//! Each thread has a counter block of its own, on cache lines of its own, and is its only
//! writer: publishing is plain relaxed stores (no read-modify-write, no lock prefix), and the
//! monitor's reads, a few a second, are the only traffic between cores. Workers keep their
//! counts in plain integers and publish after every operation slower than [`PUBLISH_AFTER`],
//! every [`PUBLISH_EVERY`] operations, and at the end of a phase: fast operations pay a few
//! additions, and a sample lags each thread by less than `PUBLISH_EVERY` fast operations,
//! under a millisecond of work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::workload::Operation;

/// Operation types, [`Operation::Load`] included, as indices.
pub(crate) const OPERATION_TYPES: usize = Operation::Load as usize + 1;

/// How many operations a worker completes between two publications, at most.
pub(crate) const PUBLISH_EVERY: u64 = 64;

/// An operation that took this long is published at once: beside it, publishing costs nothing.
pub(crate) const PUBLISH_AFTER: std::time::Duration = std::time::Duration::from_micros(10);

/// Logical bytes a workload moved: ids and values it gave the store (inserts, updates,
/// upserts, load batches), and ids and values the store returned (reads, scans, finds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes of ids and values written.
    pub written: u64,
    /// Bytes of ids and values read back.
    pub read: u64,
}

impl Transfer {
    /// A document of `id` and `value` written.
    pub(crate) fn wrote(&mut self, id: &str, value: &[u8]) {
        self.written += (id.len() + value.len()) as u64;
    }

    /// A document of `id` and `value` returned.
    pub(crate) fn returned(&mut self, id: &str, value: &[u8]) {
        self.read += (id.len() + value.len()) as u64;
    }

    /// Documents returned by a scan or a find.
    pub(crate) fn returned_all(&mut self, docs: &[(String, Vec<u8>)]) {
        for (id, value) in docs {
            self.returned(id, value);
        }
    }
}

impl std::ops::AddAssign for Transfer {
    fn add_assign(&mut self, other: Transfer) {
        self.written += other.written;
        self.read += other.read;
    }
}

/// One thread's published counts. Aligned to two cache lines so that no two threads' blocks
/// share one (adjacent-line prefetch pairs lines on x86).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct ThreadTally {
    operations: [AtomicU64; OPERATION_TYPES],
    written: AtomicU64,
    read: AtomicU64,
}

impl ThreadTally {
    /// Publishes the thread's running totals. Only its own thread calls this, so a store of
    /// the total (not an add) is exact.
    pub(crate) fn publish(&self, operations: &[u64; OPERATION_TYPES], transfer: Transfer) {
        for (counter, &n) in self.operations.iter().zip(operations) {
            counter.store(n, Ordering::Relaxed);
        }
        self.written.store(transfer.written, Ordering::Relaxed);
        self.read.store(transfer.read, Ordering::Relaxed);
    }
}

/// Every thread's counts in one phase.
#[derive(Debug)]
pub(crate) struct Tally {
    threads: Vec<Arc<ThreadTally>>,
}

/// What a [`Tally`] read at one instant: operations by type (indexed by `Operation as
/// usize`) and logical bytes, summed over the threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) operations: [u64; OPERATION_TYPES],
    pub(crate) transfer: Transfer,
}

impl Tally {
    /// Counters for `threads` threads, all zero.
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            threads: (0..threads).map(|_| Arc::default()).collect(),
        }
    }

    /// Thread `t`'s block, for its recorder.
    pub(crate) fn thread(&self, t: usize) -> Arc<ThreadTally> {
        Arc::clone(&self.threads[t])
    }

    /// The sum of what every thread published so far.
    pub(crate) fn read(&self) -> Counts {
        let mut counts = Counts::default();
        for thread in &self.threads {
            for (sum, counter) in counts.operations.iter_mut().zip(&thread.operations) {
                *sum += counter.load(Ordering::Relaxed);
            }
            counts.transfer += Transfer {
                written: thread.written.load(Ordering::Relaxed),
                read: thread.read.load(Ordering::Relaxed),
            };
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_sums_what_every_thread_published() {
        let tally = Tally::new(2);
        let mut ops = [0; OPERATION_TYPES];
        ops[Operation::Read as usize] = 3;
        let moved = Transfer {
            written: 10,
            read: 5,
        };
        tally.thread(0).publish(&ops, moved);
        ops[Operation::Read as usize] = 1;
        ops[Operation::Update as usize] = 2;
        tally.thread(1).publish(&ops, moved);
        let counts = tally.read();
        assert_eq!(counts.operations[Operation::Read as usize], 4);
        assert_eq!(counts.operations[Operation::Update as usize], 2);
        assert_eq!(
            counts.transfer,
            Transfer {
                written: 20,
                read: 10
            }
        );
        // A publication replaces the thread's totals; it does not add to them.
        tally
            .thread(1)
            .publish(&[0; OPERATION_TYPES], Transfer::default());
        assert_eq!(tally.read().operations[Operation::Update as usize], 0);
    }

    #[test]
    fn logical_bytes_are_ids_and_values() {
        let mut moved = Transfer::default();
        moved.wrote("user1", b"abc");
        moved.returned_all(&[("a".into(), vec![0; 4]), ("bc".into(), vec![])]);
        assert_eq!(
            moved,
            Transfer {
                written: 8,
                read: 7
            }
        );
    }
}
