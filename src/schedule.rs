//! Schedule points: where the schedule explorer of the `check` feature may stop a thread and
//! run another (`check::explore`). Each sits where its thread holds no lock. Without the
//! feature they compile to nothing.

#[cfg(feature = "check")]
// Without the persistent backends (feature `redb-backend`) only `point` has a caller.
#[allow(unused_imports)]
pub(crate) use crate::check::schedule::{blocking, point, without_points};

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
