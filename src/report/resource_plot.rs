//! The resource monitor's columns over time, one chart per resource, one line per backend:
//! what a run's totals cannot show, such as when the file grows, when a checkpoint or a
//! compaction writes, or memory climbing with the data.

use super::plot::lines_over_time_svg;
use super::schema::{Report, Resources};

const MIB: f64 = 1048576.0;

/// A resource the monitor samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResourceChart {
    /// Resident memory, MiB.
    Memory,
    /// The store's files, MiB.
    StoreSize,
    /// Bytes the process had the devices write, cumulative, MiB.
    DeviceWrites,
    /// CPU time (user + system) per second of the run, in cores.
    Cpu,
    /// The store's files over the logical bytes live in it.
    SpaceAmplification,
}

impl ResourceChart {
    /// Every chart, in the order a page shows them.
    pub(super) const ALL: [ResourceChart; 5] = [
        ResourceChart::Memory,
        ResourceChart::StoreSize,
        ResourceChart::DeviceWrites,
        ResourceChart::Cpu,
        ResourceChart::SpaceAmplification,
    ];

    fn title(self) -> &'static str {
        match self {
            ResourceChart::Memory => "resident memory",
            ResourceChart::StoreSize => "store size on disk",
            ResourceChart::DeviceWrites => "bytes written to the device",
            ResourceChart::Cpu => "CPU",
            ResourceChart::SpaceAmplification => "space amplification",
        }
    }

    /// What the chart shows, under it.
    pub(super) fn caption(self) -> &'static str {
        match self {
            ResourceChart::Memory => {
                "Resident memory of the process, sampled through the run phase."
            }
            ResourceChart::StoreSize => {
                "Bytes the store's files take, sampled through the run phase."
            }
            ResourceChart::DeviceWrites => {
                "Bytes the process had the block devices write since the run phase began \
                 (/proc/self/io write_bytes): its slope over the logical bytes is write \
                 amplification; steps are flushes, checkpoints or compactions."
            }
            ResourceChart::Cpu => {
                "CPU time (user + system) of the process per second of wall time, between \
                 samples: 1.0 is one core busy."
            }
            ResourceChart::SpaceAmplification => {
                "The store's files over the logical bytes live in it, sampled through the run \
                 phase."
            }
        }
    }

    fn axis(self) -> &'static str {
        match self {
            ResourceChart::Memory | ResourceChart::StoreSize => "MiB",
            ResourceChart::DeviceWrites => "MiB since the run began",
            ResourceChart::Cpu => "cores busy (user + system)",
            ResourceChart::SpaceAmplification => "store bytes / live logical bytes",
        }
    }

    /// The chart's points for one run's samples: (seconds into the phase, value); empty
    /// when the monitor could not read this resource there.
    fn points(self, r: &Resources) -> Vec<(f64, f64)> {
        let seconds = || r.elapsed_ms.iter().map(|&ms| ms as f64 / 1000.0);
        let mib = |column: &Option<Vec<u64>>, from: u64| -> Vec<(f64, f64)> {
            let values = column.iter().flatten();
            seconds()
                .zip(values)
                .map(|(s, &b)| (s, b.saturating_sub(from) as f64 / MIB))
                .collect()
        };
        match self {
            ResourceChart::Memory => mib(&r.rss_bytes, 0),
            ResourceChart::StoreSize => mib(&r.store_bytes, 0),
            ResourceChart::DeviceWrites => {
                let first = r.device_write_bytes.as_ref().and_then(|c| c.first());
                mib(&r.device_write_bytes, first.copied().unwrap_or(0))
            }
            ResourceChart::Cpu => {
                let (Some(user), Some(system)) = (&r.cpu_user_us, &r.cpu_system_us) else {
                    return Vec::new();
                };
                let busy: Vec<u64> = user.iter().zip(system).map(|(u, s)| u + s).collect();
                let ms = &r.elapsed_ms;
                // Each interval's CPU over its wall time, at its end.
                (1..busy.len().min(ms.len()))
                    .filter(|&i| ms[i] > ms[i - 1])
                    .map(|i| {
                        let cpu = busy[i].saturating_sub(busy[i - 1]) as f64;
                        let wall = (ms[i] - ms[i - 1]) as f64 * 1000.0;
                        (ms[i] as f64 / 1000.0, cpu / wall)
                    })
                    .collect()
            }
            ResourceChart::SpaceAmplification => seconds()
                .zip(r.space_amplification.iter().flatten())
                .filter_map(|(s, v)| Some((s, (*v)?)))
                .collect(),
        }
    }
}

