//! The operations a workload mixes, and how one is drawn.

use serde::{Deserialize, Serialize};

/// One kind of operation a workload runs. The names are YCSB's where YCSB has the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// `get` of an existing id.
    Read,
    /// `upsert` of an existing id with a new value.
    Update,
    /// `upsert` of a new id, growing the key space.
    Insert,
    /// `scan_range` from an existing id, for a drawn length.
    Scan,
    /// `get` then `upsert` of the same id, timed as one operation.
    ReadModifyWrite,
    /// `delete` of an existing id.
    Delete,
    /// `find` with a predicate on the last byte of the document.
    Find,
    /// `count` of a collection.
    Count,
    /// `scan_prefix` with the first characters of an existing id.
    ScanPrefix,
    /// A batch of the load phase, through `upsert_many`.
    Load,
}

impl Operation {
    /// Every operation a mix may hold, in report order.
    pub const MIX: [Operation; 9] = [
        Operation::Read,
        Operation::Update,
        Operation::Insert,
        Operation::Scan,
        Operation::ReadModifyWrite,
        Operation::Delete,
        Operation::Find,
        Operation::Count,
        Operation::ScanPrefix,
    ];

    /// The kebab-case name used in reports and file names.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Insert => "insert",
            Operation::Scan => "scan",
            Operation::ReadModifyWrite => "read-modify-write",
            Operation::Delete => "delete",
            Operation::Find => "find",
            Operation::Count => "count",
            Operation::ScanPrefix => "scan-prefix",
            Operation::Load => "load",
        }
    }

    /// Whether the operation needs an id that already exists.
    pub fn reads_existing(self) -> bool {
        !matches!(self, Operation::Insert | Operation::Count | Operation::Load)
    }
}

/// The operation mix: each operation with its proportion; the proportions sum to 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationMix {
    /// Operations with a non-zero proportion, in [`Operation::MIX`] order.
    pub proportions: Vec<(Operation, f64)>,
}

impl OperationMix {
    /// Draws an operation from a uniform `u` in `[0, 1)`.
    pub fn choose(&self, u: f64) -> Operation {
        let mut cumulative = 0.0;
        for &(op, p) in &self.proportions {
            cumulative += p;
            if u < cumulative {
                return op;
            }
        }
        // Rounding can leave the sum a hair under 1.
        self.proportions
            .last()
            .map_or(Operation::Read, |&(op, _)| op)
    }

    /// The proportion of `op` (0 when absent).
    pub fn proportion(&self, op: Operation) -> f64 {
        self.proportions
            .iter()
            .find(|(o, _)| *o == op)
            .map_or(0.0, |&(_, p)| p)
    }
}
