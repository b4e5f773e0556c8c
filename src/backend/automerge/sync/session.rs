//! `SyncSession`: one side of a sync between two replicas, over any transport that carries
//! byte messages.
//!
//! Each side offers the heads of the documents changed since the two last completed a session
//! (every document the first time, or after the peer died); a side that receives heads it
//! does not have answers with its own heads and the changes the other lacks, until both hold
//! the same heads. A document is settled in at most three messages, and all documents travel
//! together, so a session takes a handful of messages whatever the number of documents.
//!
//! A message is applied in one transaction under the backend's durability, as a local write.
//! A side completes when the peer, having processed every message it sent with documents in
//! it, says it has nothing more to send: only then does it mark the documents it offered or
//! answered with as held by the peer, as of the earlier of its offer and its first answer (the
//! mark covers only writes in heads it showed). A lost, repeated or reordered message can stall
//! a session but never marks a document the peer was not shown; a stalled session is dropped
//! and a new one started.
//!
//! Each side picks a random session number and every message carries both, the sender's and
//! the one it answers: message numbers and acknowledgements mean something only within their
//! session, so a late message of a stalled session, or one the peer meant for another, is
//! refused rather than taken as an answer. A side names itself (its replica and incarnation,
//! see [`identity`](super::identity)) until the peer has acknowledged its first message.
//!
//! When a session completes, each side records the heads the peer holds of every document the
//! session showed (see [`held`](super::held)): after a reopen of either, the next session
//! offers only the documents whose heads differ from the record, and with each the changes the
//! peer lacks, so that it settles in one exchange.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::ChangeHash;

use super::super::backend::AutomergeBackend;
use super::super::planted::{ReplicationBug::AnySession, planted};
use super::held;
use super::identity::PeerKey;
use super::journal::DocName;
use super::message::{DocEntry, Message};
use crate::ReplicationError;

/// One side of a sync session; see [`AutomergeBackend::sync_session`].
pub struct SyncSession {
    /// The actor of the backend's open this session belongs to, which names it to the peer.
    pub(super) me: Vec<u8>,
    /// This side's session number, random and never 0.
    pub(super) id: u64,
    /// The peer, from the first message that names it.
    pub(super) peer: Option<PeerKey>,
    /// The peer's session number, from the first message that names it; 0 until then (never
    /// a session's).
    pub(super) peer_session: u64,
    /// Whether the peer has acknowledged this side's first message: it knows who this side is.
    pub(super) heard: bool,
    /// The number of the last message sent, and of the last that carried documents.
    pub(super) sent: u32,
    pub(super) last_with_docs: u32,
    pub(super) received: Received,
    /// The mark this side sets when the session completes: the journal's stamp when it offered
    /// its documents, or when it first answered the peer if that was before. `None` until the
    /// offer.
    pub(super) offered_at: Option<u64>,
    /// The journal's stamp when this side first answered the peer, if that was before its
    /// offer. The offer leaves out the documents answered already: the peer was told the heads
    /// they had then. A write to one of them after the answer was shown to nobody, so the mark
    /// must stop before it.
    pub(super) answered_at: Option<u64>,
    pub(super) pending: Vec<DocEntry>,
    /// Documents the peer showed heads of that this side does not hold yet: it says it is
    /// done only when there are none, and asks again for them when an answer was lost.
    pub(super) waiting: HashSet<(String, String)>,
    /// Documents whose heads this side has sent the peer.
    pub(super) told: HashSet<(String, String)>,
    /// Documents it sent a summary of what it holds (see [`bloom`](super::bloom)).
    pub(super) summarized: HashSet<DocName>,
    /// Per document, the number of the newest message whose entry for it was answered: an
    /// older one arriving late shows older heads, and is applied but not answered.
    pub(super) answered: HashMap<(String, String), u32>,
    pub(super) owe_reply: bool,
    pub(super) complete: bool,
    /// Why the session cannot go on: a message failed after it began to change the session
    /// (its number taken, its changes applied), so what the session knows may be wrong.
    pub(super) failed: Option<String>,
    /// Per document, the newest heads either side showed the other: the peer holds them once
    /// it has processed everything this side sent.
    pub(super) shown: HashMap<DocName, Vec<ChangeHash>>,
    pub(super) stats: SyncStats,
}

/// What a session sent, received and applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStats {
    /// Messages this side sent.
    pub messages_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Messages it received, repeats included.
    pub messages_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Documents whose heads it offered.
    pub documents_offered: u64,
    /// Changes it sent.
    pub changes_sent: u64,
    /// Changes it received that were new here, and are now stored.
    pub changes_applied: u64,
    /// Documents it had to load and merge with Automerge (concurrent changes), rather than
    /// apply from their heads.
    pub documents_merged: u64,
    /// Time spent applying received changes: reading them, planning, writing, committing
    /// (not preparing answers).
    pub applying: std::time::Duration,
}

