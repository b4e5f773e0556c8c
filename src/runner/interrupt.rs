//! Stopping runs early: a flag the workers check before each operation, so that a Ctrl-C
//! ends the run in progress with what it measured instead of losing it.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every run in progress, and every later one, to stop after its current operation:
/// what `storebench run` does on Ctrl-C or SIGTERM. The runs return what they measured so
/// far, marked [`interrupted`](super::RunOutcome::interrupted).
pub(crate) fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Whether [`interrupt`] was called.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}
