//! Refusing up front a dataset that cannot fit: a run of 100 million records that dies of
//! memory an hour in, with no report, is worse than a refusal with the figures.
//!
//! The bound is the raw dataset — every record at its smallest, its encoding, and an id — which
//! any store needs at least; stores need more (indexes, history), so a run that passes may
//! still not fit, but one refused here cannot. With `--data` a run's store stays, so several
//! runs add up; each is checked alone.

use std::path::Path;

use crate::binding::Selected;
use crate::workload::{Operation, Workload};

/// The raw bytes of `workload`'s dataset at the least: the records it loads and the inserts
/// it plans, every field at its shortest and its name at one digit.
pub(crate) fn dataset_bytes(workload: &Workload) -> u64 {
    let name = workload.field_name_prefix.len() as u64 + 1;
    let field = 1 + name + 4 + workload.field_length.min() as u64;
    let record = 1 + workload.field_count as u64 * field + 24;
    let inserts = match workload.max_execution_time {
        Some(_) => 0,
        None => {
            (workload.operation_count as f64 * workload.mix.proportion(Operation::Insert)) as u64
        }
    };
    record.saturating_mul(workload.insert_count.saturating_add(inserts))
}

/// The memory available and the disk free under the data directory, asked once for a whole
/// command; `None` where the platform does not say.
pub(crate) struct Room {
    memory: Option<u64>,
    disk: Option<u64>,
}

impl Room {
    pub(crate) fn here(data_dir: &Path) -> Self {
        Self {
            memory: available_memory(),
            disk: free_disk(data_dir),
        }
    }
}

/// Why `workload` cannot run on `backend` in `room`, if it cannot: its raw dataset against the
/// memory available (a store that keeps its data in memory) or the disk free (one that keeps
/// files).
pub(crate) fn refusal(workload: &Workload, backend: &Selected, room: &Room) -> Option<String> {
    let needed = dataset_bytes(workload);
    let binding = backend.binding();
    let (what, available) = if binding.in_memory() {
        ("memory", room.memory?)
    } else if binding.durabilities().is_empty() {
        return None;
    } else {
        ("disk under the data directory", room.disk?)
    };
    (needed > available).then(|| {
        format!(
            "{} on {}: its records need at least {} of {what}, and {} is available; lower \
             recordcount or operationcount, or pass --no-capacity-check to run anyway",
            workload.name,
            backend.name(),
            gib(needed),
            gib(available)
        )
    })
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// `MemAvailable` of `/proc/meminfo`; `None` where there is none.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes free to an unprivileged user on the file system of `dir` (or of its nearest
/// existing ancestor); `None` where that cannot be asked.
fn free_disk(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    fs4::available_space(existing).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_counted_at_its_smallest() {
        let text = "recordcount = 1000\nfieldcount = 10\nfieldlength = 100\noperationcount = 0\n";
        let w = Workload::from_toml("w", text, Path::new("w.toml")).expect("valid");
        // Ten fields of 100 bytes, a 6-byte name and 5 bytes of lengths each, the version
        // byte and an id.
        assert_eq!(dataset_bytes(&w), 1000 * (1 + 10 * (1 + 6 + 4 + 100) + 24));
    }

    #[test]
    fn the_disk_and_memory_are_asked() {
        assert!(free_disk(&std::env::temp_dir()).is_some_and(|b| b > 0));
        if cfg!(target_os = "linux") {
            assert!(available_memory().is_some_and(|b| b > 0));
        }
    }
}
