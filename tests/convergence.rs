//! The convergence check finds each replication defect fixed so far, planted back: from the
//! committed seeds (a short input per defect, `defect-<bug>-<n>`, beside the random ones), as
//! the fuzzer starts from them; and with no defect planted every seed converges.

use std::path::{Path, PathBuf};

use storebench::check::{ReplicationBug, check_convergence, check_convergence_planted};

/// The short inputs that show each defect, as committed under `fuzz/seeds/convergence`.
/// `STOREBENCH_WRITE_SEEDS=1 cargo test --features check --test convergence` writes them.
#[rustfmt::skip]
const DEFECT_SEEDS: &[(ReplicationBug, &str, &[u8])] = &[
    // Two replicas. Session 1 on their link, every message kept on the wire as it is
    // delivered: 0 puts d0 and sends it, both complete. The link drops its sessions (what was
    // on the wire may arrive late); 0 puts d1; session 2: hellos cross, 0 offers d1 (lost),
    // then 1's "done" of session 1 arrives late: taken as an answer, it completes 0's session
    // and marks d1 as held by 1, which never got it.
    (ReplicationBug::AnySession, "defect-any-session-0", &[
        0x00,
        0x00, 0x04,                             // 0 puts d0 = [1]
        0x04, 0x00, 0x04, 0x01,                 // hellos
        0x08, 0x06, 0x08, 0x0e,                 // delivered, kept: 0, 1
        0x04, 0x00, 0x08, 0x16,                 // 0 offers d0
        0x04, 0x01, 0x08, 0x1e,                 // 1 answers
        0x04, 0x00, 0x08, 0x26,                 // 0 sends d0's change
        0x04, 0x01, 0x08, 0x2e,                 // 1: done
        0x04, 0x00, 0x08, 0x36,                 // 0: done, complete
        0x0e, 0x00,                             // new sessions; the wire arrives late
        0x00, 0x09,                             // 0 puts d1 = [2]
        0x04, 0x00, 0x04, 0x01,                 // hellos
        0x08, 0x00, 0x08, 0x00,                 // delivered
        0x04, 0x00, 0x08, 0x05,                 // 0 offers d1: lost
        0x0e, 0x01 | 5 << 2,                    // 1's late "done" of session 1 arrives
    ]),
    // 0 puts d0 twice; the hostile peer sends a change reusing the (actor, seq) of the
    // second with other bytes, on the first (applied from the heads), by apply_changes, then
    // in a sync message.
    (ReplicationBug::DuplicateSeq, "defect-duplicate-seq-0", &[
        0x00, 0x00, 0x04, 0x00, 0x08, 0x0c, 0x20, 0x0c, 0x30,
    ]),
    // 0 puts d0; the hostile peer sends a change on it damaged under its chunk header, by
    // apply_changes, then in a sync message.
    (ReplicationBug::NoChunkChecksum, "defect-no-chunk-checksum-0", &[
        0x00, 0x00, 0x04, 0x0c, 0x04, 0x0c, 0x14,
    ]),
    // A first session, which marks both as syncing (durably, with every write before it);
    // new sessions. 0 puts d0 and flushes, puts d0 again and syncs it to 1, loses power before
    // a flush; the settle brings its lost change back from 1.
    (ReplicationBug::DeadWriterHeads, "defect-dead-writer-heads-0", &[
        0x00,
        0x0d, 0x00, 0x0d, 0x00, 0x0d, 0x00, 0x0d, 0x00,
        0x0e, 0x00,                             // new sessions
        0x00, 0x04, 0x0f, 0x03,                 // put, flush
        0x00, 0x08,                             // put
        0x0d, 0x00, 0x0d, 0x00, 0x0d, 0x00, 0x0d, 0x00, 0x0d, 0x00,
        0x0f, 0x00,                             // power loss, nothing unsynced kept
        0x0f, 0x07,                             // settle
    ]),
];

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/convergence")
}

/// Every committed convergence seed: its name and bytes.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(seeds_dir())
        .expect("the seeds directory")
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().expect("a name").to_string_lossy().into();
            (name, std::fs::read(&path).expect("a readable seed"))
        })
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn the_defect_seeds_are_committed() {
    for (_, name, bytes) in DEFECT_SEEDS {
        let path = seeds_dir().join(name);
        if std::env::var_os("STOREBENCH_WRITE_SEEDS").is_some() {
            std::fs::write(&path, bytes).expect("a seed written");
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert_eq!(
            &committed, bytes,
            "{name}: write it with STOREBENCH_WRITE_SEEDS=1"
        );
    }
}

#[test]
fn with_no_bug_planted_every_seed_converges() {
    for (name, data) in seeds() {
        check_convergence(&data).unwrap_or_else(|v| panic!("{name}: {v}"));
    }
}

/// With each defect planted back, the seeds made for it find it, and whatever else finds it
/// is listed.
#[test]
fn each_planted_bug_is_found_from_the_seeds() {
    let seeds = seeds();
    for bug in ReplicationBug::ALL {
        let found: Vec<(&str, String)> = seeds
            .iter()
            .filter_map(|(name, data)| {
                let found = check_convergence_planted(data, Some(bug)).err()?;
                Some((name.as_str(), found))
            })
            .collect();
        for (of, name, _) in DEFECT_SEEDS.iter().filter(|(of, ..)| *of == bug) {
            assert!(
                found.iter().any(|(n, _)| n == name),
                "{of}: {name} does not find it; found by {found:?}"
            );
        }
        eprintln!("{bug}: found by {found:?}");
    }
}
