//! The operation model shared by the fuzz targets and the property tests: every trait
//! operation plus flush, reopen, power loss and injected failures, over small collection and
//! id spaces so that operations collide.
//!
//! # Input encoding
//!
//! A fuzz input is read a byte at a time, so that a mutation of one byte changes one thing and
//! a minute of fuzzing reaches scenarios of dozens of operations:
//!
//! - byte 0: bit 0 the durability (set: `EveryWrite`), bits 1–7 the binding
//!   ([`Scenario::pick`]);
//! - then one operation after another until the input ends or [`MAX_OPS`] are read: a tag byte
//!   whose low four bits name the operation in the [`Mix`]'s table and whose high four bits the
//!   collection ([`COLLECTIONS`], modulo), then the operation's arguments:
//!   a document is one byte (bits 0–2 the id in [`IDS`], bits 3–6 the value's length class), a
//!   value's fill one byte, a batch one byte of length then its documents, a `scan_range` one
//!   byte (id, and the limit in bits 3–5), a power loss two bytes (which of the unsynced writes
//!   survive, as a mask repeated over all 64; then bit 0 whether those past the 64th do, and the
//!   rest the tear).
//!
//! An input that ends inside an operation reads zeros for what is missing.
//! [`Scenario::to_bytes`] writes this encoding, so seeds are made from scenarios.

use crate::Durability;

/// Collection names, hostile ones included: empty, nested-looking, with a NUL.
pub const COLLECTIONS: [&str; 5] = ["", "a", "a:b", "a/b", "a\0"];
/// Document ids, hostile ones included.
pub const IDS: [&str; 8] = ["", "a", "a:b", "ab", "b", "é", "a\0", "zz"];
/// At most this many operations per input: run time does not grow with input size.
pub const MAX_OPS: usize = 64;
/// At most this many documents per `upsert_many`.
pub const MAX_BATCH: usize = 8;

/// A collection, by index into [`COLLECTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionName(pub u8);

impl CollectionName {
    /// The name.
    pub fn name(self) -> &'static str {
        COLLECTIONS[usize::from(self.0) % COLLECTIONS.len()]
    }
}

/// A document id, by index into [`IDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocId(pub u8);

impl DocId {
    /// The id.
    pub fn id(self) -> &'static str {
        IDS[usize::from(self.0) % IDS.len()]
    }
}

/// A value, described compactly so inputs stay small: a length class and a fill byte.
/// Lengths are skewed small (0–39 bytes), with rare 1 KB and 20 KB values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Length class.
    pub class: u8,
    /// Seeds the bytes.
    pub fill: u8,
}

impl Value {
    /// The bytes.
    pub fn bytes(self) -> Vec<u8> {
        let len = match self.class % 16 {
            14 => 1000,
            15 => 20_000,
            c => usize::from(c) * 3,
        };
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(self.fill))
            .collect()
    }
}

/// A batch for `upsert_many`: at most [`MAX_BATCH`] documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch(pub Vec<(DocId, Value)>);

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `upsert`.
    Upsert(CollectionName, DocId, Value),
    /// `upsert_many`.
    UpsertMany(CollectionName, Batch),
    /// `get`.
    Get(CollectionName, DocId),
    /// `delete`.
    Delete(CollectionName, DocId),
    /// `scan`.
    Scan(CollectionName),
    /// `scan_prefix` with an id as the prefix.
    ScanPrefix(CollectionName, DocId),
    /// `scan_range` from an id, for up to `limit % 8` documents.
    ScanRange(CollectionName, DocId, u8),
    /// `find` of documents whose first byte is this one.
    Find(CollectionName, u8),
    /// `count`.
    Count(CollectionName),
    /// `list_collections`.
    ListCollections,
    /// `flush`.
    Flush,
    /// The store's compaction ([`Handle::compact`](crate::binding::Handle::compact)), which
    /// makes every write durable as a flush does; a flush for a store without one.
    Compact,
    /// `close`, then open the same disk again.
    Reopen,
    /// Power loss: the process and the machine die; reopen from what reached the disk.
    Crash(CrashPoint),
    /// Arm the disk to fail its n-th mutating call from now (`n % 32`).
    FailIn(u8),
}

