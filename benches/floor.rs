//! The floor under the Automerge backend's writes: what keeping each write's change beside the
//! value costs in redb, whatever the code around it does.
//!
//! ```text
//! cargo bench --bench floor            # about a minute on two cores
//! cargo bench --bench floor -- --test  # tiny: checks the bench runs
//! ```
//!
//! Each row writes the same update-only stream (1,000 documents, uniform keys, 1.1 KiB values,
//! one open transaction committed without a sync every 4 MiB and with one at the end, as the
//! `OnFlush` batch does) straight into redb tables shaped as a layout would shape them:
//!
//! - `value in place`: one table, the value overwritten: what `RedbBackend` writes.
//! - `+ log by document` (format 2): the value, and the change appended under
//!   `(collection, id, seq)` with the heads beside it at the document's last key.
//! - `+ log by sequence` (format 3, where each chunk also carries the seq of its document's
//!   chunk before it): the change appended under one global sequence, so that appends fill the
//!   last leaf, the heads in a table of their own; `indexed by document` adds what finding a
//!   document's changes would take without those links, an index from `(collection, id, seq)`
//!   to that sequence.
//! - `+ log in segments`: the changes gathered and written as one 64 KiB value, the cheapest a
//!   log inside redb can be.
//!
//! and then the two backends themselves on the same stream. Rows take turns, five rounds, and
//! each row's median counts; ratios are to `value in place` in the same run. The change is a
//! real Automerge change of a 1.1 KiB value (its length measured, its bytes filler): the cost
//! of building it (`Change::from`, SHA-256) is the backend rows' alone.

use std::path::Path;
use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use redb::{Database, Durability as RedbDurability, TableDefinition};
use storebench::{AutomergeBackend, Durability, OpenOptions, RedbBackend, StorageBackend};

const VALUE: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("value");
const LOG_BY_DOC: TableDefinition<(u64, &str, u64), &[u8]> = TableDefinition::new("log_by_doc");
const LOG_BY_SEQ: TableDefinition<u64, &[u8]> = TableDefinition::new("log_by_seq");
const HEADS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("heads");
const INDEX: TableDefinition<(u64, &str, u64), u64> = TableDefinition::new("index");

const VALUE_BYTES: usize = 1100;
/// About what the Automerge backend keeps as a document's heads.
const HEADS_BYTES: usize = 150;
const BATCH_BYTES: usize = 4 << 20;
const SEGMENT_BYTES: usize = 64 << 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    InPlace,
    LogByDoc,
    LogBySeq,
    LogBySeqIndexed,
    LogInSegments,
    RedbBackend,
    AutomergeBackend,
}

const ROWS: [(Row, &str); 7] = [
    (Row::InPlace, "value in place"),
    (Row::LogByDoc, "+ log by document (format 2)"),
    (Row::LogBySeq, "+ log by sequence (format 3)"),
    (
        Row::LogBySeqIndexed,
        "+ log by sequence, indexed by document",
    ),
    (Row::LogInSegments, "+ log in 64 KiB segments"),
    (Row::RedbBackend, "RedbBackend"),
    (Row::AutomergeBackend, "AutomergeBackend"),
];

struct Scale {
    docs: usize,
    ops: usize,
    rounds: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let test_mode = std::env::args().any(|a| a == "--test");
    let scale = if test_mode {
        Scale {
            docs: 50,
            ops: 500,
            rounds: 1,
        }
    } else {
        Scale {
            docs: 1000,
            ops: 50_000,
            rounds: 5,
        }
    };
    let change_bytes = change_len();
    println!(
        "update-only, {} documents, {} updates, values of {VALUE_BYTES} B, changes of \
         {change_bytes} B; rows take turns, {} rounds",
        scale.docs, scale.ops, scale.rounds
    );
    let mut rates = vec![Vec::new(); ROWS.len()];
    let mut sizes = vec![0u64; ROWS.len()];
    for round in 0..scale.rounds {
        for (i, (row, _)) in ROWS.iter().enumerate() {
            let dir = tempfile::tempdir()?;
            let (rate, size) = measure(*row, dir.path(), &scale, change_bytes)?;
            rates[i].push(rate);
            sizes[i] = size;
        }
        eprintln!("round {} of {} done", round + 1, scale.rounds);
    }
    let medians: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
    println!("| layout | ops/s (median) | / value in place | file |");
    println!("|---|---:|---:|---:|");
    for (i, (_, name)) in ROWS.iter().enumerate() {
        println!(
            "| {name} | {:.0} | {:.2}x | {:.1} MiB |",
            medians[i],
            medians[i] / medians[0],
            sizes[i] as f64 / 1_048_576.0
        );
    }
    Ok(())
}

/// The length of an Automerge change that puts a value of `VALUE_BYTES` under `data`.
fn change_len() -> usize {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "data", vec![b'x'; VALUE_BYTES])
        .expect("a put");
    doc.commit();
    doc.get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .len()
}

fn id(n: usize) -> String {
    format!(
        "user{:019}",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 10_000_000_000_000_000_000
    )
}

