//! The command line end to end: a tiny workload on every backend, each report validated against
//! the documented schema; and every kind of bad input refused with exit code 2.

use crate::common;

use std::path::Path;

use common::{storebench, succeeds};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every operation of the mix, two threads, small enough to run in a blink.
const TINY: &str = r#"
description = "every operation, briefly"
recordcount = 60
operationcount = 400
fieldlengthdistribution = "uniform"
minfieldlength = 10
fieldlength = 300
collections = ["a", "b"]
readproportion = 0.2
updateproportion = 0.2
insertproportion = 0.1
scanproportion = 0.1
readmodifywriteproportion = 0.1
deleteproportion = 0.1
findproportion = 0.05
countproportion = 0.1
scanprefixproportion = 0.05
maxscanlength = 10
threadcount = 2
warmupoperationcount = 50
loadbatchsize = 16
"#;

#[test]
fn a_tiny_workload_runs_on_every_backend_and_its_reports_match_the_schema() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tiny.toml"), TINY)?;
    std::fs::write(
        dir.path().join("paced.toml"),
        format!("{TINY}\ntarget = 4000\n"),
    )?;
    let out = storebench(
        &[
            "run",
            "--min-ops",
            "0",
            "tiny.toml",
            "paced.toml",
            "--backend",
            "memory,automerge,automerge-durable,redb,redb-durable,null",
            "--out",
            "out",
        ],
        dir.path(),
    )?;
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout)?;
    assert_eq!(
        stdout.matches("[OVERALL], Throughput(ops/sec)").count(),
        12,
        "{stdout}"
    );

    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reports/report.schema.json"
    ))?)?;
    let mut checked_mutation = false;
    for workload in ["tiny", "paced"] {
        for backend in [
            "memory",
            "automerge",
            "automerge-durable",
            "redb",
            "redb-durable",
            "null",
        ] {
            let run_dir = dir.path().join("out").join(workload).join(backend);
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json"))?)?;
            let errors = common::schema::violations(&schema, &report);
            assert!(errors.is_empty(), "{workload}/{backend}: {errors:#?}");
            if !checked_mutation {
                // The schema has teeth: a report missing a field, or with a stray one, fails.
                let mut broken = report.clone();
                broken.as_object_mut().expect("an object").remove("seed");
                assert!(!common::schema::violations(&schema, &broken).is_empty());
                let mut broken = report.clone();
                broken["operations"][0]["latency_ns"]["p42"] = 1.into();
                assert!(!common::schema::violations(&schema, &broken).is_empty());
                checked_mutation = true;
            }
            // The report's content, not only its shape.
            let report: storebench::report::Report = serde_json::from_value(report)?;
            assert_eq!(report.backend.name, backend);
            // Each store says what it is built on; the harness's crates are apart.
            let built_on: Vec<&str> = report.backend.versions.keys().map(String::as_str).collect();
            let expected: &[&str] = match backend {
                "automerge" | "automerge-durable" => &["automerge", "redb"],
                "redb" | "redb-durable" => &["redb"],
                _ => &[],
            };
            assert_eq!(built_on, expected, "{backend}");
            assert_eq!(report.threads, 2);
            assert_eq!(
                report.run.operations, 400,
                "{workload}/{backend}: every operation counted"
            );
            let ops: Vec<&str> = report
                .operations
                .iter()
                .map(|o| o.operation.as_str())
                .collect();
            assert_eq!(
                ops.len(),
                9,
                "{workload}/{backend}: every operation type ran: {ops:?}"
            );
            assert_eq!(
                report.file_bytes.is_some(),
                !matches!(backend, "memory" | "null")
            );
            if backend != "null" {
                assert!(report.live_bytes > 0, "{workload}/{backend}");
            }
            assert_eq!(report.target_ops_per_sec.is_some(), workload == "paced");
            for op in &report.operations {
                assert_eq!(
                    op.intended_latency_ns.is_some(),
                    workload == "paced",
                    "{}",
                    op.operation
                );
                let l = &op.latency_ns;
                assert!(
                    l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max,
                    "{}: {l:?}",
                    op.operation
                );
                let hgrm = std::fs::read_to_string(run_dir.join(format!("{}.hgrm", op.operation)))?;
                assert!(
                    hgrm.contains(&format!("Total count    = {:>12}", op.count)),
                    "{hgrm}"
                );
                assert!(run_dir.join(format!("{}.hlog", op.operation)).exists());
            }
            assert!(run_dir.join("load.hgrm").exists());
        }
    }
    Ok(())
}

