//! One worker thread: draws operations from the workload and times each against the backend.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::interrupt::interrupted;
use super::log::{OperationLog, java_map_order, plain_line, read_line, write_line};
use super::monitor::Transfer;
use super::progress::Progress;
use super::recorder::Recorder;
use super::timed::{Failure, Timed, quiet_caught_panics, timed, timed_value};
use crate::workload::{
    BadRecord, KeyChooser, KeySpace, LengthChooser, Operation, Rng, Workload, decode_record,
    encode_record, with_field, write_key,
};
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
    /// Random printable bytes that field values are cut from, as YCSB's are printable:
    /// generating a value costs one copy.
    value_source: Vec<u8>,
    /// `field0`, `field1`, ... (with the workload's prefix).
    field_names: Vec<String>,
    /// Where in `value_source` each field of the record being built is cut from.
    field_values: Vec<std::ops::Range<usize>>,
    key: String,
    /// The index of the current key's collection.
    table: usize,
    /// Where this worker's operations are logged, if anywhere, with the lines not yet
    /// written and the order YCSB prints a record's fields in.
    log: Option<&'a OperationLog>,
    lines: String,
    log_order: Vec<usize>,
    /// Logical bytes the operation being executed moved, taken by the recorder after it.
    moved: Transfer,
}

