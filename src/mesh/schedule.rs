//! The order of a run, shared by every transport: which replica writes which document and
//! what, and when the replicas sync over which links. The same workload gives the same steps
//! in process and across processes.

use super::workload::MeshWorkload;
use crate::workload::Rng;

/// One thing a run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Replica `replica` writes document `doc` with the value [`value`] makes of `tag`:
    /// operation `op` of the run.
    Write {
        op: u64,
        replica: usize,
        doc: usize,
        tag: u64,
    },
    /// A sync round over `links`, the topology's links whose ends are both connected.
    Round { links: Vec<(usize, usize)> },
}

/// The steps of `workload`, in order.
pub(crate) fn steps(workload: &MeshWorkload) -> impl Iterator<Item = Step> + '_ {
    let mut rng = Rng::new(workload.seed, 7);
    (0..workload.operations).flat_map(move |op| {
        let replica = (op % workload.replicas as u64) as usize;
        // Document first, then value: the order the draws have always had.
        let doc = rng.below(workload.documents) as usize;
        let tag = rng.next_u64();
        let write = Step::Write {
            op,
            replica,
            doc,
            tag,
        };
        let round = ((op + 1) % workload.sync_every == 0).then(|| Step::Round {
            links: workload
                .links()
                .into_iter()
                .filter(|&(a, b)| !workload.cut_off(a, op) && !workload.cut_off(b, op))
                .collect(),
        });
        std::iter::once(write).chain(round)
    })
}

/// The id of document `doc`.
pub(crate) fn doc_id(doc: usize) -> String {
    format!("doc-{doc:05}")
}

/// The value a write of `tag` puts, `len` bytes.
pub(crate) fn value(tag: u64, len: usize) -> Vec<u8> {
    let tag = tag.to_le_bytes();
    (0..len).map(|i| tag[i % 8] ^ (i as u8)).collect()
}

/// A digest of a document's value, to compare replicas without shipping values.
pub(crate) fn digest(value: Option<&[u8]>) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    value.map(|v| {
        // SipHash with fixed keys: the same in every process of one build.
        let mut hasher = std::hash::DefaultHasher::new();
        v.hash(&mut hasher);
        hasher.finish()
    })
}