#[test]
fn list_shows_every_preset_with_its_description() -> TestResult {
    let out = storebench(&["list"], Path::new(env!("CARGO_MANIFEST_DIR")))?;
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout)?;
    for preset in [
        "ycsb-a",
        "ycsb-b",
        "ycsb-c",
        "ycsb-d",
        "ycsb-e",
        "ycsb-f",
        "mesh-state",
        "history-growth",
        "many-collections",
        "large-values",
        "durable-writes",
        "bulk-load",
        "update-only",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(preset))
            .unwrap_or_else(|| panic!("{preset} missing: {stdout}"));
        assert!(
            line.len() > preset.len() + 10,
            "{preset} has a description: {line}"
        );
    }
    Ok(())
}

/// Runs `storebench run bad.toml` and returns stderr, asserting exit code 2.
fn refused(workload: &str, extra: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("bad.toml"), workload)?;
    let mut args = vec!["run", "bad.toml", "--backend", "memory", "--out", "out"];
    args.extend_from_slice(extra);
    let out = storebench(&args, dir.path())?;
    let stderr = String::from_utf8(out.stderr)?;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{workload:?} {extra:?}: {stderr}"
    );
    assert!(
        !dir.path().join("out").exists(),
        "nothing runs on bad input"
    );
    Ok(stderr)
}

#[test]
fn bad_input_is_refused_with_exit_code_2_naming_the_place() -> TestResult {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("recordcount = [1,\n", &[], &["bad.toml", "line 1"]),
        (
            "recordcount = 10\nreadproportoin = 1.0\n",
            &[],
            &["line 2", "unknown key `readproportoin`"],
        ),
        (
            "readproportion = 0\nupdateproportion = 0\n",
            &[],
            &["`readproportion`", "every operation proportion is 0"],
        ),
        ("fieldlength = 0\n", &[], &["`fieldlength`", "at least 1"]),
        (
            "recordcount = 100000000000\nreadproportion = 1\n",
            &[],
            &["need at least", "GiB of memory", "--no-capacity-check"],
        ),
        ("fieldlength = -5\n", &[], &["`fieldlength`"]),
        ("recordcount = -1\n", &[], &["`recordcount`"]),
        (
            "recordcount = 0\nreadproportion = 1.0\n",
            &[],
            &["`recordcount`", "is 0"],
        ),
        (
            "requestdistribution = \"pareto\"\n",
            &[],
            &["`requestdistribution`", "pareto"],
        ),
        (
            "fieldlengthdistribution = \"normal\"\n",
            &[],
            &["`fieldlengthdistribution`"],
        ),
        (
            "readproportion = 1.5\nupdateproportion = -0.5\n",
            &[],
            &["readproportion", "between 0 and 1"],
        ),
        ("durability = \"sometimes\"\n", &[], &["`durability`"]),
        (
            "readproportion = 1.0\n",
            &["--backend", "rocksdb"],
            &["unknown backend `rocksdb`"],
        ),
        (
            "readproportion = 1.0\n",
            &["--duration", "soon"],
            &["not a duration"],
        ),
    ];
    for (workload, extra, expected) in cases {
        let stderr = refused(workload, extra)?;
        for needle in *expected {
            assert!(
                stderr.contains(needle),
                "{workload:?}: expected {needle:?} in: {stderr}"
            );
        }
    }
    let dir = tempfile::tempdir()?;
    let out = storebench(&["run", "no-such-workload", "--out", "out"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.contains("no workload `no-such-workload`") && stderr.contains("presets: "),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn every_preset_is_valid() -> TestResult {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let w = storebench::workload::Workload::from_file(&path)?;
            assert!(!w.description.is_empty(), "{}", path.display());
            count += 1;
        }
    }
    assert_eq!(count, 13);
    Ok(())
}

