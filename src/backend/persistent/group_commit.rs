//! Group commit: concurrent `EveryWrite` writers share one durable transaction.
//!
//! A writer joins the open write transaction (beginning one when none is open), applies its
//! writes to it, and waits. The transaction commits, with a sync, once no other writer is on its
//! way to it: the last writer to join runs the commit and tells the others. So N concurrent
//! writers pay one commit and one sync between them, and the B-tree pages they all touch (branch
//! pages, table roots, the allocator's state) are written once instead of N times; each writer
//! still returns only once its own write is durable.
//!
//! Writers released by a commit usually come straight back with their next write, a little
//! after one another; a transaction that committed as soon as the first of them joined would
//! leave the rest a round of their own. So the last joiner waits a short while for as many
//! writers as the previous round had.
//!
//! A transaction holds its members' writes, so a writer whose writes fail half-way cannot be
//! taken out of it: the transaction is aborted, the writer gets its own error, and the writers
//! that joined before it get [`Error::GroupCommitAborted`]: none of their writes was made. A
//! failed commit fails every member the same way.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redb::WriteTransaction;

use super::tables::CollectionId;
use crate::{Error, Result};

/// Why a shared transaction did not commit, and whether its writes may be durable anyway (a
/// failed commit) or were certainly not made (an abort).
type Failure = (String, bool);

/// Collections whose creation a transaction carries, committed with it.
pub(crate) type Carried = Vec<(String, CollectionId)>;

/// The longest the last joiner waits for the writers of the previous round to come back: well
/// under a sync, so a writer that has gone costs the rest little.
const LINGER: Duration = Duration::from_micros(200);

/// The transactions of one store's `EveryWrite` writers.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<Rounds>,
    changed: Condvar,
    /// Writers that have arrived and not yet joined (or failed to): counted before they wait
    /// for the lock, so that a transaction does not commit while they queue for it.
    arriving: AtomicU64,
}

#[derive(Default)]
struct Rounds {
    /// The transaction writers are joining, if one is open.
    open: Option<Open>,
    next_id: u64,
    /// Members of the last transaction committed.
    last_round: u64,
    /// Outcomes of committed or aborted transactions whose members have not all read them:
    /// the members still to read it, and the failure, if it failed.
    outcomes: HashMap<u64, (u64, Option<Failure>)>,
    /// Set by [`GroupCommit::close`]: no transaction begins any more.
    closed: bool,
}

/// A writer on its way to the open transaction, counted until it has joined or failed to (a
/// panic included): a transaction does not commit while writers queue for it.
struct Arrival<'a>(&'a GroupCommit);

impl<'a> Arrival<'a> {
    fn new(group: &'a GroupCommit) -> Self {
        group.arriving.fetch_add(1, Ordering::SeqCst);
        Self(group)
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.0.arriving.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_all();
    }
}

/// An open write transaction and what it carries.
struct Open {
    txn: WriteTransaction,
    carried: Carried,
    id: u64,
    members: u64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("arriving", &self.arriving)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Applies `apply` within a shared transaction, begun by `begin` when none is open, and
    /// returns once that transaction has committed; `committed` runs on the thread that
    /// commits it, after a successful commit, with what `begin` said the transaction carries.
    pub(crate) fn write(
        &self,
        begin: impl FnOnce() -> Result<(WriteTransaction, Carried)>,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
        committed: impl FnOnce(&Carried),
    ) -> Result<()> {
        let written = self.write_in_round(begin, apply, committed);
        // The lock released: a writer woken from waiting is scheduled again from here.
        crate::schedule::point("group commit: returned");
        written
    }