/// Log lines a worker gathers before writing them out under the log's lock.
const LOG_BUFFER: usize = 64 * 1024;

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
        // YCSB's RandomByteIterator: six bytes from each random 32-bit draw, each a space
        // plus 5, 6 or 7 bits of it masked by 31, 63 and 95 in turn (printable ASCII and
        // DEL). At least 64 KiB of it, so that a record's fields are not all cut from the
        // same few hundred bytes, which a compressing store would shrink unlike YCSB's.
        let source_len = (2 * max_value + 8).max(64 * 1024);
        let mut value_source = Vec::with_capacity(source_len + 6);
        while value_source.len() < source_len {
            let bits = rng.next_u64() as u32;
            for (i, mask) in [31u32, 63, 95, 31, 63, 95].into_iter().enumerate() {
                value_source.push(b' ' + ((bits >> (5 * i)) & mask) as u8);
            }
        }
        let field_names = (0..workload.field_count)
            .map(|i| format!("{}{i}", workload.field_name_prefix))
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
            field_names,
            field_values: Vec::new(),
            key: String::new(),
            table: 0,
            log: None,
            lines: String::new(),
            log_order: Vec::new(),
            moved: Transfer::default(),
        }
    }

    /// Logs every operation this worker issues to `log`.
    pub(crate) fn logging(mut self, log: Option<&'a OperationLog>) -> Self {
        self.log = log;
        self.log_order = java_map_order(&self.field_names);
        self
    }

    /// Writes out the gathered log lines: when there are many, and at the end of a phase.
    fn write_log(&mut self, force: bool) {
        if let Some(log) = self.log
            && (force || self.lines.len() >= LOG_BUFFER)
        {
            log.write(&self.lines);
            self.lines.clear();
        }
    }

    /// Logs `verb` (`INSERT`, `UPDATE`) of the current key with `record`'s fields, in YCSB's
    /// order.
    fn log_record(&mut self, verb: &str, record: &[u8]) {
        if self.log.is_none() {
            return;
        }
        let table = self.table();
        let fields = decode_record(record).unwrap_or_default();
        let ordered = self
            .log_order
            .iter()
            .filter_map(|&i| fields.get(i).copied());
        write_line(&mut self.lines, verb, table, &self.key, ordered);
    }

    /// Logs a read (or, with `length`, a scan) of the current key; `field` when one field is
    /// asked for.
    fn log_read(&mut self, length: Option<usize>, field: Option<usize>) {
        if self.log.is_some() {
            let table = self.table();
            let field = field.map(|f| self.field_names[f].as_str());
            read_line(&mut self.lines, table, &self.key, length, field);
        }
    }

    /// A field for a read to ask for, when it asks for one (`readallfields = false`): drawn
    /// whether or not anything logs it, so the random stream is the same either way.
    fn read_field(&mut self) -> Option<usize> {
        (!self.workload.read_all_fields)
            .then(|| self.rng.below(self.field_names.len() as u64) as usize)
    }

    /// Logs `verb` on the current collection, with the first `key_bytes` of the current key.
    fn log_plain(&mut self, verb: &str, key_bytes: Option<usize>) {
        if self.log.is_some() {
            let table = self.table();
            let key = key_bytes.map(|n| &self.key[..n]);
            plain_line(&mut self.lines, verb, table, key);
        }
    }

    /// Logs an update as YCSB sends it: one field, or the whole record.
    fn log_update(&mut self, update: &Update) {
        match update {
            Update::Record(record) => self.log_record("UPDATE", record),
            Update::Field(field, value) => {
                if self.log.is_some() {
                    let table = self.table();
                    let name = self.field_names[*field].as_str();
                    let value = &self.value_source[value.clone()];
                    write_line(&mut self.lines, "UPDATE", table, &self.key, [(name, value)]);
                }
            }
        }
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
            let op = self.workload.mix.choose(self.op_rng.unit());
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
        self.table = (n % self.collections.len() as u64) as usize;
        &self.collections[self.table]
    }

    /// The name of the collection the current key is in, as the workload names it.
    fn table(&self) -> &'a str {
        let workload: &'a Workload = self.workload;
        &workload.collections[self.table]
    }

    /// A field value of a drawn length.
    fn field_value(&mut self) -> std::ops::Range<usize> {
        let len = self.lengths.choose(&mut self.rng);
        let offset = self.rng.below((self.value_source.len() - len + 1) as u64) as usize;
        offset..offset + len
    }

    /// A whole record: every field, each of a drawn length.
    fn record(&mut self) -> Vec<u8> {
        // The ranges go into a buffer the worker keeps: a record costs one allocation, its own.
        let mut values = std::mem::take(&mut self.field_values);
        values.clear();
        for _ in 0..self.field_names.len() {
            let value = self.field_value();
            values.push(value);
        }
        let fields = self
            .field_names
            .iter()
            .zip(&values)
            .map(|(name, value)| (name.as_str(), &self.value_source[value.clone()]));
        let size = 1 + fields
            .clone()
            .map(|(n, v)| 1 + n.len() + 4 + v.len())
            .sum::<usize>();
        let mut record = Vec::with_capacity(size);
        encode_record(fields, &mut record);
        self.field_values = values;
        record
    }

    /// What an update writes (YCSB's `writeallfields`): a whole record, or one field drawn
    /// uniformly with its new value.
    fn update(&mut self) -> Update {
        if self.workload.write_all_fields || self.field_names.len() == 1 {
            // Replacing the only field is writing the whole record: no read needed.
            Update::Record(self.record())
        } else {
            let field = self.rng.below(self.field_names.len() as u64) as usize;
            Update::Field(field, self.field_value())
        }
    }

    /// The error of a read that returned bytes the workload never wrote.
    fn damaged(&self, e: BadRecord) -> crate::Error {
        let what = format!(
            "document {}: {e}, so the store changed what it was given",
            self.key
        );
        crate::Error::backend(self.table(), what)
    }

    /// Writes `update` to the current key of `c`: one field means reading the record first.
    /// `moved` counts the bytes read and written.
    fn write(&self, c: &Arc<dyn Collection>, update: Update, moved: &mut Transfer) -> Result<()> {
        match update {
            Update::Record(record) => {
                moved.wrote(&self.key, &record);
                c.upsert(&self.key, record)
            }
            Update::Field(field, value) => {
                let old = c.get(&self.key)?;
                if let Some(old) = &old {
                    moved.returned(&self.key, old);
                }
                let name = &self.field_names[field];
                let value = &self.value_source[value];
                let record =
                    with_field(old.as_deref(), name, value).map_err(|e| self.damaged(e))?;
                moved.wrote(&self.key, &record);
                c.upsert(&self.key, record)
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
                let field = self.read_field();
                self.log_read(None, field);
                let (value, timed) = timed_value(|| c.get(&self.key));
                if let Some(Some(value)) = &value {
                    self.moved.returned(&self.key, value);
                }
                timed
            }
            Operation::Update => {
                let update = self.update();
                let c = self.existing_key();
                self.log_update(&update);
                let mut moved = Transfer::default();
                let timed = timed(|| self.write(c, update, &mut moved));
                self.moved += moved;
                timed
            }
            Operation::Insert => {
                let n = self.keys.claim();
                let record = self.record();
                let c = self.key_for(n);
                self.log_record("INSERT", &record);
                self.moved.wrote(&self.key, &record);
                let result = timed(|| c.upsert(&self.key, record));
                self.keys.acknowledge(n);
                result
            }
            Operation::Scan => {
                let len = self.scan_lengths.choose(&mut self.rng);
                let c = self.existing_key();
                let field = self.read_field();
                self.log_read(Some(len), field);
                let (docs, timed) = timed_value(|| c.scan_range(&self.key, len));
                self.moved.returned_all(docs.as_deref().unwrap_or_default());
                timed
            }
            Operation::ReadModifyWrite => {
                let update = self.update();
                let c = self.existing_key();
                let field = self.read_field();
                self.log_read(None, field);
                self.log_update(&update);
                let (old, read) = timed_value(|| c.get(&self.key));
                if let Some(Some(old)) = &old {
                    self.moved.returned(&self.key, old);
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
                            &self.field_names[field],
                            &self.value_source[value],
                        )
                        .map_err(|e| self.damaged(e))?,
                    };
                    written.wrote(&self.key, &record);
                    c.upsert(&self.key, record)
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
                self.log_plain("DELETE", Some(self.key.len()));
                timed(|| c.delete(&self.key))
            }
            Operation::Find => {
                // A byte values are made of: any other would match nothing.
                let byte =
                    self.value_source[self.rng.below(self.value_source.len() as u64) as usize];
                let c = self.existing_key();
                self.log_plain("FIND", None);
                // The last byte: a record's first is its encoding version, the same in all.
                let (docs, timed) =
                    timed_value(|| c.find(Box::new(move |d| d.last() == Some(&byte))));
                self.moved.returned_all(docs.as_deref().unwrap_or_default());
                timed
            }
            Operation::Count => {
                self.table = self.rng.below(self.collections.len() as u64) as usize;
                let c = &self.collections[self.table];
                self.log_plain("COUNT", None);
                timed(|| c.count().map(black_box))
            }
            Operation::ScanPrefix => {
                let c = self.existing_key();
                let end = self
                    .key
                    .char_indices()
                    .nth(self.workload.scan_prefix_length)
                    .map_or(self.key.len(), |(i, _)| i);
                self.log_plain("SCANPREFIX", Some(end));
                let (docs, timed) = timed_value(|| c.scan_prefix(&self.key[..end]));
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
                let record = self.record();
                let c = self.key_for(batch.start);
                self.log_record("INSERT", &record);
                self.moved.wrote(&self.key, &record);
                (Operation::Insert, timed(|| c.upsert(&self.key, record)))
            } else {
                let mut per_collection: Vec<Vec<(String, Vec<u8>)>> =
                    vec![Vec::new(); ncollections];
                for n in batch {
                    let record = self.record();
                    let index = (n % ncollections as u64) as usize;
                    self.key_for(n);
                    self.log_record("INSERT", &record);
                    self.moved.wrote(&self.key, &record);
                    per_collection[index].push((self.key.clone(), record));
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

/// What an update writes.
enum Update {
    /// A whole record.
    Record(Vec<u8>),
    /// One field, by number, and its new value (a range of the worker's value source).
    Field(usize, std::ops::Range<usize>),
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