/// The presets are built into the binary: they run from any directory, and `list` says where
/// each workload comes from; a file of the same name in the workloads directory wins.
#[test]
fn presets_run_from_anywhere_and_a_file_overrides_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    succeeds(
        &[
            "run",
            "ycsb-c",
            "--backend",
            "memory",
            "--ops",
            "50",
            "--out",
            "out",
            "--quiet",
        ],
        dir.path(),
    )?;
    let listed = String::from_utf8(storebench(&["list"], dir.path())?.stdout)?;
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .map(str::to_owned)
    };
    assert!(
        line("ycsb-c").is_some_and(|l| l.contains("built in")),
        "{listed}"
    );
    std::fs::create_dir(dir.path().join("workloads"))?;
    std::fs::write(
        dir.path().join("workloads/ycsb-c.toml"),
        "description = \"mine\"\nrecordcount = 10\n",
    )?;
    let listed = String::from_utf8(storebench(&["list"], dir.path())?.stdout)?;
    let ours = listed
        .lines()
        .find(|l| l.trim_start().starts_with("ycsb-c"))
        .unwrap_or_default();
    assert!(
        ours.contains("workloads/ycsb-c.toml") && ours.contains("mine"),
        "{listed}"
    );
    Ok(())
}

/// Ctrl-C (SIGINT) ends the run in progress: its report is written, marked as interrupted,
/// the temporary database is removed, and the exit code is 130.
#[cfg(unix)]
#[test]
fn an_interrupted_run_writes_its_report_and_leaves_no_database() -> TestResult {
    let dir = tempfile::tempdir()?;
    let temp = dir.path().join("tmp");
    std::fs::create_dir(&temp)?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args([
            "run",
            "ycsb-a",
            "--backend",
            "redb",
            "--duration",
            "60s",
            "--out",
            "out",
            "--quiet",
        ])
        .current_dir(dir.path())
        .env("TMPDIR", &temp)
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // Until the measured run has begun: its database exists.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&temp)?.next().is_none() && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    // The shell's own `kill`: a machine with only a toolchain may have no kill program.
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()?;
    assert!(killed.success());
    let status = child.wait()?;
    assert_eq!(status.code(), Some(130));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/ycsb-a/redb/report.json"),
    )?)?;
    assert!(
        report["notes"].to_string().contains("interrupted after"),
        "{}",
        report["notes"]
    );
    assert!(report["run"]["duration_secs"].as_f64() < Some(30.0));
    // The resource monitor stopped with the run, its last sample after everything it did.
    let totals = &report["run"]["resources"]["totals"];
    assert_eq!(
        totals["operations"], report["run"]["operations"],
        "{totals}"
    );
    assert_eq!(
        std::fs::read_dir(&temp)?.count(),
        0,
        "the temporary database is gone"
    );
    Ok(())
}

/// An `--out` that cannot be written is refused before anything runs.
#[test]
fn an_unwritable_out_is_refused_before_the_run() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("a-file"), "")?;
    let started = std::time::Instant::now();
    let out = storebench(
        &[
            "run",
            "ycsb-a",
            "--backend",
            "memory",
            "--duration",
            "60s",
            "--out",
            "a-file/out",
        ],
        dir.path(),
    )?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)?.contains("--out a-file/out: cannot write reports"));
    assert!(started.elapsed().as_secs() < 30, "nothing ran");
    Ok(())
}

