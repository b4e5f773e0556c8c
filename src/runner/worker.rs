//! One worker thread: draws operations from the workload and times each against the backend.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use super::progress::Progress;
use super::recorder::Recorder;
use crate::workload::{KeyChooser, KeySpace, LengthChooser, Operation, Rng, Workload, write_key};
use crate::{Collection, Result};

/// How often workers report progress, in operations: rarely enough to cost nothing.
const PROGRESS_EVERY: u64 = 1024;

/// When a phase stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// After this many operations of this worker.
    Operations(u64),
    /// At this instant.
    At(Instant),
}

/// One worker's state: its own random stream, choosers and buffers.
pub(crate) struct Worker<'a> {
    workload: &'a Workload,
    collections: &'a [Arc<dyn Collection>],
    keys: &'a KeySpace,
    /// Draws keys, values and lengths. How many draws a key takes can depend on how far other
    /// threads' inserts have got, so operations are drawn from a stream of their own.
    rng: Rng,
    /// Draws which operation comes next: the same seed gives each thread the same sequence of
    /// operations however the threads interleave.
    op_rng: Rng,
    key_chooser: KeyChooser,
    lengths: LengthChooser,
    scan_lengths: LengthChooser,
    /// Random bytes that values are cut from: generating a value costs one copy.
    value_source: Vec<u8>,
    key: String,
}

impl<'a> Worker<'a> {
    pub(crate) fn new(
        workload: &'a Workload,
        collections: &'a [Arc<dyn Collection>],
        keys: &'a KeySpace,
        stream: u64,
    ) -> Self {
        quiet_caught_panics();
        let mut rng = Rng::new(workload.seed, 2 * stream);
        let op_rng = Rng::new(workload.seed, 2 * stream + 1);
        let max_value = workload.field_length.max();
        let value_source = (0..2 * max_value + 8)
            .map(|_| rng.next_u64() as u8)
            .collect();
        Self {
            workload,
            collections,
            keys,
            rng,
            op_rng,
            key_chooser: KeyChooser::new(&workload.request_distribution, workload.key_range()),
            lengths: LengthChooser::new(&workload.field_length),
            scan_lengths: workload.scan_length.chooser(),
            value_source,
            key: String::new(),
        }
    }

