//! Running a replication workload: replicas write in turn, sync in rounds over the topology's
//! links (a cut-off replica's links skipped), then sync until they agree.

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::report::{Latency, MeshReport};
use super::workload::MeshWorkload;
use crate::binding::{Handle, Selected, SyncEndpoint};
use crate::workload::Rng;
use crate::{Durability, Error, Result};

/// The collection every replica writes.
const COLLECTION: &str = "mesh";
/// Messages a link may exchange in one round before it counts as not settling.
const MAX_MESSAGES_PER_LINK: usize = 256;

/// What the rounds so far sent and applied.
#[derive(Default)]
struct Traffic {
    rounds: u64,
    messages: u64,
    bytes: u64,
    changes: u64,
}

/// Runs `workload` on replicas of `selected`, each in its own directory under `dir`, and
/// measures it. `on_progress` hears the number of local writes done, now and then.
///
/// # Errors
/// [`Error::Backend`] when the binding's stores do not replicate; any store error; a link that
/// does not settle, or replicas that do not agree after healing.
pub fn run_mesh(
    workload: &MeshWorkload,
    selected: &Selected,
    dir: &Path,
    mut on_progress: impl FnMut(u64),
) -> Result<MeshReport> {
    let durability = selected.durability(Durability::default());
    let mut replicas = Vec::with_capacity(workload.replicas);
    for r in 0..workload.replicas {
        let path = dir.join(format!("replica-{r}"));
        std::fs::create_dir_all(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let handle = selected.binding().open(&path, durability)?;
        if handle.sync().is_none() {
            return Err(Error::backend(
                selected.name(),
                "its stores do not replicate: the binding must open them with \
                 Handle::replicating",
            ));
        }
        replicas.push(handle);
    }
    let ids: Vec<String> = (0..workload.documents)
        .map(|d| format!("doc-{d:05}"))
        .collect();
    let mut rng = Rng::new(workload.seed, 7);
    let mut local = histogram();
    let mut apply = histogram();
    let mut traffic = Traffic::default();
    let mut peak_divergence = 0;
    // Reading every document on every replica after each round is the runner's, not the
    // store's: it is kept out of the run's time.
    let mut scanning = Duration::ZERO;
    let started = Instant::now();
    for op in 0..workload.operations {
        let r = (op % workload.replicas as u64) as usize;
        let id = &ids[rng.below(workload.documents) as usize];
        let value = value(&mut rng, workload.value_bytes);
        let docs = replicas[r].collection(COLLECTION);
        let at = Instant::now();
        docs.upsert(id, value)?;
        record(&mut local, at.elapsed(), 1);
        if (op + 1) % workload.sync_every == 0 {
            for (a, b) in workload.links() {
                if !workload.cut_off(a, op) && !workload.cut_off(b, op) {
                    sync_link(&replicas[a], &replicas[b], &mut traffic, &mut apply)?;
                }
            }
            traffic.rounds += 1;
            let scan = Instant::now();
            peak_divergence = peak_divergence.max(divergence(&replicas, &ids)?);
            scanning += scan.elapsed();
        }
        if op % 1000 == 999 {
            on_progress(op + 1);
        }
    }
    let run_time = started.elapsed().saturating_sub(scanning);
    // Healing: rounds over every link until one changes nothing (values alike is not enough:
    // a replica may still lack a concurrent put that lost), then the values must agree.
    let healing = Instant::now();
    let mut heal_rounds = 0;
    let mut heal_traffic = Traffic::default();
    loop {
        if heal_rounds > 2 * workload.replicas as u64 {
            return Err(Error::backend(
                selected.name(),
                format!(
                    "replicas still exchange changes after {heal_rounds} rounds over every link"
                ),
            ));
        }
        let before = heal_traffic.changes;
        for (a, b) in workload.links() {
            sync_link(&replicas[a], &replicas[b], &mut heal_traffic, &mut apply)?;
        }
        if heal_traffic.changes == before {
            break;
        }
        heal_rounds += 1;
    }
    let heal_time = healing.elapsed();
    let differing = divergence(&replicas, &ids)?;
    if differing > 0 {
        return Err(Error::backend(
            selected.name(),
            format!("{differing} documents differ between replicas that exchange nothing more"),
        ));
    }
    let mut file_bytes = Vec::with_capacity(replicas.len());
    for (r, handle) in replicas.into_iter().enumerate() {
        if let Some(problems) = handle.verify().transpose()?
            && !problems.is_empty()
        {
            return Err(Error::backend(
                selected.name(),
                format!("replica {r} fails its check: {}", problems.join("; ")),
            ));
        }
        handle.close()?;
        file_bytes.push(dir_bytes(&dir.join(format!("replica-{r}"))));
    }
    Ok(MeshReport::new(
        workload,
        selected.name(),
        durability,
        super::report::Measured {
            run_time,
            rounds: traffic.rounds,
            messages: traffic.messages,
            bytes: traffic.bytes,
            changes_replicated: traffic.changes,
            local_write: Latency::of(&local),
            apply_per_change: Latency::of(&apply),
            peak_divergence,
            heal_rounds,
            heal_time,
            heal_messages: heal_traffic.messages,
            heal_bytes: heal_traffic.bytes,
            heal_changes: heal_traffic.changes,
            file_bytes,
        },
    ))
}

/// Syncs two replicas until both settle, counting the traffic and timing each change applied.
fn sync_link(
    a: &Handle,
    b: &Handle,
    traffic: &mut Traffic,
    apply: &mut Histogram<u64>,
) -> Result<()> {
    let (Some(mut ea), Some(mut eb)) = (a.sync(), b.sync()) else {
        unreachable!("checked when opened");
    };
    for _ in 0..MAX_MESSAGES_PER_LINK / 2 {
        let sent = pass(ea.as_mut(), eb.as_mut(), traffic, apply)?;
        let answered = pass(eb.as_mut(), ea.as_mut(), traffic, apply)?;
        if !sent && !answered {
            return if ea.is_done() && eb.is_done() {
                Ok(())
            } else {
                Err(Error::backend(
                    "mesh",
                    "a sync session stopped before settling",
                ))
            };
        }
    }
    Err(Error::backend(
        "mesh",
        format!("a sync session went on past {MAX_MESSAGES_PER_LINK} messages"),
    ))
}

/// Carries `from`'s next message, if it has one, to `to`; whether there was one.
fn pass(
    from: &mut dyn SyncEndpoint,
    to: &mut dyn SyncEndpoint,
    traffic: &mut Traffic,
    apply: &mut Histogram<u64>,
) -> Result<bool> {
    let Some(message) = from.next_message()? else {
        return Ok(false);
    };
    traffic.messages += 1;
    traffic.bytes += message.len() as u64;
    let received = to.receive(&message)?;
    traffic.changes += received.changes;
    if received.changes > 0 {
        let per_change = received.applying / u32::try_from(received.changes).unwrap_or(u32::MAX);
        record(apply, per_change, received.changes);
    }
    Ok(true)
}

/// How many documents do not hold the same value on every replica.
fn divergence(replicas: &[Handle], ids: &[String]) -> Result<u64> {
    let collections: Vec<_> = replicas.iter().map(|h| h.collection(COLLECTION)).collect();
    let mut differing = 0;
    for id in ids {
        let first = collections[0].get(id)?;
        for other in &collections[1..] {
            if other.get(id)? != first {
                differing += 1;
                break;
            }
        }
    }
    Ok(differing)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

/// Records `n` samples of `took`, in nanoseconds.
fn record(histogram: &mut Histogram<u64>, took: Duration, n: u64) {
    let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
    // Saturates beyond an hour, which no single write takes.
    let _ = histogram.record_n(nanos.min(histogram.high()), n);
}

fn value(rng: &mut Rng, len: usize) -> Vec<u8> {
    let tag = rng.next_u64().to_le_bytes();
    (0..len).map(|i| tag[i % 8] ^ (i as u8)).collect()
}

/// The bytes of the files in `dir` (a replica keeps its files at its top level).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
