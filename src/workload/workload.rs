//! `Workload`: a parsed and validated workload file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::distribution::{FieldLength, ScanLength};
use super::file::WorkloadFile;
use super::keys::InsertOrder;
use super::operation::{Operation, OperationMix};
use super::properties;
use super::request::{KeyRange, RequestDistribution};
use super::unknown;
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
    /// [`encode_record`](super::encode_record)).
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

/// A workload file that cannot be used, and why.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkloadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type; the
    /// message gives the line and column.
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// A field has a value the workload cannot run with.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, by its key in the file.
        field: &'static str,
        /// What is wrong and what would be right.
        message: String,
    },
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Io { path, source } => {
                write!(
                    f,
                    "{}: cannot read the workload file: {source}",
                    path.display()
                )
            }
            WorkloadError::Parse { path, message } => write!(f, "{}: {message}", path.display()),
            WorkloadError::Invalid {
                path,
                field,
                message,
            } => {
                write!(f, "{}: `{field}`: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for WorkloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkloadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Refuses a table with keys no workload has, naming all of them at once, in line order.
fn unknown(
    table: &toml::Table,
    path: &Path,
    line_of: impl Fn(&str) -> Option<usize>,
) -> Result<(), WorkloadError> {
    match unknown::unknown_keys(table, line_of) {
        None => Ok(()),
        Some(message) => Err(WorkloadError::Parse {
            path: path.to_owned(),
            message,
        }),
    }
}

impl Workload {
    /// Reads and validates a workload file; its name is the file's stem. A `.toml` file is
    /// TOML; any other is YCSB's Java properties (`workloads/workloada` runs unchanged).
    ///
    /// # Errors
    /// [`WorkloadError`] naming the file and the line, column or field at fault.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, WorkloadError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| "workload".into(), |s| s.to_string_lossy().into_owned());
        if path.extension().is_some_and(|e| e == "toml") {
            Self::from_toml(&name, &text, path)
        } else {
            Self::from_properties(&name, &text, path)
        }
    }

    /// Parses and validates workload TOML; `path` only names the source in errors.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_toml(name: &str, text: &str, path: &Path) -> Result<Self, WorkloadError> {
        Self::from_toml_overridden(name, text, path, &[])
    }

    /// As [`from_toml`](Self::from_toml), with `overrides` (`key`, `value`) set over the
    /// file's keys as YCSB's `-p key=value` sets them: values are read as in a properties file
    /// (an integer, a number, `true`/`false`, else a string), and dotted keys name nested ones.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_toml_overridden(
        name: &str,
        text: &str,
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<Self, WorkloadError> {
        let parse = |e: toml::de::Error| WorkloadError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut keys = properties::from_toml(toml::from_str(text).map_err(parse)?, path)?;
        properties::apply(&mut keys, overrides, path)?;
        unknown(&keys.table, path, |key| unknown::toml_line(text, key))?;
        let file: WorkloadFile = if keys.ignored.is_empty() && overrides.is_empty() {
            // From the text, not the table, so that an error keeps its line and column.
            toml::from_str(text).map_err(parse)?
        } else {
            keys.table.try_into().map_err(parse)?
        };
        let mut workload = super::validate::validate(name, file, path)?;
        workload.ignored_properties = keys.ignored;
        Ok(workload)
    }

    /// Parses and validates a YCSB workload file in Java properties syntax; `path` names the
    /// source in errors, and a `fieldlengthhistogram` file is read relative to it.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file); `dataintegrity=true`, which storebench cannot honour,
    /// is refused.
    pub fn from_properties(name: &str, text: &str, path: &Path) -> Result<Self, WorkloadError> {
        Self::from_properties_overridden(name, text, path, &[])
    }

    /// As [`from_properties`](Self::from_properties), with `overrides` set over the file's
    /// keys, as YCSB's `-p key=value` sets them.
    ///
    /// # Errors
    /// As [`from_properties`](Self::from_properties).
    pub fn from_properties_overridden(
        name: &str,
        text: &str,
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<Self, WorkloadError> {
        let mut keys = properties::from_properties(text, path)?;
        properties::apply(&mut keys, overrides, path)?;
        unknown(&keys.table, path, |key| keys.lines.get(key).copied())?;
        let file: WorkloadFile = keys.table.try_into().map_err(|e: toml::de::Error| {
            let message = e.to_string();
            // The table has no lines; the key the message names first does.
            let line = message
                .split('`')
                .skip(1)
                .step_by(2)
                .find_map(|key| keys.lines.get(key))
                .map_or(String::new(), |line| format!("line {line}: "));
            WorkloadError::Parse {
                path: path.to_owned(),
                message: format!("{line}{}", message.trim()),
            }
        })?;
        let mut workload = super::validate::validate(name, file, path)?;
        workload.ignored_properties = keys.ignored;
        Ok(workload)
    }

    /// The key numbers requests draw from, as YCSB sizes them.
    pub fn key_range(&self) -> KeyRange {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Workload, WorkloadError> {
        Workload::from_toml("t", text, Path::new("t.toml"))
    }

    #[test]
    fn an_empty_file_gets_ycsb_defaults() {
        let w = parse("").expect("valid");
        assert_eq!(w.record_count, 1000);
        assert_eq!(w.operation_count, 1000);
        assert_eq!(w.mix.proportion(Operation::Read), 0.95);
        assert_eq!(w.mix.proportion(Operation::Update), 0.05);
        assert_eq!(w.field_count, 10);
        assert_eq!(w.field_length, FieldLength::Constant { bytes: 100 });
        assert!(w.read_all_fields && !w.write_all_fields);
        assert_eq!(w.request_distribution, RequestDistribution::Uniform);
        assert_eq!(
            (w.insert_start, w.insert_count, w.zero_padding),
            (0, 1000, 1)
        );
        assert_eq!(w.collections, ["usertable"]);
    }

    #[test]
    fn exponential_takes_ycsb_dotted_keys_or_a_table() {
        for text in [
            "requestdistribution = \"exponential\"\nexponential.percentile = 90\n",
            "requestdistribution = \"exponential\"\n[exponential]\npercentile = 90\n",
        ] {
            let w = parse(text).expect("valid");
            assert_eq!(
                w.request_distribution,
                RequestDistribution::Exponential {
                    percentile: 90.0,
                    frac: 0.8571428571
                }
            );
        }
        assert!(
            parse("[exponential]\npercentil = 90\n").is_err(),
            "unknown keys in the table too"
        );
    }

    #[test]
    fn errors_name_the_field_or_the_line() {
        let text = parse("hotspotdatafraction = 2.0\nrequestdistribution = \"hotspot\"\n")
            .expect_err("out of range")
            .to_string();
        assert!(
            text.contains("`hotspotdatafraction`") && text.contains("t.toml"),
            "{text}"
        );
        let text = parse("\n\nseed = \"one\"\n")
            .expect_err("wrong type")
            .to_string();
        assert!(text.contains("line 3"), "{text}");
        let text = parse("minscanlength = 10\nmaxscanlength = 5\n")
            .expect_err("min > max")
            .to_string();
        assert!(text.contains("`minscanlength`"), "{text}");
    }

    #[test]
    fn a_load_only_workload_needs_no_mix() {
        let w = parse(
            "recordcount = 0\nreadproportion = 0\nupdateproportion = 0\ninsertproportion = 1.0\n",
        )
        .expect("inserts alone are fine");
        assert!(!w.reads_existing());
    }
}
