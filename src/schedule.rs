//! Schedule points: where the schedule explorer of the `check` feature may stop a thread and
//! run another (`check::explore`). Each sits where its thread holds no lock. Without the
//! feature they compile to nothing.

#[cfg(feature = "check")]
pub(crate) use points::{Scheduler, enter, leave};
#[cfg(feature = "check")]
pub use points::{blocking, point, without_points};

/// The points as the `check` feature compiles them: each asks the scheduler this thread runs
/// under, if any, whether to stop. This module imports nothing of the crate, so every store
/// may mark points without standing on the checks; the explorer (`check::schedule`) stands
/// on it instead.
#[cfg(feature = "check")]
mod points {
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;

    /// What stops and starts the threads of an exploration: `check::schedule`'s explorer.
    pub(crate) trait Scheduler: Send + Sync {
        /// Thread `thread` is at the point `label`: returns when it is chosen to run on.
        fn pause(&self, thread: usize, label: &'static str);
        /// Thread `thread` is about to wait for another.
        fn block(&self, thread: usize);
    }

    thread_local! {
        static CURRENT: RefCell<Option<(Arc<dyn Scheduler>, usize)>> = const { RefCell::new(None) };
        /// How many [`without_points`] calls this thread is inside.
        static HOLDING: Cell<usize> = const { Cell::new(0) };
    }

    /// From now on this thread is thread `thread` of `scheduler`'s exploration.
    pub(crate) fn enter(scheduler: Arc<dyn Scheduler>, thread: usize) {
        CURRENT.with(|c| *c.borrow_mut() = Some((scheduler, thread)));
    }

    /// This thread is no longer explored.
    pub(crate) fn leave() {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }

    /// Marks a point where the explorer may stop this thread and run another: a user's store
    /// marks its own where it matters (between a lookup and the insert it decides on, say).
    /// Call it only where this thread holds no lock, or inside [`without_points`]. Outside an
    /// exploration it costs one thread-local read.
    pub fn point(label: &'static str) {
        if HOLDING.with(Cell::get) > 0 {
            return;
        }
        if let Some((scheduler, me)) = CURRENT.with(|c| c.borrow().clone()) {
            scheduler.pause(me, label);
        }
    }

    /// Runs `f`, which the caller runs holding a lock, with the points inside it passed over:
    /// a thread stopped there would stop every thread that wants the lock.
    pub fn without_points<T>(f: impl FnOnce() -> T) -> T {
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                HOLDING.with(|h| h.set(h.get() - 1));
            }
        }
        HOLDING.with(|h| h.set(h.get() + 1));
        let _leave = Leave;
        f()
    }

    /// Marks that this thread is about to wait for another (on a condition variable): the
    /// explorer runs others meanwhile. The thread must reach a [`point`] once it wakes.
    pub fn blocking() {
        if let Some((scheduler, me)) = CURRENT.with(|c| c.borrow().clone()) {
            scheduler.block(me);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Points inside [`without_points`] are passed over, and count again once it returns,
        /// nested or left by a panic: a thread that stayed "holding" would never stop at a point
        /// again, and every schedule through it would go unexplored.
        #[test]
        fn points_count_again_after_without_points() {
            let holding = || HOLDING.with(Cell::get);
            without_points(|| {
                assert_eq!(holding(), 1);
                without_points(|| assert_eq!(holding(), 2));
                assert_eq!(holding(), 1);
            });
            assert_eq!(holding(), 0);
            let unwound = std::panic::catch_unwind(|| without_points(|| panic!("inside")));
            assert!(unwound.is_err());
            assert_eq!(holding(), 0);
        }
    }
}

/// A point where another thread may run first.
#[cfg(not(feature = "check"))]
#[inline(always)]
pub(crate) fn point(_label: &'static str) {}

/// This thread is about to wait for another.
#[cfg(not(feature = "check"))]
#[cfg_attr(not(feature = "redb-backend"), allow(dead_code))]
#[inline(always)]
pub(crate) fn blocking() {}

/// Runs `f`, which holds a lock, with the points inside it passed over.
#[cfg(not(feature = "check"))]
#[cfg_attr(not(feature = "redb-backend"), allow(dead_code))]
#[inline(always)]
pub(crate) fn without_points<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// A place where the crash check by process death may kill the process
/// (`check::Death::AtPoint`): inside a mechanism whose every instant must keep the crash
/// contract, where a kill from outside lands only by chance. Without the feature, nothing.
#[cfg(not(feature = "check"))]
#[cfg_attr(not(feature = "redb-backend"), allow(dead_code))]
#[inline(always)]
pub(crate) fn crash_point(_label: &'static str) {}

#[cfg(feature = "check")]
pub(crate) use death_point::arm_crash_point;
// Without the persistent backends no store marks one.
#[cfg(feature = "check")]
#[cfg_attr(not(feature = "redb-backend"), allow(unused_imports))]
pub(crate) use death_point::crash_point;

#[cfg(feature = "check")]
mod death_point {
    use std::io::Write;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What a crash child prints as it dies at its point, for the parent to know it got there.
    pub(crate) const REACHED: &str = "storebench-crash-point";

    /// The point this process dies at, and how many more times it passes it first.
    static ARMED: OnceLock<(String, AtomicUsize)> = OnceLock::new();

    /// Makes this process abort the `nth` time (from 1) a thread reaches `label`.
    pub(crate) fn arm_crash_point(label: String, nth: usize) {
        let _ = ARMED.set((label, AtomicUsize::new(nth.max(1))));
    }

    /// See the disabled version above.
    #[cfg_attr(not(feature = "redb-backend"), allow(dead_code))]
    pub(crate) fn crash_point(label: &'static str) {
        let Some((armed, left)) = ARMED.get() else {
            return;
        };
        if armed == label && left.fetch_sub(1, Ordering::SeqCst) == 1 {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{REACHED} {label}");
            let _ = out.flush();
            std::process::abort();
        }
    }
}

#[cfg(feature = "check")]
pub(crate) use death_point::REACHED as CRASH_POINT_REACHED;
