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
