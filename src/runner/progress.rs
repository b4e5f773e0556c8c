//! How the runner tells its caller how far it is, without formatting anything itself.

/// Receives the runner's progress; the command line draws bars or prints lines from it.
pub trait Progress: Sync {
    /// A phase starts: `"load"`, `"warm-up"` or `"run"`, with its operation count when known.
    fn phase(&self, workload: &str, backend: &str, phase: &str, total: Option<u64>);
    /// `done` more operations of the current phase completed.
    fn advance(&self, done: u64);
    /// The current phase ended.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: &str, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