/// A file where a run's reports go (named like the workload, or the backend, inside `--out`)
/// is refused before anything runs, not found when the finished run is written.
#[test]
fn a_file_in_the_way_of_the_reports_is_refused_before_the_run() -> TestResult {
    let dir = tempfile::tempdir()?;
    let refused = |named: &str| -> TestResult {
        let started = std::time::Instant::now();
        let args = [
            "run",
            "ycsb-a",
            "--backend",
            "memory",
            "--duration",
            "60s",
            "--out",
            "out",
        ];
        let out = storebench(&args, dir.path())?;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr)?;
        assert!(stderr.contains(&format!("{named} is a file")), "{stderr}");
        assert!(started.elapsed().as_secs() < 30, "nothing ran");
        Ok(())
    };
    // Named like the backend, in the workload's directory.
    std::fs::create_dir_all(dir.path().join("out/ycsb-a"))?;
    std::fs::write(dir.path().join("out/ycsb-a/memory"), "in the way")?;
    refused("out/ycsb-a/memory")?;
    // Named like the workload.
    std::fs::remove_dir_all(dir.path().join("out/ycsb-a"))?;
    std::fs::write(dir.path().join("out/ycsb-a"), "in the way")?;
    refused("out/ycsb-a")
}

/// `--data` never touches what it did not create: a run's store goes into a fresh directory,
/// beside a user's file of the same name, and stays there.
#[test]
fn data_never_touches_a_users_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("data"))?;
    std::fs::write(dir.path().join("data/ycsb-c-redb"), "a user's file")?;
    let out = storebench(
        &[
            "run",
            "ycsb-c",
            "--backend",
            "redb",
            "--ops",
            "50",
            "--data",
            "data",
        ],
        dir.path(),
    )?;
    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/ycsb-c-redb"))?,
        "a user's file"
    );
    let fresh = dir.path().join("data/ycsb-c-redb-2");
    assert!(
        std::fs::read_dir(&fresh)?.count() > 0,
        "the store kept in a fresh directory"
    );
    // The new name is printed, and recorded in the report.
    assert!(
        stderr.contains("kept in data/ycsb-c-redb-2 (ycsb-c-redb was taken)"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("reports/latest/ycsb-c/redb/report.json"),
    )?)?;
    assert_eq!(
        report["store_dirs"],
        serde_json::json!(["data/ycsb-c-redb-2"])
    );
    Ok(())
}

/// A workload of few operations runs --min-ops of them (10,000 by default), and its report
/// says so; `--min-ops 0` and `--ops` run what they say.
#[test]
fn short_workloads_run_long_enough_to_measure() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("short.toml"),
        "recordcount = 100\noperationcount = 1000\n",
    )?;
    let run = |extra: &[&str]| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let mut args = vec![
            "run",
            "short.toml",
            "--backend",
            "memory",
            "--out",
            "out",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        succeeds(&args, dir.path())?;
        let report = std::fs::read(dir.path().join("out/short/memory/report.json"))?;
        Ok(serde_json::from_slice(&report)?)
    };
    let report = run(&[])?;
    assert_eq!(report["run"]["operations"], 10_000);
    assert!(
        report["notes"]
            .to_string()
            .contains("where the workload gives 1000")
    );
    assert_eq!(run(&["--min-ops", "0"])?["run"]["operations"], 1_000);
    assert_eq!(run(&["--ops", "500"])?["run"]["operations"], 500);
    // 0 is a load alone, and stays one.
    std::fs::write(
        dir.path().join("short.toml"),
        "recordcount = 100\noperationcount = 0\n",
    )?;
    assert_eq!(run(&[])?["run"]["operations"], 0);
    Ok(())
}

