//! This process's resource figures at one instant: CPU time, resident memory and the bytes it
//! made the storage devices read and write. Each is `None` where the platform does not report
//! it (CPU time needs Unix; the others Linux's `/proc`).
//!
//! Parsed from `/proc` by hand rather than through the `procfs` crate: three fields of two
//! text files are a few lines, and procfs (with procfs-core) measured 38 s of CPU on a cold
//! debug build here, about 8% of storebench's own, for types this module would not use.

use std::time::Duration;

/// The process's figures at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProcessFigures {
    /// CPU time of every thread of the process, the exited ones included.
    pub(crate) cpu: Option<CpuTime>,
    /// Resident memory (Linux: `VmRSS`).
    pub(crate) rss_bytes: Option<u64>,
    /// Bytes the process made the block devices read and write.
    pub(crate) device: Option<DeviceIo>,
}

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTime {
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

/// Device-level I/O, from Linux's task I/O accounting (`/proc/self/io`): `read_bytes` are
/// bytes fetched from storage (a read served by the page cache counts nothing), `written`
/// is `write_bytes` less `cancelled_write_bytes`. A page is counted when a clean page becomes
/// dirty, so a page rewritten before the kernel writes it back counts once, and it counts
/// when the process dirties it, not when writeback happens later: a phase is charged for
/// what it wrote even if it ends first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DeviceIo {
    pub(crate) read: u64,
    pub(crate) written: u64,
}

/// The figures now.
pub(crate) fn now() -> ProcessFigures {
    ProcessFigures {
        cpu: cpu_time(),
        rss_bytes: status_bytes("VmRSS:"),
        device: std::fs::read_to_string("/proc/self/io")
            .ok()
            .and_then(|text| parse_io(&text)),
    }
}

/// A size field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in bytes.
pub(crate) fn status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&status, key).map(|kib| kib * 1024)
}

#[cfg(unix)]
fn cpu_time() -> Option<CpuTime> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let duration = |t: nix::sys::time::TimeVal| {
        let micros = i128::from(t.tv_sec()) * 1_000_000 + i128::from(t.tv_usec());
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    };
    Some(CpuTime {
        user: duration(usage.user_time()),
        system: duration(usage.system_time()),
    })
}

#[cfg(not(unix))]
fn cpu_time() -> Option<CpuTime> {
    None
}

/// `key`'s value in kibibytes in `/proc/<pid>/status` text (`VmRSS:   1234 kB`).
fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Device I/O from `/proc/<pid>/io` text; `None` when a field is missing (a kernel without
/// task I/O accounting).
fn parse_io(text: &str) -> Option<DeviceIo> {
    let field = |key: &str| -> Option<u64> {
        let line = text.lines().find_map(|l| l.strip_prefix(key))?;
        line.strip_prefix(':')?.trim().parse().ok()
    };
    let written = field("write_bytes")?;
    let cancelled = field("cancelled_write_bytes").unwrap_or(0);
    Some(DeviceIo {
        read: field("read_bytes")?,
        written: written.saturating_sub(cancelled),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_io_is_parsed_and_cancelled_writes_are_taken_off() {
        let text = "rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\n\
                    write_bytes: 12288\ncancelled_write_bytes: 4096\n";
        assert_eq!(
            parse_io(text),
            Some(DeviceIo {
                read: 4096,
                written: 8192
            })
        );
        // `rchar` is not `read_bytes`, whatever order the lines come in.
        assert_eq!(parse_io("rchar: 5\nwchar: 5\n"), None);
        assert_eq!(parse_io(""), None);
    }

    #[test]
    fn status_sizes_are_read_in_kib() {
        let status = "Name:\tstorebench\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(1024));
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
    }

    /// Where the platform reports them, the figures are there and CPU time only grows.
    #[test]
    fn the_figures_of_this_process_grow() {
        let before = now();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = now();
        if cfg!(unix) {
            let (b, a) = (before.cpu.expect("CPU time"), after.cpu.expect("CPU time"));
            assert!(a.user + a.system >= b.user + b.system);
        }
        if cfg!(target_os = "linux") {
            assert!(after.rss_bytes.is_some_and(|b| b > 0));
        }
    }
}
