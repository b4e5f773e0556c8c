//! Races a thread scheduler finds once in a million runs, found on every run: the schedule
//! explorer (`storebench::check::explore`) runs the threads one at a time and tries every order
//! of the points where they may interleave — creating a collection by name, and writers
//! sharing a group commit.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use common::Kind;
use storebench::Durability;
use storebench::binding::Handle;
use storebench::check::{explore, point};
use storebench::fault::Disk;

/// A registry with the race the backends' `collection()` must not have: look up, and on a
/// miss insert without looking again under the write lock.
#[derive(Default)]
struct Registry {
    ids: RwLock<BTreeMap<String, u64>>,
    next: Mutex<u64>,
    careful: bool,
}

impl Registry {
    fn id(&self, name: &str) -> u64 {
        if let Some(id) = self.ids.read().expect("lock").get(name) {
            return *id;
        }
        point("registry: not found");
        let mut ids = self.ids.write().expect("lock");
        if self.careful
            && let Some(id) = ids.get(name)
        {
            return *id;
        }
        let mut next = self.next.lock().expect("lock");
        *next += 1;
        ids.insert(name.to_owned(), *next);
        *next
    }
}

#[test]
fn the_explorer_finds_a_race_between_lookup_and_insert_and_passes_the_fix() {
    let run = |careful: bool| {
        explore(
            2,
            100,
            move || {
                (
                    Registry {
                        careful,
                        ..Registry::default()
                    },
                    Mutex::new(Vec::new()),
                )
            },
            |(registry, seen), _| {
                let id = registry.id("new");
                seen.lock().expect("lock").push(id);
            },
            |(_, seen)| {
                let seen = seen.into_inner().expect("lock");
                if seen[0] == seen[1] {
                    Ok(())
                } else {
                    Err(format!("one name, two ids: {seen:?}"))
                }
            },
        )
    };
    let found = run(false).expect_err("the race");
    assert!(found.contains("one name, two ids"), "{found}");
    let explored = run(true).expect("no race with the second look");
    assert!(explored.complete && explored.schedules >= 2, "{explored:?}");
}

/// A built-in backend, on the fault-injecting disk when it keeps files.
fn open(name: &str, disk: &Disk, durability: Durability) -> Handle {
    let kind = Kind::named(name);
    let binding = kind.selected().binding();
    match binding.open_on(disk.storage(), Some(durability)) {
        Some(opened) => opened.expect("opens on the disk"),
        None => binding.open(Path::new("."), None).expect("opens in memory"),
    }
}

/// The store's whole state is `want`, and its verify finds nothing.
fn holds(store: &Handle, want: &[(&str, usize)]) -> Result<(), String> {
    let found: Vec<(String, usize)> = store
        .list_collections()
        .into_iter()
        .map(|name| {
            let docs = store
                .collection(&name)
                .scan()
                .map_or(usize::MAX, |d| d.len());
            (name, docs)
        })
        .collect();
    let want: Vec<(String, usize)> = want.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect();
    if found != want {
        return Err(format!("collections and documents {found:?}, not {want:?}"));
    }
    match store.verify().transpose().map_err(|e| e.to_string())? {
        Some(problems) if !problems.is_empty() => Err(format!("verify: {problems:?}")),
        _ => Ok(()),
    }
}

#[test]
fn threads_creating_one_collection_get_one_collection_in_every_order() {
    for name in ["memory", "automerge", "redb"] {
        for durability in [Durability::OnFlush, Durability::EveryWrite] {
            let explored = explore(
                2,
                2_000,
                move || {
                    let disk = Disk::new();
                    (open(name, &disk, durability), disk)
                },
                |(store, _), i| {
                    store
                        .collection("fresh")
                        .upsert(&format!("from {i}"), vec![i as u8])
                        .expect("upsert");
                },
                move |(store, disk)| {
                    let context = |e: String| format!("{name} {durability:?}: {e}");
                    holds(&store, &[("fresh", 2)]).map_err(context)?;
                    if name == "memory" {
                        return Ok(());
                    }
                    store.close().map_err(|e| context(e.to_string()))?;
                    let reopened = open(name, &disk, durability);
                    holds(&reopened, &[("fresh", 2)])
                        .map_err(|e| context(format!("after reopen: {e}")))
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert!(explored.complete, "{name} {durability:?}: {explored:?}");
        }
    }
}

#[test]
fn every_group_commit_member_returns_only_once_its_write_is_durable() {
    for name in ["automerge", "redb"] {
        let explored = explore(
            2,
            2_000,
            move || {
                let disk = Disk::new();
                let store = open(name, &disk, Durability::EveryWrite);
                store
                    .collection("c")
                    .upsert("before", vec![0])
                    .expect("upsert");
                (store, disk)
            },
            move |(store, disk), i| {
                let id = format!("from {i}");
                store
                    .collection("c")
                    .upsert(&id, vec![i as u8])
                    .expect("upsert");
                // Returned: a power loss now must keep it.
                let survivor = Disk::from_image(disk.durable_image());
                let after = open(name, &survivor, Durability::EveryWrite);
                let kept = after.collection("c").get(&id).expect("get");
                assert_eq!(
                    kept,
                    Some(vec![i as u8]),
                    "{name}: {id} returned before it was durable"
                );
            },
            move |(store, disk)| {
                holds(&store, &[("c", 3)]).map_err(|e| format!("{name}: {e}"))?;
                let survivor = Disk::from_image(disk.durable_image());
                holds(&open(name, &survivor, Durability::EveryWrite), &[("c", 3)])
                    .map_err(|e| format!("{name} after a power loss: {e}"))
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            explored.complete && explored.schedules > 1,
            "{name}: {explored:?}"
        );
    }
}
