//! The machine and crate versions a report records.

use std::collections::BTreeMap;

use super::schema::Machine;

/// This machine, as far as the platform tells.
pub(crate) fn machine() -> Machine {
    Machine {
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model: proc_field("/proc/cpuinfo", "model name"),
        memory_bytes: proc_field("/proc/meminfo", "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib * 1024),
    }
}

/// The first `key: value` line's value of a Linux /proc file.
fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// Versions of the harness's own crates that decide the measurements (the histograms),
/// recorded from Cargo.lock at build. What a store is built on is its binding's to say
/// (`Binding::versions`, in the report's `backend.versions`): a user's store may be built on
/// other versions of the crates this one locks, or on none of them.
pub(crate) fn crates() -> BTreeMap<String, String> {
    let mut versions: BTreeMap<String, String> = env!("STOREBENCH_CRATE_VERSIONS")
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name == "hdrhistogram")
        .map(|(name, version)| (name.to_owned(), version.to_owned()))
        .collect();
    versions.insert("storebench".into(), env!("CARGO_PKG_VERSION").into());
    versions
}
