//! The operation log: every operation the workload issues, one line each as YCSB's `BasicDB`
//! prints what it receives (`READ usertable user6284781860667377211 [ <all fields>]`), so an
//! operation stream can be read, diffed, or set beside YCSB's own.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use crate::workload::decode_record;

/// Where log lines go: standard output or a file, shared by every worker thread.
pub struct OperationLog {
    out: Mutex<Out>,
}

struct Out {
    writer: BufWriter<Box<dyn Write + Send>>,
    /// The first failed write: kept for [`OperationLog::flush`] rather than stopping a run.
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for OperationLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperationLog")
    }
}

impl OperationLog {
    /// Lines to standard output.
    pub fn stdout() -> Self {
        Self::to(Box::new(std::io::stdout()))
    }

    /// Lines to a new file at `path` (an existing one is replaced).
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn file(path: &Path) -> std::io::Result<Self> {
        Ok(Self::to(Box::new(std::fs::File::create(path)?)))
    }

    fn to(out: Box<dyn Write + Send>) -> Self {
        Self {
            out: Mutex::new(Out {
                writer: BufWriter::with_capacity(1 << 20, out),
                error: None,
            }),
        }
    }

    /// Appends `lines` (each ending in a newline). A failed write is dropped here and shows
    /// at [`flush`](Self::flush).
    pub(crate) fn write(&self, lines: &str) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if out.error.is_none()
            && let Err(e) = out.writer.write_all(lines.as_bytes())
        {
            out.error = Some(e);
        }
    }

    /// Writes out what is buffered.
    ///
    /// # Errors
    /// The first write error, if any write failed.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        match out.error.take() {
            Some(e) => Err(e),
            None => out.writer.flush(),
        }
    }
}

/// Log lines a worker gathers before writing them out under the log's lock.
const LOG_BUFFER: usize = 64 * 1024;

/// One worker's lines for the log, gathered and written out in blocks, its records' fields in
/// YCSB's order.
pub(crate) struct WorkerLog<'a> {
    log: &'a OperationLog,
    lines: String,
    /// The order YCSB prints a record's fields in.
    order: Vec<usize>,
}

impl<'a> WorkerLog<'a> {
    pub(crate) fn new(log: &'a OperationLog, field_names: &[String]) -> Self {
        Self {
            log,
            lines: String::new(),
            order: java_map_order(field_names),
        }
    }

    /// `verb` (`INSERT`, `UPDATE`) of `key` with `record`'s fields.
    pub(crate) fn record(&mut self, verb: &str, table: &str, key: &str, record: &[u8]) {
        let fields = decode_record(record).unwrap_or_default();
        let ordered = self.order.iter().filter_map(|&i| fields.get(i).copied());
        write_line(&mut self.lines, verb, table, key, ordered);
    }

    /// An update of one field of `key`.
    pub(crate) fn field(&mut self, table: &str, key: &str, name: &str, value: &[u8]) {
        write_line(&mut self.lines, "UPDATE", table, key, [(name, value)]);
    }

    /// A read (or, with `length`, a scan) of `key`; `field` when one field is asked for.
    pub(crate) fn read(
        &mut self,
        table: &str,
        key: &str,
        length: Option<usize>,
        field: Option<&str>,
    ) {
        read_line(&mut self.lines, table, key, length, field);
    }

    /// `verb` on a collection, with `key` when it names one.
    pub(crate) fn plain(&mut self, verb: &str, table: &str, key: Option<&str>) {
        plain_line(&mut self.lines, verb, table, key);
    }

    /// Writes out the gathered lines: when there are many, or with `all`, every one (at the
    /// end of a phase).
    pub(crate) fn write_out(&mut self, all: bool) {
        if all || self.lines.len() >= LOG_BUFFER {
            self.log.write(&self.lines);
            self.lines.clear();
        }
    }
}

/// The order Java's `HashMap` gives these keys, put in order: by bucket of the spread
/// `String.hashCode`, in a table doubled from 16 while more than 3/4 full, then by insertion
/// (a resize keeps each bucket's order). YCSB builds each record as such a map, and BasicDB
/// prints its fields in this order.
pub(crate) fn java_map_order(names: &[String]) -> Vec<usize> {
    let hash = |name: &str| {
        let h = name
            .encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
            as u32;
        h ^ (h >> 16)
    };
    let mut capacity = 16usize;
    while names.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| (hash(&names[i]) as usize & (capacity - 1), i));
    order
}

/// Appends a BasicDB line for a read or scan: `READ table key [ <all fields>]` or with one
/// named field, `[ field3 ]`. `length` makes it a scan.
pub(crate) fn read_line(
    out: &mut String,
    table: &str,
    key: &str,
    length: Option<usize>,
    field: Option<&str>,
) {
    out.push_str(if length.is_some() { "SCAN " } else { "READ " });
    out.push_str(table);
    out.push(' ');
    out.push_str(key);
    if let Some(length) = length {
        out.push(' ');
        out.push_str(itoa::Buffer::new().format(length));
    }
    match field {
        None => out.push_str(" [ <all fields>]\n"),
        Some(field) => {
            out.push_str(" [ ");
            out.push_str(field);
            out.push_str(" ]\n");
        }
    }
}

/// Appends `INSERT table key [ f=v f=v ]` or `UPDATE ...`.
pub(crate) fn write_line<'a>(
    out: &mut String,
    verb: &str,
    table: &str,
    key: &str,
    fields: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) {
    out.push_str(verb);
    out.push(' ');
    out.push_str(table);
    out.push(' ');
    out.push_str(key);
    out.push_str(" [ ");
    for (name, value) in fields {
        out.push_str(name);
        out.push('=');
        // Values are printable ASCII (see the worker's value source).
        out.push_str(&String::from_utf8_lossy(value));
        out.push(' ');
    }
    out.push_str("]\n");
}

/// Appends `VERB table [key]`, for deletes and this project's own operations.
pub(crate) fn plain_line(out: &mut String, verb: &str, table: &str, key: Option<&str>) {
    out.push_str(verb);
    out.push(' ');
    out.push_str(table);
    if let Some(key) = key {
        out.push(' ');
        out.push_str(key);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_in_javas_hash_map_order() {
        let names: Vec<String> = (0..10).map(|i| format!("field{i}")).collect();
        let order: Vec<&str> = java_map_order(&names)
            .into_iter()
            .map(|i| names[i].as_str())
            .collect();
        assert_eq!(
            order,
            [
                "field1", "field0", "field7", "field6", "field9", "field8", "field3", "field2",
                "field5", "field4"
            ]
        );
    }

    #[test]
    fn lines_are_basicdbs() {
        let mut out = String::new();
        read_line(&mut out, "usertable", "user6284781860667377211", None, None);
        read_line(&mut out, "usertable", "user1", Some(57), None);
        read_line(&mut out, "usertable", "user1", None, Some("field3"));
        write_line(
            &mut out,
            "UPDATE",
            "usertable",
            "user1",
            [("field4", &b"ab"[..])],
        );
        plain_line(&mut out, "DELETE", "usertable", Some("user1"));
        assert_eq!(
            out,
            "READ usertable user6284781860667377211 [ <all fields>]\n\
             SCAN usertable user1 57 [ <all fields>]\n\
             READ usertable user1 [ field3 ]\n\
             UPDATE usertable user1 [ field4=ab ]\n\
             DELETE usertable user1\n"
        );
    }
}
