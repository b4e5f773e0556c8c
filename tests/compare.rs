//! `storebench compare`: verdicts and exit codes on reports made by a real run and then edited.

use crate::common;

use std::path::Path;

use common::{storebench, succeeds};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TINY: &str = "recordcount = 50\noperationcount = 300\nfieldlength = 100\nreadproportion = 0.5\nupdateproportion = 0.5\n";

/// Runs the tiny workload on memory and redb into `base/`, and copies it to `new/`.
fn reports(dir: &Path) -> TestResult {
    std::fs::write(dir.join("tiny.toml"), TINY)?;
    succeeds(
        &[
            "run",
            "--min-ops",
            "0",
            "tiny.toml",
            "--backend",
            "memory,redb",
            "--out",
            "base",
            "--quiet",
        ],
        dir,
    )?;
    for backend in ["memory", "redb"] {
        let to = dir.join("new/tiny").join(backend);
        std::fs::create_dir_all(&to)?;
        std::fs::copy(
            dir.join("base/tiny").join(backend).join("report.json"),
            to.join("report.json"),
        )?;
    }
    Ok(())
}

/// Edits the new redb report.
fn edit(dir: &Path, change: impl Fn(&mut serde_json::Value)) -> TestResult {
    let path = dir.join("new/tiny/redb/report.json");
    let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    change(&mut report);
    std::fs::write(&path, serde_json::to_string(&report)?)?;
    Ok(())
}

#[test]
fn identical_reports_are_within_noise() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    repeated(dir.path(), "base", &STEADY)?;
    repeated(dir.path(), "new", &STEADY)?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout)?;
    assert!(table.contains("| tiny/redb | throughput |"), "{table}");
    assert!(table.contains("| tiny/memory/read | p99 |"), "{table}");
    assert!(
        !table.contains("**regressed**") && !table.contains("| improved |"),
        "{table}"
    );
    Ok(())
}

/// Gives the memory and redb reports of one side repeated runs whose throughputs are their own
/// times `factors` and whose every percentile is their own p99 divided by them.
fn repeated(dir: &Path, side: &str, factors: &[f64]) -> TestResult {
    for backend in ["memory", "redb"] {
        let path = dir
            .join(side)
            .join("tiny")
            .join(backend)
            .join("report.json");
        let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let throughput = report["run"]["throughput_ops_per_sec"]
            .as_f64()
            .unwrap_or(0.0);
        let runs: Vec<f64> = factors.iter().map(|f| throughput * f).collect();
        let mut latency = serde_json::Map::new();
        for op in report["operations"].as_array().into_iter().flatten() {
            let p99 = op["latency_ns"]["p99"].as_f64().unwrap_or(0.0);
            let p99s: Vec<u64> = factors.iter().map(|f| (p99 / f) as u64).collect();
            let name = op["operation"].as_str().unwrap_or("read").to_owned();
            latency.insert(
                name,
                serde_json::json!({ "p50": p99s, "p99": p99s, "p999": p99s }),
            );
        }
        report["repeat"] = serde_json::json!({
            "runs": factors.len(),
            "throughput_ops_per_sec": runs,
            "latency_ns": latency,
        });
        std::fs::write(&path, serde_json::to_string(&report)?)?;
    }
    Ok(())
}

const STEADY: [f64; 5] = [1.0, 1.01, 0.99, 1.02, 0.995];

/// Every new run below every base run, and by more than the threshold: a regression (exit 1);
/// under the threshold, or with the runs overlapping, noise.
#[test]
fn a_separated_drop_beyond_the_threshold_fails_and_anything_less_does_not() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    repeated(dir.path(), "base", &STEADY)?;
    repeated(dir.path(), "new", &STEADY.map(|f| f * 0.93))?;
    let out = storebench(&["compare", "base", "new", "--threshold", "10"], dir.path())?;
    assert_eq!(out.status.code(), Some(0), "7% is under a 10% threshold");
    let out = storebench(&["compare", "base", "new", "--threshold", "5"], dir.path())?;
    assert_eq!(out.status.code(), Some(1), "7% regresses at 5%");
    let table = String::from_utf8(out.stdout)?;
    let line = table
        .lines()
        .find(|l| l.starts_with("| tiny/redb | throughput"))
        .expect("a throughput row");
    assert!(
        line.contains("-7.0%")
            && line.contains("5/5")
            && line.contains("0.004")
            && line.contains("**regressed**"),
        "{line}"
    );
    assert!(String::from_utf8(out.stderr)?.contains("metric(s) regressed"));
    // One new run as fast as a base run: the sides overlap, so it is noise.
    repeated(dir.path(), "new", &[0.93, 0.93, 0.93, 0.93, 1.0])?;
    let out = storebench(&["compare", "base", "new", "--threshold", "5"], dir.path())?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

