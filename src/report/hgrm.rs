//! HdrHistogram's percentile-distribution text (`.hgrm`), as `outputPercentileDistribution`
//! writes it, so HdrHistogram's plotters read our histograms unchanged.

use std::fmt::Write;

use hdrhistogram::Histogram;

/// Values are recorded in nanoseconds and written in microseconds, as the `.hgrm` plotters
/// expect by default.
const NANOS_PER_MICRO: f64 = 1000.0;
/// Quantile steps per halving of the distance to 100%, as HdrHistogram's default.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The percentile distribution of `h` in HdrHistogram's text format.
pub(super) fn percentile_distribution(h: &Histogram<u64>) -> String {
    // The unit first, as a comment line the plotters skip.
    let mut out = String::from("#[Values in microseconds]\n");
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let value = v.value_iterated_to() as f64 / NANOS_PER_MICRO;
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:12.3} {q:2.12} {total:10} {:14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:12.3} {q:2.12} {total:10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / NANOS_PER_MICRO,
        h.stdev() / NANOS_PER_MICRO
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / NANOS_PER_MICRO,
        h.len()
    );
    // HdrHistogram's sub-bucket count: the power of two at or above 2 * 10^significant digits.
    let sub_buckets = (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two();
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets
    );
    out
}

/// The rows of a percentile distribution written by [`percentile_distribution`]: `(percentile
/// in percent, value in microseconds)`, in order.
///
/// # Errors
/// A row that is not two numbers and more, or no row at all: the file is not an `.hgrm`.
pub(crate) fn read_distribution(text: &str) -> Result<Vec<(f64, f64)>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let mut fields = line.split_whitespace().map(str::parse::<f64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(value)), Some(Ok(quantile))) if (0.0..=1.0).contains(&quantile) => {
                rows.push((quantile * 100.0, value));
            }
            _ => return Err(format!("line {} is not a value and a quantile", n + 1)),
        }
    }
    if rows.is_empty() {
        return Err("it holds no percentile".into());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        let mut h = crate::runner::new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).expect("in range");
        }
        let rows = read_distribution(&percentile_distribution(&h)).expect("an .hgrm");
        let median = rows.iter().find(|r| r.0 >= 50.0).expect("a median");
        assert!((499.0..=501.0).contains(&median.1), "{median:?}");
        assert_eq!(rows.last().map(|r| r.0), Some(100.0));
        assert!(read_distribution("#[nothing]\n").is_err());
        assert!(read_distribution("12.5 x 3\n").is_err());
    }

    #[test]
    fn ends_at_the_maximum_with_the_total_count() {
        let mut h = crate::runner::new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).expect("in range");
        }
        let text = percentile_distribution(&h);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let last = rows.last().expect("rows");
        assert!(last.contains("1.000000000000"), "{last}");
        assert!(last.trim_start().starts_with("1000."), "{last}");
        assert!(text.contains("Total count    =         1000"), "{text}");
    }
}
