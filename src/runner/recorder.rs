//! Latency recording: one HdrHistogram per operation type, failures apart, and operations
//! completed per second.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::monitor::{OPERATION_TYPES, PUBLISH_AFTER, PUBLISH_EVERY, ThreadTally, Transfer};
use crate::workload::Operation;

/// The largest latency a histogram holds: an hour, in nanoseconds. Longer ones are clamped.
const HIGHEST_NS: u64 = 3_600_000_000_000;
/// Three significant digits: 0.1% precision at every magnitude.
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram in nanoseconds.
pub(crate) fn new_histogram() -> Histogram<u64> {
    // The bounds are constants within hdrhistogram's limits, so creation cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

/// What one operation type recorded.
#[derive(Debug, Clone)]
pub struct OperationHistograms {
    /// Time from the operation's actual start to its end, for operations that succeeded.
    pub service: Histogram<u64>,
    /// Time from the operation's intended start (open loop) to its end: what a client
    /// waiting on a schedule sees, free of coordinated omission. `None` in closed loop.
    pub intended: Option<Histogram<u64>>,
    /// Service time of operations that returned an error or panicked.
    pub failed: Histogram<u64>,
    /// What a failed operation said, with its cause chain: the first failure of the
    /// lowest-numbered thread that had one (threads record apart, so there is no one first).
    pub first_error: Option<String>,
}

impl OperationHistograms {
    fn new(open_loop: bool) -> Self {
        Self {
            service: new_histogram(),
            intended: open_loop.then(new_histogram),
            failed: new_histogram(),
            first_error: None,
        }
    }

    fn add(&mut self, other: &OperationHistograms) {
        // Histograms of one shape always add; saturation only clamps counts.
        let _ = self.service.add(&other.service);
        let _ = self.failed.add(&other.failed);
        if let (Some(mine), Some(theirs)) = (&mut self.intended, &other.intended) {
            let _ = mine.add(theirs);
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }
}

/// One thread's recordings; threads record alone and are merged at the end, so recording
/// takes no lock.
#[derive(Debug, Clone)]
pub(super) struct Recorder {
    open_loop: bool,
    /// Indexed by `Operation as usize`: no hashing on the hot path.
    operations: Vec<Option<OperationHistograms>>,
    /// Operations completed in each second since the phase started.
    per_second: Vec<u64>,
    /// Operations completed, and of them those that succeeded: the operations the workload
    /// drew, not the histograms' total, which also holds the parts of read-modify-writes.
    completed: u64,
    succeeded: u64,
    /// Documents written by the load operations that succeeded: what a load stopped early
    /// (interrupted, or with failed batches) really loaded, not what it planned.
    documents: u64,
    /// Operations completed by type, and the logical bytes they moved: what the resource
    /// monitor reads, through `tally`, while the phase runs.
    by_type: [u64; OPERATION_TYPES],
    transfer: Transfer,
    tally: Option<Arc<ThreadTally>>,
}

impl Recorder {
    /// An empty recorder; `open_loop` adds intended-start histograms.
    pub(super) fn new(open_loop: bool) -> Self {
        Self {
            open_loop,
            operations: vec![None; Operation::Load as usize + 1],
            per_second: Vec::new(),
            completed: 0,
            succeeded: 0,
            documents: 0,
            by_type: [0; OPERATION_TYPES],
            transfer: Transfer::default(),
            tally: None,
        }
    }

    /// Publishes what this recorder counts to `tally` as it goes, for the resource monitor.
    pub(crate) fn tallying(mut self, tally: Arc<ThreadTally>) -> Self {
        self.tally = Some(tally);
        self
    }

    /// Counts the logical bytes an operation moved, before [`record`](Self::record)ing it
    /// (the worker learns them after timing it).
    pub(crate) fn moved(&mut self, transfer: Transfer) {
        self.transfer += transfer;
    }

    /// Makes every count so far visible to the resource monitor: the worker calls it as the
    /// phase ends, and [`record`](Self::record) every [`PUBLISH_EVERY`] operations.
    pub(crate) fn publish(&self) {
        if let Some(tally) = &self.tally {
            tally.publish(&self.by_type, self.transfer);
        }
    }

    /// Records one operation that ended `since_phase_start` into the phase; `failure` is what
    /// it said when it failed.
    pub(super) fn record(
        &mut self,
        op: Operation,
        failure: Option<&dyn std::fmt::Display>,
        service: Duration,
        intended: Option<Duration>,
        since_phase_start: Duration,
    ) {
        self.histograms(op, failure, service, intended);
        self.completed += 1;
        self.by_type[op as usize] += 1;
        // Publishing costs a dozen stores: nothing beside a slow operation, too much to pay
        // on every fast one.
        if service >= PUBLISH_AFTER || self.completed.is_multiple_of(PUBLISH_EVERY) {
            self.publish();
        }
        self.succeeded += u64::from(failure.is_none());
        let second = since_phase_start.as_secs() as usize;
        if self.per_second.len() <= second {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] += 1;
    }

    /// Records a part of another operation under its own name, as YCSB records the read and
    /// the update of a read-modify-write under READ and UPDATE too: into `op`'s histograms,
    /// not into the phase's operation count.
    pub(super) fn record_part(
        &mut self,
        op: Operation,
        failure: Option<&dyn std::fmt::Display>,
        service: Duration,
    ) {
        self.histograms(op, failure, service, None);
    }

    fn histograms(
        &mut self,
        op: Operation,
        failure: Option<&dyn std::fmt::Display>,
        service: Duration,
        intended: Option<Duration>,
    ) {
        let open_loop = self.open_loop;
        let h =
            self.operations[op as usize].get_or_insert_with(|| OperationHistograms::new(open_loop));
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        if let Some(failure) = failure {
            h.failed.saturating_record(nanos(service));
            if h.first_error.is_none() {
                h.first_error = Some(failure.to_string());
            }
        } else {
            h.service.saturating_record(nanos(service));
            if let (Some(hist), Some(intended)) = (&mut h.intended, intended) {
                hist.saturating_record(nanos(intended));
            }
        }
    }

    /// Adds another thread's recordings to these.
    pub(super) fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.operations.iter_mut().zip(&other.operations) {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => m.add(t),
                (None, Some(t)) => *mine = Some(t.clone()),
                _ => {}
            }
        }
        if self.per_second.len() < other.per_second.len() {
            self.per_second.resize(other.per_second.len(), 0);
        }
        for (mine, theirs) in self.per_second.iter_mut().zip(&other.per_second) {
            *mine += theirs;
        }
        self.completed += other.completed;
        self.succeeded += other.succeeded;
        self.documents += other.documents;
        for (mine, theirs) in self.by_type.iter_mut().zip(&other.by_type) {
            *mine += theirs;
        }
        self.transfer += other.transfer;
    }

    /// Counts `documents` written by a load operation that succeeded.
    pub(super) fn loaded(&mut self, documents: u64) {
        self.documents += documents;
    }

    /// Documents written by the load operations that succeeded.
    pub(super) fn documents(&self) -> u64 {
        self.documents
    }

    /// Operations completed, and of them those that succeeded.
    pub(super) fn counts(&self) -> (u64, u64) {
        (self.completed, self.succeeded)
    }

    /// The recordings by operation.
    pub(super) fn into_operations(self) -> (BTreeMap<Operation, OperationHistograms>, Vec<u64>) {
        let all = [Operation::Load].into_iter().chain(Operation::MIX);
        let mut operations = BTreeMap::new();
        for op in all {
            if let Some(h) = &self.operations[op as usize] {
                operations.insert(op, h.clone());
            }
        }
        (operations, self.per_second)
    }
}