/// The report schema's validator, a few lines in `tests/common/schema.rs`, has teeth.
#[test]
fn the_validator_catches_each_kind_of_violation() {
    let schema = serde_json::json!({
        "type": "object", "additionalProperties": false, "required": ["n", "name"],
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "pattern": "^[a-z0-9_-]+$"},
            "v": {"const": 5}, "e": {"enum": ["a", "b"]},
            "m": {"type": "object", "additionalProperties": {"$ref": "#/$defs/pos"}},
            "l": {"type": "array", "items": {"$ref": "#/$defs/pos"}},
            "o": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/pos"}]}
        },
        "$defs": {"pos": {"type": "number", "exclusiveMinimum": 0}}
    });
    let valid = serde_json::json!({"n": 1, "name": "ycsb-a", "v": 5, "e": "a",
        "m": {"x": 1.5}, "l": [1, 2], "o": null});
    assert_eq!(
        common::schema::violations(&schema, &valid),
        Vec::<String>::new()
    );
    for (broken, at) in [
        (serde_json::json!({"name": "a"}), "n is missing"),
        (serde_json::json!({"n": 0, "name": "a"}), "/n: 0 is below"),
        (serde_json::json!({"n": 1.5, "name": "a"}), "/n: 1.5 is not"),
        (serde_json::json!({"n": 1, "name": "A b"}), "does not match"),
        (
            serde_json::json!({"n": 1, "name": "a", "v": 4}),
            "/v: 4 is not 5",
        ),
        (
            serde_json::json!({"n": 1, "name": "a", "e": "c"}),
            "is not one of",
        ),
        (
            serde_json::json!({"n": 1, "name": "a", "z": 1}),
            "/z is not allowed",
        ),
        (
            serde_json::json!({"n": 1, "name": "a", "m": {"x": 0}}),
            "/m/x: 0 is below",
        ),
        (
            serde_json::json!({"n": 1, "name": "a", "l": [1, -1]}),
            "/l/1: -1 is below",
        ),
        (
            serde_json::json!({"n": 1, "name": "a", "o": "s"}),
            "0 of oneOf",
        ),
    ] {
        let found = common::schema::violations(&schema, &broken);
        assert!(found.iter().any(|v| v.contains(at)), "{broken}: {found:?}");
    }
}

/// Two `run`s into one `--out` stay apart in `report`: each invocation gets a table of its
/// own, so no ratio pairs one invocation's redb with another's automerge, a stale run with
/// other `--ops` does not make `report` refuse, and a store that keeps nothing (null) is
/// marked and never bold.
#[test]
fn report_keeps_separate_runs_apart_and_never_crowns_a_store_that_keeps_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("small.toml"),
        "recordcount = 50\noperationcount = 200\nreadproportion = 0.5\nupdateproportion = 0.5\n",
    )?;
    let run = |backends: &str, ops: &str| {
        storebench(
            &[
                "run",
                "small.toml",
                "--backend",
                backends,
                "--ops",
                ops,
                "--out",
                "out",
            ],
            dir.path(),
        )
    };
    let first = run("redb", "200")?;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = run("automerge,memory,null", "300")?;
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        String::from_utf8(second.stderr)?.contains("report(s) of earlier runs"),
        "the second run says the first's reports are there"
    );
    let rendered = storebench(&["report", "out"], dir.path())?;
    assert!(
        rendered.status.success(),
        "runs with other --ops in separate tables are no conflict: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let first_page = std::fs::read_to_string(dir.path().join("out/small.run1.md"))?;
    let second_page = std::fs::read_to_string(dir.path().join("out/small.run2.md"))?;
    assert!(first_page.contains("| redb |") && !first_page.contains("automerge"));
    assert!(second_page.contains("| automerge |") && !second_page.contains("| redb |"));
    assert!(
        !second_page.contains("Cost of automerge"),
        "no ratio across invocations: {second_page}"
    );
    let null_row = second_page
        .lines()
        .find(|l| l.starts_with("| null"))
        .ok_or("a null row")?;
    assert!(null_row.contains("(stores nothing)"), "{null_row}");
    assert!(!null_row.contains("**"), "null is never best: {null_row}");
    assert!(second_page.contains("**"), "the others still have a best");
    let index = std::fs::read_to_string(dir.path().join("out/README.md"))?;
    assert!(index.contains("small.run1.md") && index.contains("small.run2.md"));
    Ok(())
}

