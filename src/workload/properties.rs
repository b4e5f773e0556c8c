//! YCSB's own workload files: Java properties (`key=value`), read into the same keys as a
//! TOML workload file, and the keys of either kind that YCSB has but that mean nothing here.

use std::collections::BTreeMap;
use std::path::Path;

use java_properties::{LineContent, PropertiesIter};
use toml::{Table, Value};

use super::workload::WorkloadError;

/// YCSB properties that do not apply to storebench: which binding class or database to load,
/// the table name (collections are `collections`), how YCSB exports and samples measurements
/// (storebench always keeps HdrHistograms and writes `report.json`), and retry settings of
/// YCSB's client loop. Accepted, never acted on, and listed in the report.
pub(crate) const IGNORED: &[&str] = &[
    "workload",
    "db",
    "table",
    "exporter",
    "exportfile",
    "measurementtype",
    "measurement.interval",
    "measurement.trackjvm",
    "measurement.raw.output_file",
    "measurement.raw.graph_output",
    "measurement.raw.no_summary",
    "histogram.buckets",
    "timeseries.granularity",
    "hdrhistogram.percentiles",
    "hdrhistogram.fileoutput",
    "hdrhistogram.output.path",
    "status",
    "status.interval",
    "readallfieldsbyname",
    "core_workload_insertion_retry_limit",
    "core_workload_insertion_retry_interval",
    "dotransactions",
    "dataintegrity",
];

/// A workload file's keys as a TOML table, whichever syntax it is in, and the keys of
/// [`IGNORED`] it gave, removed from the table.
pub(crate) struct Keys {
    pub table: Table,
    pub ignored: Vec<String>,
    /// The line each key was on, for properties files (TOML's parser reports its own).
    pub lines: BTreeMap<String, usize>,
}

/// Reads `text` as YCSB's Java properties. Values become TOML values by their look (an
/// integer, a number, `true`/`false`, else a string), dotted keys become tables
/// (`exponential.percentile`), and `fieldlengthhistogram` names a histogram file, read
/// relative to the workload file.
pub(crate) fn from_properties(text: &str, path: &Path) -> Result<Keys, WorkloadError> {
    let parse = |message: String| WorkloadError::Parse {
        path: path.to_owned(),
        message,
    };
    let mut keys = Keys {
        table: Table::new(),
        ignored: Vec::new(),
        lines: BTreeMap::new(),
    };
    for line in PropertiesIter::new(text.as_bytes()) {
        let line = line.map_err(|e| {
            let at = e
                .line_number()
                .map_or(String::new(), |l| format!("line {l}: "));
            parse(format!("{at}{e}"))
        })?;
        let number = line.line_number();
        let LineContent::KVPair(key, value) = line.consume_content() else {
            continue;
        };
        let value = value.trim();
        if key == "dataintegrity" && value == "true" {
            return Err(invalid(
                path,
                "dataintegrity",
                "true is not supported: storebench does not check the values it reads against \
                 the ones it wrote; remove it or set it to false",
            ));
        }
        if IGNORED.contains(&key.as_str()) {
            keys.ignored.push(format!("{key}={value}"));
            continue;
        }
        let value = if key == "fieldlengthhistogram" {
            histogram(path, value)?
        } else {
            typed(value)
        };
        keys.lines.insert(key.clone(), number);
        insert(&mut keys.table, &key, value).map_err(|e| parse(format!("line {number}: {e}")))?;
    }
    Ok(keys)
}

/// Splits a TOML table's keys of [`IGNORED`] off (dotted ones as their tables hold them).
pub(crate) fn from_toml(mut table: Table) -> Keys {
    let mut ignored = Vec::new();
    for &key in IGNORED {
        let mut parts = key.split('.');
        let first = parts.next().unwrap_or(key);
        let rest: Vec<&str> = parts.collect();
        let found = match rest.as_slice() {
            [] => table.remove(first),
            [second] => table
                .get_mut(first)
                .and_then(Value::as_table_mut)
                .and_then(|t| t.remove(*second)),
            _ => None,
        };
        if let Some(value) = found {
            ignored.push(format!("{key}={value}"));
        }
        if table
            .get(first)
            .and_then(Value::as_table)
            .is_some_and(Table::is_empty)
        {
            table.remove(first);
        }
    }
    Keys {
        table,
        ignored,
        lines: BTreeMap::new(),
    }
}

fn invalid(path: &Path, field: &'static str, message: &str) -> WorkloadError {
    WorkloadError::Invalid {
        path: path.to_owned(),
        field,
        message: message.to_owned(),
    }
}

/// A properties value as the TOML value it looks like.
fn typed(value: &str) -> Value {
    if let Ok(n) = value.parse::<i64>() {
        Value::Integer(n)
    } else if let Ok(x) = value.parse::<f64>() {
        Value::Float(x)
    } else if let Ok(b) = value.parse::<bool>() {
        Value::Boolean(b)
    } else {
        Value::String(value.to_owned())
    }
}

/// Sets `key` (dotted: nested tables) in `table`.
fn insert(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
            Ok(())
        }
        Some((first, rest)) => {
            let inner = table
                .entry(first)
                .or_insert_with(|| Value::Table(Table::new()));
            match inner {
                Value::Table(inner) => insert(inner, rest, value),
                _ => Err(format!("`{first}` is both a value and a group of keys")),
            }
        }
    }
}

/// YCSB's field-length histogram file, as `[[bytes, weight], ...]`: a first line
/// `BlockSize<TAB>n`, then `bucket<TAB>count` lines; bucket `i` is a length of `i × n`.
fn histogram(workload: &Path, file: &str) -> Result<Value, WorkloadError> {
    let at = workload.parent().unwrap_or(Path::new(".")).join(file);
    let bad = |why: String| WorkloadError::Invalid {
        path: workload.to_owned(),
        field: "fieldlengthhistogram",
        message: format!("{}: {why}", at.display()),
    };
    let text = std::fs::read_to_string(&at).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let block = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("BlockSize"))
        .and_then(|n| n.trim().parse::<i64>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| bad("the first line must be `BlockSize<TAB>n` with n > 0".into()))?;
    let mut buckets = Vec::new();
    for (i, line) in lines.enumerate() {
        let mut cols = line.split_whitespace();
        let parsed = (cols.next(), cols.next(), cols.next());
        let (Some(bucket), Some(count), None) = parsed else {
            return Err(bad(format!("line {}: not `bucket<TAB>count`", i + 2)));
        };
        let (Ok(bucket), Ok(count)) = (bucket.parse::<i64>(), count.parse::<f64>()) else {
            return Err(bad(format!("line {}: not `bucket<TAB>count`", i + 2)));
        };
        buckets.push(Value::Array(vec![
            Value::Integer(bucket.saturating_mul(block)),
            Value::Float(count),
        ]));
    }
    Ok(Value::Array(buckets))
}
