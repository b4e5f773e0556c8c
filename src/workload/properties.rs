//! YCSB's own workload files: Java properties (`key=value`), read into the same keys as a
//! TOML workload file, and the keys of either kind that YCSB has but that mean nothing here.

use std::collections::BTreeMap;
use std::path::Path;

use java_properties::{LineContent, PropertiesIter};
use toml::{Table, Value};

use super::error::WorkloadError;

/// YCSB properties that do not apply to storebench: which binding class or database to load,
/// the table name (collections are `collections`), YCSB's status output, and retry settings of
/// YCSB's client loop. Accepted, never acted on, and listed in the report. So is
/// `dataintegrity` when false; true is refused, as storebench does not check read values.
const IGNORED: &[&str] = &[
    "workload",
    "db",
    "table",
    "exporter",
    "exportfile",
    "measurementtype",
    "status",
    "readallfieldsbyname",
    "dotransactions",
    "core_workload_insertion_retry_limit",
    "core_workload_insertion_retry_interval",
    "dataintegrity",
    // YCSB's client-side keys of `workloads/workload_template`: a database's column family,
    // and which error codes its client reports latencies for (storebench times every failure
    // apart, always).
    "columnfamily",
    "reportlatencyforeacherror",
    "latencytrackederrors",
];

/// Families of YCSB properties, by the part before the first dot, that configure how YCSB
/// samples and exports measurements or reports status: storebench always keeps HdrHistograms
/// and writes `report.json`.
const IGNORED_FAMILIES: &[&str] = &[
    "measurement",
    "histogram",
    "hdrhistogram",
    "timeseries",
    "status",
];

/// Whether `key` (dotted) is one [`IGNORED`] or of an [`IGNORED_FAMILIES`] family.
fn ignored(key: &str) -> bool {
    match key.split_once('.') {
        None => IGNORED.contains(&key),
        Some((family, _)) => IGNORED_FAMILIES.contains(&family),
    }
}

/// Refuses `dataintegrity = true` (in any case, as Java's `parseBoolean` reads it).
fn check_data_integrity(path: &Path, key: &str, value: &str) -> Result<(), WorkloadError> {
    if key == "dataintegrity" && value.trim().eq_ignore_ascii_case("true") {
        return Err(invalid(
            path,
            "dataintegrity",
            "true is not supported: storebench does not check the values it reads against \
             the ones it wrote; remove it or set it to false",
        ));
    }
    Ok(())
}

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
        check_data_integrity(path, &key, value)?;
        if ignored(&key) {
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

/// Sets `overrides` (YCSB's `-p key=value`) over `keys`, after the file's own: an ignored key
/// is listed as ignored, any other set as a properties file would set it.
///
/// # Errors
/// For `dataintegrity=true`, or a key that is both a value and a group of keys.
pub(crate) fn apply(
    keys: &mut Keys,
    overrides: &[(String, String)],
    path: &Path,
) -> Result<(), WorkloadError> {
    for (key, value) in overrides {
        check_data_integrity(path, key, value)?;
        if ignored(key) {
            keys.ignored.push(format!("{key}={value}"));
            continue;
        }
        // The file's line no longer holds the value in force.
        keys.lines.remove(key);
        insert(&mut keys.table, key, typed(value)).map_err(|e| WorkloadError::Parse {
            path: path.to_owned(),
            message: format!("-p {key}={value}: {e}"),
        })?;
    }
    Ok(())
}

/// Splits the ignored keys off a TOML table: those of [`IGNORED`], and whole tables of an
/// [`IGNORED_FAMILIES`] family, listed leaf by leaf.
///
/// # Errors
/// For `dataintegrity = true`.
pub(crate) fn from_toml(mut table: Table, path: &Path) -> Result<Keys, WorkloadError> {
    if let Some(value) = table.get("dataintegrity") {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        check_data_integrity(path, "dataintegrity", &text)?;
    }
    let mut ignored_keys = Vec::new();
    let top: Vec<String> = table.keys().cloned().collect();
    for key in top {
        let is_table = table.get(&key).is_some_and(Value::is_table);
        let drop = if is_table {
            IGNORED_FAMILIES.contains(&key.as_str())
        } else {
            ignored(&key)
        };
        if drop && let Some(value) = table.remove(&key) {
            leaves(&key, &value, &mut ignored_keys);
        }
    }
    Ok(Keys {
        table,
        ignored: ignored_keys,
        lines: BTreeMap::new(),
    })
}

/// `key=value` for every leaf under `key`, dotted.
fn leaves(key: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Table(table) => {
            for (k, v) in table {
                leaves(&format!("{key}.{k}"), v, out);
            }
        }
        Value::String(s) => out.push(format!("{key}={s}")),
        other => out.push(format!("{key}={other}")),
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
/// `BlockSize<TAB>n`, then `bucket<TAB>count` lines numbering the buckets from 0 without a gap;
/// bucket `i` is a length of `(i + 1) × n`, as YCSB's `HistogramGenerator` draws it.
fn histogram(workload: &Path, file: &str) -> Result<Value, WorkloadError> {
    let at = workload.parent().unwrap_or(Path::new(".")).join(file);
    let bad = |why: String| WorkloadError::Invalid {
        path: workload.to_owned(),
        field: "fieldlengthhistogram",
        message: format!("{}: {why}", at.display()),
    };
    let text = std::fs::read_to_string(&at).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let block = lines
        .next()
        .and_then(|(_, l)| l.strip_prefix("BlockSize"))
        .and_then(|n| n.trim().parse::<i64>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| bad("the first line must be `BlockSize<TAB>n` with n > 0".into()))?;
    let mut buckets = Vec::new();
    for (number, line) in lines {
        let mut cols = line.split_whitespace();
        let parsed = match (cols.next(), cols.next(), cols.next()) {
            (Some(bucket), Some(count), None) => {
                bucket.parse::<i64>().ok().zip(count.parse::<f64>().ok())
            }
            _ => None,
        };
        let Some((bucket, count)) = parsed else {
            return Err(bad(format!("line {number}: not `bucket<TAB>count`")));
        };
        if bucket != buckets.len() as i64 {
            return Err(bad(format!(
                "line {number}: bucket {bucket} where bucket {} comes next (from 0, no gaps)",
                buckets.len()
            )));
        }
        buckets.push(Value::Array(vec![
            Value::Integer((bucket + 1).saturating_mul(block)),
            Value::Float(count),
        ]));
    }
    Ok(Value::Array(buckets))
}