/// Sends SIGINT to `child` once `temp` holds a database and `after` more has passed, and
/// returns the exit code.
#[cfg(unix)]
fn interrupt_after(
    child: &mut std::process::Child,
    temp: &Path,
    after: std::time::Duration,
) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    signal_after(child, temp, after, "INT")
}

/// Sends `signal` to `child` once `temp` holds a database and `after` more has passed, and
/// returns the exit code (none when the signal killed it).
#[cfg(unix)]
fn signal_after(
    child: &mut std::process::Child,
    temp: &Path,
    after: std::time::Duration,
    signal: &str,
) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    while std::fs::read_dir(temp)?.next().is_none() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(after);
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -{signal} {}", child.id())])
        .status()?;
    assert!(killed.success());
    Ok(child.wait()?.code())
}

/// A load interrupted part way reports the documents it wrote, and their rate: not the
/// planned count.
#[cfg(unix)]
#[test]
fn an_interrupted_load_reports_the_documents_it_wrote() -> TestResult {
    let dir = tempfile::tempdir()?;
    let temp = dir.path().join("tmp");
    std::fs::create_dir(&temp)?;
    std::fs::write(
        dir.path().join("big.toml"),
        "recordcount = 5000000\noperationcount = 100\nfieldcount = 1\nfieldlength = 10\n\
         loadbatchsize = 1000\nreadproportion = 1.0\n",
    )?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args([
            "run",
            "big.toml",
            "--backend",
            "redb",
            "--out",
            "out",
            "--quiet",
        ])
        .current_dir(dir.path())
        .env("TMPDIR", &temp)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let code = interrupt_after(&mut child, &temp, std::time::Duration::from_millis(800))?;
    assert_eq!(code, Some(130));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/big/redb/report.json"))?)?;
    let load = &report["load"];
    let documents = load["documents"].as_u64().ok_or("documents")?;
    assert!(
        documents < 5_000_000 && documents % 1000 == 0,
        "what was written, in whole batches: {documents}"
    );
    let (rate, secs) = (
        load["throughput_ops_per_sec"].as_f64().ok_or("rate")?,
        load["duration_secs"].as_f64().ok_or("secs")?,
    );
    assert!(
        (rate * secs - documents as f64).abs() < 1.0,
        "the rate is of the documents written: {rate} over {secs} s for {documents}"
    );
    assert_eq!(report["interrupted"], true);
    Ok(())
}

/// `--repeat 3` interrupted before its third run ends: the report is marked interrupted, and
/// says 3 runs were asked for and how many it keeps.
#[cfg(unix)]
#[test]
fn an_interrupted_repeat_says_so_and_records_the_runs_asked_for() -> TestResult {
    let dir = tempfile::tempdir()?;
    let temp = dir.path().join("tmp");
    std::fs::create_dir(&temp)?;
    std::fs::write(
        dir.path().join("brief.toml"),
        "recordcount = 100\nreadproportion = 1.0\n",
    )?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args([
            "run",
            "brief.toml",
            "--backend",
            "redb",
            "--duration",
            "2s",
            "--repeat",
            "3",
            "--out",
            "out",
            "--quiet",
        ])
        .current_dir(dir.path())
        .env("TMPDIR", &temp)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // In the second run, most likely; any point before the third ends will do.
    let code = interrupt_after(&mut child, &temp, std::time::Duration::from_millis(3000))?;
    assert_eq!(code, Some(130));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/brief/redb/report.json"),
    )?)?;
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["repeat"]["requested"], 3);
    let kept = report["repeat"]["runs"].as_u64().ok_or("runs")?;
    assert!((1..3).contains(&kept), "{kept} of 3 runs kept");
    assert!(
        report["notes"].to_string().contains("of 3"),
        "{}",
        report["notes"]
    );
    Ok(())
}