/// A percentile: lower latency in every run is an improvement, never a failure.
#[test]
fn lower_latency_is_an_improvement() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    repeated(dir.path(), "base", &STEADY)?;
    repeated(dir.path(), "new", &STEADY.map(|f| f * 2.0))?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout)?;
    assert!(
        table
            .lines()
            .any(|l| l.contains("| p50 |") && l.contains("-50.0%") && l.contains("improved")),
        "{table}"
    );
    Ok(())
}

/// One run a side, or a percentile of too few samples: shown, never judged. Not judged is not
/// passed: a comparison of one run a side exits 4, not 0.
#[test]
fn without_repeats_or_samples_there_is_no_verdict_and_no_pass() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    edit(dir.path(), |r| {
        let t = r["run"]["throughput_ops_per_sec"].as_f64().unwrap_or(0.0);
        r["run"]["throughput_ops_per_sec"] = (t * 0.6).into();
    })?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(4), "not judged is not a pass");
    let table = String::from_utf8(out.stdout)?;
    let line = table
        .lines()
        .find(|l| l.starts_with("| tiny/redb | throughput"))
        .expect("a throughput row");
    assert!(
        line.contains("-40.0%") && line.contains("insufficient data"),
        "{line}"
    );
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.contains("five each") && stderr.contains("Exit 4"),
        "{stderr}"
    );
    // 300 operations: p99.9 has no sample above it; p99 has three.
    repeated(dir.path(), "base", &STEADY)?;
    repeated(dir.path(), "new", &STEADY.map(|f| f * 0.5))?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    let table = String::from_utf8(out.stdout)?;
    for metric in ["p99", "p99.9"] {
        assert!(
            table
                .lines()
                .any(|l| l.contains(&format!("| {metric} |")) && l.contains("too few samples")),
            "{metric}: {table}"
        );
    }
    Ok(())
}

/// A 3x drop of throughput on one run a side is beyond any noise: it fails the gate (exit 1),
/// and the verdict says it rests on few runs.
#[test]
fn a_gross_regression_fails_even_on_one_run_a_side() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    edit(dir.path(), |r| {
        let t = r["run"]["throughput_ops_per_sec"].as_f64().unwrap_or(0.0);
        r["run"]["throughput_ops_per_sec"] = (t / 3.0).into();
    })?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout)?;
    let line = table
        .lines()
        .find(|l| l.starts_with("| tiny/redb | throughput"))
        .expect("a throughput row");
    assert!(
        line.contains("-66.7%") && line.contains("**regressed** (few runs"),
        "{line}"
    );
    assert!(String::from_utf8(out.stderr)?.contains("on fewer than 5 runs a side"));
    Ok(())
}

/// Runs made differently are refused (exit 2, the difference named) unless asked for; a
/// backend on one side only is named, not silently dropped.
#[test]
fn runs_made_differently_are_not_compared() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    edit(dir.path(), |r| {
        r["workload"]["parameters"]["threads"] = 2.into();
        r["workload"]["parameters"]["seed"] = 99.into();
    })?;
    std::fs::remove_dir_all(dir.path().join("new/tiny/memory"))?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    for expected in [
        "tiny/redb: ",
        "seed: 1 vs 99",
        "threads: 1 vs 2",
        "only in base: tiny/memory",
    ] {
        assert!(stderr.contains(expected), "{expected:?} missing: {stderr}");
    }
    let out = storebench(
        &["compare", "base", "new", "--allow-incomparable"],
        dir.path(),
    )?;
    assert_eq!(
        out.status.code(),
        Some(4),
        "compared, though one run a side leaves it unjudged: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A run whose operations failed is not a regression: exit 3, and it is named.
#[test]
fn a_failed_run_exits_3() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    edit(dir.path(), |r| r["run"]["errors"] = 7.into())?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8(out.stderr)?.contains("new tiny/redb"));
    Ok(())
}

