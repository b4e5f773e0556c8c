//! What a sync session does with documents: offers the ones changed since the last session
//! with the peer, applies the changes a message brings, and answers with what the peer lacks.

use std::collections::HashMap;

use automerge::{Change, ChangeHash};

use super::super::apply::{self, Unplanned};
use super::super::backend::AutomergeBackend;
use super::super::batch;
use super::super::change_log::{self, ChangeLogRead, ChangeLogTable};
use super::super::replicate;
use super::super::stored_heads;
use super::bloom::Have;
use super::held;
use super::identity::PeerKey;
use super::journal::{DocKey, DocName};
use super::message::DocEntry;
use super::session::SyncSession;
use crate::Refusal;
use crate::backend::persistent::{CollectionRef, MaterializedWriter};
use crate::{Error, ReplicationError, Result};

impl SyncSession {
    /// Queues the heads of every document changed since the last completed session with
    /// `peer` in this open, or else whose heads differ from what `peer` is recorded to hold
    /// (every document, when nothing is): with the changes it lacks, when the record says.
    pub(super) fn offer(&mut self, backend: &AutomergeBackend, peer: &PeerKey) -> Result<()> {
        let (stamp, changed) = backend
            .inner
            .writer()
            .journal()
            .since_mark(&peer.to_bytes());
        let names: HashMap<u64, String> = backend
            .inner
            .collection_refs()
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let txn = backend.inner.store().read()?;
        // Every record of the peer when every document is looked at; otherwise those of the
        // few documents changed since the last session, one by one.
        let all_held = match changed {
            Some(_) => None,
            None => Some(held::read(&txn, peer)?),
        };
        let log = change_log::read(&txn)?;
        let docs: Vec<DocKey> = match changed {
            Some(docs) => docs,
            None => log.documents()?,
        };
        for (collection_id, id) in docs {
            let Some(collection) = names.get(&collection_id) else {
                continue;
            };
            let Some(stored) = stored_heads::read(&log, collection_id, collection, &id)? else {
                continue;
            };
            let name = (collection.clone(), id.clone());
            if self.told.contains(&name) {
                // Answered already: the peer showed it first. A write since is not covered by
                // the mark (see `answered_at`): the next session offers it.
                continue;
            }
            // Before its offer this side has sent no document: what the session has shown are
            // the peer's heads, newer than any record.
            let key = (collection_id, id.clone());
            let holds = match (self.shown.get(&name), &all_held) {
                (Some(shown), _) => Some(shown.clone()),
                (None, Some(all)) => all.get(&key).cloned(),
                (None, None) => held::read_doc(&txn, peer, &key)?,
            };
            if holds.as_ref() == Some(&stored.hashes) {
                continue;
            }
            let target = CollectionRef {
                id: collection_id,
                name: collection.clone(),
            };
            let changes = match holds {
                Some(holds) => lacked(&log, &target, &id, &holds)?,
                None => Vec::new(),
            };
            self.stats.documents_offered += 1;
            self.told.insert((collection.clone(), id.clone()));
            self.pending.push(DocEntry {
                collection: collection.clone(),
                id,
                heads: stored.hashes,
                changes,
                have: None,
            });
        }
        // A first answer's stamp, taken before this one, is the earlier.
        self.offered_at = Some(self.answered_at.unwrap_or(stamp));
        Ok(())
    }

