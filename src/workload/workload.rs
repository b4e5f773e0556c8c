//! `Workload`: a parsed and validated workload file.

use std::time::Duration;

use serde::Serialize;

use super::distribution::{FieldLength, ScanLength};
use super::keys::InsertOrder;
use super::operation::{Operation, OperationMix};
use super::request::{KeyRange, RequestDistribution};
use crate::Durability;

/// A workload: a dataset, an operation mix, and how to run it. Every field is resolved: what
/// the file left out holds YCSB's default (or this project's, for its own keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Workload {
    /// The file's stem, e.g. `ycsb-a`.
    pub name: String,
    /// One line saying what the workload models.
    pub description: String,
    /// Documents loaded before the run (`recordcount`).
    pub record_count: u64,
    /// The first key number this client loads (`insertstart`): several clients split one
    /// load by each taking a range.
    pub insert_start: u64,
    /// How many keys this client loads (`insertcount`; all from `insertstart` on).
    pub insert_count: u64,
    /// How key numbers become ids (`insertorder`).
    pub insert_order: InsertOrder,
    /// Digits an id's number is zero-padded to (`zeropadding`).
    pub zero_padding: usize,
    /// Fields per record (`fieldcount`); a record is encoded into one document (see
    /// `encode_record`).
    pub field_count: usize,
    /// Field names are this and the field's number (`fieldnameprefix`).
    pub field_name_prefix: String,
    /// Length of each field's value (`fieldlength`, `fieldlengthdistribution`, ...).
    pub field_length: FieldLength,
    /// Whether a read asks for every field (`readallfields`). The store returns the whole
    /// document either way; it is recorded for the report.
    pub read_all_fields: bool,
    /// Whether an update writes every field (`writeallfields`); when not, it replaces one,
    /// which through a byte-oriented store is a read, the field replaced, and a write, timed
    /// together as the update.
    pub write_all_fields: bool,
    /// The collections keys are spread over (key number modulo their count).
    pub collections: Vec<String>,
    /// Operations in the measured run (`operationcount`); 0 runs only the load.
    pub operation_count: u64,
    /// The file's `operationcount`, when a minimum run length raised it (`storebench run
    /// --min-ops`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_count_in_file: Option<u64>,
    /// A time limit on the measured run (`maxexecutiontime`); with it, the run lasts this
    /// long whatever the operation count.
    pub max_execution_time: Option<Duration>,
    /// Operations run and discarded before measuring (`warmupoperationcount`).
    pub warmup_operation_count: u64,
    /// A warm-up by time instead (`warmuptime`, seconds).
    pub warmup_time: Option<Duration>,
    /// The operation mix (`readproportion`, ...), each proportion divided by their sum.
    pub mix: OperationMix,
    /// `insertproportion` as the file gives it (0 when it does not), before the division:
    /// what YCSB sizes the zipfian key range by.
    pub insert_proportion: f64,
    /// Which keys operations touch (`requestdistribution`, ...).
    pub request_distribution: RequestDistribution,
    /// Scan lengths.
    pub scan_length: ScanLength,
    /// Characters of an id used as the prefix of `scan-prefix` (`scanprefixlength`).
    pub scan_prefix_length: usize,
    /// Worker threads (`threadcount`).
    pub threads: usize,
    /// Operations per second over all threads (`target`); `None` runs closed-loop.
    pub target: Option<f64>,
    /// The run's seed: each thread draws from its own stream derived from it, so the same seed
    /// repeats every thread's operation sequence.
    pub seed: u64,
    /// Documents per `upsert_many` batch in the load phase (`loadbatchsize`).
    pub load_batch_size: usize,
    /// Properties the file gave that do not apply here (YCSB's `workload`, `db`, ...).
    pub ignored_properties: Vec<String>,
    /// Durability of the `automerge` and `redb` backends (`durability`); the `-durable`
    /// backends always use `every-write`.
    pub durability: Durability,
}

impl Workload {
    /// The key numbers requests draw from, as YCSB sizes them.
    pub(crate) fn key_range(&self) -> KeyRange {
        // YCSB's fudge factor of 2, truncated as its `int` cast truncates.
        let expected = self.operation_count as f64 * self.insert_proportion * 2.0;
        KeyRange {
            start: self.insert_start,
            count: self.insert_count,
            records: self.record_count,
            expected_inserts: expected as u64,
        }
    }

    /// Whether the mix holds an operation that needs an existing key.
    pub(crate) fn reads_existing(&self) -> bool {
        self.mix
            .proportions
            .iter()
            .any(|(op, p)| op.reads_existing() && *p > 0.0)
    }

    /// Whether the mix holds `op`.
    pub fn runs(&self, op: Operation) -> bool {
        self.mix.proportion(op) > 0.0
    }
}
