//! YCSB's own workload files (Java properties) run unchanged and mean what the presets mean;
//! properties storebench cannot honour are refused naming the property.

mod common;

use std::path::{Path, PathBuf};

use common::storebench;
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
    let cases: [(&str, &[&str]); 5] = [
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
            &["line 3", "unknown field `readproportoin`"],
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

/// YCSB's histogram file: `BlockSize` then bucket and count per line.
#[test]
fn a_field_length_histogram_file_is_read_beside_the_workload() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("hist.txt"), "BlockSize\t10\n1\t3\n4\t1\n")?;
    let path = dir.path().join("workloadh");
    std::fs::write(
        &path,
        "fieldlengthdistribution=histogram\nfieldlengthhistogram=hist.txt\n",
    )?;
    let workload = Workload::from_file(&path)?;
    assert_eq!(
        serde_json::to_value(&workload.field_length)?,
        serde_json::json!({"kind": "histogram", "buckets": [[10, 3.0], [40, 1.0]]})
    );
    Ok(())
}