/// `--repeat 3` killed outright in its second round (as an OOM kill or a second Ctrl-C
/// would end it, with no chance to write anything): the first round's run is on disk,
/// marked interrupted.
#[cfg(unix)]
#[test]
fn a_killed_repeat_leaves_the_report_of_the_rounds_that_finished() -> TestResult {
    let dir = tempfile::tempdir()?;
    let temp = dir.path().join("tmp");
    std::fs::create_dir(&temp)?;
    std::fs::write(
        dir.path().join("brief.toml"),
        "recordcount = 100\nreadproportion = 1.0\n",
    )?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args([
            "run",
            "brief.toml",
            "--backend",
            "redb",
            "--duration",
            "2s",
            "--repeat",
            "3",
            "--out",
            "out",
            "--quiet",
        ])
        .current_dir(dir.path())
        .env("TMPDIR", &temp)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // In the second run, most likely; any point after the first ends and before the third
    // ends will do.
    let code = signal_after(
        &mut child,
        &temp,
        std::time::Duration::from_millis(3000),
        "KILL",
    )?;
    assert_eq!(code, None, "killed by the signal");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/brief/redb/report.json"),
    )?)?;
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["repeat"]["requested"], 3);
    let kept = report["repeat"]["runs"].as_u64().ok_or("runs")?;
    assert!((1..3).contains(&kept), "{kept} of 3 runs kept");
    Ok(())
}

/// `report.json` gets the mode every other output gets (0666 less the umask), not a temporary
/// file's 0600.
#[cfg(unix)]
#[test]
fn report_json_is_as_readable_as_the_other_outputs() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    succeeds(
        &[
            "run",
            "ycsb-c",
            "--backend",
            "memory",
            "--ops",
            "50",
            "--out",
            "out",
            "--quiet",
        ],
        dir.path(),
    )?;
    let mode = |file: &str| -> std::io::Result<u32> {
        let path = dir.path().join("out/ycsb-c/memory").join(file);
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
    };
    assert_eq!(mode("report.json")?, mode("read.hgrm")?);
    Ok(())
}

/// Several `run` processes named one `--invocation` (the baseline loop: a process per
/// backend) share a table in `report`.
#[test]
fn runs_named_one_invocation_share_a_table() -> TestResult {
    let dir = tempfile::tempdir()?;
    for backend in ["memory", "redb"] {
        let args = [
            "run",
            "ycsb-c",
            "--backend",
            backend,
            "--ops",
            "50",
            "--out",
            "out",
            "--invocation",
            "baseline",
            "--quiet",
        ];
        succeeds(&args, dir.path())?;
    }
    succeeds(&["report", "out"], dir.path())?;
    let page = std::fs::read_to_string(dir.path().join("out/ycsb-c.md"))?;
    assert!(
        page.contains("| memory |") && page.contains("| redb |"),
        "{page}"
    );
    Ok(())
}