    /// Runs operations until `stop`, recording into `recorder` when given (warm-up records
    /// nothing). With `interval` (seconds), operation `i` is intended to start at
    /// `start + i * interval` (open loop) and latency is measured from then as well.
    pub(crate) fn run(
        &mut self,
        stop: Stop,
        start: Instant,
        interval: Option<f64>,
        mut recorder: Option<&mut Recorder>,
        progress: &dyn Progress,
    ) {
        let mut done: u64 = 0;
        loop {
            if let Stop::Operations(n) = stop
                && done >= n
            {
                break;
            }
            // Computed from the start each time, in floating point, so the schedule neither
            // drifts by rounding nor stops at some count. Validation bounds the target and the
            // run's length, so the sum stays far from overflowing.
            let intended = interval.map(|i| start + Duration::from_secs_f64(done as f64 * i));
            if let Some(intended) = intended {
                if let Stop::At(deadline) = stop
                    && intended >= deadline
                {
                    break;
                }
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep(intended - now);
                }
            }
            let op = self.workload.mix.choose(self.op_rng.unit());
            let Timed {
                failure,
                began,
                ended,
            } = self.execute(op);
            if let Some(recorder) = recorder.as_deref_mut() {
                recorder.record(
                    op,
                    failure.as_ref().map(|f| f as &dyn std::fmt::Display),
                    ended - began,
                    intended.map(|i| ended - i),
                    ended - start,
                );
            }
            done += 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                progress.advance(PROGRESS_EVERY);
            }
            if let Stop::At(deadline) = stop
                && ended >= deadline
            {
                break;
            }
        }
        progress.advance(done % PROGRESS_EVERY);
    }

    /// Picks an existing key number, writes its id into `self.key`, and returns its collection.
    fn existing_key(&mut self) -> &'a Arc<dyn Collection> {
        let n = self.key_chooser.choose(&mut self.rng, self.keys);
        self.key_for(n)
    }

    fn key_for(&mut self, n: u64) -> &'a Arc<dyn Collection> {
        write_key(
            self.workload.insert_order,
            self.workload.zero_padding,
            n,
            &mut self.key,
        );
        &self.collections[(n % self.collections.len() as u64) as usize]
    }

    fn value(&mut self) -> Vec<u8> {
        let len = self.lengths.choose(&mut self.rng);
        let offset = self.rng.below((self.value_source.len() - len + 1) as u64) as usize;
        self.value_source[offset..offset + len].to_vec()
    }

    /// Prepares `op` (key, value, lengths: harness work) and then times only the backend
    /// call, so the harness's own cost stays out of every latency.
    fn execute(&mut self, op: Operation) -> Timed {
        match op {
            Operation::Read => {
                let c = self.existing_key();
                timed(|| c.get(&self.key).map(black_box))
            }
            Operation::Update => {
                let value = self.value();
                let c = self.existing_key();
                timed(|| c.upsert(&self.key, value))
            }
            Operation::Insert => {
                let n = self.keys.claim();
                let value = self.value();
                let c = self.key_for(n);
                let result = timed(|| c.upsert(&self.key, value));
                self.keys.acknowledge(n);
                result
            }
            Operation::Scan => {
                let len = self.scan_lengths.choose(&mut self.rng);
                let c = self.existing_key();
                timed(|| c.scan_range(&self.key, len).map(black_box))
            }
            Operation::ReadModifyWrite => {
                let value = self.value();
                let c = self.existing_key();
                timed(|| {
                    black_box(c.get(&self.key)?);
                    c.upsert(&self.key, value)
                })
            }
            Operation::Delete => {
                let c = self.existing_key();
                timed(|| c.delete(&self.key))
            }
            Operation::Find => {
                let byte = self.rng.next_u64() as u8;
                let c = self.existing_key();
                timed(|| {
                    c.find(Box::new(move |d| d.first() == Some(&byte)))
                        .map(black_box)
                })
            }
            Operation::Count => {
                let c = &self.collections[self.rng.below(self.collections.len() as u64) as usize];
                timed(|| c.count().map(black_box))
            }
            Operation::ScanPrefix => {
                let c = self.existing_key();
                let end = self
                    .key
                    .char_indices()
                    .nth(self.workload.scan_prefix_length)
                    .map_or(self.key.len(), |(i, _)| i);
                timed(|| c.scan_prefix(&self.key[..end]).map(black_box))
            }
            Operation::Load => timed(|| Ok(())),
        }
    }

    /// Loads key numbers `batches` (each a range) through `upsert_many`, timing each batch.
    pub(crate) fn load(
        &mut self,
        batches: impl Iterator<Item = std::ops::Range<u64>>,
        start: Instant,
        recorder: &mut Recorder,
        progress: &dyn Progress,
    ) {
        let ncollections = self.collections.len();
        for batch in batches {
            let documents = batch.end - batch.start;
            let mut per_collection: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); ncollections];
            for n in batch {
                let value = self.value();
                let index = (n % ncollections as u64) as usize;
                self.key_for(n);
                per_collection[index].push((self.key.clone(), value));
            }
            let Timed {
                failure,
                began,
                ended,
            } = timed(|| {
                for (collection, docs) in self.collections.iter().zip(per_collection) {
                    if !docs.is_empty() {
                        collection.upsert_many(docs)?;
                    }
                }
                Ok(())
            });
            recorder.record(
                Operation::Load,
                failure.as_ref().map(|f| f as &dyn std::fmt::Display),
                ended - began,
                None,
                ended - start,
            );
            progress.advance(documents);
        }
    }
}

/// When a backend call began and ended, and how it failed if it did.
struct Timed {
    failure: Option<Failure>,
    began: Instant,
    ended: Instant,
}

/// Why an operation failed: the store's error, or its panic.
enum Failure {
    Error(crate::Error),
    Panic(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Error(e) => {
                write!(f, "{e}")?;
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
            Failure::Panic(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// Times `call`. A store that panics is a store that failed: the panic is caught and counted
/// with the errors, so one bad operation does not end the run (or the other bindings' runs).
fn timed<T>(call: impl FnOnce() -> Result<T>) -> Timed {
    CATCHING.set(true);
    let began = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(call));
    let ended = Instant::now();
    CATCHING.set(false);
    let failure = match result {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(Failure::Error(e)),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            Some(Failure::Panic(match PANICKED_AT.take() {
                Some(at) => format!("{message} at {at}"),
                None => message,
            }))
        }
    };
    Timed {
        failure,
        began,
        ended,
    }
}

thread_local! {
    /// Whether a store operation is running under [`timed`], which catches its panic.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last caught panic happened, noted by the hook for the failure's message.
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that keeps quiet about panics [`timed`] catches
/// (they are counted and reported with the failed operations; a store that panics on every
/// operation would otherwise print a message per operation) and passes every other panic to
/// the hook that was there before.
fn quiet_caught_panics() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.get() {
                PANICKED_AT.set(info.location().map(ToString::to_string));
            } else {
                previous(info);
            }
        }));
    });
}

/// The text a panic carried, when it carried text.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "with no message".to_owned())
}