impl Op {
    /// The collection the operation names, if any.
    pub fn collection(&self) -> Option<&'static str> {
        self.collection_name().map(CollectionName::name)
    }

    /// The documents the operation writes: an upsert's, a batch's.
    pub fn documents(&self) -> Vec<DocId> {
        match self {
            Op::Upsert(_, id, _) => vec![*id],
            Op::UpsertMany(_, batch) => batch.0.iter().map(|(id, _)| *id).collect(),
            _ => Vec::new(),
        }
    }

    fn collection_name(&self) -> Option<CollectionName> {
        match self {
            Op::Upsert(c, ..)
            | Op::UpsertMany(c, _)
            | Op::Get(c, _)
            | Op::Delete(c, _)
            | Op::Scan(c)
            | Op::ScanPrefix(c, _)
            | Op::ScanRange(c, ..)
            | Op::Find(c, _)
            | Op::Count(c) => Some(*c),
            Op::ListCollections
            | Op::Flush
            | Op::Compact
            | Op::Reopen
            | Op::Crash(_)
            | Op::FailIn(_) => None,
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Op::Upsert(..) => Kind::Upsert,
            Op::UpsertMany(..) => Kind::UpsertMany,
            Op::Get(..) => Kind::Get,
            Op::Delete(..) => Kind::Delete,
            Op::Scan(_) => Kind::Scan,
            Op::ScanPrefix(..) => Kind::ScanPrefix,
            Op::ScanRange(..) => Kind::ScanRange,
            Op::Find(..) => Kind::Find,
            Op::Count(_) => Kind::Count,
            Op::ListCollections => Kind::ListCollections,
            // A compaction is a flush whose tag has COMPACT_BITS set.
            Op::Flush | Op::Compact => Kind::Flush,
            Op::Reopen => Kind::Reopen,
            Op::Crash(_) => Kind::Crash,
            Op::FailIn(_) => Kind::FailIn,
        }
    }
}

/// The top bits of a flush's tag that make it a compaction (where other operations name their
/// collection).
const COMPACT_BITS: u8 = 0b1100_0000;

/// How much of the unsynced writes a crash keeps (see [`PowerLoss`](super::PowerLoss)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    /// Which unsynced mutations survive.
    pub keep: u64,
    /// Whether those past the 64th survive.
    pub keep_rest: bool,
    /// Tear of the last kept write.
    pub tear: u8,
}

/// Which operations a tag byte names: each target weighs them its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Mostly the storage operations, with every fault now and then: the differential target.
    Operations,
    /// Flushes, power losses and injected failures as often as writes: the crash-recovery
    /// target.
    Faults,
    /// No power loss or injected failure (their slots are a second flush and a second reopen):
    /// for the crash check by process death, which brings its own.
    NoFaults,
}

/// The operation kinds, as a tag's low four bits name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Upsert,
    UpsertMany,
    Get,
    Delete,
    Scan,
    ScanPrefix,
    ScanRange,
    Find,
    Count,
    ListCollections,
    Flush,
    Reopen,
    Crash,
    FailIn,
}

/// The tables, a tag's low four bits indexing them.
#[rustfmt::skip]
const OPERATIONS: [Kind; 16] = [
    Kind::Upsert, Kind::Upsert, Kind::UpsertMany, Kind::Get,
    Kind::Get, Kind::Delete, Kind::Scan, Kind::ScanPrefix,
    Kind::ScanRange, Kind::Find, Kind::Count, Kind::ListCollections,
    Kind::Flush, Kind::Reopen, Kind::Crash, Kind::FailIn,
];
#[rustfmt::skip]
const FAULTS: [Kind; 16] = [
    Kind::Upsert, Kind::Upsert, Kind::UpsertMany, Kind::UpsertMany,
    Kind::Get, Kind::Delete, Kind::Delete, Kind::Scan,
    Kind::Count, Kind::Flush, Kind::Flush, Kind::Reopen,
    Kind::Crash, Kind::Crash, Kind::FailIn, Kind::FailIn,
];
/// [`OPERATIONS`] with a flush and a reopen where the faults were.
const NO_FAULTS: [Kind; 16] = {
    let mut table = OPERATIONS;
    table[14] = Kind::Flush;
    table[15] = Kind::Reopen;
    table
};