impl AutomergeBackend {
    /// Starts one side of a sync with another replica. Call
    /// [`next_message`](SyncSession::next_message) and send what it returns, hand what the
    /// peer sends to [`receive`](SyncSession::receive), until neither side has a message and
    /// [`is_done`](SyncSession::is_done). [`sync_with`](Self::sync_with) does this for two
    /// backends in one process. The session borrows nothing: keep it beside the backend (an
    /// `Arc` of it, say) in a connection, and pass the backend to each call.
    pub fn sync_session(&self) -> SyncSession {
        SyncSession {
            me: self.inner.writer().actor().to_bytes().to_vec(),
            id: session_id(),
            peer: None,
            peer_session: 0,
            heard: false,
            sent: 0,
            last_with_docs: 0,
            received: Received::default(),
            offered_at: None,
            answered_at: None,
            pending: Vec::new(),
            waiting: HashSet::new(),
            told: HashSet::new(),
            summarized: HashSet::new(),
            answered: HashMap::new(),
            owe_reply: false,
            complete: false,
            failed: None,
            shown: HashMap::new(),
            stats: SyncStats::default(),
        }
    }

    /// Syncs with `other` in this process until both hold the same documents (every document
    /// both changed since their last sync), and returns this side's figures.
    ///
    /// # Errors
    /// As [`SyncSession::receive`]; [`ReplicationError::Sync`] when the session does not settle.
    pub fn sync_with(&self, other: &AutomergeBackend) -> Result<SyncStats, ReplicationError> {
        let (mut mine, mut theirs) = (self.sync_session(), other.sync_session());
        loop {
            let sent = mine.next_message(self)?;
            if let Some(message) = &sent {
                theirs.receive(other, message)?;
            }
            let answered = theirs.next_message(other)?;
            if let Some(message) = &answered {
                mine.receive(self, message)?;
            }
            if sent.is_none() && answered.is_none() {
                return if mine.is_done() && theirs.is_done() {
                    Ok(mine.stats())
                } else {
                    Err(ReplicationError::Sync {
                        detail: "both sides stopped before settling".into(),
                    })
                };
            }
        }
    }
}

impl SyncSession {
    /// The most messages a session takes from its peer: a session settles every document in
    /// three messages per side, so it has no use for more, and a peer that never stops must be
    /// stopped. Repeats and refused messages count toward four times as many.
    pub const MAX_MESSAGES: u32 = 64;

    /// The next message to send the peer, or `None` when this side has nothing to say until
    /// it receives one.
    ///
    /// # Errors
    /// [`ReplicationError::Sync`] when `backend` is not the one (or not the open) that started the
    /// session; storage errors reading the documents to offer or the changes to send.
    pub fn next_message(
        &mut self,
        backend: &AutomergeBackend,
    ) -> Result<Option<Vec<u8>>, ReplicationError> {
        self.check_usable(backend)?;
        if self.sent == 0 {
            // The first message names this side; documents follow once the peer is known.
            backend.identity.begin_syncing(backend.inner.store())?;
            return Ok(Some(self.send(backend, Vec::new(), false)));
        }
        if let (Some(peer), None) = (self.peer, self.offered_at) {
            self.offer(backend, &peer)?;
        }
        if !self.pending.is_empty() {
            let docs = std::mem::take(&mut self.pending);
            self.last_with_docs = self.sent + 1;
            self.owe_reply = false;
            return Ok(Some(self.send(backend, docs, false)));
        }
        if self.owe_reply {
            self.owe_reply = false;
            if self.waiting.is_empty() {
                return Ok(Some(self.send(backend, Vec::new(), true)));
            }
            // The peer thinks this side has what it showed: an answer went missing. Ask again.
            let mut again = Vec::new();
            for (collection, id) in &self.waiting {
                let heads = backend.heads(collection, id)?;
                again.push(DocEntry {
                    collection: collection.clone(),
                    id: id.clone(),
                    heads,
                    changes: Vec::new(),
                    have: None,
                });
            }
            self.last_with_docs = self.sent + 1;
            return Ok(Some(self.send(backend, again, false)));
        }
        Ok(None)
    }

