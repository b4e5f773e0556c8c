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

/// How much of the unsynced writes a crash keeps (see [`PowerLoss`](crate::fault::PowerLoss)).
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

    /// Decodes a scenario from fuzzer bytes (the encoding is in the source of `check::op`), the
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

    /// One input of every operation, its arguments set in every field the encoding has, and
    /// out of range where the encoding takes them modulo: decoded field by field.
    #[test]
    fn an_input_decodes_as_the_encoding_says() {
        #[rustfmt::skip]
        let input = [
            0b0000_0111,            // subject 3, EveryWrite
            0x30, 5 | 9 << 3, 0x11, // upsert in collection 3: id 5, class 9, fill 0x11
            0x72, 10, 6 | 15 << 3, 0x22, // batch in collection 7 % 5, of 10 % 9 documents
            0x13, 0xfb,             // get in collection 1, id 0xfb & 7
            0x45, 0x0e,             // delete, id 6
            0x06,                   // scan
            0x27, 0x09,             // scan_prefix, id 1
            0x38, 2 | 6 << 3,       // scan_range from id 2, limit 6
            0x19, 0xab,             // find first byte 0xab
            0x2a, 0x0b, 0x0c, 0xcc, 0x0d, // count, list, flush, compact, reopen
            0x0e, 0xa5, 5 << 1 | 1, // power loss: mask 0xa5, the rest kept, tear 5
            0x0f, 40,               // fail in 40 % 32
        ];
        let decoded = Scenario::from_bytes(&input, Mix::Operations).expect("a header");
        let doc = |id, class, fill| (DocId(id), Value { class, fill });
        assert_eq!(decoded.subject, 3);
        assert_eq!(decoded.durability, Durability::EveryWrite);
        assert_eq!(
            decoded.ops,
            [
                Op::Upsert(
                    CollectionName(3),
                    DocId(5),
                    Value {
                        class: 9,
                        fill: 0x11
                    }
                ),
                Op::UpsertMany(CollectionName(2), Batch(vec![doc(6, 15, 0x22)])),
                Op::Get(CollectionName(1), DocId(3)),
                Op::Delete(CollectionName(4), DocId(6)),
                Op::Scan(CollectionName(0)),
                Op::ScanPrefix(CollectionName(2), DocId(1)),
                Op::ScanRange(CollectionName(3), DocId(2), 6),
                Op::Find(CollectionName(1), 0xab),
                Op::Count(CollectionName(2)),
                Op::ListCollections,
                Op::Flush,
                Op::Compact,
                Op::Reopen,
                Op::Crash(CrashPoint {
                    keep: 0xa5a5_a5a5_a5a5_a5a5,
                    keep_rest: true,
                    tear: 5,
                }),
                Op::FailIn(8),
            ]
        );
        // Encoded, indexes out of range come back modulo their ranges.
        let wide = Scenario::new(
            Durability::OnFlush,
            vec![
                Op::Upsert(
                    CollectionName(12),
                    DocId(13),
                    Value {
                        class: 250,
                        fill: 1,
                    },
                ),
                Op::Get(CollectionName(0), DocId(250)),
                Op::ScanRange(CollectionName(9), DocId(10), 250),
                Op::FailIn(240),
            ],
        );
        let narrow = Scenario::new(
            Durability::OnFlush,
            vec![
                Op::Upsert(CollectionName(2), DocId(5), Value { class: 10, fill: 1 }),
                Op::Get(CollectionName(0), DocId(2)),
                Op::ScanRange(CollectionName(4), DocId(2), 2),
                Op::FailIn(16),
            ],
        );
        assert_eq!(
            Scenario::from_bytes(&wide.to_bytes(Mix::Operations), Mix::Operations),
            Some(narrow)
        );
    }

    /// Lengths 0 to 39 bytes by threes, then 1 KB and 20 KB (several of redb's 4 KiB pages),
    /// the class taken modulo 16. Bytes vary along the value, so that a store that keeps a
    /// value's length and garbles its content is caught.
    #[test]
    fn a_value_class_picks_its_length_and_the_fill_its_bytes() {
        let lengths: Vec<usize> = (0..=16u8)
            .map(|class| Value { class, fill: 0 }.bytes().len())
            .collect();
        assert_eq!(
            lengths,
            [
                0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 1000, 20_000, 0
            ]
        );
        assert_eq!(
            Value { class: 2, fill: 5 }.bytes(),
            [5, 36, 67, 98, 129, 160]
        );
    }

    /// The header's top seven bits spread scenarios evenly over a target's bindings.
    #[test]
    fn the_subject_picks_each_binding_in_turn() {
        let picks = |n| -> Vec<usize> {
            (0..128u8)
                .map(|subject| {
                    Scenario {
                        subject,
                        ..Scenario::new(Durability::OnFlush, vec![])
                    }
                    .pick(n)
                })
                .collect()
        };
        for n in 1..=4 {
            let picks = picks(n);
            for binding in 0..n {
                let count = picks.iter().filter(|p| **p == binding).count();
                assert!(
                    count == 128 / n || count == 128 / n + 1,
                    "binding {binding} of {n}: {count} of 128"
                );
            }
            assert!(picks.is_sorted(), "{picks:?}");
        }
        let decoded = Scenario::from_bytes(&[0xff], Mix::Operations).expect("a header");
        assert_eq!(decoded.pick(2), 1);
    }

    /// A flush's tag with [`COMPACT_BITS`] set is a compaction; with any other top bits, a
    /// flush.
    #[test]
    fn a_flush_tag_with_the_compact_bits_is_a_compaction() {
        let flush = Mix::Operations.slot(Kind::Flush).expect("a flush slot");
        let ops = |high: u8| {
            Scenario::from_bytes(&[0, flush | high], Mix::Operations)
                .expect("a header")
                .ops
        };
        assert_eq!(ops(0), [Op::Flush]);
        assert_eq!(ops(0b0100_0000), [Op::Flush]);
        assert_eq!(ops(COMPACT_BITS), [Op::Compact]);
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
