//! The batch: `OnFlush` writes since the last commit, held in one open redb write transaction.
//!
//! A redb commit costs its root pages, checksums and allocator state whether or not it syncs,
//! and an `OnFlush` write owes no durability before the next flush: committing each one paid
//! for a guarantee the contract does not give. So writes join one open transaction, which
//! commits at [`flush`](Batch::flush) (with a sync), at close, and, once its writes pass
//! [`OpenOptions::batch_bytes`](super::OpenOptions::batch_bytes), without a sync, which redb
//! keeps in memory: after a crash the file still opens at the last flush.
//!
//! Invariants:
//! - A write reads and checks everything that can refuse it before its first change to the
//!   transaction, and says when it makes that change ([`Progress::writing`]). An error or a
//!   panic before it leaves the batch as it was (a refused batch of remote changes, a bug in
//!   Automerge while planning a merge, must not cost the other writers theirs).
//! - A write that fails or panics after its first change cannot be taken out of the shared
//!   transaction, and redb has no savepoint inside a dirty one: the batch is dropped, and every
//!   later operation fails with [`Error::BatchLost`] until the database is reopened, at the
//!   last flush. Half a write is never read and never committed. (Past planning, what fails is
//!   the storage, and redb then refuses every later operation anyway.)
//! - `dirty` is set while the open transaction holds a change: a reader that finds it clear
//!   finds every completed write in a read transaction, and runs beside writers; one that finds
//!   it set reads through the open transaction, waiting for at most the write in progress.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use redb::WriteTransaction;

use super::group_commit::Carried;
use crate::{Error, Result};

/// A bug to plant in the batch, to prove the checks find what it breaks (feature `check`,
/// through [`OpenOptions`](super::OpenOptions)' `planted`).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only the feature `check` constructs one, and names it (`check::`).
#[cfg_attr(not(feature = "check"), allow(dead_code, unreachable_pub))]
pub enum BatchBug {
    /// `flush()` commits the batch without a sync: it returns before the writes are durable.
    FlushWithoutSync,
    /// The batch commits with a sync when it reaches its bound: a crash then keeps part of
    /// the writes since the last flush, half a batch.
    SyncAtBound,
}

/// How the store runs the transactions a batch is made of.
pub(crate) trait Transactions {
    /// Begins a write transaction committed with `durability`, carrying every pending
    /// collection creation.
    fn begin(&self, durability: redb::Durability) -> Result<(WriteTransaction, Carried)>;

    /// Writes to `txn` the pending collection creations it does not carry yet, telling
    /// `progress` before it changes anything.
    fn carry(
        &self,
        txn: &WriteTransaction,
        carried: &mut Carried,
        progress: &Progress,
    ) -> Result<()>;

    /// A transaction that carried these creations committed.
    fn committed(&self, carried: &Carried);
}

/// What a write tells the batch: whether it has changed the transaction yet.
#[derive(Debug, Default)]
pub(crate) struct Progress(Cell<bool>);

impl Progress {
    /// From here on this write changes the transaction: a failure can no longer leave the
    /// batch as it was.
    pub(crate) fn writing(&self) {
        self.0.set(true);
    }

    fn wrote(&self) -> bool {
        self.0.get()
    }
}

/// The open transaction of a store's `OnFlush` writes.
#[derive(Debug)]
pub(crate) struct Batch {
    slot: Mutex<Slot>,
    /// Set while the open transaction holds a write; see the module's invariants.
    dirty: AtomicBool,
    /// Bytes of writes past which the batch commits without a sync.
    limit: usize,
    planted: Option<BatchBug>,
}

#[derive(Default)]
struct Slot {
    open: Option<Open>,
    /// A commit without a sync was made since the last one with: a flush owes a sync.
    unsynced: bool,
    /// Why the batch was dropped, once a write failed part-way through it.
    lost: Option<String>,
    /// Set by [`Batch::close`]: no transaction begins any more.
    closed: bool,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("open", &self.open.as_ref().map(|o| o.bytes))
            .field("unsynced", &self.unsynced)
            .field("lost", &self.lost)
            .field("closed", &self.closed)
            .finish()
    }
}

