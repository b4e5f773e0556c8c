//! Samples and the series they make: where a phase stood at each instant the monitor looked,
//! turned into columns counted from the phase's start.

use std::collections::BTreeMap;
use std::time::Duration;

use super::process::ProcessFigures;
use super::tally::{Counts, Transfer};
use crate::workload::Operation;

/// What the monitor saw at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Since the monitor started.
    pub(crate) elapsed: Duration,
    /// What the workers had published.
    pub(crate) counts: Counts,
    /// The process's figures, as the platform reports them (cumulative since it started).
    pub(crate) process: ProcessFigures,
    /// Bytes of every file in the store's directory; `None` for a store kept in memory.
    pub(crate) store_bytes: Option<u64>,
}

/// One phase's resource samples, as columns: entry `i` of every column is sample `i`. The
/// first sample is taken as the phase starts and the last after the flush that ends it, so
/// the last entry holds the phase's totals, the writes that made it durable included.
/// Counters (CPU, device bytes, operations, logical bytes) count from the phase's start;
/// gauges (resident memory, store bytes) are the value at the instant. A column the platform
/// does not report, at any sample, is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSeries {
    /// The interval asked for between samples.
    pub interval: Duration,
    /// When each sample was taken, since the phase started.
    pub elapsed: Vec<Duration>,
    /// Operations completed, failed ones included, by type: those that completed any. A
    /// read-modify-write counts once, under its own name, so at the last sample they sum to
    /// the phase's operation count.
    pub operations: BTreeMap<Operation, Vec<u64>>,
    /// Logical bytes the workload wrote and read.
    pub logical: Vec<Transfer>,
    /// User CPU time of the process.
    pub cpu_user: Option<Vec<Duration>>,
    /// System CPU time of the process.
    pub cpu_system: Option<Vec<Duration>>,
    /// Resident memory of the process.
    pub rss_bytes: Option<Vec<u64>>,
    /// Bytes the process made the storage devices read.
    pub device_read_bytes: Option<Vec<u64>>,
    /// Bytes the process made the storage devices write.
    pub device_write_bytes: Option<Vec<u64>>,
    /// Bytes of the store's files.
    pub store_bytes: Option<Vec<u64>>,
    /// Bytes of ids and values live in the store at each sample, as far as the runner can
    /// tell without reading the store while it is measured: in a load, what it has written so
    /// far; in a run, the bytes live at its end less the documents inserted after the sample
    /// (plus those deleted), at the end's mean document size.
    pub live_bytes: Option<Vec<u64>>,
}

impl ResourceSeries {
    /// The columns of `samples`, the first of them the phase's start.
    pub(crate) fn from_samples(interval: Duration, samples: &[Sample]) -> Self {
        let Some(first) = samples.first() else {
            return Self {
                interval,
                ..Self::default()
            };
        };
        // A counter column: each sample's value less the first's; `None` if any lacks it.
        fn since<T: Copy, U>(
            samples: &[Sample],
            value: impl Fn(&Sample) -> Option<T>,
            minus: impl Fn(T, T) -> U,
        ) -> Option<Vec<U>> {
            let base = value(samples.first()?)?;
            samples
                .iter()
                .map(|s| value(s).map(|v| minus(v, base)))
                .collect()
        }
        let bytes = |a: u64, b: u64| a.saturating_sub(b);
        let time = |a: Duration, b: Duration| a.saturating_sub(b);
        let mut operations = BTreeMap::new();
        let last = samples.last().unwrap_or(first);
        for op in [Operation::Load].into_iter().chain(Operation::MIX) {
            if last.counts.operations[op as usize] > 0 {
                let column = samples
                    .iter()
                    .map(|s| s.counts.operations[op as usize])
                    .collect();
                operations.insert(op, column);
            }
        }
        Self {
            interval,
            elapsed: samples.iter().map(|s| s.elapsed - first.elapsed).collect(),
            operations,
            logical: samples.iter().map(|s| s.counts.transfer).collect(),
            cpu_user: since(samples, |s| s.process.cpu.map(|c| c.user), time),
            cpu_system: since(samples, |s| s.process.cpu.map(|c| c.system), time),
            rss_bytes: samples.iter().map(|s| s.process.rss_bytes).collect(),
            device_read_bytes: since(samples, |s| s.process.device.map(|d| d.read), bytes),
            device_write_bytes: since(samples, |s| s.process.device.map(|d| d.written), bytes),
            store_bytes: samples.iter().map(|s| s.store_bytes).collect(),
            live_bytes: None,
        }
    }

    /// Live bytes for a load into a fresh store: every document it writes has an id of its
    /// own, so what it has written so far (successful writes only) is what is live.
    pub(crate) fn live_as_written(&mut self) {
        self.live_bytes = Some(self.logical.iter().map(|t| t.written).collect());
    }