impl Mix {
    fn table(self) -> &'static [Kind; 16] {
        match self {
            Mix::Operations => &OPERATIONS,
            Mix::Faults => &FAULTS,
            Mix::NoFaults => &NO_FAULTS,
        }
    }

    /// The tag's low four bits for `kind` (its first slot in the table), if this mix has it.
    fn slot(self, kind: Kind) -> Option<u8> {
        self.table()
            .iter()
            .position(|k| *k == kind)
            .map(|i| i as u8)
    }
}

/// A whole input: which binding, its durability, and the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Picks the binding when a target checks several: see [`pick`](Self::pick).
    pub subject: u8,
    /// The durability mode, when the binding offers it (else its preferred mode).
    pub durability: Durability,
    /// At most [`MAX_OPS`] operations.
    pub ops: Vec<Op>,
}

/// Reads an input a byte at a time; zeros once it is used up.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// A document: its id and its value's length class in one byte, then the value's fill.
    fn document(&mut self) -> (DocId, Value) {
        let b = self.byte();
        let (id, class) = (b & 7, (b >> 3) & 15);
        (
            DocId(id),
            Value {
                class,
                fill: self.byte(),
            },
        )
    }
}

fn document_byte(id: DocId, class: u8) -> u8 {
    (id.0 % 8) | ((class % 16) << 3)
}

impl Scenario {
    /// A scenario of `ops` for the first binding of a list.
    pub fn new(durability: Durability, ops: Vec<Op>) -> Self {
        Self {
            subject: 0,
            durability,
            ops,
        }
    }

    /// Which of `n` bindings the scenario runs on.
    pub fn pick(&self, n: usize) -> usize {
        usize::from(self.subject % 128) * n / 128
    }

    /// Decodes a scenario from fuzzer bytes (see the [module](self) for the encoding), the
    /// operations weighed as `mix` says. `None` for an empty input.
    pub fn from_bytes(data: &[u8], mix: Mix) -> Option<Scenario> {
        let (&header, rest) = data.split_first()?;
        let mut input = Reader(rest);
        let mut ops = Vec::new();
        while ops.len() < MAX_OPS && !input.0.is_empty() {
            let tag = input.byte();
            let c = CollectionName((tag >> 4) % COLLECTIONS.len() as u8);
            let op = match mix.table()[usize::from(tag & 15)] {
                Kind::Upsert => {
                    let (id, value) = input.document();
                    Op::Upsert(c, id, value)
                }
                Kind::UpsertMany => {
                    let len = usize::from(input.byte()) % (MAX_BATCH + 1);
                    Op::UpsertMany(c, Batch((0..len).map(|_| input.document()).collect()))
                }
                Kind::Get => Op::Get(c, DocId(input.byte() & 7)),
                Kind::Delete => Op::Delete(c, DocId(input.byte() & 7)),
                Kind::Scan => Op::Scan(c),
                Kind::ScanPrefix => Op::ScanPrefix(c, DocId(input.byte() & 7)),
                Kind::ScanRange => {
                    let b = input.byte();
                    Op::ScanRange(c, DocId(b & 7), (b >> 3) & 7)
                }
                Kind::Find => Op::Find(c, input.byte()),
                Kind::Count => Op::Count(c),
                Kind::ListCollections => Op::ListCollections,
                Kind::Flush if tag & COMPACT_BITS == COMPACT_BITS => Op::Compact,
                Kind::Flush => Op::Flush,
                Kind::Reopen => Op::Reopen,
                Kind::Crash => {
                    let (mask, flags) = (input.byte(), input.byte());
                    Op::Crash(CrashPoint {
                        keep: u64::from(mask) * 0x0101_0101_0101_0101,
                        keep_rest: flags & 1 == 1,
                        tear: flags >> 1,
                    })
                }
                Kind::FailIn => Op::FailIn(input.byte() % 32),
            };
            ops.push(op);
        }
        Some(Scenario {
            subject: header >> 1,
            durability: if header & 1 == 1 {
                Durability::EveryWrite
            } else {
                Durability::OnFlush
            },
            ops,
        })
    }

