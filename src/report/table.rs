//! One workload's comparison table, before it is written out: a row per backend, a column per
//! figure, and which cell of each column is best. The Markdown and the HTML pages render the
//! same table, so that the two never disagree on a number or a "best".

use super::markdown::operations;
use super::schema::{OperationStats, Report, ResourceTotals};

/// Whether a column's best value is its largest or its smallest.
#[derive(Clone, Copy)]
enum Best {
    Highest,
    Lowest,
}

struct Column {
    header: String,
    best: Best,
    values: Vec<Option<f64>>,
    decimals: usize,
}

/// A rendered cell: its text (`None`: the run did not measure it), and whether it is the best
/// of its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub(crate) text: Option<String>,
    pub(crate) best: bool,
}

/// A backend's row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) backend: String,
    pub(crate) durability: Option<String>,
    /// A store that keeps nothing (the `null` backend): it measures the harness alone, and is
    /// never best.
    pub(crate) stores_nothing: bool,
    pub(crate) cells: Vec<Cell>,
}

/// One workload's table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) headers: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

/// The table of `runs`, one workload's runs of one invocation.
pub(crate) fn workload_table(runs: &[&Report]) -> Table {
    let columns = columns(runs);
    // A store that keeps nothing is never the best: it measures the harness alone.
    let contenders = runs.iter().filter(|r| !r.backend.stores_nothing).count();
    let bests: Vec<Option<f64>> = columns
        .iter()
        .map(|c| {
            let present = c
                .values
                .iter()
                .zip(runs)
                .filter(|(_, run)| !run.backend.stores_nothing)
                .filter_map(|(v, _)| *v);
            match c.best {
                Best::Highest => present.reduce(f64::max),
                Best::Lowest => present.reduce(f64::min),
            }
        })
        .collect();
    let rows = runs
        .iter()
        .enumerate()
        .map(|(row, run)| {
            let contender = !run.backend.stores_nothing && contenders > 1;
            let cells = columns
                .iter()
                .zip(&bests)
                .map(|(c, best)| Cell {
                    text: c.values[row].map(|v| format!("{v:.prec$}", prec = c.decimals)),
                    best: contender && c.values[row].is_some() && c.values[row] == *best,
                })
                .collect();
            Row {
                backend: run.backend.name.clone(),
                durability: run.backend.durability.clone(),
                stores_nothing: run.backend.stores_nothing,
                cells,
            }
        })
        .collect();
    Table {
        headers: columns.into_iter().map(|c| c.header).collect(),
        rows,
    }
}

/// Picks one percentile of an operation's latency.
type Percentile = fn(&OperationStats) -> u64;

/// The columns of `runs`' table: throughput, each operation's rate and percentiles, the
/// file, amplification, CPU and memory.
fn columns(runs: &[&Report]) -> Vec<Column> {
    let micros = |ns: u64| Some(ns as f64 / 1000.0);
    let mut columns = vec![Column {
        header: "ops/s".into(),
        best: Best::Highest,
        values: runs
            .iter()
            .map(|r| Some(r.run.throughput_ops_per_sec))
            .collect(),
        decimals: 0,
    }];
    for op in operations(runs) {
        let stat = |r: &Report| r.operations.iter().find(|o| o.operation == op).cloned();
        columns.push(Column {
            header: format!("{op} ops/s"),
            best: Best::Highest,
            values: runs
                .iter()
                .map(|r| stat(r).map(|o| o.throughput_ops_per_sec))
                .collect(),
            decimals: 0,
        });
        let percentiles: [(&str, Percentile); 4] = [
            ("p50", |o| o.latency_ns.p50),
            ("p99", |o| o.latency_ns.p99),
            ("p99.9", |o| o.latency_ns.p999),
            ("max", |o| o.latency_ns.max),
        ];
        for (name, pick) in percentiles {
            columns.push(Column {
                header: format!("{op} {name} µs"),
                best: Best::Lowest,
                values: runs
                    .iter()
                    .map(|r| stat(r).and_then(|o| micros(pick(&o))))
                    .collect(),
                decimals: 1,
            });
        }
    }
    let mebibytes = |bytes: Option<u64>| bytes.map(|b| b as f64 / 1048576.0);
    columns.push(Column {
        header: "file MiB".into(),
        best: Best::Lowest,
        values: runs.iter().map(|r| mebibytes(r.file_bytes)).collect(),
        decimals: 1,
    });
    columns.push(Column {
        header: "space amp.".into(),
        best: Best::Lowest,
        values: runs.iter().map(|r| r.space_amplification).collect(),
        decimals: 2,
    });
    // The run's resource totals (reports of version 5 have none: "–"). Read amplification
    // stays in report.json: with the store in the page cache it is mostly 0.
    let totals = |pick: fn(&ResourceTotals) -> Option<f64>| -> Vec<Option<f64>> {
        runs.iter()
            .map(|r| r.run.resources.as_ref().and_then(|res| pick(&res.totals)))
            .collect()
    };
    for (header, values, decimals) in [
        ("write amp.", totals(|t| t.write_amplification), 2),
        ("CPU µs/op", totals(|t| t.cpu_us_per_operation), 1),
    ] {
        columns.push(Column {
            header: header.into(),
            best: Best::Lowest,
            values,
            decimals,
        });
    }
    columns.push(Column {
        header: "peak RSS MiB".into(),
        best: Best::Lowest,
        values: runs.iter().map(|r| mebibytes(r.peak_rss_bytes)).collect(),
        decimals: 0,
    });
    columns
}

/// For each backend whose binding names a reference (the Automerge backend names plain redb)
/// and where both ran: what it costs on top, as the reference's throughput over its own.
pub(crate) fn reference_costs(runs: &[&Report]) -> Vec<String> {
    let throughput = |name: &str| {
        runs.iter()
            .find(|r| r.backend.name == name)
            .map(|r| r.run.throughput_ops_per_sec)
    };
    runs.iter()
        .filter_map(|run| {
            let reference = run.backend.reference.as_ref()?;
            let floor = throughput(reference)?;
            (run.backend.name == run.backend.binding && run.run.throughput_ops_per_sec > 0.0).then(
                || {
                    format!(
                        "Cost of {} over its reference {reference} ({reference} throughput / \
                         {} throughput): {:.2}x",
                        run.backend.name,
                        run.backend.name,
                        floor / run.run.throughput_ops_per_sec
                    )
                },
            )
        })
        .collect()
}
