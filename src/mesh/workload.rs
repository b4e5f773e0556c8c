//! A replication workload: how many replicas, what they write, how often and over which links
//! they sync, and who is cut off when.

use serde::{Deserialize, Serialize};

/// A replication workload, as a TOML file spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshWorkload {
    /// The name reports carry.
    pub name: String,
    /// What it models.
    #[serde(default)]
    pub description: String,
    /// Replicas, each its own database: 2 to 16.
    pub replicas: usize,
    /// Documents every replica writes (shared: any replica may write any).
    pub documents: u64,
    /// Bytes per value written.
    pub value_bytes: usize,
    /// Local writes in all, issued by the replicas in turn.
    pub operations: u64,
    /// A sync round over every link after this many local writes.
    pub sync_every: u64,
    /// Which replicas sync with which.
    pub topology: Topology,
    /// A replica cut off for a stretch of operations, then healed.
    #[serde(default)]
    pub partition: Option<Partition>,
    /// Seeds which replica writes which document and what.
    #[serde(default)]
    pub seed: u64,
}

/// Which replicas sync with which in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Every pair.
    Mesh,
    /// Each with the next, the last with the first.
    Ring,
    /// The first with each other.
    Star,
}

/// A replica that syncs with no one while `from <= operation < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// The replica cut off, from 0.
    pub replica: usize,
    /// The first operation it misses the rounds of.
    pub from: u64,
    /// The operation from which it syncs again.
    pub to: u64,
}

impl MeshWorkload {
    /// Reads a workload from TOML and checks it.
    ///
    /// # Errors
    /// What is wrong with it, naming the key.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let workload: MeshWorkload = toml::from_str(text).map_err(|e| e.to_string())?;
        workload.validate()?;
        Ok(workload)
    }

    /// Checks that the numbers make a run.
    ///
    /// # Errors
    /// The first key that does not, and why.
    pub fn validate(&self) -> Result<(), String> {
        let fail = |key: &str, why: &str| Err(format!("`{key}` {why}"));
        if !(2..=16).contains(&self.replicas) {
            return fail(
                "replicas",
                &format!("is {}; it must be 2 to 16", self.replicas),
            );
        }
        if self.documents == 0 {
            return fail("documents", "must be at least 1");
        }
        if self.operations == 0 {
            return fail("operations", "must be at least 1");
        }
        if self.sync_every == 0 || self.sync_every > self.operations {
            return fail("sync_every", "must be 1 to `operations`");
        }
        if let Some(p) = self.partition {
            if p.replica >= self.replicas {
                return fail(
                    "partition.replica",
                    &format!(
                        "is {}; replicas are numbered 0 to {}",
                        p.replica,
                        self.replicas - 1
                    ),
                );
            }
            if p.from >= p.to || p.to > self.operations {
                return fail("partition", "needs from < to <= operations");
            }
        }
        Ok(())
    }

    /// The pairs of replicas that sync in a round.
    pub fn links(&self) -> Vec<(usize, usize)> {
        let n = self.replicas;
        match self.topology {
            Topology::Mesh => (0..n)
                .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
                .collect(),
            Topology::Ring if n == 2 => vec![(0, 1)],
            Topology::Ring => (0..n).map(|a| (a, (a + 1) % n)).collect(),
            Topology::Star => (1..n).map(|b| (0, b)).collect(),
        }
    }

    /// Whether `replica` is cut off at `operation`.
    pub fn cut_off(&self, replica: usize, operation: u64) -> bool {
        self.partition
            .is_some_and(|p| p.replica == replica && (p.from..p.to).contains(&operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_numbers_are_refused_naming_the_key() {
        let good = super::super::mesh_preset("partition-heal").expect("a preset");
        assert_eq!(good.validate(), Ok(()));
        for (key, bad) in [
            (
                "replicas",
                MeshWorkload {
                    replicas: 1,
                    ..good.clone()
                },
            ),
            (
                "sync_every",
                MeshWorkload {
                    sync_every: 0,
                    ..good.clone()
                },
            ),
            (
                "documents",
                MeshWorkload {
                    documents: 0,
                    ..good.clone()
                },
            ),
            (
                "partition.replica",
                MeshWorkload {
                    partition: Some(Partition {
                        replica: 9,
                        from: 1,
                        to: 2,
                    }),
                    ..good.clone()
                },
            ),
            (
                "partition",
                MeshWorkload {
                    partition: Some(Partition {
                        replica: 0,
                        from: 5,
                        to: 5,
                    }),
                    ..good.clone()
                },
            ),
        ] {
            let err = bad.validate().expect_err(key);
            assert!(err.starts_with(&format!("`{key}`")), "{key}: {err}");
        }
        let unknown = MeshWorkload::from_toml("name = \"x\"\nreplica = 3\n").expect_err("a typo");
        assert!(unknown.contains("replica"), "{unknown}");
    }

    #[test]
    fn topologies_link_every_replica() {
        let mut w = super::super::mesh_preset("mesh-sync").expect("a preset");
        w.replicas = 4;
        for (topology, links) in [
            (Topology::Mesh, 6),
            (Topology::Ring, 4),
            (Topology::Star, 3),
        ] {
            w.topology = topology;
            let pairs = w.links();
            assert_eq!(pairs.len(), links, "{topology:?}");
            for r in 0..4 {
                assert!(
                    pairs.iter().any(|&(a, b)| a == r || b == r),
                    "{topology:?} {r}"
                );
            }
        }
    }
}
