//! YCSB's own workload files (Java properties) run unchanged and mean what the presets mean;
//! properties storebench cannot honour are refused naming the property.

use crate::common;

use std::path::{Path, PathBuf};

use common::{storebench, succeeds};
use storebench::workload::Workload;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn ycsb_file(letter: char) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/ycsb/workload{letter}"))
}

/// Each of YCSB's six files is the preset of its letter, property for property; only the
/// `workload` class name is left over, listed as ignored.
#[test]
fn ycsbs_files_are_the_presets() -> TestResult {
    for letter in ['a', 'b', 'c', 'd', 'e', 'f'] {
        let ycsb = Workload::from_file(ycsb_file(letter))?;
        let preset = Workload::from_file(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("workloads/ycsb-{letter}.toml")),
        )?;
        assert_eq!(
            ycsb.ignored_properties,
            ["workload=site.ycsb.workloads.CoreWorkload"]
        );
        let comparable = |w: &Workload| {
            let mut value = serde_json::to_value(w).expect("plain data");
            for key in ["name", "description", "ignored_properties"] {
                value.as_object_mut().map(|o| o.remove(key));
            }
            value
        };
        assert_eq!(comparable(&ycsb), comparable(&preset), "workload{letter}");
    }
    Ok(())
}

/// `storebench run path/to/workloada` on a YCSB file, as YCSB's users have them.
#[test]
fn ycsbs_files_run_and_their_reports_list_what_was_ignored() -> TestResult {
    let dir = tempfile::tempdir()?;
    for letter in ['a', 'b', 'c', 'd', 'e', 'f'] {
        std::fs::copy(
            ycsb_file(letter),
            dir.path().join(format!("workload{letter}")),
        )?;
    }
    let out = storebench(
        &[
            "run",
            "workloada",
            "workloadb",
            "workloadc",
            "workloadd",
            "workloade",
            "workloadf",
            "--backend",
            "memory",
            "--ops",
            "200",
            "--out",
            "out",
        ],
        dir.path(),
    )?;
    let stdout = String::from_utf8(out.stdout)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "[OVERALL], Throughput(ops/sec)",
        "[READ-MODIFY-WRITE], Operations",
    ] {
        assert!(stdout.contains(section), "{section} missing: {stdout}");
    }
    assert!(
        stdout.contains("[READ], 95thPercentileLatency(us)"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/workloadf/memory/report.json"),
    )?)?;
    assert_eq!(
        report["ignored_properties"],
        serde_json::json!(["workload=site.ycsb.workloads.CoreWorkload"])
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("read-modify-write"), "{notes}");
    Ok(())
}

/// Exit 2 and the property named, for what storebench cannot honour.
#[test]
fn properties_it_cannot_honour_are_refused_by_name() -> TestResult {
    let cases: [(&str, &[&str]); 6] = [
        (
            "recordcount=10\ndataintegrity=TRUE\n",
            &["`dataintegrity`", "not supported"],
        ),
        (
            "recordcount=10\ndataintegrity=true\n",
            &["`dataintegrity`", "not supported"],
        ),
        (
            "recordcount=10\nfieldlengthdistribution=histogram\nfieldlengthhistogram=hist.txt\n",
            &["`fieldlengthhistogram`", "hist.txt", "cannot read"],
        ),
        (
            "recordcount=10\nreadproportion=0\nupdateproportion=0\n",
            &["every operation proportion is 0"],
        ),
        (
            "recordcount=10\n\nreadproportoin=1\n",
            &["line 3", "unknown key `readproportoin`"],
        ),
        ("recordcount=ten\n", &["line 1", "`recordcount`"]),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("workloadx"), text)?;
        let out = storebench(&["run", "workloadx", "--backend", "memory"], dir.path())?;
        let stderr = String::from_utf8(out.stderr)?;
        assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{text:?}: {e:?} missing from {stderr}");
        }
    }
    Ok(())
}

/// YCSB's keys that do not apply are accepted and listed, whole families of them, in either
/// syntax; `dataintegrity = true` is refused in TOML too.
#[test]
fn keys_that_do_not_apply_are_listed_in_either_syntax() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("workloadx");
    std::fs::write(
        &path,
        "db=site.ycsb.BasicDB\nmeasurement.histogram.verbose=true\nhdrhistogram.output.path=x\nstatus.interval=5\n",
    )?;
    let workload = Workload::from_file(&path)?;
    assert_eq!(
        workload.ignored_properties,
        [
            "db=site.ycsb.BasicDB",
            "measurement.histogram.verbose=true",
            "hdrhistogram.output.path=x",
            "status.interval=5"
        ]
    );
    let toml = "workload = \"core\"\n[hdrhistogram.output]\npath = \"x\"\n";
    let workload = Workload::from_toml("t", toml, Path::new("t.toml"))?;
    assert_eq!(
        workload.ignored_properties,
        ["hdrhistogram.output.path=x", "workload=core"]
    );
    let refused = Workload::from_toml("t", "dataintegrity = true\n", Path::new("t.toml"));
    assert!(refused.is_err_and(|e| e.to_string().contains("`dataintegrity`")));
    Ok(())
}

