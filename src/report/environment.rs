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

/// Versions of the crates that decide the measurements, recorded from Cargo.lock at build.
pub(crate) fn crates() -> BTreeMap<String, String> {
    let mut versions: BTreeMap<String, String> = env!("STOREBENCH_CRATE_VERSIONS")
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, version)| (name.to_owned(), version.to_owned()))
        .collect();
    versions.insert("storebench".into(), env!("CARGO_PKG_VERSION").into());
    versions
}
