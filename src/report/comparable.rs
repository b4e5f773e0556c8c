//! Which reports may be set side by side: those of one workload run the same way. A
//! comparison of a 2,000-operation, two-thread run against a 20,000-operation one measures the
//! difference in setup, not in the store.

use super::schema::{OLDEST_READABLE_SCHEMA_VERSION, Report, SCHEMA_VERSION, readable};

/// What differs between `a` and `b` in how they ran — the workload's parameters (seed,
/// operation and record counts, mix, threads, target, durability asked for, ...) and the
/// report schema (the versions this build reads count as one: they measure alike) — one line
/// per difference; empty when they can be compared. Not the storebench version: comparing two
/// builds is what `compare` is for. The backend is not among them: setting backends side by
/// side is the point.
pub(super) fn differences(a: &Report, b: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: {x} vs {y}"));
        }
    };
    let version = |r: &Report| {
        if readable(u64::from(r.schema_version)) {
            format!("{OLDEST_READABLE_SCHEMA_VERSION} to {SCHEMA_VERSION}")
        } else {
            r.schema_version.to_string()
        }
    };
    differ("schema_version", version(a), version(b));
    let (pa, pb) = (&a.workload.parameters, &b.workload.parameters);
    let keys = pa
        .as_object()
        .into_iter()
        .chain(pb.as_object())
        .flat_map(|o| o.keys())
        .collect::<std::collections::BTreeSet<_>>();
    for key in keys {
        // The name and description say what a workload is, not how it ran.
        if key == "name" || key == "description" {
            continue;
        }
        // A key one build writes and another does not is null in the other.
        let show = |v: Option<&serde_json::Value>| v.map_or("null".into(), ToString::to_string);
        differ(key, show(pa.get(key)), show(pb.get(key)));
    }
    out
}

/// What differs between the first of `reports` and each of the others, each difference once:
/// empty when they can all be set side by side.
pub(crate) fn differences_among(reports: &[&Report]) -> Vec<String> {
    let Some((first, rest)) = reports.split_first() else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    for difference in rest.iter().flat_map(|r| differences(first, r)) {
        if !found.contains(&difference) {
            found.push(difference);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::{Selected, builtin::MemoryBinding};
    use crate::runner::{NoProgress, run};
    use crate::workload::Workload;

    /// The report of a small run on the in-memory store.
    fn sample() -> Report {
        let text = "recordcount = 20\noperationcount = 50\n";
        let workload = Workload::from_toml("w", text, std::path::Path::new("w.toml"))
            .expect("a valid workload");
        let backend = Selected::new(MemoryBinding).expect("a valid name");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outcome = run(&workload, &backend, dir.path(), &NoProgress).expect("a run");
        Report::from_outcome(&outcome)
    }

    #[test]
    fn the_setup_differences_are_named_and_the_name_is_not_one() {
        let a = sample();
        assert!(differences(&a, &a).is_empty());
        let mut b = a.clone();
        b.workload.parameters["threads"] = 2.into();
        b.workload.parameters["operation_count"] = 20_000.into();
        b.workload.parameters["seed"] = 99.into();
        b.workload.description = "other words".into();
        let found = differences(&a, &b);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found.iter().any(|d| d.starts_with("operation_count: ")),
            "{found:?}"
        );
    }

    #[test]
    fn the_versions_this_build_reads_set_side_by_side() {
        let a = sample();
        let mut b = a.clone();
        b.schema_version = OLDEST_READABLE_SCHEMA_VERSION;
        b.run.resources = None;
        assert!(differences(&a, &b).is_empty());
        b.schema_version = OLDEST_READABLE_SCHEMA_VERSION - 1;
        assert_eq!(
            differences(&a, &b),
            [format!(
                "schema_version: {OLDEST_READABLE_SCHEMA_VERSION} to {SCHEMA_VERSION} vs {}",
                OLDEST_READABLE_SCHEMA_VERSION - 1
            )]
        );
    }
}