impl Slot {
    fn usable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        match &self.lost {
            Some(reason) => Err(Error::BatchLost {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }
}

struct Open {
    txn: WriteTransaction,
    carried: Carried,
    /// Bytes of the writes it holds, as their callers counted them.
    bytes: usize,
}

/// The open transaction, locked for a reader: no write joins it while this is held.
pub(crate) struct BatchGuard<'a>(MutexGuard<'a, Slot>);

impl BatchGuard<'_> {
    pub(crate) fn txn(&self) -> &WriteTransaction {
        // A guard is only made over an open batch, and nothing closes it while held.
        &self
            .0
            .open
            .as_ref()
            .expect("a guard is made over an open batch")
            .txn
    }
}

impl Batch {
    pub(crate) fn new(limit: usize, planted: Option<BatchBug>) -> Self {
        Self {
            slot: Mutex::default(),
            dirty: AtomicBool::new(false),
            limit,
            planted,
        }
    }

    /// The durability of a commit that should have `wanted`, with a planted bug.
    fn planted(&self, wanted: redb::Durability) -> redb::Durability {
        match (self.planted, wanted) {
            (Some(BatchBug::FlushWithoutSync), redb::Durability::Immediate) => {
                redb::Durability::None
            }
            (Some(BatchBug::SyncAtBound), redb::Durability::None) => redb::Durability::Immediate,
            _ => wanted,
        }
    }