#[test]
fn github_action_benchmark_json_lists_the_new_values() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    for (format, unit) in [
        ("bigger-is-better", "ops/s"),
        ("smaller-is-better", "ns"),
        ("json", "ns"),
    ] {
        let out = storebench(&["compare", "base", "new", "--format", format], dir.path())?;
        assert_eq!(out.status.code(), Some(4), "one run a side: not judged");
        let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
        assert!(!entries.is_empty());
        for e in &entries {
            assert_eq!(e["unit"], unit);
            assert!(
                e["name"].as_str().is_some_and(|n| n.starts_with("tiny/")),
                "{e}"
            );
            assert!(e["value"].as_f64().is_some(), "{e}");
        }
    }
    Ok(())
}

#[test]
fn bad_input_exits_2_and_says_why() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    std::fs::create_dir_all(dir.path().join("empty"))?;
    let out = storebench(&["compare", "base", "empty"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)?.contains("no report.json"));
    edit(dir.path(), |r| r["schema_version"] = 99.into())?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.contains("schema version 99") && stderr.contains("redb/report.json"),
        "{stderr}"
    );
    let out = storebench(&["compare", "base", "new", "--threshold", "-3"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn report_renders_an_index_and_a_table_per_workload_with_the_best_in_bold() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tiny.toml"), TINY)?;
    let backends = "memory,automerge,redb";
    let out = storebench(
        &[
            "run",
            "--min-ops",
            "0",
            "tiny.toml",
            "--backend",
            backends,
            "--out",
            "runs",
            "--quiet",
        ],
        dir.path(),
    )?;
    assert!(out.status.success());
    succeeds(&["report", "runs", "--out", "md"], dir.path())?;
    let index = std::fs::read_to_string(dir.path().join("md/README.md"))?;
    assert!(
        index.contains("[tiny](tiny.md)") && index.contains("## Environment"),
        "{index}"
    );
    let table = std::fs::read_to_string(dir.path().join("md/tiny.md"))?;
    // The best value of every column is bold (ties all are; timings of so short a run are
    // noise, so the test does not say whose); the smallest file is redb's, which holds no CRDT
    // history.
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| {
            ["| memory |", "| automerge |", "| redb |"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        table.contains("50 records, 300 operations, 1 thread, seed 1"),
        "the setup is stated: {table}"
    );
    // Column 1 is the durability, which is not a measurement.
    for column in 2..rows[0].len() {
        let bold = rows.iter().filter(|r| r[column].starts_with("**")).count();
        assert!(bold >= 1, "column {column} of {table}");
    }
    let header: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("| backend |"))
        .expect("a header")
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let file = header
        .iter()
        .position(|h| *h == "file MiB")
        .expect("a file column");
    let redb = rows.iter().find(|r| r[0] == "redb").expect("a redb row");
    assert!(redb[file].starts_with("**"), "{table}");
    assert!(
        table.contains(
            "Cost of automerge over its reference redb (redb throughput / automerge throughput)"
        ),
        "{table}"
    );
    let out = storebench(&["report", "nowhere"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn every_plot_is_well_formed_svg_with_a_series_per_backend() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tiny.toml"), TINY)?;
    let out = storebench(
        &[
            "run",
            "--min-ops",
            "0",
            "tiny.toml",
            "--backend",
            "memory,redb",
            "--out",
            "runs",
            "--quiet",
        ],
        dir.path(),
    )?;
    assert!(out.status.success());
    succeeds(&["report", "runs"], dir.path())?;
    let markdown = std::fs::read_to_string(dir.path().join("runs/tiny.md"))?;
    let plots = [
        "tiny-throughput.svg",
        "tiny-timeline.svg",
        "tiny-read-latency.svg",
        "tiny-update-latency.svg",
    ];
    for plot in plots {
        assert!(
            markdown.contains(&format!("]({plot})")),
            "{plot} is linked: {markdown}"
        );
        let svg = std::fs::read_to_string(dir.path().join("runs").join(plot))?;
        let doc = roxmltree::Document::parse(&svg).map_err(|e| format!("{plot}: {e}"))?;
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        for backend in ["memory", "redb"] {
            assert!(
                texts.iter().any(|t| t.contains(backend)),
                "{plot} names {backend}: {texts:?}"
            );
        }
        let lines = doc
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "polyline" | "rect" | "circle"))
            .count();
        assert!(lines >= 2, "{plot} draws its series");
    }
    let spectrum = std::fs::read_to_string(dir.path().join("runs/tiny-read-latency.svg"))?;
    assert!(
        spectrum.contains("latency (µs)") && spectrum.contains("99.9%"),
        "axes are labelled"
    );
    Ok(())
}

#[test]
fn repeated_runs_keep_their_spread_and_compare_judges_noise_by_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tiny.toml"), TINY)?;
    let args = [
        "run",
        "--min-ops",
        "0",
        "tiny.toml",
        "--backend",
        "redb",
        "--repeat",
        "3",
        "--out",
        "base",
        "--quiet",
    ];
    succeeds(&args, dir.path())?;
    let path = dir.path().join("base/tiny/redb/report.json");
    let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let repeat = &report["repeat"];
    assert_eq!(repeat["runs"], 3);
    let runs: Vec<f64> = repeat["throughput_ops_per_sec"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert_eq!(runs.len(), 3);
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(
        report["run"]["throughput_ops_per_sec"].as_f64(),
        Some(sorted[1]),
        "the median run"
    );
    assert_eq!(
        repeat["latency_ns"]["read"]["p99"].as_array().map(Vec::len),
        Some(3)
    );

    // A wide spread in both: a 20% drop of the medians is noise, as the runs overlap.
    report["repeat"]["throughput_ops_per_sec"] =
        serde_json::json!([100.0, 125.0, 150.0, 175.0, 200.0]);
    report["repeat"]["runs"] = 5.into();
    report["run"]["throughput_ops_per_sec"] = 150.0.into();
    // Five runs of every percentile too, so that every metric is judged.
    for op in report["repeat"]["latency_ns"]
        .as_object_mut()
        .into_iter()
        .flat_map(|ops| ops.values_mut())
    {
        for p in ["p50", "p99", "p999"] {
            if let Some(runs) = op[p].as_array_mut() {
                let first = runs.first().cloned().unwrap_or_default();
                runs.resize(5, first);
            }
        }
    }
    std::fs::write(&path, serde_json::to_string(&report)?)?;
    let new = dir.path().join("new/tiny/redb");
    std::fs::create_dir_all(&new)?;
    let mut slower = report.clone();
    slower["repeat"]["throughput_ops_per_sec"] =
        serde_json::json!([80.0, 100.0, 120.0, 140.0, 160.0]);
    slower["run"]["throughput_ops_per_sec"] = 120.0.into();
    std::fs::write(new.join("report.json"), serde_json::to_string(&slower)?)?;
    let out = storebench(&["compare", "base", "new", "--threshold", "10"], dir.path())?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let table = String::from_utf8(out.stdout)?;
    let line = table
        .lines()
        .find(|l| l.starts_with("| tiny/redb | throughput"))
        .expect("a row");
    assert!(
        line.contains("-20.0%") && line.contains("±66.7%") && line.contains("within noise"),
        "{line}"
    );

    // Without repeated runs on one side there is no verdict at all.
    slower["repeat"] = serde_json::Value::Null;
    std::fs::write(new.join("report.json"), serde_json::to_string(&slower)?)?;
    let out = storebench(&["compare", "base", "new", "--threshold", "10"], dir.path())?;
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8(out.stdout)?.contains("insufficient data"));
    Ok(())
}

