//! Markdown comparisons of reports: per workload, one row per backend and the best value of
//! every column in bold; and an index of workloads with the environment they ran in.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::schema::{Machine, Report};
use super::table::{reference_costs, workload_table};

/// Reports (or what holds one: a [`Located`](super::Located) report) grouped by workload,
/// in name order.
pub(super) fn by_workload<T: AsRef<Report>>(reports: &[T]) -> BTreeMap<&str, Vec<&T>> {
    let mut grouped: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    for report in reports {
        grouped
            .entry(&report.as_ref().workload.name)
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
pub(crate) fn by_table<T: AsRef<Report>>(reports: &[T]) -> Vec<(String, Vec<&T>)> {
    let mut tables = Vec::new();
    for (workload, runs) in by_workload(reports) {
        let mut by_invocation: BTreeMap<Option<&str>, Vec<&T>> = BTreeMap::new();
        for run in runs {
            by_invocation
                .entry(run.as_ref().invocation.as_deref())
                .or_default()
                .push(run);
        }
        let several = by_invocation.len() > 1;
        // In the order the invocations started (their earliest run), not by their ids: an id
        // given with `--invocation` says nothing of when it ran.
        let mut invocations: Vec<Vec<&T>> = by_invocation.into_values().collect();
        invocations.sort_by_key(|runs| runs.iter().map(|r| r.as_ref().started_at_unix).min());
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
pub(crate) fn operations<'r>(runs: &[&'r Report]) -> Vec<&'r str> {
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
pub(crate) fn index_markdown(reports: &[Report]) -> String {
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
        let crates: Vec<String> = first
            .crates
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = write!(
            out,
            "\n## Environment\n\n- machine: {}\n- crates: {}\n",
            machine(&first.machine),
            crates.join(", ")
        );
    }
    out
}

/// The machine a run was made on, in a line: `linux x86_64, 2 CPUs, <model>, 23.4 GiB`.
pub(crate) fn machine(m: &Machine) -> String {
    format!(
        "{} {}, {} CPUs{}{}",
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
    )
}

/// How a run was made, in one line: what a reader needs before comparing its numbers.
pub(super) fn setup(report: &Report) -> String {
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

/// One workload's table: a row per backend, the best value of each column in bold, and the
/// cost over its reference, for each backend whose binding names one and where both ran.
pub(crate) fn workload_markdown(runs: &[&Report]) -> String {
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
    let table = workload_table(runs);
    // Writing into a String cannot fail.
    let _ = write!(out, "| backend | durability |");
    for header in &table.headers {
        let _ = write!(out, " {header} |");
    }
    let _ = write!(out, "\n|---|---|");
    for _ in &table.headers {
        out.push_str("---:|");
    }
    out.push('\n');
    for row in &table.rows {
        let durability = row.durability.as_deref().unwrap_or("–");
        let mark = if row.stores_nothing {
            " (stores nothing)"
        } else {
            ""
        };
        let _ = write!(out, "| {}{mark} | {durability} |", row.backend);
        for cell in &row.cells {
            match (&cell.text, cell.best) {
                (None, _) => out.push_str(" – |"),
                (Some(text), true) => {
                    let _ = write!(out, " **{text}** |");
                }
                (Some(text), false) => {
                    let _ = write!(out, " {text} |");
                }
            }
        }
        out.push('\n');
    }
    for cost in reference_costs(runs) {
        let _ = writeln!(out, "\n{cost}");
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
