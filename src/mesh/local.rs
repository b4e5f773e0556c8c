//! Replicas in this process: every store open here, every link a pair of in-memory
//! channels carrying the session turn by turn.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::faults::{self, Faults, LinkFaults};
use super::link::{LinkError, LinkFailure, MAX_ATTEMPTS, Side, run_pair};
use super::run::{
    Finished, LinkSync, MeshOptions, Replicas, dir_bytes, histogram, record, record_applied,
};
use super::schedule::{digest, doc_id, value};
use super::transport::channel_pair;
use super::workload::MeshWorkload;
use crate::binding::{Handle, Selected};
use crate::{Durability, Error, Result};

/// The collection every replica writes.
pub(crate) const COLLECTION: &str = "mesh";
/// Both sides of an in-process link run on one thread, so a message is always there when it
/// is waited for; the bound only guards against a side that forgot to send.
const CHANNEL_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct LocalReplicas {
    backend: String,
    dirs: Vec<PathBuf>,
    handles: Vec<Handle>,
    ids: Vec<String>,
    value_bytes: usize,
    faults: LinkFaults,
    local_write: Histogram<u64>,
    apply_per_change: Histogram<u64>,
    changes: u64,
    lost: u64,
    reordered: u64,
}

impl LocalReplicas {
    pub(crate) fn open(
        workload: &MeshWorkload,
        selected: &Selected,
        dir: &Path,
        options: &MeshOptions,
    ) -> Result<Self> {
        let durability = selected.durability(Durability::default());
        let mut handles = Vec::with_capacity(workload.replicas);
        let mut dirs = Vec::with_capacity(workload.replicas);
        for r in 0..workload.replicas {
            let path = dir.join(format!("replica-{r}"));
            std::fs::create_dir_all(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            handles.push(open_replicating(selected, &path, durability)?);
            dirs.push(path);
        }
        Ok(LocalReplicas {
            backend: selected.name().to_owned(),
            dirs,
            handles,
            ids: (0..workload.documents as usize).map(doc_id).collect(),
            value_bytes: workload.value_bytes,
            faults: options.faults,
            local_write: histogram(),
            apply_per_change: histogram(),
            changes: 0,
            lost: 0,
            reordered: 0,
        })
    }
}

/// Opens a replica of `selected` in `path`, refusing a store that does not replicate.
pub(crate) fn open_replicating(
    selected: &Selected,
    path: &Path,
    durability: Option<Durability>,
) -> Result<Handle> {
    let handle = selected.binding().open(path, durability)?;
    if handle.sync().is_none() {
        return Err(Error::backend(
            selected.name(),
            "its stores do not replicate: the binding must open them with \
             Handle::replicating",
        ));
    }
    Ok(handle)
}

impl Replicas for LocalReplicas {
    fn write(&mut self, replica: usize, doc: usize, tag: u64) -> Result<()> {
        let docs = self.handles[replica].collection(COLLECTION);
        let value = value(tag, self.value_bytes);
        let at = Instant::now();
        docs.upsert(&self.ids[doc], value)?;
        record(&mut self.local_write, at.elapsed(), 1);
        Ok(())
    }

    fn sync(&mut self, a: usize, b: usize, sync: u64) -> Result<LinkSync> {
        let (ha, hb) = (&self.handles[a], &self.handles[b]);
        let failed = |failure| {
            Error::backend(
                self.backend.clone(),
                LinkError {
                    peer: format!("replica {b} (from replica {a})"),
                    failure,
                },
            )
        };
        let (mut messages, mut bytes) = (0, 0);
        for attempt in 1..=MAX_ATTEMPTS {
            let (Some(ea), Some(eb)) = (ha.sync(), hb.sync()) else {
                unreachable!("checked when opened");
            };
            let stream = faults::stream(a, b, sync, attempt);
            let mut fa = Faults::new(self.faults, stream);
            let mut fb = Faults::new(self.faults, faults::answering(stream));
            let (ta, tb) = channel_pair(CHANNEL_TIMEOUT);
            let (mut sa, mut sb) = (Side::new(ea, ta), Side::new(eb, tb));
            let settled = run_pair(&mut sa, &mut sb, &mut fa, &mut fb).map_err(failed)?;
            messages += sa.figures.link_messages();
            bytes += sa.figures.link_bytes();
            for received in sa.figures.applied.iter().chain(&sb.figures.applied) {
                record_applied(&mut self.apply_per_change, received);
            }
            self.changes += sa.figures.changes() + sb.figures.changes();
            self.lost += fa.lost + fb.lost;
            self.reordered += fa.reordered + fb.reordered;
            if settled {
                return Ok(LinkSync {
                    messages,
                    bytes,
                    sessions: attempt,
                });
            }
        }
        Err(failed(LinkFailure::Unsettled {
            attempts: MAX_ATTEMPTS,
        }))
    }

    fn changes_applied(&mut self) -> Result<u64> {
        Ok(self.changes)
    }

    fn digests(&mut self) -> Result<Vec<Vec<Option<u64>>>> {
        self.handles
            .iter()
            .map(|handle| {
                let docs = handle.collection(COLLECTION);
                self.ids
                    .iter()
                    .map(|id| Ok(digest(docs.get(id)?.as_deref())))
                    .collect()
            })
            .collect()
    }

    fn finish(self) -> Result<Finished> {
        let mut file_bytes = Vec::with_capacity(self.handles.len());
        for (r, (handle, dir)) in self.handles.into_iter().zip(&self.dirs).enumerate() {
            if let Some(problems) = handle.verify().transpose()?
                && !problems.is_empty()
            {
                return Err(Error::backend(
                    self.backend,
                    format!("replica {r} fails its check: {}", problems.join("; ")),
                ));
            }
            handle.close()?;
            file_bytes.push(dir_bytes(dir));
        }
        Ok(Finished {
            local_write: self.local_write,
            apply_per_change: self.apply_per_change,
            file_bytes,
            lost: self.lost,
            reordered: self.reordered,
        })
    }
}