    /// Applies every change in `docs`, in one transaction. A document whose changes lack a
    /// dependency is left as it is: the answer asks for what it lacks. Any other refusal
    /// refuses the whole message, and nothing of it is stored: a change that is not one, or of
    /// another shape, before the transaction; one found inconsistent with its document's
    /// history (a number its actor gave another change, Automerge's merge) within it.
    pub(super) fn apply(
        &mut self,
        backend: &AutomergeBackend,
        docs: &[DocEntry],
    ) -> Result<(), ReplicationError> {
        let refused = |entry: &DocEntry, reason| ReplicationError::ChangeRefused {
            collection: entry.collection.clone(),
            id: entry.id.clone(),
            reason,
        };
        let mut batches = Vec::new();
        for entry in docs.iter().filter(|d| !d.changes.is_empty()) {
            // Every change is read before anything is written: a malformed one refuses the
            // whole message.
            let changes = entry
                .changes
                .iter()
                .map(|bytes| {
                    Change::try_from(bytes.as_slice()).map_err(|e| {
                        refused(
                            entry,
                            Refusal::Malformed {
                                detail: e.to_string(),
                            },
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let checked = batch::check(changes).map_err(|reason| refused(entry, reason))?;
            batches.push((entry, checked));
        }
        if batches.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let inner = &backend.inner;
        let targets: Vec<_> = batches
            .iter()
            .map(|(entry, _)| inner.target(&entry.collection))
            .collect();
        // Each document stored, whether it now has the heads the peer sent, and its stamp
        // before.
        let journal = inner.writer().journal();
        let before: Vec<Option<u64>> = batches
            .iter()
            .zip(&targets)
            .map(|((entry, _), target)| journal.stamp_of(&(target.id, entry.id.clone())))
            .collect();
        let mut stored: Vec<(DocKey, bool, Option<u64>)> = Vec::new();
        let (mut applied, mut merged) = (0, 0);
        let mut refusal = None;
        let written = inner.store().write_alone(|txn| {
            let mut log = ChangeLogTable::open(txn)?;
            for (((entry, checked), target), before) in
                batches.into_iter().zip(&targets).zip(&before)
            {
                let mut materialized = MaterializedWriter::open(txn, target.id)?;
                match apply::plan(
                    &log,
                    &materialized,
                    target,
                    &entry.id,
                    checked,
                    inner.writer().actor(),
                ) {
                    Ok(plan) => {
                        let done = plan.write(&mut log, &mut materialized, target, &entry.id)?;
                        if done.new > 0 {
                            let level = plan_heads_match(&log, target, entry)?;
                            stored.push(((target.id, entry.id.clone()), level, *before));
                            applied += done.new as u64;
                            merged += u64::from(done.merged);
                        }
                    }
                    // The answer asks for what it lacks.
                    Err(Unplanned::Refused(Refusal::MissingDependencies { .. })) => {}
                    // The transaction is aborted, and the message stores nothing.
                    Err(Unplanned::Refused(reason)) => {
                        let error = refused(entry, reason);
                        let abort = Error::backend("automerge", error.to_string());
                        refusal = Some(error);
                        return Err(abort);
                    }
                    Err(Unplanned::Failed(error)) => return Err(error),
                }
                materialized.finish()?;
            }
            Ok(())
        });
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        written?;
        self.stats.changes_applied += applied;
        self.stats.documents_merged += merged;
        self.stats.applying += started.elapsed();
        let peer = self.peer.map(PeerKey::to_bytes).unwrap_or_default();
        for (doc, level, before) in stored {
            if level {
                journal.record_held(&peer, doc, before);
            } else {
                journal.record(doc.0, [doc.1.as_str()]);
            }
        }
        Ok(())
    }

    /// Queues, for every document in `docs` whose heads here differ from the peer's, this
    /// side's heads and the changes the peer lacks; notes the documents this side lacks
    /// changes of.
    pub(super) fn answer(
        &mut self,
        backend: &AutomergeBackend,
        seq: u32,
        docs: &[DocEntry],
    ) -> Result<()> {
        let peer = self.peer.map(PeerKey::to_bytes).unwrap_or_default();
        let peer = peer.as_slice();
        if self.offered_at.is_none() && self.answered_at.is_none() && !docs.is_empty() {
            // Read before the heads answered with: a write stamped up to it is in them (writes
            // are stamped after they commit). See `answered_at`.
            self.answered_at = Some(backend.inner.writer().journal().now());
        }
        for entry in docs {
            let doc = (entry.collection.clone(), entry.id.clone());
            let journal = backend.inner.writer().journal();
            let newest = self.answered.entry(doc.clone()).or_default();
            if *newest > seq {
                // Late: its changes are applied now, which may give this side the newest
                // heads the peer showed; it is not answered.
                let shown = journal.seen(peer, &doc);
                if self.waiting.contains(&doc)
                    && backend
                        .changes_for(&entry.collection, &entry.id, &shown)?
                        .1
                        .len()
                        == shown.len()
                {
                    self.waiting.remove(&doc);
                }
                continue;
            }
            *newest = seq;
            self.show(doc.clone(), &entry.heads);
            let ours = backend.heads(&entry.collection, &entry.id)?;
            if ours == entry.heads {
                self.waiting.remove(&doc);
                continue;
            }
            // The peer holds what it shows now and what it showed before: the heads of this
            // side's that it lacks may be unknown here, the older ones rarely are.
            let mut have = journal.seen(peer, &doc);
            have.extend_from_slice(&entry.heads);
            if let Some(theirs) = &entry.have {
                have.extend_from_slice(&theirs.since);
            }
            journal.saw(peer, doc.clone(), &entry.heads);
            let (changes, known) = backend.changes_for(&entry.collection, &entry.id, &have)?;
            if entry.heads.iter().all(|h| known.contains(h)) {
                self.waiting.remove(&doc);
            } else {
                self.waiting.insert(doc.clone());
            }
            // The peer has changes this side lacks, and nothing here tells which of ours it has:
            // our heads and what we hold let it send exactly what we lack. (Sending all would
            // resend what it has.) Asked before, it did not send them all: a false positive of
            // the filter kept one back, so we ask again under another salt.
            let unknown = known.is_empty() && !entry.heads.is_empty();
            let ask = !self.told.contains(&doc)
                || (self.summarized.contains(&doc) && entry.have.is_none());
            let (changes, summary) = if unknown && ask {
                self.summarized.insert(doc.clone());
                (
                    Vec::new(),
                    Some(summary(backend, peer, &doc, self.sent + 1)?),
                )
            } else {
                let lacked = match &entry.have {
                    Some(theirs) => theirs.lacked(changes),
                    None => changes,
                };
                (
                    lacked.iter().map(|c| c.raw_bytes().to_vec()).collect(),
                    None,
                )
            };
            self.told.insert(doc);
            self.pending.push(DocEntry {
                collection: entry.collection.clone(),
                id: entry.id.clone(),
                heads: ours,
                changes,
                have: summary,
            });
        }
        Ok(())
    }
}

/// What this side holds of a document beyond what `peer` is recorded to hold (everything,
/// when nothing is recorded or this side lacks some of it).
fn summary(backend: &AutomergeBackend, peer: &[u8], doc: &DocName, salt: u32) -> Result<Have> {
    let (collection, id) = doc;
    let mut since = Vec::new();
    if let (Some(target), Some(peer)) = (
        backend.inner.existing(collection),
        PeerKey::from_bytes(peer),
    ) {
        let txn = backend.inner.store().read()?;
        since = held::read_doc(&txn, &peer, &(target.id, id.clone()))?.unwrap_or_default();
    }
    let (mut changes, known) = backend.changes_for(collection, id, &since)?;
    if known.len() < since.len() {
        since.clear();
        changes = backend.changes_for(collection, id, &since)?.0;
    }
    Ok(Have::of(since, &changes, salt))
}

/// The changes of a document a peer lacks that holds `holds`: none when some of `holds` is not
/// here (this replica lost changes in a crash), for its heads then show the peer what to send.
fn lacked(
    log: &impl ChangeLogRead,
    collection: &CollectionRef,
    id: &str,
    holds: &[ChangeHash],
) -> Result<Vec<Vec<u8>>> {
    let (changes, known) = replicate::changes_in(log, collection, id, holds)?;
    if known.len() < holds.len() {
        return Ok(Vec::new());
    }
    Ok(changes.iter().map(|c| c.raw_bytes().to_vec()).collect())
}

/// Whether the document's heads in `log` are the ones the peer sent in `entry`.
fn plan_heads_match(
    log: &impl ChangeLogRead,
    target: &crate::backend::persistent::CollectionRef,
    entry: &DocEntry,
) -> Result<bool> {
    let stored = stored_heads::read(log, target.id, &target.name, &entry.id)?;
    Ok(stored.is_some_and(|h| h.hashes == entry.heads))
}