/// One row's run: operations per second, and the file's size after it.
fn measure(
    row: Row,
    dir: &Path,
    scale: &Scale,
    change_bytes: usize,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let ids: Vec<String> = (0..scale.docs).map(id).collect();
    let path = dir.join("floor.redb");
    let mut keys = Keys(0x2545_f491_4f6c_dd1d);
    let value = vec![b'v'; VALUE_BYTES];
    let rate = match row {
        Row::RedbBackend | Row::AutomergeBackend => {
            let options = OpenOptions::new().durability(Durability::OnFlush);
            match row {
                Row::RedbBackend => {
                    let store = RedbBackend::open(&path, options)?;
                    let rate = updates(&store, &ids, &mut keys, &value, scale.ops)?;
                    store.close()?;
                    rate
                }
                _ => {
                    let store = AutomergeBackend::open(&path, options)?;
                    let rate = updates(&store, &ids, &mut keys, &value, scale.ops)?;
                    store.close()?;
                    rate
                }
            }
        }
        _ => {
            let db = Database::builder().set_cache_size(64 << 20).create(&path)?;
            let mut log = Log::new(row, change_bytes);
            let txn = db.begin_write()?;
            for id in &ids {
                log.write(&txn, id, &value)?;
            }
            txn.commit()?;
            let started = Instant::now();
            let mut txn = db.begin_write()?;
            let mut held = 0;
            for _ in 0..scale.ops {
                log.write(&txn, &ids[keys.next(scale.docs)], &value)?;
                held += VALUE_BYTES + change_bytes;
                if held >= BATCH_BYTES {
                    let mut full = txn;
                    full.set_durability(RedbDurability::None)?;
                    full.commit()?;
                    txn = db.begin_write()?;
                    held = 0;
                }
            }
            log.finish(&txn)?;
            txn.commit()?;
            scale.ops as f64 / started.elapsed().as_secs_f64()
        }
    };
    Ok((rate, std::fs::metadata(&path)?.len()))
}

/// Loads every document into `store`, then times `ops` updates: operations per second.
fn updates(
    store: &dyn StorageBackend,
    ids: &[String],
    keys: &mut Keys,
    value: &[u8],
    ops: usize,
) -> storebench::Result<f64> {
    let docs = store.collection("usertable");
    for id in ids {
        docs.upsert(id, value.to_vec())?;
    }
    store.flush()?;
    let started = Instant::now();
    for _ in 0..ops {
        docs.upsert(&ids[keys.next(ids.len())], value.to_vec())?;
    }
    store.flush()?;
    Ok(ops as f64 / started.elapsed().as_secs_f64())
}

/// Writes one update as a layout shapes it.
struct Log {
    row: Row,
    change: Vec<u8>,
    heads: Vec<u8>,
    /// Per document, its last seq (`LogByDoc`).
    seqs: std::collections::HashMap<String, u64>,
    /// The last global seq (`LogBySeq`, `LogInSegments`).
    seq: u64,
    /// Changes gathered for the next segment.
    segment: Vec<u8>,
}

impl Log {
    fn new(row: Row, change_bytes: usize) -> Self {
        Self {
            row,
            change: vec![b'c'; change_bytes],
            heads: vec![b'h'; HEADS_BYTES],
            seqs: std::collections::HashMap::new(),
            seq: 0,
            segment: Vec::with_capacity(SEGMENT_BYTES),
        }
    }

    fn write(
        &mut self,
        txn: &redb::WriteTransaction,
        id: &str,
        value: &[u8],
    ) -> Result<(), redb::Error> {
        txn.open_table(VALUE)?.insert((1, id), value)?;
        match self.row {
            Row::LogByDoc => {
                let seq = self.seqs.entry(id.to_owned()).or_default();
                *seq += 1;
                let mut log = txn.open_table(LOG_BY_DOC)?;
                log.insert((1, id, *seq), self.change.as_slice())?;
                log.insert((1, id, u64::MAX), self.heads.as_slice())?;
            }
            Row::LogBySeq | Row::LogBySeqIndexed => {
                self.seq += 1;
                txn.open_table(LOG_BY_SEQ)?
                    .insert(self.seq, self.change.as_slice())?;
                txn.open_table(HEADS)?
                    .insert((1, id), self.heads.as_slice())?;
                if self.row == Row::LogBySeqIndexed {
                    let doc_seq = self.seqs.entry(id.to_owned()).or_default();
                    *doc_seq += 1;
                    txn.open_table(INDEX)?.insert((1, id, *doc_seq), self.seq)?;
                }
            }
            Row::LogInSegments => {
                self.segment.extend_from_slice(&self.change);
                if self.segment.len() >= SEGMENT_BYTES {
                    self.finish(txn)?;
                }
                txn.open_table(HEADS)?
                    .insert((1, id), self.heads.as_slice())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes the segment gathered so far, if any.
    fn finish(&mut self, txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
        if !self.segment.is_empty() {
            self.seq += 1;
            txn.open_table(LOG_BY_SEQ)?
                .insert(self.seq, self.segment.as_slice())?;
            self.segment.clear();
        }
        Ok(())
    }
}

/// Uniform key numbers from a fixed seed (xorshift), the same stream for every row.
struct Keys(u64);

impl Keys {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
