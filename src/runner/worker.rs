//! One worker thread: runs the operations its generator draws against the store, timing each
//! and logging it when asked to.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::generate::{Generator, Update};
use super::interrupt::interrupted;
use super::log::{OperationLog, WorkerLog};
use super::monitor::Transfer;
use super::progress::Progress;
use super::recorder::Recorder;
use super::timed::{Failure, Timed, quiet_caught_panics, timed, timed_value};
use crate::workload::{BadRecord, KeySpace, Operation, Workload, with_field};
use crate::{Collection, Result};

/// How often workers report progress, in operations: rarely enough to cost nothing.
const PROGRESS_EVERY: u64 = 1024;

/// An open-loop thread's timetable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Seconds between the intended starts of this thread's operations.
    pub(crate) interval: f64,
    /// Where in the interval the first falls, in intervals: threads spread over it, so
    /// that together they send evenly rather than all at once (YCSB staggers its threads'
    /// first operations too).
    pub(crate) offset: f64,
}

/// When a phase stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// After this many operations of this worker.
    Operations(u64),
    /// At this instant.
    At(Instant),
}

/// One worker: draws operations from its generator, runs each against the store, times it
/// and logs it.
pub(crate) struct Worker<'a> {
    collections: &'a [Arc<dyn Collection>],
    keys: &'a KeySpace,
    draws: Generator<'a>,
    /// Where this worker's operations are logged, if anywhere.
    log: Option<WorkerLog<'a>>,
    /// Logical bytes the operation being executed moved, taken by the recorder after it.
    moved: Transfer,
}

impl<'a> Worker<'a> {
    pub(crate) fn new(
        workload: &'a Workload,
        collections: &'a [Arc<dyn Collection>],
        keys: &'a KeySpace,
        stream: u64,
    ) -> Self {
        quiet_caught_panics();
        Self {
            collections,
            keys,
            draws: Generator::new(workload, keys, collections.len(), stream),
            log: None,
            moved: Transfer::default(),
        }
    }

    /// Logs every operation this worker issues to `log`.
    pub(crate) fn logging(mut self, log: Option<&'a OperationLog>) -> Self {
        self.log = log.map(|log| WorkerLog::new(log, self.draws.field_names()));
        self
    }

    /// Writes out the gathered log lines: when there are many, and (`all`) at the end of a
    /// phase.
    fn write_log(&mut self, all: bool) {
        if let Some(log) = &mut self.log {
            log.write_out(all);
        }
    }

    /// Logs `verb` (`INSERT`, `UPDATE`) of the current key with `record`'s fields.
    fn log_record(&mut self, verb: &str, record: &[u8]) {
        if let Some(log) = &mut self.log {
            log.record(verb, self.draws.table_name(), self.draws.key(), record);
        }
    }

    /// Logs a read (or, with `length`, a scan) of the current key; `field` when one field is
    /// asked for.
    fn log_read(&mut self, length: Option<usize>, field: Option<usize>) {
        if let Some(log) = &mut self.log {
            let field = field.map(|f| self.draws.field_names()[f].as_str());
            log.read(self.draws.table_name(), self.draws.key(), length, field);
        }
    }

    /// Logs `verb` on the current collection, with the first `key_bytes` of the current key.
    fn log_plain(&mut self, verb: &str, key_bytes: Option<usize>) {
        if let Some(log) = &mut self.log {
            let key = key_bytes.map(|n| &self.draws.key()[..n]);
            log.plain(verb, self.draws.table_name(), key);
        }
    }

    /// Logs an update as YCSB sends it: one field, or the whole record.
    fn log_update(&mut self, update: &Update) {
        match update {
            Update::Record(record) => self.log_record("UPDATE", record),
            Update::Field(field, value) => {
                if let Some(log) = &mut self.log {
                    let name = self.draws.field_names()[*field].as_str();
                    let value = self.draws.value(value.clone());
                    log.field(self.draws.table_name(), self.draws.key(), name, value);
                }
            }
        }
    }

