//! Peak resident memory of this process, per run.

/// Resets the kernel's peak-RSS mark so the next reading covers only what follows.
/// Linux only; elsewhere (or without permission) the peak stays the process's lifetime peak.
pub(crate) fn reset_peak() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+). Failure only
    // widens what the reading covers, so it is not an error.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set size in bytes, where the platform reports it.
pub(crate) fn peak_bytes() -> Option<u64> {
    super::monitor::peak_rss_bytes()
}