/// The resource monitor samples every run: report.json (schema 6) holds its samples as
/// columns, each counter never falling, and totals that are the last samples and their
/// ratios.
#[test]
fn a_run_samples_its_resources_as_columns() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("tiny.toml"), TINY)?;
    let args = [
        "run",
        "--min-ops",
        "0",
        "tiny.toml",
        "--backend",
        "redb-durable",
        "--sample-interval",
        "2ms",
        "--out",
        "out",
        "--quiet",
    ];
    succeeds(&args, dir.path())?;
    let text = std::fs::read_to_string(dir.path().join("out/tiny/redb-durable/report.json"))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(json["schema_version"], 6);
    // Columns, not an array of samples.
    assert!(json["run"]["resources"]["elapsed_ms"].is_array(), "{text}");
    let report: storebench::report::Report = serde_json::from_value(json)?;
    let rising = |column: &[u64]| column.windows(2).all(|w| w[0] <= w[1]);
    // JSON's decimal text of a ratio reads back within a rounding of it, not always exactly.
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs());
    // /proc/self/io is there on Linux unless the kernel lacks task I/O accounting.
    let device_io = std::fs::read_to_string("/proc/self/io").is_ok();
    for (name, phase) in [("load", &report.load), ("run", &report.run)] {
        let r = phase.resources.as_ref().ok_or("no resources")?;
        assert_eq!(r.interval_ms, 2);
        let samples = r.elapsed_ms.len();
        assert!(
            samples >= 2,
            "{name}: a sample at the start and one at the end"
        );
        assert_eq!(r.elapsed_ms[0], 0, "{name}");
        assert!(rising(&r.elapsed_ms), "{name}: {:?}", r.elapsed_ms);
        let mut columns = vec![&r.logical_write_bytes, &r.logical_read_bytes];
        columns.extend(r.operations.values());
        for optional in [&r.cpu_user_us, &r.cpu_system_us] {
            columns.push(optional.as_ref().ok_or("CPU time on Unix")?);
        }
        if device_io {
            columns.push(r.device_write_bytes.as_ref().ok_or("device writes")?);
            columns.push(r.device_read_bytes.as_ref().ok_or("device reads")?);
        }
        for column in &columns {
            assert_eq!(column.len(), samples, "{name}: one entry per sample");
            assert!(rising(column), "{name}: a counter fell: {column:?}");
        }
        let cpu: Vec<u64> = (0..samples)
            .map(|i| {
                let user = r.cpu_user_us.as_ref().map_or(0, |c| c[i]);
                user + r.cpu_system_us.as_ref().map_or(0, |c| c[i])
            })
            .collect();
        assert!(rising(&cpu), "{name}: {cpu:?}");
        let store = r.store_bytes.as_ref().ok_or("a durable store has files")?;
        assert_eq!(store.len(), samples);
        assert!(store.last().is_some_and(|&b| b > 0), "{name}: {store:?}");
        let space = r
            .space_amplification
            .as_ref()
            .ok_or("space amplification")?;
        assert_eq!(space.len(), samples);
        assert!(space.last().is_some_and(|a| a.is_some_and(|a| a > 0.0)));
        // Totals: the last samples, and their ratios.
        let t = &r.totals;
        let last_ops: u64 = r.operations.values().filter_map(|c| c.last()).sum();
        assert_eq!(t.operations, last_ops);
        assert_eq!(
            t.operations, phase.operations,
            "{name}: every operation counted"
        );
        assert_eq!(Some(&t.logical_write_bytes), r.logical_write_bytes.last());
        assert!(t.logical_write_bytes > 0, "{name}: both phases write");
        if device_io {
            let written = t.device_write_bytes.ok_or("device writes")?;
            let ratio = written as f64 / t.logical_write_bytes as f64;
            assert!(close(t.write_amplification, ratio), "{t:?}");
        } else {
            assert_eq!(t.write_amplification, None);
            assert!(report.notes.iter().any(|n| n.contains("/proc/self/io")));
        }
        let cpu_us = cpu.last().copied().unwrap_or(0);
        let per_operation = cpu_us as f64 / t.operations as f64;
        assert!(close(t.cpu_us_per_operation, per_operation), "{t:?}");
    }
    // The load wrote every record it loaded, ids and values: 60 records, each over 10 bytes.
    let load = report.load.resources.as_ref().ok_or("no load resources")?;
    assert!(load.totals.logical_write_bytes > 60 * 10);
    Ok(())
}

/// `--sample-interval` takes a duration of at least a millisecond.
#[test]
fn the_sample_interval_is_a_duration_of_a_millisecond_or_more() -> TestResult {
    let dir = tempfile::tempdir()?;
    for bad in ["0", "0.0001", "often"] {
        let args = ["run", "ycsb-c", "--sample-interval", bad, "--ops", "10"];
        let out = storebench(&args, dir.path())?;
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8(out.stderr)?.contains("--sample-interval"),
            "{bad}"
        );
    }
    Ok(())
}
