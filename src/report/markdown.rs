//! Markdown comparisons of reports: per workload, one row per backend and the best value of
//! every column in bold; and an index of workloads with the environment they ran in.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::schema::Report;

/// Reports grouped by workload, in name order.
pub fn by_workload(reports: &[Report]) -> BTreeMap<&str, Vec<&Report>> {
    let mut grouped: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for report in reports {
        grouped
            .entry(&report.workload.name)
            .or_default()
            .push(report);
    }
    grouped
}

/// Reports grouped into the tables they belong in: per workload, and within it per invocation
/// of `storebench run`, in workload name order and then in the order the invocations started
/// (their earliest run; ties in id order); each with the name of its page
/// (`<workload>`, or `<workload>.run<n>` when the workload was run by more than one
/// invocation). Rows of two invocations never share a table: a ratio or a "best" across them
/// would set an earlier build, other flags or another state of the machine beside this one.
pub fn by_table(reports: &[Report]) -> Vec<(String, Vec<&Report>)> {
    let mut tables = Vec::new();
    for (workload, runs) in by_workload(reports) {
        let mut by_invocation: BTreeMap<Option<&str>, Vec<&Report>> = BTreeMap::new();
        for run in runs {
            by_invocation
                .entry(run.invocation.as_deref())
                .or_default()
                .push(run);
        }
        let several = by_invocation.len() > 1;
        // In the order the invocations started (their earliest run), not by their ids: an id
        // given with `--invocation` says nothing of when it ran.
        let mut invocations: Vec<Vec<&Report>> = by_invocation.into_values().collect();
        invocations.sort_by_key(|runs| runs.iter().map(|r| r.started_at_unix).min());
        for (n, runs) in invocations.into_iter().enumerate() {
            let page = if several {
                format!("{workload}.run{}", n + 1)
            } else {
                workload.to_owned()
            };
            tables.push((page, runs));
        }
    }
    tables
}

/// The operation types any of `runs` measured, in name order.
pub fn operations<'r>(runs: &[&'r Report]) -> Vec<&'r str> {
    let mut operations: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.operations.iter().map(|o| o.operation.as_str()))
        .collect();
    operations.sort_unstable();
    operations.dedup();
    operations
}

/// Every workload's table in one document.
pub fn comparison_markdown(reports: &[Report]) -> String {
    let mut out = String::from("# storebench comparison\n");
    for (_, runs) in by_table(reports) {
        out.push('\n');
        out.push_str(&workload_markdown(&runs));
    }
    out
}

/// An index linking `<workload>.md` for every workload, with the environment of the runs.
pub fn index_markdown(reports: &[Report]) -> String {
    let mut out = String::from(
        "# storebench reports\n\n| workload | backends | description |\n|---|---|---|\n",
    );
    for (page, runs) in by_table(reports) {
        let backends: Vec<&str> = runs.iter().map(|r| r.backend.name.as_str()).collect();
        let description = runs.first().map_or("", |r| r.workload.description.as_str());
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "| [{page}]({page}.md) | {} | {description} |",
            backends.join(", ")
        );
    }
    if let Some(first) = reports.first() {
        let m = &first.machine;
        let crates: Vec<String> = first
            .crates
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = write!(
            out,
            "\n## Environment\n\n- machine: {} {}, {} CPUs{}{}\n- crates: {}\n",
            m.os,
            m.arch,
            m.cpus,
            m.cpu_model
                .as_ref()
                .map_or(String::new(), |c| format!(", {c}")),
            m.memory_bytes.map_or(String::new(), |b| format!(
                ", {:.1} GiB",
                b as f64 / (1u64 << 30) as f64
            )),
            crates.join(", ")
        );
    }
    out
}

/// How a run was made, in one line: what a reader needs before comparing its numbers.
pub fn setup(report: &Report) -> String {
    let p = &report.workload.parameters;
    let number = |key: &str| p.get(key).and_then(serde_json::Value::as_u64);
    let operations = match p.get("max_execution_time") {
        Some(t) if !t.is_null() => format!(
            "{} operations in a timed run of {:.1} s",
            report.run.operations, report.run.duration_secs
        ),
        _ => format!("{} operations", report.run.operations),
    };
    format!(
        "{} records, {operations}, {} thread{}, seed {}{}",
        number("record_count").unwrap_or(0),
        report.threads,
        if report.threads == 1 { "" } else { "s" },
        report.seed,
        report
            .target_ops_per_sec
            .map_or(String::new(), |t| format!(", open loop at {t} ops/s"))
    )
}

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

