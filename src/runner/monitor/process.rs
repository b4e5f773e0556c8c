//! This process's resource figures at one instant: CPU time, resident memory and the bytes it
//! made the storage devices read and write. Each is `None` where the platform does not report
//! it: CPU time comes from `getrusage` (Unix, through `nix`), the others from Linux's `/proc`
//! (through `procfs`).

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

/// Device-level I/O, from Linux's task I/O accounting (`/proc/self/io`): `read` is
/// `read_bytes`, bytes fetched from storage (a read served by the page cache counts nothing);
/// `written` is `write_bytes`. A page is counted when a clean page becomes dirty, so a page
/// rewritten before the kernel writes it back counts once, and it counts when the process
/// dirties it, not when writeback happens later: a phase is charged for what it wrote even if
/// it ends first. `cancelled_write_bytes` (pages dirtied, then truncated before writeback) is
/// not taken off: it would make the count fall when a store deletes a file, and a counter
/// that falls cannot be read sample by sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DeviceIo {
    pub(crate) read: u64,
    pub(crate) written: u64,
}

/// The figures now.
pub(crate) fn now() -> ProcessFigures {
    let (rss_bytes, device) = proc_figures();
    ProcessFigures {
        cpu: cpu_time(),
        rss_bytes,
        device,
    }
}

/// Resident memory and device I/O from `/proc/self`.
#[cfg(target_os = "linux")]
fn proc_figures() -> (Option<u64>, Option<DeviceIo>) {
    let Ok(me) = procfs::process::Process::myself() else {
        return (None, None);
    };
    let rss = me.status().ok().and_then(|s| s.vmrss).map(|kib| kib * 1024);
    let device = me.io().ok().map(|io| DeviceIo {
        read: io.read_bytes,
        written: io.write_bytes,
    });
    (rss, device)
}

#[cfg(not(target_os = "linux"))]
fn proc_figures() -> (Option<u64>, Option<DeviceIo>) {
    (None, None)
}

/// Peak resident memory (Linux: `VmHWM`).
#[cfg(target_os = "linux")]
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = procfs::process::Process::myself().ok()?.status().ok()?;
    status.vmhwm.map(|kib| kib * 1024)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    None
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

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
        // Readable unless the kernel lacks task I/O accounting.
        if std::fs::read_to_string("/proc/self/io").is_ok() {
            let (b, a) = (before.device.expect("I/O"), after.device.expect("I/O"));
            assert!(a.written >= b.written && a.read >= b.read);
        }
    }
}
