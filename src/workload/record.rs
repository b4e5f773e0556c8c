//! Records: YCSB's rows of named fields, encoded into the bytes a [`Collection`] stores.
//!
//! Encoding, version 1 (what a store under test sees, and what a tool reading its files can
//! decode):
//!
//! ```text
//! record = 0x01 field*
//! field  = name_len:u8 name value_len:u32le value
//! ```
//!
//! Fields appear in the order of their names' numbers (`field0`, `field1`, ...). A record with
//! fewer fields than the workload's `fieldcount` is one an update created where no record was.
//!
//! [`Collection`]: crate::Collection

/// The first byte of every record this version writes.
pub(super) const RECORD_VERSION: u8 = 1;

/// Appends an encoded record of `fields` (name, value) to `out`.
///
/// # Panics
/// If a name is longer than 255 bytes (validation keeps `fieldnameprefix` short) or a value
/// longer than `u32::MAX`.
pub(crate) fn encode_record<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    out: &mut Vec<u8>,
) {
    out.push(RECORD_VERSION);
    for (name, value) in fields {
        push_field(name, value, out);
    }
}

fn push_field(name: &str, value: &[u8], out: &mut Vec<u8>) {
    let name_len = u8::try_from(name.len()).expect("field names are at most 255 bytes");
    let value_len = u32::try_from(value.len()).expect("field values are under 4 GiB");
    out.push(name_len);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&value_len.to_le_bytes());
    out.extend_from_slice(value);
}

/// The fields of an encoded record, in order.
///
/// # Errors
/// [`BadRecord`] for bytes that are not a version-1 record.
pub(crate) fn decode_record(record: &[u8]) -> Result<Vec<(&str, &[u8])>, BadRecord> {
    let Some((&RECORD_VERSION, mut rest)) = record.split_first() else {
        return Err(BadRecord);
    };
    let mut fields = Vec::new();
    while let Some((&name_len, after)) = rest.split_first() {
        let (name, after) = split(after, usize::from(name_len))?;
        let (len, after) = split(after, 4)?;
        let len = u32::from_le_bytes(len.try_into().map_err(|_| BadRecord)?) as usize;
        let (value, after) = split(after, len)?;
        fields.push((std::str::from_utf8(name).map_err(|_| BadRecord)?, value));
        rest = after;
    }
    Ok(fields)
}

fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), BadRecord> {
    (at <= bytes.len())
        .then(|| bytes.split_at(at))
        .ok_or(BadRecord)
}

/// `record` with field `name` set to `value` (added, in name order, when it is missing); no
/// record (`None`) becomes a record of that field alone.
///
/// # Errors
/// [`BadRecord`] when `record` is not a record this version encodes: a store that returns
/// other bytes than it was given has damaged them, and that is not hidden by a rewrite.
pub(crate) fn with_field(
    record: Option<&[u8]>,
    name: &str,
    value: &[u8],
) -> Result<Vec<u8>, BadRecord> {
    let fields = match record {
        Some(record) => decode_record(record)?,
        None => Vec::new(),
    };
    let capacity = record.map_or(1, <[u8]>::len) + 1 + name.len() + 4 + value.len();
    let mut out = Vec::with_capacity(capacity);
    out.push(RECORD_VERSION);
    let mut written = false;
    for (n, v) in fields {
        match field_order(n, name) {
            std::cmp::Ordering::Less => push_field(n, v, &mut out),
            std::cmp::Ordering::Equal => {
                push_field(name, value, &mut out);
                written = true;
            }
            std::cmp::Ordering::Greater => {
                if !written {
                    push_field(name, value, &mut out);
                    written = true;
                }
                push_field(n, v, &mut out);
            }
        }
    }
    if !written {
        push_field(name, value, &mut out);
    }
    Ok(out)
}

/// Names ordered by their trailing number (`field2` before `field10`), then as text.
fn field_order(a: &str, b: &str) -> std::cmp::Ordering {
    let number = |s: &str| {
        let digits = s.len() - s.bytes().rev().take_while(u8::is_ascii_digit).count();
        s[digits..].parse::<u64>().ok()
    };
    number(a).cmp(&number(b)).then_with(|| a.cmp(b))
}

/// Bytes that are not a record this version encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadRecord;

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a version-{RECORD_VERSION} storebench record")
    }
}

impl std::error::Error for BadRecord {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_one_field_is_replaced_in_place() {
        let mut record = Vec::new();
        let fields: [(&str, &[u8]); 3] = [("field0", b"aa"), ("field1", b""), ("field2", b"cc")];
        encode_record(fields, &mut record);
        assert_eq!(record[0], RECORD_VERSION);
        assert_eq!(decode_record(&record), Ok(fields.to_vec()));

        let updated = with_field(Some(&record), "field1", b"new").expect("a record");
        let expected: Vec<(&str, &[u8])> =
            vec![("field0", b"aa"), ("field1", b"new"), ("field2", b"cc")];
        assert_eq!(decode_record(&updated), Ok(expected));
        assert_eq!(updated.len(), record.len() + 3);
    }

    #[test]
    fn a_missing_field_or_record_is_created() {
        let mut record = Vec::new();
        encode_record([("field2", &b"x"[..]), ("field10", b"y")], &mut record);
        let added = with_field(Some(&record), "field3", b"z").expect("a record");
        let names: Vec<&str> = decode_record(&added)
            .expect("a record")
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(names, ["field2", "field3", "field10"]);
        let fresh = with_field(None, "field4", b"v").expect("no record to decode");
        assert_eq!(decode_record(&fresh), Ok(vec![("field4", &b"v"[..])]));
        assert_eq!(with_field(Some(b"damaged"), "field4", b"v"), Err(BadRecord));
    }

    #[test]
    fn damaged_records_are_refused() {
        let mut record = Vec::new();
        encode_record([("field0", &b"abc"[..])], &mut record);
        for bad in [
            &[][..],
            &[2u8][..],
            &record[..record.len() - 1],
            &record[..3],
        ] {
            assert_eq!(decode_record(bad), Err(BadRecord), "{bad:?}");
        }
    }
}