/// YCSB's histogram file: `BlockSize` then bucket and count per line.
#[test]
fn a_field_length_histogram_file_is_read_beside_the_workload() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("hist.txt"),
        "BlockSize\t10\n0\t3\n\n1\t0\n2\t1\n",
    )?;
    let path = dir.path().join("workloadh");
    std::fs::write(
        &path,
        "fieldlengthdistribution=histogram\nfieldlengthhistogram=hist.txt\n",
    )?;
    let workload = Workload::from_file(&path)?;
    assert_eq!(
        serde_json::to_value(&workload.field_length)?,
        serde_json::json!({"kind": "histogram", "buckets": [[10, 3.0], [20, 0.0], [30, 1.0]]})
    );
    // Buckets from 0 without a gap, as YCSB's generator requires; the line is named.
    std::fs::write(dir.path().join("hist.txt"), "BlockSize\t10\n0\t3\n\n2\t1\n")?;
    let error = Workload::from_file(&path).expect_err("a gap").to_string();
    assert!(
        error.contains("line 4: bucket 2 where bucket 1 comes next"),
        "{error}"
    );
    Ok(())
}

/// `--log-operations`: every operation as YCSB's BasicDB prints it, the load's inserts with
/// every field in the order Java's HashMap gives, a read-modify-write as a read and an update.
#[test]
fn the_operation_log_is_basicdbs_stream() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::copy(ycsb_file('f'), dir.path().join("workloadf"))?;
    let args = [
        "run",
        "workloadf",
        "--backend",
        "memory",
        "--ops",
        "300",
        "--out",
        "out",
        "--log-operations",
        "--quiet",
    ];
    succeeds(&args, dir.path())?;
    let log = std::fs::read_to_string(dir.path().join("out/workloadf/memory/operations.log"))?;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/workloadf/memory/report.json"),
    )?)?;
    let lines = |verb: &str| log.lines().filter(|l| l.starts_with(verb)).count();
    assert_eq!(lines("INSERT usertable user"), 1000);
    assert_eq!(
        lines("READ usertable user"),
        300,
        "every read, alone or in an RMW"
    );
    let rmw = report["operations"]
        .as_array()
        .and_then(|ops| ops.iter().find(|o| o["operation"] == "read-modify-write"))
        .and_then(|o| o["count"].as_u64())
        .expect("read-modify-writes ran");
    assert_eq!(lines("UPDATE usertable user") as u64, rmw);
    assert_eq!(log.lines().count() as u64, 1300 + rmw);
    let first = log.lines().next().expect("a line");
    assert!(
        first.starts_with("INSERT usertable user6284781860667377211 [ field1="),
        "{first}"
    );
    let names: Vec<&str> = first
        .split(' ')
        .filter_map(|w| w.split_once('=').map(|(name, _)| name))
        .filter(|name| name.starts_with("field"))
        .collect();
    assert_eq!(
        names,
        [
            "field1", "field0", "field7", "field6", "field9", "field8", "field3", "field2",
            "field5", "field4"
        ]
    );
    Ok(())
}

/// `basic` stores nothing and prints its operations to standard output, before the summary.
#[test]
fn basic_prints_every_operation() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::copy(ycsb_file('c'), dir.path().join("workloadc"))?;
    let out = succeeds(
        &[
            "run",
            "workloadc",
            "--backend",
            "basic",
            "--ops",
            "50",
            "--out",
            "out",
        ],
        dir.path(),
    )?;
    let stdout = String::from_utf8(out.stdout)?;
    let reads = stdout
        .lines()
        .filter(|l| l.starts_with("READ usertable user"))
        .count();
    assert_eq!(reads, 50);
    assert!(
        stdout
            .lines()
            .all(|l| !l.starts_with("READ") || l.ends_with(" [ <all fields>]"))
    );
    assert!(stdout.contains("[OVERALL], RunTime(ms)"));
    Ok(())
}

