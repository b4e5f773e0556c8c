//! Replication runs (`storebench mesh`): replicas of a store that replicates write, sync over
//! a topology, one cut off and healed; the report holds what a user compares stores by.

use crate::common;

use storebench::binding::Bindings;
use storebench::mesh::{MeshWorkload, run_mesh};

const SMALL: &str = r#"name = "small"
replicas = 3
documents = 10
value_bytes = 64
operations = 600
sync_every = 50
topology = "ring"

[partition]
replica = 2
from = 100
to = 400
"#;

#[test]
fn a_partitioned_ring_drifts_apart_and_heals() -> Result<(), Box<dyn std::error::Error>> {
    let workload = MeshWorkload::from_toml(SMALL)?;
    let automerge = Bindings::builtin().select("automerge")?;
    let dir = tempfile::tempdir()?;
    let mut progress = Vec::new();
    let report = run_mesh(&workload, &automerge, dir.path(), |done| {
        progress.push(done)
    })?;
    assert_eq!(report.rounds, 12);
    assert!(report.messages > 0 && report.bytes > 0, "{report:?}");
    // Every write reaches the two other replicas, whichever way round the ring, once.
    assert_eq!(
        report.changes_replicated + report.heal_changes,
        1200,
        "{report:?}"
    );
    assert_eq!(
        report.apply_per_change.count,
        report.changes_replicated + report.heal_changes
    );
    assert_eq!(report.local_write.count, 600);
    // Cut off for 300 writes, replica 2 differs from the others in most documents.
    assert!(report.peak_divergence >= 5, "{report:?}");
    assert_eq!(report.file_bytes.len(), 3);
    assert!(report.file_bytes.iter().all(|&b| b > 0));
    assert!(report.to_markdown().contains("peak divergence"));
    Ok(())
}

#[test]
fn a_store_that_does_not_replicate_is_refused_by_name() -> Result<(), Box<dyn std::error::Error>> {
    let workload = MeshWorkload::from_toml(SMALL)?;
    let redb = Bindings::builtin().select("redb")?;
    let dir = tempfile::tempdir()?;
    let err = run_mesh(&workload, &redb, dir.path(), |_| {}).expect_err("redb does not sync");
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    assert!(text.contains("redb") && text.contains("replicat"), "{text}");
    Ok(())
}

#[test]
fn the_command_writes_json_and_refuses_bad_workloads() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("small.toml");
    std::fs::write(&file, SMALL)?;
    let out = dir.path().join("out");
    let ran = common::storebench(
        &[
            "mesh",
            file.to_str().ok_or("path")?,
            "--out",
            out.to_str().ok_or("path")?,
            "--quiet",
        ],
        dir.path(),
    )?;
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        out.join("small/automerge/mesh.json"),
    )?)?;
    assert_eq!(json["workload"]["replicas"], 3);
    assert!(
        json["bytes_per_replicated_change"]
            .as_f64()
            .is_some_and(|b| b > 0.0)
    );
    assert!(out.join("small/automerge/mesh.md").exists());
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, SMALL.replace("replicas = 3", "replica = 3"))?;
    for (what, arg) in [
        ("unknown preset", "no-such-workload"),
        ("unknown key", typo.to_str().ok_or("path")?),
    ] {
        let refused = common::storebench(&["mesh", arg, "--quiet"], dir.path())?;
        assert_eq!(refused.status.code(), Some(2), "{what}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("mesh-sync") || stderr.contains("replica"),
            "{what}: {stderr}"
        );
    }
    Ok(())
}