/// `report` refuses to set runs of one workload made differently in one table (exit 2, the
/// difference named), unless asked to.
#[test]
fn report_refuses_runs_made_differently() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    let path = dir.path().join("base/tiny/redb/report.json");
    let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    report["workload"]["parameters"]["seed"] = 99.into();
    std::fs::write(&path, serde_json::to_string(&report)?)?;
    let out = storebench(&["report", "base", "--out", "md"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    assert!(stderr.contains("tiny: seed: 1 vs 99"), "{stderr}");
    succeeds(
        &["report", "base", "--out", "md", "--allow-incomparable"],
        dir.path(),
    )?;
    Ok(())
}

/// Throughputs orders of magnitude apart are drawn on a logarithmic axis, so a durable store's
/// 500 ops/s is not hidden at zero beside memory's 346k; the spectrum labels p50; and series
/// get colour-blind-safe colours (Okabe-Ito) with a marker shape each.
#[test]
fn plots_show_backends_orders_of_magnitude_apart_and_label_p50() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    for (backend, throughput) in [("memory", 346_000_u64), ("redb", 500)] {
        let path = dir
            .path()
            .join("base/tiny")
            .join(backend)
            .join("report.json");
        let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        report["run"]["throughput_ops_per_sec"] = (throughput as f64).into();
        report["throughput_series"] = serde_json::json!([throughput, throughput, throughput]);
        report["run"]["duration_secs"] = 3.0.into();
        std::fs::write(&path, serde_json::to_string(&report)?)?;
    }
    succeeds(&["report", "base", "--out", "md"], dir.path())?;
    for plot in ["tiny-throughput.svg", "tiny-timeline.svg"] {
        let svg = std::fs::read_to_string(dir.path().join("md").join(plot))?;
        assert!(svg.contains("(logarithmic)"), "{plot} is on a log axis");
        for okabe_ito in ["#0072B2", "#E69F00"] {
            assert!(
                svg.to_uppercase().contains(okabe_ito),
                "{plot}: {okabe_ito}"
            );
        }
    }
    let spectrum = std::fs::read_to_string(dir.path().join("md/tiny-read-latency.svg"))?;
    let doc = roxmltree::Document::parse(&spectrum)?;
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        texts.iter().any(|t| t.trim() == "50%"),
        "p50 is labelled: {texts:?}"
    );
    assert!(
        doc.descendants().any(|n| n.tag_name().name() == "polygon"),
        "the legend shows each series' marker"
    );
    Ok(())
}