/// Two client processes split one load (`insertstart`, `insertcount`) and run together; their
/// reports merge into one: operations and documents summed, latencies from the added
/// histograms. Runs that did not overlap, or of different workloads, are refused.
#[test]
fn client_processes_merge_into_one_report() -> TestResult {
    let dir = tempfile::tempdir()?;
    let base = "recordcount=400\nreadproportion=0.5\nupdateproportion=0.5\nrequestdistribution=zipfian\ninsertcount=200\n";
    for (client, start) in [("one", 0), ("two", 200)] {
        std::fs::create_dir(dir.path().join(client))?;
        std::fs::write(
            dir.path().join(client).join("split"),
            format!("{base}insertstart={start}\n"),
        )?;
    }
    let client = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_storebench"))
            .args([
                "run",
                "split",
                "--backend",
                "memory",
                "--duration",
                "1s",
                "--out",
                "out",
                "--quiet",
            ])
            .current_dir(dir.path().join(name))
            .spawn()
    };
    let (mut one, mut two) = (client("one")?, client("two")?);
    assert!(one.wait()?.success() && two.wait()?.success());
    succeeds(
        &["merge", "one/out", "two/out", "--out", "merged"],
        dir.path(),
    )?;
    let read = |path: &str| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let bytes = std::fs::read(dir.path().join(path).join("split/memory/report.json"))?;
        Ok(serde_json::from_slice(&bytes)?)
    };
    let (a, b, merged) = (read("one/out")?, read("two/out")?, read("merged")?);
    let sum = |key: &str, field: &str| {
        a[key][field]
            .as_u64()
            .zip(b[key][field].as_u64())
            .map(|(x, y)| x + y)
    };
    assert_eq!(
        merged["run"]["operations"].as_u64(),
        sum("run", "operations")
    );
    assert_eq!(merged["load"]["documents"].as_u64(), Some(400));
    assert_eq!(merged["threads"], 2);
    let reads = |r: &serde_json::Value| {
        r["operations"]
            .as_array()
            .and_then(|ops| ops.iter().find(|o| o["operation"] == "read"))
            .and_then(|o| o["count"].as_u64())
    };
    assert_eq!(reads(&merged), reads(&a).zip(reads(&b)).map(|(x, y)| x + y));
    assert!(
        std::fs::read_to_string(dir.path().join("merged/split/memory/read.hgrm"))?
            .contains("Percentile")
    );
    let throughput = merged["run"]["throughput_ops_per_sec"]
        .as_f64()
        .unwrap_or(0.0);
    let each = a["run"]["throughput_ops_per_sec"].as_f64().unwrap_or(0.0);
    assert!(
        throughput > each,
        "summed over the common interval: {throughput} vs {each}"
    );

    // A client of another workload is refused by name, and so is one that ran later.
    let refused = |name: &str, more: &str, why: &str| -> TestResult {
        std::fs::create_dir(dir.path().join(name))?;
        let workload = format!("{base}insertstart=200\n{more}");
        std::fs::write(dir.path().join(name).join("split"), workload)?;
        assert!(client(name)?.wait()?.success());
        let other = format!("{name}/out");
        let out = storebench(&["merge", "one/out", &other, "--out", "bad"], dir.path())?;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr)?;
        assert!(stderr.contains(why), "{why:?} missing from {stderr}");
        Ok(())
    };
    refused(
        "three",
        "fieldcount=3\n",
        "split/memory: the runs cannot be merged",
    )?;
    refused("four", "", "do not overlap in time")?;
    Ok(())
}

/// YCSB's `workload_template` with its client-side keys uncommented runs, those keys ignored
/// with a warning; keys storebench does not know are refused all at once, in line order.
#[test]
fn client_side_keys_are_ignored_with_a_warning_and_unknown_keys_reported_together() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("template"),
        "recordcount=20\ncolumnfamily=family\nreadproportion=1\n\
         reportlatencyforeacherror=false\nlatencytrackederrors=NOT_FOUND\n",
    )?;
    let out = storebench(
        &[
            "run",
            "template",
            "--backend",
            "memory",
            "--ops",
            "20",
            "--out",
            "out",
        ],
        dir.path(),
    )?;
    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ignored") && stderr.contains("columnfamily=family"),
        "a warning names them: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/template/memory/report.json"),
    )?)?;
    for key in [
        "columnfamily",
        "reportlatencyforeacherror",
        "latencytrackederrors",
    ] {
        assert!(
            report["ignored_properties"].to_string().contains(key),
            "{key}"
        );
    }

    std::fs::write(
        dir.path().join("typos"),
        "zzz=1\nrecordcount=20\naaa=2\nreadproportion=1\nmmm=3\n",
    )?;
    let out = storebench(&["run", "typos", "--backend", "memory"], dir.path())?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr)?;
    let at = |s: &str| stderr.find(s).ok_or(format!("{s} missing: {stderr}"));
    assert!(at("line 1: unknown key `zzz`")? < at("line 3: unknown key `aaa`")?);
    assert!(at("line 3: unknown key `aaa`")? < at("line 5: unknown key `mmm`")?);
    assert_eq!(stderr.lines().count(), 1, "one error: {stderr}");
    Ok(())
}

/// `run -p key=value` sets a workload property over the file's, as YCSB's `-p` does; an
/// unknown one is refused like a key in the file.
#[test]
fn dash_p_sets_a_property_over_the_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    succeeds(
        &[
            "run",
            "ycsb-c",
            "--backend",
            "memory",
            "--ops",
            "50",
            "-p",
            "recordcount=123",
            "-p",
            "fieldcount=2",
            "--out",
            "out",
            "--quiet",
        ],
        dir.path(),
    )?;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(
        dir.path().join("out/ycsb-c/memory/report.json"),
    )?)?;
    assert_eq!(report["workload"]["parameters"]["record_count"], 123);
    assert_eq!(report["workload"]["parameters"]["field_count"], 2);
    let out = storebench(
        &["run", "ycsb-c", "--backend", "memory", "-p", "recordcout=5"],
        dir.path(),
    )?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)?.contains("unknown key `recordcout`"));
    Ok(())
}