    /// Takes a message from the peer: applies the changes in it (one transaction) and
    /// prepares the answer. A repeated message is ignored.
    ///
    /// # Errors
    /// [`ReplicationError::Sync`] for bytes that are not a sync message (or were damaged in
    /// transit), a message from another peer than the first, a `backend` other than the
    /// session's, or more than [`MAX_MESSAGES`](Self::MAX_MESSAGES) messages; and for a
    /// message of another session (a late one of a session before, or one the peer meant for
    /// another replica), or one that arrives before any naming its sender (whose first was
    /// lost), which leave this session as it was: it may go on;
    /// [`ReplicationError::ChangeRefused`] for a change that is not one or that this store
    /// cannot show, or that Automerge would not load with the document's history;
    /// [`ReplicationError::Store`] with [`Error::Corrupt`](crate::Error::Corrupt) or a storage
    /// error. Then nothing of the message is stored. A message refused before it changed
    /// anything (damaged, malformed, of another session or peer) leaves the session able to go
    /// on; after any other error, and past the bounds, every later call fails with
    /// [`ReplicationError::Sync`]: start a new session.
    pub fn receive(
        &mut self,
        backend: &AutomergeBackend,
        bytes: &[u8],
    ) -> Result<(), ReplicationError> {
        let _planted = backend.planted();
        self.check_usable(backend)?;
        self.stats.messages_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        if self.stats.messages_received > 4 * u64::from(Self::MAX_MESSAGES) {
            return Err(self.fail(format!(
                "the peer sent more than {} messages, repeats and refused ones included",
                4 * Self::MAX_MESSAGES
            )));
        }
        let message = Message::decode(bytes)?;
        let another_session = || ReplicationError::Sync {
            detail: "a message of another session (a late one of an earlier session, or one \
                     meant for another replica); nothing of it was taken (it is counted as \
                     received), and this session may go on"
                .into(),
        };
        // Only a first message, sent before its sender heard from this side, names no session
        // of this side's.
        if message.to_session != 0 && message.to_session != self.id && !planted(AnySession) {
            return Err(another_session());
        }
        match (&self.peer, &message.hello) {
            (None, None) => {
                return Err(ReplicationError::Sync {
                    detail: "a message before any naming its sender (its first was lost); \
                             nothing of it was taken, and this session may go on"
                        .into(),
                });
            }
            (None, Some(hello)) => {
                self.peer = Some(*hello);
                self.peer_session = message.session;
            }
            (Some(peer), Some(hello)) if peer != hello => {
                return Err(ReplicationError::Sync {
                    detail: "a message from another peer, or another incarnation of it".into(),
                });
            }
            (Some(_), _) if self.peer_session != message.session && !planted(AnySession) => {
                return Err(another_session());
            }
            (Some(_), _) => {}
        }
        if self.received.contains(message.seq) {
            return Ok(());
        }
        if self.received.len() >= Self::MAX_MESSAGES as usize {
            return Err(self.fail(format!(
                "the peer sent more than {} messages",
                Self::MAX_MESSAGES
            )));
        }
        self.take(backend, &message)
            .inspect_err(|e| self.failed = Some(e.to_string()))
    }

    /// The part of [`receive`](Self::receive) that changes the session: a failure here leaves
    /// it unusable.
    fn take(
        &mut self,
        backend: &AutomergeBackend,
        message: &Message,
    ) -> Result<(), ReplicationError> {
        // Before anything of the peer's is applied, and so before this side can say it holds
        // anything (see `identity`).
        backend.identity.begin_syncing(backend.inner.store())?;
        self.apply(backend, &message.docs)?;
        self.answer(backend, message.seq, &message.docs)?;
        // Counted only once processed: an acknowledgement says the message was applied.
        self.received.insert(message.seq);
        self.heard |= message.ack >= 1;
        let shown_everything = message.ack >= self.last_with_docs;
        if message.done
            && shown_everything
            && self.pending.is_empty()
            && !self.complete
            && let (Some(stamp), Some(peer)) = (self.offered_at, self.peer)
        {
            self.complete = true;
            backend
                .inner
                .writer()
                .journal()
                .mark(&peer.to_bytes(), stamp);
            self.remember(backend, &peer)?;
        }
        // A peer that has completed needs no answer from a side that has too.
        self.owe_reply = !(message.docs.is_empty() && message.complete && self.complete);
        Ok(())
    }

    /// Whether this side has completed: the peer holds every document it offered, it holds
    /// every document the peer showed it, and it has nothing more to send.
    pub fn is_done(&self) -> bool {
        self.complete && self.pending.is_empty() && !self.owe_reply && self.waiting.is_empty()
    }

    /// What the session sent, received and applied so far.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// A session belongs to one open of one backend, and cannot go on after a failure.
    fn check_usable(&self, backend: &AutomergeBackend) -> Result<(), ReplicationError> {
        if let Some(failed) = &self.failed {
            return Err(ReplicationError::Sync {
                detail: format!("the session failed earlier ({failed}): start a new one"),
            });
        }
        if backend.inner.writer().actor().to_bytes() == self.me.as_slice() {
            Ok(())
        } else {
            Err(ReplicationError::Sync {
                detail: "the session was started by another backend, or another open of it".into(),
            })
        }
    }