/// A report of schema version 5 (before the resource monitor) still reads, and is set beside
/// a version-6 one: version 6 only added the resource columns.
#[test]
fn a_version_5_report_still_reads() -> TestResult {
    let dir = tempfile::tempdir()?;
    reports(dir.path())?;
    let base: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        dir.path().join("base/tiny/redb/report.json"),
    )?)?;
    assert_eq!(base["schema_version"], 6);
    assert!(base["run"]["resources"].is_object());
    edit(dir.path(), |r| {
        r["schema_version"] = 5.into();
        for phase in ["load", "run"] {
            if let Some(p) = r[phase].as_object_mut() {
                p.remove("resources");
            }
        }
    })?;
    let out = storebench(&["compare", "base", "new"], dir.path())?;
    let stderr = String::from_utf8(out.stderr)?;
    // 4: one run a side is too few to judge; not 2, bad input.
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("schema"), "{stderr}");
    let table = String::from_utf8(out.stdout)?;
    assert!(table.contains("| tiny/redb | throughput |"), "{table}");

    // Reports of version 5, as a build before the monitor wrote them (kept from an earlier
    // committed baseline).
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reports/schema-5/ycsb-a");
    for backend in ["memory", "redb"] {
        let to = dir.path().join("old/ycsb-a").join(backend);
        std::fs::create_dir_all(&to)?;
        let from = baseline.join(backend).join("report.json");
        let text = std::fs::read_to_string(&from)?;
        assert!(text.contains("\"schema_version\": 5"), "{}", from.display());
        std::fs::write(to.join("report.json"), text)?;
    }
    succeeds(&["report", "old", "--out", "tables"], dir.path())?;
    let page = std::fs::read_to_string(dir.path().join("tables/ycsb-a.md"))?;
    let header = page
        .lines()
        .find(|l| l.starts_with("| backend |"))
        .ok_or("a table")?;
    assert!(
        header.contains("| write amp. | CPU µs/op |"),
        "the columns are there: {header}"
    );
    let redb = page
        .lines()
        .find(|l| l.starts_with("| redb |"))
        .ok_or("a redb row")?;
    assert!(
        redb.contains("| – | – |"),
        "a version-5 report has no resource figures: {redb}"
    );
    Ok(())
}
