//! The replication workloads built in.

use super::workload::MeshWorkload;

/// Every built-in replication workload: name and TOML.
pub(crate) const MESH_PRESETS: [(&str, &str); 2] = [
    (
        "mesh-sync",
        r#"name = "mesh-sync"
description = "four mesh nodes updating 50 shared small documents, syncing every node with every other every 100 writes"
replicas = 4
documents = 50
value_bytes = 256
operations = 20000
sync_every = 100
topology = "mesh"
"#,
    ),
    (
        "partition-heal",
        r#"name = "partition-heal"
description = "four nodes in a ring; node 3 is cut off for half the run, then heals"
replicas = 4
documents = 50
value_bytes = 256
operations = 20000
sync_every = 200
topology = "ring"

[partition]
replica = 3
from = 5000
to = 15000
"#,
    ),
];

/// The built-in replication workload `name`.
pub(crate) fn mesh_preset(name: &str) -> Option<MeshWorkload> {
    let (_, text) = MESH_PRESETS.iter().find(|(n, _)| *n == name)?;
    Some(MeshWorkload::from_toml(text).expect("a built-in workload is valid"))
}
