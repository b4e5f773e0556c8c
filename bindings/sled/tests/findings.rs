//! The defect bindings/FINDINGS.md lists for sled 0.34.7, shown with sled's own API and
//! nothing of storebench, so that it can go to sled as it is. The test passes while sled has
//! the defect and fails, saying so, once sled mends it.

use std::path::Path;
use std::time::{Duration, Instant};

const MENDED: &str = "sled mended this: update bindings/FINDINGS.md";

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Opens the database in `dir`, without sled's background flusher, so that the log holds
/// exactly what `flush` wrote. sled releases its file lock a moment after a `Db` is
/// dropped (its issues 1234 and 1289): an open straight after one is retried while the
/// lock is held, an error sled gives no kind of its own.
fn open(dir: &Path) -> sled::Result<sled::Db> {
    let start = Instant::now();
    loop {
        match sled::Config::new().path(dir).flush_every_ms(None).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && start.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            opened => return opened,
        }
    }
}

/// Each open writes a snapshot (`snap.<log sequence number, hex>`) of the log up to there;
/// recovery reads it, then replays the log after it. A message there whose checksum fails
/// is taken for the torn end of the log: the open succeeds, and every write from that
/// message on is gone, though `flush` had made it durable and nothing tore it.
#[test]
fn a_flipped_bit_in_the_log_opens_an_earlier_state_silently() -> Outcome {
    let dir = tempfile::tempdir()?;
    // Five sessions of ten inserts, each flushed: every flush leaves a multiple of ten.
    for session in 0..5u8 {
        let db = open(dir.path())?;
        for i in 0..10u8 {
            db.insert(format!("k{session}-{i}"), vec![session; 100])?;
        }
        db.flush()?;
    }
    let snapshot = std::fs::read_dir(dir.path())?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find_map(|name| Some(u64::from_str_radix(name.strip_prefix("snap.")?, 16)))
        .ok_or("no snapshot file")??;
    // The log's first segment starts at offset 0, so a sequence number there is an offset:
    // a little past the snapshot lies the last session's second insert.
    let log = dir.path().join("db");
    let mut bytes = std::fs::read(&log)?;
    let offset = usize::try_from(snapshot)? + 130;
    bytes[offset] ^= 4;
    std::fs::write(&log, &bytes)?;
    let reopened = open(dir.path()).map(|db| db.len());
    assert!(
        matches!(reopened, Ok(n) if n < 50 && n % 10 != 0),
        "{MENDED}: {reopened:?}"
    );
    Ok(())
}