    /// Marks the session as failed, and says why.
    fn fail(&mut self, detail: String) -> ReplicationError {
        self.failed = Some(detail.clone());
        ReplicationError::Sync { detail }
    }

    /// Records that the peer holds the newest heads of every document either side showed: it
    /// has processed everything this side sent, and holds what it showed itself.
    fn remember(&self, backend: &AutomergeBackend, peer: &PeerKey) -> Result<(), ReplicationError> {
        let docs: Vec<_> = (self.shown.iter())
            .filter_map(|((collection, id), shown)| {
                let collection = backend.inner.existing(collection)?;
                Some(((collection.id, id.clone()), shown.clone()))
            })
            .collect();
        if docs.is_empty() {
            return Ok(());
        }
        let bytes = docs
            .iter()
            .map(|(doc, heads)| doc.1.len() + 32 * heads.len());
        let written = backend.inner.store().write(bytes.sum(), |txn, progress| {
            progress.writing();
            held::record(txn, peer, &docs)
        });
        Ok(written?)
    }

    /// Notes heads of a document one side showed the other: the newest shown.
    pub(super) fn show(&mut self, doc: DocName, heads: &[ChangeHash]) {
        self.shown.insert(doc, heads.to_vec());
    }

    fn send(&mut self, backend: &AutomergeBackend, docs: Vec<DocEntry>, done: bool) -> Vec<u8> {
        self.sent += 1;
        self.stats.changes_sent += docs.iter().map(|d| d.changes.len() as u64).sum::<u64>();
        for doc in &docs {
            self.show((doc.collection.clone(), doc.id.clone()), &doc.heads);
        }
        let bytes = Message {
            hello: (!self.heard).then(|| backend.identity.me()),
            session: self.id,
            to_session: self.peer_session,
            seq: self.sent,
            ack: self.received.all_up_to(),
            done,
            complete: self.complete,
            docs,
        }
        .encode();
        self.stats.messages_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        bytes
    }
}

/// A random session number, never 0 (which stands for a session not known yet).
fn session_id() -> u64 {
    super::identity::random_u64().max(1)
}

/// The numbers of the messages received: all of them up to `contiguous`, and any after.
#[derive(Default)]
pub(super) struct Received {
    contiguous: u32,
    after: BTreeSet<u32>,
}

impl Received {
    fn contains(&self, seq: u32) -> bool {
        seq <= self.contiguous || self.after.contains(&seq)
    }

    /// Notes `seq`, received and processed.
    fn insert(&mut self, seq: u32) {
        if seq <= self.contiguous || !self.after.insert(seq) {
            return;
        }
        while self.after.remove(&(self.contiguous + 1)) {
            self.contiguous += 1;
        }
    }

    fn len(&self) -> usize {
        self.contiguous as usize + self.after.len()
    }

    /// Every message up to this number was received (0: not the first).
    fn all_up_to(&self) -> u32 {
        self.contiguous
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    #[test]
    fn a_peer_that_never_stops_is_stopped() {
        let store = AutomergeBackend::open_with_storage(
            redb::backends::InMemoryBackend::new(),
            OpenOptions::new(),
        )
        .expect("opens");
        let mut session = store.sync_session();
        for seq in 1..=SyncSession::MAX_MESSAGES + 1 {
            let talk = Message {
                hello: Some(PeerKey {
                    replica: [1; 16],
                    incarnation: 1,
                }),
                session: 1,
                to_session: session.id,
                seq,
                ack: 0,
                done: false,
                complete: false,
                docs: Vec::new(),
            };
            let outcome = session.receive(&store, &talk.encode());
            if seq <= SyncSession::MAX_MESSAGES {
                outcome.expect("within the bound");
                // A repeat is ignored, and does not count.
                session.receive(&store, &talk.encode()).expect("a repeat");
            } else {
                let err = outcome.expect_err("past the bound");
                assert!(matches!(err, ReplicationError::Sync { .. }), "{err}");
            }
        }
        let stranger = Message {
            hello: Some(PeerKey {
                replica: [2; 16],
                incarnation: 1,
            }),
            session: 1,
            to_session: session.id,
            seq: 1,
            ack: 0,
            done: false,
            complete: false,
            docs: Vec::new(),
        };
        let err = session
            .receive(&store, &stranger.encode())
            .expect_err("another peer");
        assert!(matches!(err, ReplicationError::Sync { .. }), "{err}");
    }
}