    /// Draws an existing key and makes it the current one; its collection.
    fn existing_key(&mut self) -> &'a Arc<dyn Collection> {
        &self.collections[self.draws.existing_key()]
    }

    /// Makes key number `n` the current key; its collection.
    fn key_for(&mut self, n: u64) -> &'a Arc<dyn Collection> {
        &self.collections[self.draws.key_for(n)]
    }

    /// Runs operations until `stop`, recording into `recorder` when given (warm-up records
    /// nothing). With a `schedule` (open loop), operation `i` is intended to start at
    /// `start + (offset + i) * interval` and latency is measured from then as well.
    pub(crate) fn run(
        &mut self,
        stop: Stop,
        start: Instant,
        schedule: Option<Schedule>,
        mut recorder: Option<&mut Recorder>,
        progress: &dyn Progress,
    ) {
        let mut done: u64 = 0;
        let mut parts = Vec::with_capacity(2);
        loop {
            if let Stop::Operations(n) = stop
                && done >= n
            {
                break;
            }
            if interrupted() {
                break;
            }
            // Computed from the start each time, in floating point, so the schedule neither
            // drifts by rounding nor stops at some count. Validation bounds the target and the
            // run's length, so the sum stays far from overflowing.
            let intended = schedule
                .map(|s| start + Duration::from_secs_f64((s.offset + done as f64) * s.interval));
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
            let op = self.draws.operation();
            let Timed {
                failure,
                began,
                ended,
            } = self.execute(op, &mut parts);
            let moved = std::mem::take(&mut self.moved);
            if let Some(recorder) = recorder.as_deref_mut() {
                // What a failed operation moved is not counted: it may have moved nothing.
                if failure.is_none() {
                    recorder.moved(moved);
                }
                recorder.record(
                    op,
                    failure.as_ref().map(|f| f as &dyn std::fmt::Display),
                    ended - began,
                    intended.map(|i| ended - i),
                    ended - start,
                );
                for (part, timed) in &parts {
                    let failure = timed.failure.as_ref().map(|f| f as &dyn std::fmt::Display);
                    recorder.record_part(*part, failure, timed.ended - timed.began);
                }
            }
            parts.clear();
            self.write_log(false);
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
        if let Some(recorder) = recorder {
            recorder.publish();
        }
        self.write_log(true);
    }

    /// The error of a read that returned bytes the workload never wrote.
    fn damaged(&self, e: BadRecord) -> crate::Error {
        let what = format!(
            "document {}: {e}, so the store changed what it was given",
            self.draws.key()
        );
        crate::Error::backend(self.draws.table_name(), what)
    }

    /// Writes `update` to the current key of `c`: one field means reading the record first.
    /// `moved` counts the bytes read and written.
    fn write(&self, c: &Arc<dyn Collection>, update: Update, moved: &mut Transfer) -> Result<()> {
        match update {
            Update::Record(record) => {
                moved.wrote(self.draws.key(), &record);
                c.upsert(self.draws.key(), record)
            }
            Update::Field(field, value) => {
                let old = c.get(self.draws.key())?;
                if let Some(old) = &old {
                    moved.returned(self.draws.key(), old);
                }
                let name = &self.draws.field_names()[field];
                let value = self.draws.value(value);
                let record =
                    with_field(old.as_deref(), name, value).map_err(|e| self.damaged(e))?;
                moved.wrote(self.draws.key(), &record);
                c.upsert(self.draws.key(), record)
            }
        }
    }

    /// Prepares `op` (key, record, lengths: harness work) and then times only the backend
    /// call, so the harness's own cost stays out of every latency. `parts` receives the
    /// read and the write of a read-modify-write, which YCSB also counts as a read and an
    /// update. The logical bytes it moves go to `self.moved`, counted outside the timing
    /// where they can be.
    fn execute(&mut self, op: Operation, parts: &mut Vec<(Operation, Timed)>) -> Timed {
        match op {
            Operation::Read => {
                let c = self.existing_key();
                let field = self.draws.read_field();
                self.log_read(None, field);
                let (value, timed) = timed_value(|| c.get(self.draws.key()));
                if let Some(Some(value)) = &value {
                    self.moved.returned(self.draws.key(), value);
                }
                timed
            }
            Operation::Update => {
                let update = self.draws.update();
                let c = self.existing_key();
                self.log_update(&update);
                let mut moved = Transfer::default();
                let timed = timed(|| self.write(c, update, &mut moved));
                self.moved += moved;
                timed
            }
            Operation::Insert => {
                let n = self.keys.claim();
                let record = self.draws.record();
                let c = self.key_for(n);
                self.log_record("INSERT", &record);
                self.moved.wrote(self.draws.key(), &record);
                let result = timed(|| c.upsert(self.draws.key(), record));
                self.keys.acknowledge(n);
                result
            }
            Operation::Scan => {
                let len = self.draws.scan_length();
                let c = self.existing_key();
                let field = self.draws.read_field();
                self.log_read(Some(len), field);
                let (docs, timed) = timed_value(|| c.scan_range(self.draws.key(), len));
                self.moved.returned_all(docs.as_deref().unwrap_or_default());
                timed
            }
            Operation::ReadModifyWrite => {
                let update = self.draws.update();
                let c = self.existing_key();
                let field = self.draws.read_field();
                self.log_read(None, field);
                self.log_update(&update);
                let (old, read) = timed_value(|| c.get(self.draws.key()));
                if let Some(Some(old)) = &old {
                    self.moved.returned(self.draws.key(), old);
                }
                let began = read.began;
                let failed = read
                    .failure
                    .as_ref()
                    .map(|f| Failure::Part("read", f.to_string()));
                let read_ended = read.ended;
                parts.push((Operation::Read, read));
                if let Some(failure) = failed {
                    return Timed {
                        failure: Some(failure),
                        began,
                        ended: read_ended,
                    };
                }
                let mut written = Transfer::default();
                let write = timed(|| {
                    let record = match update {
                        Update::Record(record) => record,
                        Update::Field(field, value) => with_field(
                            old.flatten().as_deref(),
                            &self.draws.field_names()[field],
                            self.draws.value(value),
                        )
                        .map_err(|e| self.damaged(e))?,
                    };
                    written.wrote(self.draws.key(), &record);
                    c.upsert(self.draws.key(), record)
                });
                self.moved += written;
                let (ended, failed) = (
                    write.ended,
                    write
                        .failure
                        .as_ref()
                        .map(|f| Failure::Part("update", f.to_string())),
                );
                parts.push((Operation::Update, write));
                Timed {
                    failure: failed,
                    began,
                    ended,
                }
            }
            Operation::Delete => {
                let c = self.existing_key();
                self.log_plain("DELETE", Some(self.draws.key().len()));
                timed(|| c.delete(self.draws.key()))
            }
            Operation::Find => {
                // A byte values are made of: any other would match nothing.
                let byte = self.draws.value_byte();
                let c = self.existing_key();
                self.log_plain("FIND", None);
                // The last byte: a record's first is its encoding version, the same in all.
                let (docs, timed) =
                    timed_value(|| c.find(Box::new(move |d| d.last() == Some(&byte))));
                self.moved.returned_all(docs.as_deref().unwrap_or_default());
                timed
            }
            Operation::Count => {
                let c = &self.collections[self.draws.any_table()];
                self.log_plain("COUNT", None);
                timed(|| c.count().map(black_box))
            }
            Operation::ScanPrefix => {
                let c = self.existing_key();
                let end = self.draws.prefix_end();
                self.log_plain("SCANPREFIX", Some(end));
                let (docs, timed) = timed_value(|| c.scan_prefix(&self.draws.key()[..end]));
                self.moved.returned_all(docs.as_deref().unwrap_or_default());
                timed
            }
            Operation::Load => timed(|| Ok(())),
        }
    }

    /// Loads key numbers `batches` (each a range): a batch of one as one timed insert, as
    /// YCSB loads; larger batches through `upsert_many`, each timed as one load operation.
    pub(crate) fn load(
        &mut self,
        batches: impl Iterator<Item = std::ops::Range<u64>>,
        start: Instant,
        recorder: &mut Recorder,
        progress: &dyn Progress,
    ) {
        let ncollections = self.collections.len();
        for batch in batches {
            if interrupted() {
                break;
            }
            let documents = batch.end - batch.start;
            let (op, timed) = if documents == 1 {
                let record = self.draws.record();
                let c = self.key_for(batch.start);
                self.log_record("INSERT", &record);
                self.moved.wrote(self.draws.key(), &record);
                (
                    Operation::Insert,
                    timed(|| c.upsert(self.draws.key(), record)),
                )
            } else {
                let mut per_collection: Vec<Vec<(String, Vec<u8>)>> =
                    vec![Vec::new(); ncollections];
                for n in batch {
                    let record = self.draws.record();
                    let index = (n % ncollections as u64) as usize;
                    self.key_for(n);
                    self.log_record("INSERT", &record);
                    self.moved.wrote(self.draws.key(), &record);
                    per_collection[index].push((self.draws.key().to_owned(), record));
                }
                let timed = timed(|| {
                    for (collection, docs) in self.collections.iter().zip(per_collection) {
                        if !docs.is_empty() {
                            collection.upsert_many(docs)?;
                        }
                    }
                    Ok(())
                });
                (Operation::Load, timed)
            };
            let moved = std::mem::take(&mut self.moved);
            if timed.failure.is_none() {
                recorder.loaded(documents);
                recorder.moved(moved);
            }
            recorder.record(
                op,
                timed.failure.as_ref().map(|f| f as &dyn std::fmt::Display),
                timed.ended - timed.began,
                None,
                timed.ended - start,
            );
            progress.advance(documents);
            self.write_log(false);
        }
        recorder.publish();
        self.write_log(true);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::runner::NoProgress;
    use crate::workload::decode_record;
    use crate::{InMemoryBackend, StorageBackend};

    fn workload(mix: &str) -> Workload {
        let text = format!("recordcount = 20\nfieldcount = 4\nfieldlength = 8\n{mix}");
        Workload::from_toml("t", &text, Path::new("t.toml")).expect("a valid workload")
    }

    fn loaded(workload: &Workload) -> (InMemoryBackend, Vec<Arc<dyn Collection>>, KeySpace) {
        let store = InMemoryBackend::new();
        let collections = vec![store.collection("usertable")];
        let keys = KeySpace::new(workload.record_count);
        let mut worker = Worker::new(workload, &collections, &keys, 0);
        let mut recorder = Recorder::new(false);
        worker.load(
            (0..workload.record_count).map(|n| n..n + 1),
            Instant::now(),
            &mut recorder,
            &NoProgress,
        );
        (store, collections, keys)
    }

    fn records(collection: &Arc<dyn Collection>) -> Vec<Vec<u8>> {
        let docs = collection.scan().expect("a scan");
        docs.into_iter().map(|(_, record)| record).collect()
    }

    #[test]
    fn the_load_writes_records_of_every_field() {
        let w = workload("");
        let (_store, collections, _) = loaded(&w);
        let records = records(&collections[0]);
        assert_eq!(records.len(), 20);
        for record in &records {
            let fields = decode_record(record).expect("a record");
            let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
            assert_eq!(names, ["field0", "field1", "field2", "field3"]);
            assert!(fields.iter().all(|f| f.1.len() == 8));
            assert!(
                fields
                    .iter()
                    .all(|f| f.1.iter().all(|b| (b' '..=127).contains(b)))
            );
        }
    }

    /// `writeallfields = false` (YCSB's default): an update changes one field and keeps the
    /// others.
    #[test]
    fn an_update_replaces_one_field() {
        let w = workload("readproportion = 0\nupdateproportion = 1\n");
        let (_store, collections, keys) = loaded(&w);
        let mut before = records(&collections[0]);
        let mut worker = Worker::new(&w, &collections, &keys, 1);
        for _ in 0..50 {
            let timed = worker.execute(Operation::Update, &mut Vec::new());
            assert!(timed.failure.is_none());
            let after = records(&collections[0]);
            let changed: Vec<usize> = (0..20).filter(|&i| before[i] != after[i]).collect();
            for &i in &changed {
                let (old, new) = (
                    decode_record(&before[i]).expect("a record"),
                    decode_record(&after[i]).expect("a record"),
                );
                let fields = (0..4).filter(|&f| old[f] != new[f]).count();
                assert!(fields <= 1, "record {i}: {fields} fields changed");
            }
            before = after;
        }
        let all = Workload {
            write_all_fields: true,
            ..w.clone()
        };
        let mut worker = Worker::new(&all, &collections, &keys, 2);
        let before = records(&collections[0]);
        for _ in 0..50 {
            worker.execute(Operation::Update, &mut Vec::new());
        }
        let after = records(&collections[0]);
        let rewritten = (0..20)
            .filter(|&i| before[i] != after[i])
            .map(|i| {
                let (old, new) = (decode_record(&before[i]), decode_record(&after[i]));
                let (old, new) = (old.expect("a record"), new.expect("a record"));
                (0..4).filter(|&f| old[f] != new[f]).count()
            })
            .max();
        assert_eq!(rewritten, Some(4), "writeallfields rewrites every field");
    }

    /// YCSB counts a read-modify-write's read and update under READ and UPDATE as well; the
    /// phase's operation count is the operations drawn.
    #[test]
    fn a_read_modify_write_is_also_a_read_and_an_update() {
        let w = workload(
            "readproportion = 0.5\nupdateproportion = 0\nreadmodifywriteproportion = 0.5\n",
        );
        let (_store, collections, keys) = loaded(&w);
        let mut worker = Worker::new(&w, &collections, &keys, 1);
        let mut recorder = Recorder::new(false);
        let start = Instant::now();
        worker.run(
            Stop::Operations(400),
            start,
            None,
            Some(&mut recorder),
            &NoProgress,
        );
        assert_eq!(recorder.counts(), (400, 400));
        let (operations, _) = recorder.into_operations();
        let count = |op| operations.get(&op).map_or(0, |h| h.service.len());
        let rmw = count(Operation::ReadModifyWrite);
        assert!(rmw > 100 && rmw < 300, "{rmw}");
        assert_eq!(
            count(Operation::Read),
            400,
            "every read, alone or in a read-modify-write"
        );
        assert_eq!(count(Operation::Update), rmw);
    }
}