/// `chart` for the run phase of each of `runs`, a line per backend, with the backends drawn;
/// `None` when no run's monitor measured it (reports before schema 6, or a resource this
/// system does not show).
///
/// # Errors
/// When plotters fails to draw.
pub(super) fn resource_timeline_svg<'r>(
    runs: &[&'r Report],
    chart: ResourceChart,
) -> Result<Option<(String, Vec<&'r str>)>, String> {
    let lines: Vec<(&'r str, Vec<(f64, f64)>)> = runs
        .iter()
        .filter_map(|r| {
            let points = chart.points(r.run.resources.as_ref()?);
            (!points.is_empty()).then_some((r.backend.name.as_str(), points))
        })
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let workload = runs.first().map_or("", |r| r.workload.name.as_str());
    let names: Vec<&'r str> = lines.iter().map(|l| l.0).collect();
    let series = lines.into_iter().map(|l| l.1).collect();
    let label = |y: &f64| {
        if *y >= 100.0 {
            format!("{y:.0}")
        } else {
            format!("{y:.2}")
        }
    };
    let svg = lines_over_time_svg(
        format!("{workload}: {}", chart.title()),
        "seconds into the run phase",
        (chart.axis(), &label),
        &names,
        series,
        false,
    )?;
    Ok(Some((svg, names)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::ResourceTotals;

    /// Three samples 250 ms apart: the process used 125 ms, then 225 ms of CPU, and had the
    /// devices write 1 MiB before the phase and 2 MiB more during it.
    fn samples() -> Resources {
        Resources {
            interval_ms: 250,
            elapsed_ms: vec![0, 250, 500],
            operations: BTreeMap::new(),
            logical_write_bytes: vec![0, 10, 20],
            logical_read_bytes: vec![0, 0, 0],
            cpu_user_us: Some(vec![0, 100_000, 300_000]),
            cpu_system_us: Some(vec![0, 25_000, 50_000]),
            rss_bytes: Some(vec![MIB as u64, 2 * MIB as u64, 2 * MIB as u64]),
            device_write_bytes: Some(vec![MIB as u64, 2 * MIB as u64, 3 * MIB as u64]),
            device_read_bytes: None,
            store_bytes: None,
            space_amplification: Some(vec![None, Some(2.0), Some(1.5)]),
            totals: ResourceTotals {
                operations: 0,
                logical_write_bytes: 20,
                logical_read_bytes: 0,
                device_write_bytes: None,
                device_read_bytes: None,
                cpu_user_us: None,
                cpu_system_us: None,
                write_amplification: None,
                read_amplification: None,
                cpu_us_per_operation: None,
            },
        }
    }

    #[test]
    fn each_chart_reads_its_column_at_the_samples_times() {
        let r = samples();
        // CPU per interval over its wall time, at the interval's end.
        assert_eq!(ResourceChart::Cpu.points(&r), [(0.25, 0.5), (0.5, 0.9)]);
        // Device writes counted from the phase's start.
        assert_eq!(
            ResourceChart::DeviceWrites.points(&r),
            [(0.0, 0.0), (0.25, 1.0), (0.5, 2.0)]
        );
        assert_eq!(
            ResourceChart::Memory.points(&r),
            [(0.0, 1.0), (0.25, 2.0), (0.5, 2.0)]
        );
        // No entry while nothing is live; no column, no points.
        assert_eq!(
            ResourceChart::SpaceAmplification.points(&r),
            [(0.25, 2.0), (0.5, 1.5)]
        );
        assert!(ResourceChart::StoreSize.points(&r).is_empty());
    }
}
