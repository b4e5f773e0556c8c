//! HdrHistogram interval logs (`.hlog`), readable by HdrHistogram's log analysers.

use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

/// An interval log holding `h` as one interval covering the whole run, tagged `tag`.
pub(super) fn interval_log(
    h: &Histogram<u64>,
    started: SystemTime,
    duration: Duration,
    tag: &str,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("storebench latency, nanoseconds")
        .with_start_time(started)
        .with_base_time(started)
        // Seconds on the max column, as the Java tools expect, from nanosecond values.
        .with_max_value_divisor(1e9)
        .begin_log_with(&mut out, &mut serializer)?;
    log.write_histogram(h, Duration::ZERO, duration, Tag::new(tag))
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    drop(log);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn the_log_reads_back_one_tagged_interval() {
        let mut h = crate::runner::new_histogram();
        h.record(1500).expect("in range");
        let bytes = interval_log(&h, SystemTime::UNIX_EPOCH, Duration::from_secs(3), "read")
            .expect("written");
        let intervals: Vec<_> = IntervalLogIterator::new(&bytes)
            .filter_map(|e| match e {
                Ok(LogEntry::Interval(i)) => {
                    Some((i.tag().map(|t| t.as_str().to_owned()), i.duration()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            intervals,
            [(Some("read".to_owned()), Duration::from_secs(3))]
        );
    }
}