/// One workload's table: a row per backend, the best value of each column in bold, and the
/// cost over its reference, for each backend whose binding names one and where both ran.
pub fn workload_markdown(runs: &[&Report]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let mut out = format!("## {}\n\n", first.workload.name);
    if !first.workload.description.is_empty() {
        out.push_str(&first.workload.description);
        out.push_str("\n\n");
    }
    out.push_str(&setup(first));
    if let Some(invocation) = &first.invocation {
        let _ = write!(out, "; run `{invocation}`");
    }
    out.push_str("\n\n");
    let operations = operations(runs);
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
    for op in &operations {
        let stat = |r: &Report| r.operations.iter().find(|o| o.operation == *op).cloned();
        columns.push(Column {
            header: format!("{op} ops/s"),
            best: Best::Highest,
            values: runs
                .iter()
                .map(|r| stat(r).map(|o| o.throughput_ops_per_sec))
                .collect(),
            decimals: 0,
        });
        for (name, pick) in [
            (
                "p50",
                (|o: &super::schema::OperationStats| o.latency_ns.p50) as fn(&_) -> u64,
            ),
            ("p99", |o| o.latency_ns.p99),
            ("p99.9", |o| o.latency_ns.p999),
            ("max", |o| o.latency_ns.max),
        ] {
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
    columns.push(Column {
        header: "file MiB".into(),
        best: Best::Lowest,
        values: runs
            .iter()
            .map(|r| r.file_bytes.map(|b| b as f64 / 1048576.0))
            .collect(),
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
    let totals = |pick: fn(&super::schema::ResourceTotals) -> Option<f64>| -> Vec<Option<f64>> {
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
        values: runs
            .iter()
            .map(|r| r.peak_rss_bytes.map(|b| b as f64 / 1048576.0))
            .collect(),
        decimals: 0,
    });

    // Writing into a String cannot fail.
    let _ = write!(out, "| backend | durability |");
    for c in &columns {
        let _ = write!(out, " {} |", c.header);
    }
    let _ = write!(out, "\n|---|---|");
    for _ in &columns {
        out.push_str("---:|");
    }
    out.push('\n');
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
    for (row, run) in runs.iter().enumerate() {
        let durability = run.backend.durability.as_deref().unwrap_or("–");
        let mark = if run.backend.stores_nothing {
            " (stores nothing)"
        } else {
            ""
        };
        let _ = write!(out, "| {}{mark} | {durability} |", run.backend.name);
        for (c, best) in columns.iter().zip(&bests) {
            match c.values[row] {
                None => out.push_str(" – |"),
                Some(v) => {
                    let text = format!("{v:.prec$}", prec = c.decimals);
                    let contender = !run.backend.stores_nothing;
                    if contender && Some(v) == *best && contenders > 1 {
                        let _ = write!(out, " **{text}** |");
                    } else {
                        let _ = write!(out, " {text} |");
                    }
                }
            }
        }
        out.push('\n');
    }
    // A binding may name another as its reference (the Automerge backend names plain redb):
    // the ratio of their throughputs is what it costs on top.
    let throughput = |name: &str| {
        runs.iter()
            .find(|r| r.backend.name == name)
            .map(|r| r.run.throughput_ops_per_sec)
    };
    for run in runs {
        let Some(reference) = &run.backend.reference else {
            continue;
        };
        if let Some(floor) = throughput(reference)
            && run.backend.name == run.backend.binding
            && run.run.throughput_ops_per_sec > 0.0
        {
            let _ = writeln!(
                out,
                "\nCost of {} over its reference {reference} ({reference} throughput / {} \
                 throughput): {:.2}x",
                run.backend.name,
                run.backend.name,
                floor / run.run.throughput_ops_per_sec
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::{Selected, builtin::MemoryBinding};
    use crate::runner::{NoProgress, run};
    use crate::workload::Workload;

    /// The report of a small run on the in-memory store, as made by `invocation` at `started`.
    fn report(invocation: &str, started: u64) -> Report {
        let text = "recordcount = 20\noperationcount = 50\n";
        let workload = Workload::from_toml("w", text, std::path::Path::new("w.toml"))
            .expect("a valid workload");
        let backend = Selected::new(MemoryBinding).expect("a valid name");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outcome = run(&workload, &backend, dir.path(), &NoProgress).expect("a run");
        let mut report = Report::from_outcome(&outcome);
        report.invocation = Some(invocation.to_owned());
        report.started_at_unix = started;
        report
    }

    #[test]
    fn invocations_are_numbered_in_the_order_they_started() {
        // "z-first" started first though its id sorts last.
        let reports = [report("a-second", 200), report("z-first", 100)];
        let tables = by_table(&reports);
        let pages: Vec<(&str, Option<&str>)> = tables
            .iter()
            .map(|(page, runs)| (page.as_str(), runs[0].invocation.as_deref()))
            .collect();
        assert_eq!(
            pages,
            [("w.run1", Some("z-first")), ("w.run2", Some("a-second"))]
        );
    }
}