    /// The bytes [`from_bytes`](Self::from_bytes) decodes with `mix` to this scenario: each
    /// field as the encoding keeps it (a crash's `keep` by its low byte, indexes modulo their
    /// ranges). Operations `mix` does not have are left out.
    pub fn to_bytes(&self, mix: Mix) -> Vec<u8> {
        let durable = u8::from(self.durability == Durability::EveryWrite);
        let mut out = vec![(self.subject << 1) | durable];
        for op in &self.ops {
            let Some(slot) = mix.slot(op.kind()) else {
                continue;
            };
            let high = match op.collection_name() {
                Some(c) => (c.0 % COLLECTIONS.len() as u8) << 4,
                None if *op == Op::Compact => COMPACT_BITS,
                None => 0,
            };
            out.push(slot | high);
            match op {
                Op::Upsert(_, id, value) => {
                    out.extend([document_byte(*id, value.class), value.fill]);
                }
                Op::UpsertMany(_, batch) => {
                    let docs = &batch.0[..batch.0.len().min(MAX_BATCH)];
                    out.push(docs.len() as u8);
                    for (id, value) in docs {
                        out.extend([document_byte(*id, value.class), value.fill]);
                    }
                }
                Op::Get(_, id) | Op::Delete(_, id) | Op::ScanPrefix(_, id) => out.push(id.0 % 8),
                Op::ScanRange(_, id, limit) => out.push(document_byte(*id, limit % 8)),
                Op::Find(_, b) => out.push(*b),
                Op::Crash(point) => out.extend([
                    point.keep as u8,
                    u8::from(point.keep_rest) | (point.tear << 1),
                ]),
                Op::FailIn(n) => out.push(n % 32),
                Op::Scan(_)
                | Op::Count(_)
                | Op::ListCollections
                | Op::Flush
                | Op::Compact
                | Op::Reopen => {}
            }
        }
        out
    }

    /// A scenario drawn from `seed` alone, as [`from_bytes`](Self::from_bytes) decodes
    /// `bytes` pseudo-random bytes: for checks a test names by a number.
    pub fn from_seed(seed: u64, bytes: usize, mix: Mix) -> Scenario {
        let mut rng = crate::workload::Rng::new(seed, 0);
        let data: Vec<u8> = (0..bytes.max(1)).map(|_| rng.next_u64() as u8).collect();
        Scenario::from_bytes(&data, mix).expect("a non-empty input decodes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decoded_scenario_encodes_back_to_its_bytes() {
        for mix in [Mix::Operations, Mix::Faults, Mix::NoFaults] {
            for seed in 0..200 {
                let scenario = Scenario::from_seed(seed, 300, mix);
                let bytes = scenario.to_bytes(mix);
                assert_eq!(
                    Scenario::from_bytes(&bytes, mix),
                    Some(scenario),
                    "{mix:?} {seed}"
                );
            }
        }
    }

    #[test]
    fn an_operation_costs_a_few_bytes() {
        let scenario = Scenario::from_seed(7, 400, Mix::Operations);
        assert_eq!(
            scenario.ops.len(),
            MAX_OPS,
            "400 bytes hold more than {MAX_OPS} operations"
        );
        let upsert = Op::Upsert(CollectionName(1), DocId(2), Value { class: 3, fill: 4 });
        let one = Scenario::new(Durability::OnFlush, vec![upsert]);
        assert_eq!(one.to_bytes(Mix::Operations).len(), 1 + 3);
    }
}
