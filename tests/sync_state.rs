//! What a sync session costs when little changed, beside Automerge's own sync protocol: each
//! side keeps, in its database, what every peer holds, so that a reconnect after a reopen sends
//! only what changed; a peer that died and lost writes is offered everything again.

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use storebench::fault::{Disk, PowerLoss};
use storebench::{AutomergeBackend, OpenOptions, ReplicationError, StorageBackend, SyncStats};
use tempfile::TempDir;

/// Every failure here is a replication one, or the storage error it carries.
type Result<T, E = ReplicationError> = std::result::Result<T, E>;

const DOCS: &str = "cells";
/// How many exchanges a test drives before giving up.
const ROUNDS: usize = 32;

fn replica(dir: &TempDir, name: &str) -> storebench::Result<AutomergeBackend> {
    AutomergeBackend::open(dir.path().join(name), OpenOptions::new())
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("doc-{i:03}")).collect()
}

/// Both directions' bytes of a session.
fn bytes(a: &SyncStats) -> u64 {
    a.bytes_sent + a.bytes_received
}

/// The bytes Automerge's own protocol exchanges to bring `b` up to `a` and back, each side
/// starting from the sync state it kept from the last time they were equal (Automerge keeps
/// the shared heads across a restart: `State::encode`): what its sync sends for one document.
fn automerge_sync_bytes(before: &mut AutoCommit, a: &mut AutoCommit, b: &mut AutoCommit) -> u64 {
    // The last sync before the reopen, when both held `before`: its states, encoded and
    // decoded as across a restart.
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    let mut twin = before.fork();
    drive(before, &mut twin, &mut sa, &mut sb);
    let mut sa = sync::State::decode(&sa.encode()).expect("decodes");
    let mut sb = sync::State::decode(&sb.encode()).expect("decodes");
    drive(a, b, &mut sa, &mut sb)
}

/// Runs Automerge's sync between two documents until neither has a message; the bytes sent.
fn drive(
    a: &mut AutoCommit,
    b: &mut AutoCommit,
    sa: &mut sync::State,
    sb: &mut sync::State,
) -> u64 {
    let mut total = 0;
    loop {
        let mut quiet = true;
        if let Some(m) = a.sync().generate_sync_message(sa) {
            let bytes = m.encode();
            total += bytes.len() as u64;
            let m = sync::Message::decode(&bytes).expect("decodes");
            b.sync().receive_sync_message(sb, m).expect("receives");
            quiet = false;
        }
        if let Some(m) = b.sync().generate_sync_message(sb) {
            let bytes = m.encode();
            total += bytes.len() as u64;
            let m = sync::Message::decode(&bytes).expect("decodes");
            a.sync().receive_sync_message(sa, m).expect("receives");
            quiet = false;
        }
        if quiet {
            return total;
        }
    }
}

#[test]
fn a_session_in_which_nothing_changed_takes_under_200_bytes_even_after_both_reopen() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    for id in ids(200) {
        a.collection(DOCS).upsert(&id, vec![b'a'; 256])?;
    }
    a.sync_with(&b)?;
    a.sync_with(&b)?;
    let quiet = a.sync_with(&b)?;
    eprintln!("nothing changed, same open: {quiet:?}");
    assert_eq!(quiet.documents_offered, 0, "{quiet:?}");
    assert!(bytes(&quiet) <= 200, "{quiet:?}");
    a.close()?;
    b.close()?;
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    let reopened = a.sync_with(&b)?;
    eprintln!("nothing changed, both reopened: {reopened:?}");
    assert_eq!(reopened.documents_offered, 0, "{reopened:?}");
    assert!(bytes(&reopened) <= 200, "{reopened:?}");
    Ok(())
}

#[test]
fn after_both_reopen_only_the_changed_documents_travel_within_automerges_bytes() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    let ids = ids(200);
    for (n, id) in ids.iter().enumerate() {
        let writer = if n % 2 == 0 { &a } else { &b };
        writer.collection(DOCS).upsert(id, vec![b'v'; 256])?;
    }
    a.sync_with(&b)?;
    a.sync_with(&b)?;
    a.close()?;
    b.close()?;
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    // 20 of 200 change, ten on each side, while apart.
    let changed: Vec<&String> = ids.iter().step_by(10).collect();
    let mut before = Vec::new();
    for (n, id) in changed.iter().enumerate() {
        before.push(a.document(DOCS, id)?.expect("a holds it"));
        let writer = if n % 2 == 0 { &a } else { &b };
        writer.collection(DOCS).upsert(id, vec![b'w'; 256])?;
    }
    let mut theirs = 0;
    for (id, before) in changed.iter().zip(&mut before) {
        let mut doc_a = a.document(DOCS, id)?.expect("a holds it");
        let mut doc_b = b.document(DOCS, id)?.expect("b holds it");
        theirs += automerge_sync_bytes(before, &mut doc_a, &mut doc_b);
        assert_eq!(doc_a.get_heads(), doc_b.get_heads(), "automerge settles");
    }
    let ours = a.sync_with(&b)?;
    eprintln!(
        "20 of 200 changed after both reopened: storebench {} bytes ({ours:?}), automerge's \
         protocol {theirs} bytes, {:.2}x",
        bytes(&ours),
        bytes(&ours) as f64 / theirs as f64
    );
    assert_eq!(ours.documents_offered, 10, "{ours:?}");
    assert!(
        bytes(&ours) as f64 <= 1.2 * theirs as f64,
        "storebench {} bytes, automerge {theirs}",
        bytes(&ours)
    );
    for id in &ids {
        assert_eq!(a.heads(DOCS, id)?, b.heads(DOCS, id)?, "{id}");
    }
    Ok(())
}

