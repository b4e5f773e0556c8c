//! A phase's resource series as the report keeps it: columns in integer units, and the totals
//! derived from their last entries (write and read amplification, CPU time per operation).

use std::time::Duration;

use super::schema::Resources;
use crate::runner::ResourceSeries;

impl Resources {
    /// The report's form of `series`.
    pub(crate) fn from_series(series: &ResourceSeries) -> Resources {
        let micros = |column: &Option<Vec<Duration>>| {
            column.as_ref().map(|c| c.iter().map(|d| as_u64(d.as_micros())).collect())
        };
        let (cpu_user_us, cpu_system_us) = (micros(&series.cpu_user), micros(&series.cpu_system));
        let last = |column: &Option<Vec<u64>>| column.as_ref().and_then(|c| c.last().copied());
        let logical = series.last_logical();
        let cpu_us = last(&cpu_user_us).zip(last(&cpu_system_us)).map(|(u, s)| u + s);
        Resources {
            interval_ms: as_u64(series.interval.as_millis()),
            elapsed_ms: series
                .elapsed
                .iter()
                .map(|d| as_u64(d.as_millis()))
                .collect(),
            operations: series
                .operations
                .iter()
                .map(|(op, column)| (op.name().to_owned(), column.clone()))
                .collect(),
            logical_write_bytes: series.logical.iter().map(|t| t.written).collect(),
            logical_read_bytes: series.logical.iter().map(|t| t.read).collect(),
            write_amplification: ratio(last(&series.device_write_bytes), logical.written),
            read_amplification: ratio(last(&series.device_read_bytes), logical.read),
            cpu_us_per_operation: ratio(cpu_us, series.last_operations()),
            cpu_user_us,
            cpu_system_us,
            rss_bytes: series.rss_bytes.clone(),
            device_write_bytes: series.device_write_bytes.clone(),
            device_read_bytes: series.device_read_bytes.clone(),
            store_bytes: series.store_bytes.clone(),
        }
    }
}

/// `part / whole`, when there is a part and a whole to divide by.
fn ratio(part: Option<u64>, whole: u64) -> Option<f64> {
    part.filter(|_| whole > 0).map(|p| p as f64 / whole as f64)
}

fn as_u64(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::runner::Transfer;
    use crate::workload::Operation;

    fn series() -> ResourceSeries {
        let ms = Duration::from_millis;
        ResourceSeries {
            interval: ms(250),
            elapsed: vec![ms(0), ms(250), ms(310)],
            operations: BTreeMap::from([
                (Operation::Read, vec![0, 40, 50]),
                (Operation::Update, vec![0, 30, 50]),
            ]),
            logical: vec![
                Transfer::default(),
                Transfer {
                    written: 1000,
                    read: 1000,
                },
                Transfer {
                    written: 2000,
                    read: 4000,
                },
            ],
            cpu_user: Some(vec![ms(0), ms(20), ms(30)]),
            cpu_system: Some(vec![ms(0), ms(5), ms(20)]),
            rss_bytes: Some(vec![1, 2, 3]),
            device_read_bytes: Some(vec![0, 0, 0]),
            device_write_bytes: Some(vec![0, 4096, 8192]),
            store_bytes: Some(vec![100, 200, 300]),
        }
    }

    #[test]
    fn totals_are_the_last_samples_ratios() {
        let r = Resources::from_series(&series());
        assert_eq!(r.write_amplification, Some(8192.0 / 2000.0));
        assert_eq!(r.read_amplification, Some(0.0), "every read from the cache");
        // 50 ms of CPU over 100 operations.
        assert_eq!(r.cpu_us_per_operation, Some(500.0));
        assert_eq!(r.elapsed_ms, [0, 250, 310]);
        assert_eq!(r.cpu_system_us, Some(vec![0, 5000, 20000]));
        assert_eq!(r.operations["read"], [0, 40, 50]);
        assert_eq!(r.interval_ms, 250);
    }

    #[test]
    fn no_ratio_without_both_sides() {
        let mut s = series();
        s.device_write_bytes = None;
        s.logical = vec![Transfer::default(); 3];
        s.operations.clear();
        let r = Resources::from_series(&s);
        assert_eq!(r.write_amplification, None, "no device figures");
        assert_eq!(r.read_amplification, None, "nothing read");
        assert_eq!(r.cpu_us_per_operation, None, "no operations");
    }
}