    /// The open transaction, locked, when it holds writes a reader must see; `None` when every
    /// completed write is committed.
    pub(crate) fn reader(&self) -> Result<Option<BatchGuard<'_>>> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let slot = self.lock();
        slot.usable()?;
        Ok(slot.open.is_some().then(|| BatchGuard(slot)))
    }

    /// Applies `apply` in the open transaction (beginning one when none is open). `bytes` is
    /// what the write adds to the batch, for its bound, when it changes anything.
    pub(crate) fn write(
        &self,
        store: &impl Transactions,
        bytes: usize,
        apply: impl FnOnce(&WriteTransaction, &Progress) -> Result<()>,
    ) -> Result<()> {
        let mut slot = self.lock();
        slot.usable()?;
        if slot.open.is_none() {
            let (txn, carried) = store.begin(redb::Durability::None)?;
            slot.open = Some(Open {
                txn,
                carried,
                bytes: 0,
            });
        }
        let progress = Progress::default();
        let applied = {
            let open = slot.open.as_mut().expect("begun above");
            panic::catch_unwind(AssertUnwindSafe(|| {
                store.carry(&open.txn, &mut open.carried, &progress)?;
                apply(&open.txn, &progress)
            }))
        };
        match applied {
            Ok(Ok(())) => {}
            Ok(Err(e)) if !progress.wrote() => return Err(e),
            Ok(Err(e)) => {
                self.lose(&mut slot, format!("a write failed part-way ({e})"));
                return Err(e);
            }
            Err(payload) => {
                if progress.wrote() {
                    self.lose(&mut slot, "a write panicked part-way".to_owned());
                }
                panic::resume_unwind(payload);
            }
        }
        if !progress.wrote() {
            // Refused, or nothing to change (a delete of a missing id, changes known here).
            return Ok(());
        }
        self.dirty.store(true, Ordering::SeqCst);
        let open = slot.open.as_mut().expect("still open");
        open.bytes = open.bytes.saturating_add(bytes);
        if open.bytes >= self.limit {
            // Not durable: this only bounds what the open transaction holds.
            let durability = self.planted(redb::Durability::None);
            self.commit(&mut slot, store, durability)?;
        }
        Ok(())
    }

    /// Commits the batch without a sync, then runs `apply` in a transaction of its own, which
    /// is aborted whole if `apply` fails: for writes that may fail after changing many
    /// documents (a compaction, a sync message's changes to many documents).
    pub(crate) fn write_alone(
        &self,
        store: &impl Transactions,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let mut slot = self.lock();
        slot.usable()?;
        self.commit(&mut slot, store, redb::Durability::None)?;
        let (txn, carried) = store.begin(redb::Durability::None)?;
        // On an error or a panic the transaction is dropped, which aborts it; the batch was
        // committed before, so nothing else is lost.
        apply(&txn)?;
        txn.commit()?;
        store.committed(&carried);
        slot.unsynced = true;
        Ok(())
    }

    /// Commits the open batch without a sync, so that a read transaction sees it.
    pub(crate) fn publish(&self, store: &impl Transactions) -> Result<()> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut slot = self.lock();
        slot.usable()?;
        self.commit(&mut slot, store, redb::Durability::None)
    }

    /// Makes every write durable: commits the batch with a sync, or, when none is open but a
    /// commit since the last sync was not synced (or a collection creation is `owed`), an
    /// empty transaction with one.
    pub(crate) fn flush(&self, store: &impl Transactions, owed: bool) -> Result<()> {
        let mut slot = self.lock();
        slot.usable()?;
        self.sync(&mut slot, store, owed)
    }

    /// Flushes, then refuses every later write with [`Error::Closed`].
    pub(crate) fn close(&self, store: &impl Transactions, owed: bool) -> Result<()> {
        let mut slot = self.lock();
        let synced = slot
            .usable()
            .and_then(|()| self.sync(&mut slot, store, owed));
        slot.closed = true;
        synced
    }

    fn sync(&self, slot: &mut Slot, store: &impl Transactions, owed: bool) -> Result<()> {
        if slot.open.is_none() {
            if !slot.unsynced && !owed {
                return Ok(());
            }
            let (txn, carried) = store.begin(redb::Durability::Immediate)?;
            slot.open = Some(Open {
                txn,
                carried,
                bytes: 0,
            });
        }
        let durability = self.planted(redb::Durability::Immediate);
        self.commit(slot, store, durability)
    }

    /// Commits the open batch, if any. A commit that fails leaves the batch's writes neither
    /// readable nor known to be durable: the batch is lost.
    fn commit(
        &self,
        slot: &mut Slot,
        store: &impl Transactions,
        durability: redb::Durability,
    ) -> Result<()> {
        let Some(mut open) = slot.open.take() else {
            return Ok(());
        };
        let committed = panic::catch_unwind(AssertUnwindSafe(move || -> Result<Carried> {
            open.txn.set_durability(durability)?;
            crate::schedule::crash_point("batch: before commit");
            open.txn.commit()?;
            crate::schedule::crash_point("batch: after commit");
            Ok(open.carried)
        }));
        match committed {
            Ok(Ok(carried)) => {
                store.committed(&carried);
                slot.unsynced = matches!(durability, redb::Durability::None);
                self.dirty.store(false, Ordering::SeqCst);
                Ok(())
            }
            Ok(Err(e)) => {
                self.lose(slot, format!("its commit failed ({e})"));
                Err(e)
            }
            Err(payload) => {
                self.lose(slot, "its commit panicked".to_owned());
                panic::resume_unwind(payload);
            }
        }
    }

    /// Drops the open transaction, aborting it, and refuses every later operation.
    fn lose(&self, slot: &mut Slot, reason: String) {
        slot.open = None;
        slot.lost = Some(reason);
        // Readers come to the lock, and hear of it there.
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Whether a commit since the last sync was not synced.
    #[cfg(test)]
    pub(crate) fn unsynced(&self) -> bool {
        self.lock().unsynced
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Every update of the slot is a few assignments after the fallible part: a panic
        // caught above has already been recorded, so a poisoned lock guards a sound state.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