#[test]
fn a_peer_that_died_is_offered_everything_and_one_that_closed_nothing() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = Disk::new();
    let a = replica(&dir, "a")?;
    let b = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())?;
    let ids = ids(20);
    for id in &ids {
        a.collection(DOCS).upsert(id, b"v1".to_vec())?;
    }
    a.sync_with(&b)?;
    b.flush()?;
    // b takes a change into its batch of unflushed writes, tells a it holds it, and dies.
    a.collection(DOCS).upsert(&ids[3], b"v2".to_vec())?;
    a.sync_with(&b)?;
    let disk = disk.power_loss(PowerLoss::LOSE_ALL);
    drop(b);
    let b = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())?;
    assert_eq!(
        b.collection(DOCS).get(&ids[3])?,
        Some(b"v1".to_vec()),
        "lost"
    );
    // A new incarnation: a forgets what it recorded of b, and offers everything.
    let after_death = a.sync_with(&b)?;
    assert_eq!(after_death.documents_offered, 20, "{after_death:?}");
    assert_eq!(b.collection(DOCS).get(&ids[3])?, Some(b"v2".to_vec()));
    for id in &ids {
        assert_eq!(a.heads(DOCS, id)?, b.heads(DOCS, id)?, "{id}");
    }
    // Closed and reopened, b keeps its incarnation: nothing is offered.
    b.close()?;
    let b = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())?;
    let after_close = a.sync_with(&b)?;
    assert_eq!(after_close.documents_offered, 0, "{after_close:?}");
    // An open that never syncs tells no peer anything: its death loses nothing a peer was
    // told of, and the incarnation stays.
    b.close()?;
    let b = AutomergeBackend::open_with_storage(disk.storage(), OpenOptions::new())?;
    b.collection(DOCS).upsert("unsynced", b"x".to_vec())?;
    let survived = disk.power_loss(PowerLoss::LOSE_ALL);
    drop(b);
    let b = AutomergeBackend::open_with_storage(survived.storage(), OpenOptions::new())?;
    let quiet = a.sync_with(&b)?;
    assert_eq!(quiet.documents_offered, 0, "{quiet:?}");
    Ok(())
}

#[test]
fn where_heads_are_unknown_what_a_side_holds_tells_the_peer_what_to_send() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (replica(&dir, "a")?, replica(&dir, "b")?);
    // A long shared history that no session carried: neither knows what the other holds.
    for n in 0..100u32 {
        a.collection(DOCS)
            .upsert("long", n.to_le_bytes().to_vec())?;
    }
    b.apply_changes(DOCS, "long", a.changes_since(DOCS, "long", &[])?)?;
    // Then each writes once, concurrently.
    a.collection(DOCS).upsert("long", b"from a".to_vec())?;
    b.collection(DOCS).upsert("long", b"from b".to_vec())?;
    let stats = a.sync_with(&b)?;
    eprintln!("{stats:?}");
    // b answers a's heads, unknown to it, with its own and the Bloom filter of what it holds:
    // a sends its one change, not its whole history.
    assert_eq!(
        (stats.changes_sent, stats.changes_applied),
        (1, 1),
        "{stats:?}"
    );
    // Both ways, under a tenth of the history's bytes (about 11 KB), even when a false
    // positive of the filter costs a message more.
    assert!(bytes(&stats) < 1_500, "{stats:?}");
    assert_eq!(a.heads(DOCS, "long")?, b.heads(DOCS, "long")?);
    assert_eq!(a.conflicts(DOCS, "long")?, 2);
    Ok(())
}

/// A false positive of the filter keeps back a change the peer lacks: the peer, still not
/// knowing the other's heads, asks again under another salt rather than sending all it has.
#[test]
fn a_false_positive_of_the_filter_costs_a_message_not_the_history() -> Result<()> {
    let open = || AutomergeBackend::open_with_storage(Disk::new().storage(), OpenOptions::new());
    let mut most = (0, 0);
    for _ in 0..100 {
        let (a, b) = (open()?, open()?);
        for n in 0..40u32 {
            a.collection(DOCS)
                .upsert("long", n.to_le_bytes().to_vec())?;
        }
        b.apply_changes(DOCS, "long", a.changes_since(DOCS, "long", &[])?)?;
        // Five changes on a, one on b: about one run in twenty meets a false positive.
        for n in 0..5u32 {
            a.collection(DOCS)
                .upsert("long", n.to_be_bytes().to_vec())?;
        }
        b.collection(DOCS).upsert("long", b"from b".to_vec())?;
        let (mut sa, mut sb) = (a.sync_session(), b.sync_session());
        let mut sent_by_b = 0;
        for _ in 0..ROUNDS {
            let m = sa.next_message(&a)?;
            if let Some(m) = &m {
                sb.receive(&b, m)?;
            }
            let n = sb.next_message(&b)?;
            if let Some(n) = &n {
                sa.receive(&a, n)?;
            }
            if m.is_none() && n.is_none() {
                break;
            }
        }
        assert!(sa.is_done() && sb.is_done());
        assert_eq!(a.heads(DOCS, "long")?, b.heads(DOCS, "long")?);
        sent_by_b += sb.stats().changes_sent;
        most = (most.0.max(sa.stats().changes_sent), most.1.max(sent_by_b));
    }
    // a sends its five, and again the ones a false positive held back, once per false
    // positive (the five at most each time); b its one. Two false positives in a row, under
    // two salts, came up in about one run of this test in fifty (3 of 140, each 13 sent),
    // which a bound of 10 failed; three in a row would send at most 20. The history, 45
    // changes, is never sent again.
    assert!(most.0 <= 20 && most.1 == 1, "most sent by a, b: {most:?}");
    Ok(())
}
