//! The operation model shared by the fuzz targets and the property tests: every trait
//! operation plus flush, reopen, power loss and injected failures, over small collection and
//! id spaces so that operations collide.

use arbitrary::{Arbitrary, Unstructured};

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

impl<'a> Arbitrary<'a> for CollectionName {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.int_in_range(0..=(COLLECTIONS.len() - 1) as u8)?))
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

impl<'a> Arbitrary<'a> for DocId {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.int_in_range(0..=(IDS.len() - 1) as u8)?))
    }
}

/// A value, described compactly so inputs stay small: a length class and a fill byte.
/// Lengths are skewed small (0–39 bytes), with rare 1 KB and 20 KB values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
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

impl<'a> Arbitrary<'a> for Batch {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=MAX_BATCH)?;
        (0..len)
            .map(|_| Ok((DocId::arbitrary(u)?, Value::arbitrary(u)?)))
            .collect::<arbitrary::Result<_>>()
            .map(Batch)
    }
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
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
        match self {
            Op::Upsert(c, ..)
            | Op::UpsertMany(c, _)
            | Op::Get(c, _)
            | Op::Delete(c, _)
            | Op::Scan(c)
            | Op::ScanPrefix(c, _)
            | Op::ScanRange(c, ..)
            | Op::Find(c, _)
            | Op::Count(c) => Some(c.name()),
            Op::ListCollections | Op::Flush | Op::Reopen | Op::Crash(_) | Op::FailIn(_) => None,
        }
    }
}

/// How much of the unsynced writes a crash keeps (see [`PowerLoss`](super::PowerLoss)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub struct CrashPoint {
    /// Which unsynced mutations survive.
    pub keep: u64,
    /// Whether those past the 64th survive.
    pub keep_rest: bool,
    /// Tear of the last kept write.
    pub tear: u8,
}

/// A whole input: which binding, its durability, and the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Picks the binding when a target checks several: see [`pick`](Self::pick).
    pub subject: u32,
    /// The durability mode, when the binding offers it (else its preferred mode).
    pub durability: Durability,
    /// At most [`MAX_OPS`] operations.
    pub ops: Vec<Op>,
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

    /// Which of `n` bindings the scenario runs on (the mapping `arbitrary` uses for an enum, so
    /// inputs written when the subject was an enum of two decode as they did).
    pub fn pick(&self, n: usize) -> usize {
        ((u64::from(self.subject) * n as u64) >> 32) as usize
    }

    /// Decodes a scenario from fuzzer bytes. `faults` keeps `Crash` and `FailIn`; without it they
    /// become `Reopen` and are dropped, for the purely differential target.
    pub fn from_bytes(data: &[u8], faults: bool) -> arbitrary::Result<Scenario> {
        let mut u = Unstructured::new(data);
        let subject = u32::arbitrary(&mut u)?;
        let durability = if bool::arbitrary(&mut u)? {
            Durability::EveryWrite
        } else {
            Durability::OnFlush
        };
        let mut ops = Vec::new();
        while ops.len() < MAX_OPS && !u.is_empty() {
            let op = Op::arbitrary(&mut u)?;
            match op {
                Op::Crash(_) if !faults => ops.push(Op::Reopen),
                Op::FailIn(_) if !faults => {}
                op => ops.push(op),
            }
        }
        Ok(Scenario {
            subject,
            durability,
            ops,
        })
    }

    /// A scenario drawn from `seed` alone, as [`from_bytes`](Self::from_bytes) decodes
    /// `bytes` pseudo-random bytes: for checks a test names by a number.
    pub fn from_seed(seed: u64, bytes: usize, faults: bool) -> Scenario {
        let mut rng = crate::workload::Rng::new(seed, 0);
        let data: Vec<u8> = (0..bytes).map(|_| rng.next_u64() as u8).collect();
        // Decoding stops cleanly where bytes run out; it fails only on empty input.
        Scenario::from_bytes(&data, faults)
            .unwrap_or_else(|_| Scenario::new(Durability::OnFlush, Vec::new()))
    }
}