    /// Live bytes for a phase that ended with `live_bytes` in `documents` documents: each
    /// sample's is the end's, less the documents inserted after it and plus those deleted
    /// after it, at the end's mean document size. Updates are taken to keep a document's
    /// size (a YCSB record's fields have one length unless the workload draws it), and a
    /// failed insert or delete counts as done.
    pub(crate) fn live_from_end(&mut self, live_bytes: u64, documents: u64) {
        let column = |op| {
            self.operations
                .get(&op)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        let (inserts, deletes) = (column(Operation::Insert), column(Operation::Delete));
        let count = |c: &[u64], i: usize| c.get(i).copied().unwrap_or(0);
        let last = self.elapsed.len().saturating_sub(1);
        let estimate = (0..self.elapsed.len())
            .map(|i| {
                let inserted_after = count(inserts, last).saturating_sub(count(inserts, i));
                let deleted_after = count(deletes, last).saturating_sub(count(deletes, i));
                let then = (documents + deleted_after).saturating_sub(inserted_after);
                match documents {
                    0 => 0,
                    // In u128: a store of terabytes times millions of documents.
                    _ => (u128::from(live_bytes) * u128::from(then) / u128::from(documents))
                        .try_into()
                        .unwrap_or(u64::MAX),
                }
            })
            .collect();
        self.live_bytes = Some(estimate);
    }

    /// The phase's totals: the last sample's counters.
    pub fn last_logical(&self) -> Transfer {
        self.logical.last().copied().unwrap_or_default()
    }

    /// Operations completed in the phase, all types together, at the last sample.
    pub fn last_operations(&self) -> u64 {
        self.operations.values().filter_map(|c| c.last()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::process::{CpuTime, DeviceIo};
    use super::super::tally::OPERATION_TYPES;
    use super::*;

    fn sample(ms: u64, reads: u64, written: u64, device: Option<u64>) -> Sample {
        let mut operations = [0; OPERATION_TYPES];
        operations[Operation::Read as usize] = reads;
        Sample {
            elapsed: Duration::from_millis(ms),
            counts: Counts {
                operations,
                transfer: Transfer { written, read: 0 },
            },
            process: ProcessFigures {
                cpu: Some(CpuTime {
                    user: Duration::from_millis(1000 + ms),
                    system: Duration::from_millis(500),
                }),
                rss_bytes: Some(4096),
                device: device.map(|written| DeviceIo { read: 7, written }),
            },
            store_bytes: None,
        }
    }

    #[test]
    fn counters_count_from_the_first_sample_and_gauges_do_not() {
        let samples = [
            sample(3, 0, 0, Some(1000)),
            sample(253, 10, 100, Some(1500)),
            sample(400, 25, 250, Some(3000)),
        ];
        let series = ResourceSeries::from_samples(Duration::from_millis(250), &samples);
        let ms = |v: &[Duration]| v.iter().map(|d| d.as_millis() as u64).collect::<Vec<_>>();
        assert_eq!(ms(&series.elapsed), [0, 250, 397]);
        assert_eq!(ms(series.cpu_user.as_deref().unwrap_or(&[])), [0, 250, 397]);
        assert_eq!(ms(series.cpu_system.as_deref().unwrap_or(&[])), [0, 0, 0]);
        assert_eq!(series.device_write_bytes, Some(vec![0, 500, 2000]));
        assert_eq!(series.device_read_bytes, Some(vec![0, 0, 0]));
        assert_eq!(series.rss_bytes, Some(vec![4096; 3]));
        assert_eq!(series.store_bytes, None, "a store in memory has no files");
        assert_eq!(
            series.operations,
            BTreeMap::from([(Operation::Read, vec![0, 10, 25])]),
            "only the types that ran have a column"
        );
        assert_eq!(series.last_operations(), 25);
        assert_eq!(series.last_logical().written, 250);
    }

    #[test]
    fn a_figure_missing_at_any_sample_drops_its_column() {
        let samples = [sample(0, 0, 0, Some(1)), sample(250, 1, 1, None)];
        let series = ResourceSeries::from_samples(Duration::from_millis(250), &samples);
        assert_eq!(series.device_write_bytes, None);
        assert!(series.cpu_user.is_some());
    }

    #[test]
    fn a_load_has_written_what_is_live() {
        let samples = [sample(0, 0, 0, None), sample(250, 0, 800, None)];
        let mut series = ResourceSeries::from_samples(Duration::from_millis(250), &samples);
        series.live_as_written();
        assert_eq!(series.live_bytes, Some(vec![0, 800]));
    }

    #[test]
    fn live_bytes_before_the_end_leave_out_later_inserts_and_keep_later_deletes() {
        let mut series = ResourceSeries {
            elapsed: vec![Duration::ZERO; 4],
            operations: BTreeMap::from([
                (Operation::Insert, vec![0, 100, 200, 200]),
                (Operation::Delete, vec![0, 0, 0, 50]),
                (Operation::Read, vec![0, 500, 900, 1000]),
            ]),
            ..ResourceSeries::default()
        };
        // 1,150 documents of 100 bytes at the end: 1,000 loaded, 200 inserted, 50 deleted.
        series.live_from_end(115_000, 1150);
        assert_eq!(
            series.live_bytes,
            Some(vec![100_000, 110_000, 120_000, 115_000])
        );
        series.live_from_end(0, 0);
        assert_eq!(
            series.live_bytes,
            Some(vec![0; 4]),
            "nothing to take a size from"
        );
    }
}