    fn write_in_round(
        &self,
        begin: impl FnOnce() -> Result<(WriteTransaction, Carried)>,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
        committed: impl FnOnce(&Carried),
    ) -> Result<()> {
        let arrival = Arrival::new(self);
        // Counted as arriving, not yet joined: a transaction must not commit without it.
        crate::schedule::point("group commit: arrived");
        let mut rounds = self.rounds();
        let joined = self.join(&mut rounds, begin, apply);
        drop(arrival);
        let id = joined?;
        let mut deadline = None;
        loop {
            if let Some(outcome) = rounds.outcomes.get_mut(&id) {
                outcome.0 -= 1;
                let failure = if outcome.0 == 0 {
                    rounds.outcomes.remove(&id).and_then(|(_, failure)| failure)
                } else {
                    outcome.1.clone()
                };
                return failure.map_or(Ok(()), |(reason, may_be_durable)| {
                    Err(Error::GroupCommitAborted {
                        reason,
                        may_be_durable,
                    })
                });
            }
            let mine_to_commit = self.arriving.load(Ordering::SeqCst) == 0
                && rounds.open.as_ref().is_some_and(|o| o.id == id);
            if !mine_to_commit {
                crate::schedule::blocking();
                rounds = self
                    .changed
                    .wait(rounds)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let members = rounds.open.as_ref().map_or(0, |o| o.members);
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + LINGER);
            let now = Instant::now();
            if members >= rounds.last_round || now >= deadline {
                return self.commit(rounds, committed);
            }
            crate::schedule::blocking();
            rounds = self
                .changed
                .wait_timeout(rounds, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Joins the open transaction (beginning one if none is open) with `apply`'s writes; the
    /// transaction's id.
    fn join(
        &self,
        rounds: &mut MutexGuard<'_, Rounds>,
        begin: impl FnOnce() -> Result<(WriteTransaction, Carried)>,
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
    ) -> Result<u64> {
        if rounds.open.is_none() {
            if rounds.closed {
                return Err(Error::Closed);
            }
            // redb waits here while the previous transaction commits: the writers arriving
            // meanwhile queue on the lock and join this one.
            let (txn, carried) = begin()?;
            let id = rounds.next_id;
            rounds.next_id += 1;
            rounds.open = Some(Open {
                txn,
                carried,
                id,
                members: 0,
            });
        }
        let open = rounds.open.as_mut().expect("opened above");
        // A panic is an error too: the transaction must not commit half of a write.
        let applied = panic::catch_unwind(AssertUnwindSafe(|| apply(&open.txn)));
        let failure = match &applied {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!(
                "another write in it failed ({e}), so it was aborted and none of this write \
                 was made; retry it"
            )),
            Err(_) => Some(
                "another write in it panicked, so it was aborted and none of this write was \
                 made; retry it"
                    .to_owned(),
            ),
        };
        if let Some(reason) = failure {
            // The transaction holds part of this write and cannot lose it alone: abort it.
            let aborted = rounds.open.take().expect("still open");
            if aborted.members > 0 {
                let failure = (reason, false);
                rounds
                    .outcomes
                    .insert(aborted.id, (aborted.members, Some(failure)));
            }
            drop(aborted);
            return match applied {
                Ok(Err(e)) => Err(e),
                Err(payload) => panic::resume_unwind(payload),
                Ok(Ok(())) => unreachable!("a write that applied is no failure"),
            };
        }
        open.members += 1;
        Ok(open.id)
    }

    /// Commits the open transaction, which the caller joined, and publishes the outcome.
    fn commit(
        &self,
        mut rounds: MutexGuard<'_, Rounds>,
        committed: impl FnOnce(&Carried),
    ) -> Result<()> {
        let open = rounds.open.take().expect("the caller checked it is open");
        rounds.last_round = open.members;
        drop(rounds);
        let (id, members, carried) = (open.id, open.members, open.carried);
        // Caught so that the other members hear of a panic instead of waiting for ever.
        let committed_txn = panic::catch_unwind(AssertUnwindSafe(|| open.txn.commit()));
        // Committed, not yet told: the members must go on waiting until they are.
        crate::schedule::point("group commit: committed");
        let failure = match &committed_txn {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!(
                "its commit failed ({e}); the write may or may not be durable: reopen"
            )),
            Err(_) => {
                Some("its commit panicked; the write may or may not be durable: reopen".to_owned())
            }
        };
        if members > 1 {
            let failure = failure.map(|reason| (reason, true));
            self.rounds().outcomes.insert(id, (members - 1, failure));
        }
        self.changed.notify_all();
        match committed_txn {
            Ok(Ok(())) => {
                committed(&carried);
                Ok(())
            }
            Ok(Err(e)) => Err(Error::from(e)),
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// Refuses every later transaction with [`Error::Closed`]; the open one, if any, still
    /// commits when its writers are done.
    pub(crate) fn close(&self) {
        self.rounds().closed = true;
    }

    fn rounds(&self) -> MutexGuard<'_, Rounds> {
        // Every update is a few assignments that cannot panic half-way. `begin` and `apply` run
        // with the lock held: a panic in `apply` is caught and aborts the transaction, and one
        // in `begin` leaves none open, so a poisoned lock still guards a sound state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};

    use super::*;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn database() -> Database {
        Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("in-memory database")
    }

    fn insert(key: u64) -> impl FnOnce(&WriteTransaction) -> Result<()> {
        move |txn| {
            txn.open_table(T)?.insert(key, key)?;
            Ok(())
        }
    }

    /// What the store's `begin` does, without pending collections.
    fn begin(db: &Database) -> impl Fn() -> Result<(WriteTransaction, Carried)> + '_ {
        || Ok((db.begin_write()?, Carried::new()))
    }

    fn rows(db: &Database) -> u64 {
        let txn = db.begin_read().expect("read");
        txn.open_table(T).map_or(0, |t| t.len().expect("len"))
    }

    #[test]
    fn writers_that_join_one_transaction_share_its_commit() {
        let db = database();
        let group = GroupCommit::default();
        let mut rounds = group.rounds();
        let first = group
            .join(&mut rounds, begin(&db), insert(1))
            .expect("joins");
        let second = group
            .join(&mut rounds, || unreachable!("open already"), insert(2))
            .expect("joins");
        assert_eq!(first, second, "one transaction");
        let commits = AtomicUsize::new(0);
        group
            .commit(rounds, |_| {
                commits.fetch_add(1, Ordering::SeqCst);
            })
            .expect("commit");
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert_eq!(rows(&db), 2, "both writes landed in it");
        let rounds = group.rounds();
        assert_eq!(
            rounds.outcomes[&first],
            (1, None),
            "the other member is told"
        );
        assert_eq!(rounds.last_round, 2);
    }

    /// Whether writes overlap is up to the scheduler; whatever it does, every write lands and
    /// every writer returns.
    #[test]
    fn concurrent_writers_all_land() {
        let db = Arc::new(database());
        let group = Arc::new(GroupCommit::default());
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (db, group) = (db.clone(), group.clone());
                thread::spawn(move || {
                    for n in 0..50 {
                        group
                            .write(begin(&db), insert(w * 1_000 + n), |_| {})
                            .expect("write");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        assert_eq!(rows(&db), 200);
        assert!(group.rounds().outcomes.is_empty(), "every outcome was read");
    }

    #[test]
    fn a_failed_write_aborts_its_transaction_and_fails_those_that_joined_it() {
        let db = database();
        let group = GroupCommit::default();
        let mut rounds = group.rounds();
        let joined = group
            .join(&mut rounds, begin(&db), insert(1))
            .expect("first write joins");
        let failed = group.join(
            &mut rounds,
            || unreachable!("open already"),
            |_| Err(Error::Closed),
        );
        assert!(matches!(failed, Err(Error::Closed)), "its own error");
        assert!(rounds.open.is_none(), "the transaction is aborted");
        assert_eq!(rounds.outcomes[&joined].0, 1);
        drop(rounds);
        // The writer that joined first reads the abort.
        let mut rounds = group.rounds();
        let (_, failure) = rounds.outcomes.remove(&joined).expect("published");
        let (reason, may_be_durable) = failure.expect("a failure");
        assert!(reason.contains("failed") && !may_be_durable, "{reason}");
        drop(rounds);
        assert_eq!(rows(&db), 0, "nothing of the aborted transaction landed");
        group
            .write(begin(&db), insert(2), |_| {})
            .expect("the next write runs in a new transaction");
        assert_eq!(rows(&db), 1);
    }

    #[test]
    fn a_panicking_write_leaves_the_group_usable_and_a_closed_one_refuses() {
        let db = database();
        let group = GroupCommit::default();
        let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
            group.write(begin(&db), |_| panic!("a bug in a write"), |_| {})
        }));
        assert!(panicked.is_err());
        assert_eq!(
            group.arriving.load(Ordering::SeqCst),
            0,
            "no writer left arriving"
        );
        let failed = group.write(begin(&db), |_| Err(Error::Closed), |_| {});
        assert!(matches!(failed, Err(Error::Closed)), "its own error");
        // Nobody else joined: an outcome kept for them would never be read, and a store that
        // keeps failing would keep one per failure.
        assert!(
            group.rounds().outcomes.is_empty(),
            "a lone writer's failures leave no outcome behind"
        );
        group
            .write(begin(&db), insert(1), |_| {})
            .expect("the next write commits");
        assert_eq!(rows(&db), 1);
        group.close();
        let refused = group.write(begin(&db), insert(2), |_| {});
        assert!(matches!(refused, Err(Error::Closed)), "{refused:?}");
        assert_eq!(rows(&db), 1);
    }

    #[test]
    fn a_lone_writer_commits_at_once() {
        let db = database();
        let group = GroupCommit::default();
        for n in 0..3 {
            group.write(begin(&db), insert(n), |_| {}).expect("write");
        }
        assert_eq!(rows(&db), 3);
        let rounds = group.rounds();
        assert!(rounds.outcomes.is_empty(), "no other member to tell");
        assert_eq!(rounds.last_round, 1);
    }
}
