//! A phase's resource series as the report keeps it: columns in integer units, and the totals
//! derived from their last entries (write and read amplification, CPU time per operation).

use std::time::Duration;

use super::schema::{ResourceTotals, Resources};
use crate::runner::ResourceSeries;

impl Resources {
    /// The report's form of `series`.
    pub(crate) fn from_series(series: &ResourceSeries) -> Resources {
        let micros = |column: &Option<Vec<Duration>>| {
            column
                .as_ref()
                .map(|c| c.iter().map(|d| as_u64(d.as_micros())).collect())
        };
        let (cpu_user_us, cpu_system_us) = (micros(&series.cpu_user), micros(&series.cpu_system));
        let space_amplification = series
            .store_bytes
            .as_ref()
            .zip(series.live_bytes.as_ref())
            .map(|(store, live)| {
                store
                    .iter()
                    .zip(live)
                    .map(|(&s, &l)| ratio(Some(s), l))
                    .collect()
            });
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
            totals: totals(series, last(&cpu_user_us), last(&cpu_system_us)),
            cpu_user_us,
            cpu_system_us,
            rss_bytes: series.rss_bytes.clone(),
            device_write_bytes: series.device_write_bytes.clone(),
            device_read_bytes: series.device_read_bytes.clone(),
            store_bytes: series.store_bytes.clone(),
            space_amplification,
        }
    }
}

/// The last sample's counters of `series`, and their ratios.
fn totals(
    series: &ResourceSeries,
    cpu_user: Option<u64>,
    cpu_system: Option<u64>,
) -> ResourceTotals {
    let logical = series.last_logical();
    let operations = series.last_operations();
    let (device_write, device_read) = (
        last(&series.device_write_bytes),
        last(&series.device_read_bytes),
    );
    let cpu = cpu_user.zip(cpu_system).map(|(u, s)| u + s);
    ResourceTotals {
        operations,
        logical_write_bytes: logical.written,
        logical_read_bytes: logical.read,
        device_write_bytes: device_write,
        device_read_bytes: device_read,
        cpu_user_us: cpu_user,
        cpu_system_us: cpu_system,
        write_amplification: ratio(device_write, logical.written),
        read_amplification: ratio(device_read, logical.read),
        cpu_us_per_operation: ratio(cpu, operations),
    }
}

/// A column's last entry.
fn last(column: &Option<Vec<u64>>) -> Option<u64> {
    column.as_ref().and_then(|c| c.last().copied())
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

    /// Three samples of a run of 100 operations that wrote 2,000 logical bytes and read
    /// 4,000, while the devices were made to write 8 KiB and read nothing.
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
            store_bytes: Some(vec![0, 12_000, 30_000]),
            live_bytes: Some(vec![0, 10_000, 12_000]),
        }
    }

    #[test]
    fn totals_are_the_last_samples_and_their_ratios() {
        let r = Resources::from_series(&series());
        let t = &r.totals;
        assert_eq!(t.operations, 100);
        assert_eq!((t.logical_write_bytes, t.logical_read_bytes), (2000, 4000));
        assert_eq!(
            (t.device_write_bytes, t.device_read_bytes),
            (Some(8192), Some(0))
        );
        assert_eq!(
            (t.cpu_user_us, t.cpu_system_us),
            (Some(30_000), Some(20_000))
        );
        // 8,192 device bytes for 2,000 logical ones.
        assert_eq!(t.write_amplification, Some(4.096));
        assert_eq!(t.read_amplification, Some(0.0), "every read from the cache");
        // 50 ms of CPU over 100 operations.
        assert_eq!(t.cpu_us_per_operation, Some(500.0));
    }

    #[test]
    fn columns_are_in_the_reports_units() {
        let r = Resources::from_series(&series());
        assert_eq!(r.interval_ms, 250);
        assert_eq!(r.elapsed_ms, [0, 250, 310]);
        assert_eq!(r.cpu_user_us, Some(vec![0, 20_000, 30_000]));
        assert_eq!(r.cpu_system_us, Some(vec![0, 5000, 20_000]));
        assert_eq!(r.operations["read"], [0, 40, 50]);
        assert_eq!(r.operations["update"], [0, 30, 50]);
        assert_eq!(r.logical_write_bytes, [0, 1000, 2000]);
        assert_eq!(r.logical_read_bytes, [0, 1000, 4000]);
        assert_eq!(
            r.space_amplification,
            Some(vec![None, Some(1.2), Some(2.5)]),
            "store bytes over live bytes; none while nothing is live"
        );
    }

    #[test]
    fn no_ratio_without_both_sides() {
        let mut s = series();
        s.device_write_bytes = None;
        s.logical = vec![Transfer::default(); 3];
        s.operations.clear();
        s.store_bytes = None;
        let r = Resources::from_series(&s);
        assert_eq!(r.totals.write_amplification, None, "no device figures");
        assert_eq!(r.totals.device_write_bytes, None);
        assert_eq!(r.totals.read_amplification, None, "nothing read");
        assert_eq!(r.totals.cpu_us_per_operation, None, "no operations");
        assert_eq!(r.space_amplification, None, "a store in memory");
    }
}
