//! The resource monitor: a thread that samples a phase at a fixed interval — operations
//! completed by type, logical bytes, the process's CPU time, resident memory and device I/O,
//! and the size of the store's files — while the workers run, without a lock on their path.

mod process;
mod sample;
mod tally;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) use process::peak_rss_bytes;
pub use sample::ResourceSeries;
use sample::Sample;
pub use tally::Transfer;
pub(crate) use tally::{OPERATION_TYPES, PUBLISH_AFTER, PUBLISH_EVERY, Tally, ThreadTally};

/// The interval between samples unless told otherwise: four a second shows a phase's shape
/// in a run of a few seconds, and costs a few reads of `/proc` and a walk of one directory
/// each time.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);

/// A running monitor of one phase. Dropping it stops the thread and waits for it (its samples
/// are lost); [`finish`](Monitor::finish) takes the last sample and returns them all.
pub(crate) struct Monitor {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<ResourceSeries>>,
}

impl Monitor {
    /// Starts sampling `tally` and the process every `interval`, and the files under
    /// `store_dir` when the store keeps any. The first sample is taken at once.
    pub(crate) fn start(tally: Arc<Tally>, store_dir: Option<PathBuf>, interval: Duration) -> Self {
        let (stop, stopped) = mpsc::channel();
        let sampler = move || {
            let start = Instant::now();
            let take = || Sample {
                elapsed: start.elapsed(),
                counts: tally.read(),
                process: process::now(),
                store_bytes: store_dir
                    .as_deref()
                    .and_then(|dir| super::disk::bytes_below(dir).ok()),
            };
            let mut samples = vec![take()];
            // Due times are multiples of the interval from the start, so samples do not
            // drift; one that is late (a slow directory walk) skips the times it missed.
            let mut due = start + interval;
            loop {
                let wait = due.saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => samples.push(take()),
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
                let now = Instant::now();
                while due <= now {
                    due += interval;
                }
            }
            samples.push(take());
            ResourceSeries::from_samples(interval, &samples)
        };
        // A thread that cannot be made leaves the phase without resource figures, not
        // without its measurements.
        let thread = std::thread::Builder::new()
            .name("storebench-monitor".into())
            .spawn(sampler)
            .ok();
        Self { stop, thread }
    }

    /// Takes the last sample (after everything the phase did, its flush included) and
    /// returns the series; `None` when the sampling thread could not run.
    pub(crate) fn finish(mut self) -> Option<ResourceSeries> {
        let thread = self.thread.take()?;
        // The thread may only have ended by panicking, which `join` reports.
        let _ = self.stop.send(());
        thread.join().ok()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        // A phase that failed (or panicked) stops its monitor and waits for it, so that no
        // sampler outlives its phase; the samples go with the phase.
        if let Some(thread) = self.thread.take() {
            let _ = self.stop.send(());
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Operation;

    /// The series ends with what was published before `finish`, however short the phase,
    /// and its samples are in time order.
    #[test]
    fn the_last_sample_sees_everything_published_before_the_finish() {
        let tally = Arc::new(Tally::new(1));
        let monitor = Monitor::start(Arc::clone(&tally), None, Duration::from_millis(1));
        let mut operations = [0; OPERATION_TYPES];
        for n in 1..=50 {
            operations[Operation::Update as usize] = n;
            let moved = Transfer {
                written: 3 * n,
                read: 0,
            };
            tally.thread(0).publish(&operations, moved);
            std::thread::sleep(Duration::from_micros(200));
        }
        let series = monitor.finish().expect("a monitor thread");
        assert!(series.elapsed.len() >= 2);
        assert!(series.elapsed.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(series.elapsed[0], Duration::ZERO);
        let updates = &series.operations[&Operation::Update];
        assert_eq!(updates.last(), Some(&50));
        assert!(updates.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(series.last_logical().written, 150);
        assert_eq!(series.interval, Duration::from_millis(1));
    }

    /// A phase that fails drops its monitor: the thread has ended when the drop returns (it
    /// no longer holds the tally), however long its interval.
    #[test]
    fn a_dropped_monitor_has_stopped() {
        let tally = Arc::new(Tally::new(2));
        let monitor = Monitor::start(Arc::clone(&tally), None, Duration::from_secs(3600));
        assert!(monitor.thread.is_some());
        drop(monitor);
        assert_eq!(Arc::strong_count(&tally), 1);
    }
}
