//! Group commit: concurrent `EveryWrite` writers share one sync.
//!
//! An `EveryWrite` write commits without a sync (redb's `Durability::None`), leaves every lock
//! it holds, and then waits in [`GroupCommit::settle`] until a durable commit that *began after
//! its own commit returned* has finished: redb makes every earlier commit durable with the next
//! durable one, so that commit covers it.
//!
//! A sync is a redb write transaction, and redb runs one at a time: a writer that begins while
//! a sync runs waits for the whole sync and misses it. So a round starts only when no write is
//! in flight: the writers that began meanwhile commit first and are covered by the same sync.
//! Every write in flight commits (or fails) without waiting for a sync, so the count always
//! drains and a waiting writer always gets its round. With N writers a round costs about one
//! sync instead of N, while a write still returns only once it is durable.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::Result;

/// The longest a round waits for writers of the last round to come back: well under a sync,
/// so a writer that has left costs the rest little.
const LINGER: Duration = Duration::from_micros(200);

/// A committed write, numbered in the order commits returned.
#[must_use = "an EveryWrite write is not durable until it is settled"]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit(u64);

/// The sync rounds of one store.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<Rounds>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Rounds {
    /// Writes begun and not yet committed or abandoned.
    in_flight: u64,
    /// Commits that have returned.
    committed: u64,
    /// Every commit numbered up to this one is durable.
    durable: u64,
    /// Whether a writer is running a sync now.
    syncing: bool,
    /// The commits the last round covered: how many writers to expect back in the next.
    last_round: u64,
}

impl GroupCommit {
    /// Counts a write in flight until it commits or is dropped. Count from before the write
    /// waits for any lock, so that a round does not start while it is queued.
    pub(crate) fn writing(&self) -> Writing<'_> {
        self.rounds().in_flight += 1;
        Writing(self)
    }

    /// Returns once `commit` is durable, running `sync` (a durable commit) as the leader of a
    /// round when none is under way and no write is in flight.
    ///
    /// A failed sync is reported to the writer that ran it. The others it would have covered
    /// are not told that error: one of them leads the next round and gets its own answer from
    /// the disk, which is the truth about its write.
    pub(crate) fn settle(&self, commit: Commit, sync: impl Fn() -> Result<()>) -> Result<()> {
        let mut rounds = self.rounds();
        let mut deadline = None;
        loop {
            if rounds.durable >= commit.0 {
                return Ok(());
            }
            if !rounds.syncing && rounds.in_flight == 0 {
                // The writers released by the last round are usually on their way back with
                // their next write; starting without them would leave them a round of their
                // own. Wait a little for as many commits as the last round had.
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + LINGER);
                let now = Instant::now();
                if rounds.committed - rounds.durable >= rounds.last_round || now >= deadline {
                    return self.lead(rounds, sync);
                }
                rounds = self
                    .changed
                    .wait_timeout(rounds, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            rounds = self
                .changed
                .wait(rounds)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Runs `sync`; on success every commit counted before it is durable. A flush goes through
    /// here, so that it settles the writers waiting on it.
    pub(crate) fn sync_all(&self, sync: impl FnOnce() -> Result<()>) -> Result<()> {
        let covered = self.rounds().committed;
        sync()?;
        self.mark_durable(covered);
        Ok(())
    }

    fn lead(
        &self,
        mut rounds: MutexGuard<'_, Rounds>,
        sync: impl Fn() -> Result<()>,
    ) -> Result<()> {
        rounds.syncing = true;
        let covered = rounds.committed;
        rounds.last_round = covered - rounds.durable;
        drop(rounds);
        let mut round = Round {
            group: self,
            covered,
            synced: false,
        };
        let result = sync();
        round.synced = result.is_ok();
        drop(round);
        result
    }

    fn mark_durable(&self, covered: u64) {
        let mut rounds = self.rounds();
        rounds.durable = rounds.durable.max(covered);
        drop(rounds);
        self.changed.notify_all();
    }

    fn rounds(&self) -> MutexGuard<'_, Rounds> {
        // Counters each updated by one statement: a panic cannot leave them torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A write in flight.
pub(crate) struct Writing<'a>(&'a GroupCommit);

impl Writing<'_> {
    /// The write has committed: numbers it, and lets a round start if it was the last
    /// in flight.
    pub(crate) fn committed(self) -> Commit {
        let mut rounds = self.0.rounds();
        rounds.committed += 1;
        Commit(rounds.committed)
        // Dropping `self` here takes the write out of flight.
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut rounds = self.0.rounds();
        rounds.in_flight -= 1;
        let drained = rounds.in_flight == 0;
        drop(rounds);
        if drained {
            self.0.changed.notify_all();
        }
    }
}

/// A sync round under way. Ending it records what it made durable and lets the next writer
/// lead in one step, so that no writer it covered starts a needless round in between. It ends
/// when dropped, even if the sync panicked, so that waiters never wait for a dead leader.
struct Round<'a> {
    group: &'a GroupCommit,
    covered: u64,
    synced: bool,
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        let mut rounds = self.group.rounds();
        if self.synced {
            rounds.durable = rounds.durable.max(self.covered);
        }
        rounds.syncing = false;
        drop(rounds);
        self.group.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use super::*;
    use crate::Error;

    #[test]
    fn a_sync_covers_only_commits_counted_before_it() {
        let group = GroupCommit::default();
        let first = group.writing().committed();
        let syncs = AtomicUsize::new(0);
        let sync = || {
            syncs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        group.settle(first, sync).unwrap();
        group.settle(first, sync).unwrap();
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            1,
            "a durable commit syncs once"
        );
        let second = group.writing().committed();
        group.settle(second, sync).unwrap();
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            2,
            "a later commit needs a later sync"
        );
    }

    #[test]
    fn a_failed_sync_fails_its_leader_and_the_next_writer_retries() {
        let group = GroupCommit::default();
        let commit = group.writing().committed();
        let failing = || Err(Error::Closed);
        assert!(matches!(group.settle(commit, failing), Err(Error::Closed)));
        group.settle(commit, || Ok(())).unwrap();
    }

    #[test]
    fn concurrent_writers_share_syncs() {
        let group = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (group, syncs) = (group.clone(), syncs.clone());
                thread::spawn(move || {
                    for _ in 0..50 {
                        let commit = group.writing().committed();
                        group
                            .settle(commit, || {
                                syncs.fetch_add(1, Ordering::SeqCst);
                                thread::sleep(std::time::Duration::from_millis(1));
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let syncs = syncs.load(Ordering::SeqCst);
        assert!(
            syncs < 200,
            "200 writes took {syncs} syncs; none were shared"
        );
        assert_eq!(group.rounds().durable, 200);
    }

    #[test]
    fn a_round_waits_for_the_writes_in_flight_and_covers_them() {
        let group = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicUsize::new(0));
        let first = group.writing().committed();
        let second = group.writing();
        let waiter = {
            let (group, syncs) = (group.clone(), syncs.clone());
            thread::spawn(move || {
                group.settle(first, || {
                    syncs.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            })
        };
        thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            0,
            "synced with a write in flight"
        );
        let second = second.committed();
        waiter.join().unwrap().unwrap();
        group
            .settle(second, || {
                panic!("the first round covered the second write")
            })
            .unwrap();
    }

    #[test]
    fn a_flush_settles_the_writes_before_it() {
        let group = GroupCommit::default();
        let commit = group.writing().committed();
        group.sync_all(|| Ok(())).unwrap();
        group
            .settle(commit, || {
                panic!("the flush already made the write durable")
            })
            .unwrap();
    }
}
