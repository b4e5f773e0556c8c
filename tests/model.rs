//! State-machine test: random operation sequences, including flush, reopen and
//! drop-and-reopen, run on `InMemoryBackend` and on each persisted backend in each durability
//! mode. Every result must be equal, and after every reopen the whole persisted state must
//! equal the model's.

mod common;

use common::{Kind, Opened, state};
use proptest::prelude::*;
use storebench::{InMemoryBackend, StorageBackend};

/// Few names and ids, hostile ones among them, so operations collide.
const COLLECTIONS: [&str; 4] = ["", "a", "a:b", "a\0"];
const IDS: [&str; 7] = ["", "a", "a/b", "ab", "b", "é", "a\0"];

#[derive(Debug, Clone)]
enum Op {
    Upsert {
        collection: usize,
        id: usize,
        value: Vec<u8>,
    },
    UpsertMany {
        collection: usize,
        docs: Vec<(usize, Vec<u8>)>,
    },
    Get {
        collection: usize,
        id: usize,
    },
    Delete {
        collection: usize,
        id: usize,
    },
    Scan {
        collection: usize,
    },
    ScanPrefix {
        collection: usize,
        prefix: usize,
    },
    ScanRange {
        collection: usize,
        start: usize,
        limit: usize,
    },
    Find {
        collection: usize,
        first_byte: u8,
    },
    Count {
        collection: usize,
    },
    ListCollections,
    Flush,
    /// `close()`, then open again.
    Reopen,
    /// Drop the handle without `close()`, then open again.
    DropReopen,
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(0u8..4, 0..16),
        1 => proptest::collection::vec(any::<u8>(), 1000..5000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..COLLECTIONS.len();
    let i = 0..IDS.len();
    prop_oneof![
        10 => (c.clone(), i.clone(), value()).prop_map(|(collection, id, value)| Op::Upsert { collection, id, value }),
        3 => (c.clone(), proptest::collection::vec((i.clone(), value()), 0..5))
            .prop_map(|(collection, docs)| Op::UpsertMany { collection, docs }),
        4 => (c.clone(), i.clone()).prop_map(|(collection, id)| Op::Get { collection, id }),
        4 => (c.clone(), i.clone()).prop_map(|(collection, id)| Op::Delete { collection, id }),
        2 => c.clone().prop_map(|collection| Op::Scan { collection }),
        2 => (c.clone(), i.clone()).prop_map(|(collection, prefix)| Op::ScanPrefix { collection, prefix }),
        2 => (c.clone(), i.clone(), 0..4usize)
            .prop_map(|(collection, start, limit)| Op::ScanRange { collection, start, limit }),
        1 => (c.clone(), 0u8..4).prop_map(|(collection, first_byte)| Op::Find { collection, first_byte }),
        2 => c.prop_map(|collection| Op::Count { collection }),
        1 => Just(Op::ListCollections),
        2 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        1 => Just(Op::DropReopen),
    ]
}

/// What an operation returned, comparable across backends.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Value(Option<Vec<u8>>),
    Documents(Vec<(String, Vec<u8>)>),
    Count(usize),
    Names(Vec<String>),
}

fn apply(store: &dyn StorageBackend, op: &Op) -> storebench::Result<Outcome> {
    let coll = |c: &usize| store.collection(COLLECTIONS[*c]);
    Ok(match op {
        Op::Upsert {
            collection,
            id,
            value,
        } => {
            coll(collection).upsert(IDS[*id], value.clone())?;
            Outcome::Done
        }
        Op::UpsertMany { collection, docs } => {
            let docs = docs
                .iter()
                .map(|(id, v)| (IDS[*id].to_owned(), v.clone()))
                .collect();
            coll(collection).upsert_many(docs)?;
            Outcome::Done
        }
        Op::Get { collection, id } => Outcome::Value(coll(collection).get(IDS[*id])?),
        Op::Delete { collection, id } => {
            coll(collection).delete(IDS[*id])?;
            Outcome::Done
        }
        Op::Scan { collection } => Outcome::Documents(coll(collection).scan()?),
        Op::ScanPrefix { collection, prefix } => {
            Outcome::Documents(coll(collection).scan_prefix(IDS[*prefix])?)
        }
        Op::ScanRange {
            collection,
            start,
            limit,
        } => Outcome::Documents(coll(collection).scan_range(IDS[*start], *limit)?),
        Op::Find {
            collection,
            first_byte,
        } => {
            let b = *first_byte;
            Outcome::Documents(coll(collection).find(Box::new(move |d| d.first() == Some(&b)))?)
        }
        Op::Count { collection } => Outcome::Count(coll(collection).count()?),
        Op::ListCollections => Outcome::Names(store.list_collections()),
        Op::Flush | Op::Reopen | Op::DropReopen => {
            store.flush()?;
            Outcome::Done
        }
    })
}

fn run(kind: Kind, ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.redb");
    let model = InMemoryBackend::new();
    let mut subject: Option<Opened> = Some(kind.open(&path).expect("open"));
    for (step, op) in ops.iter().enumerate() {
        let opened = subject.take().expect("open");
        let expected = apply(&model, op).expect("the model never fails");
        match op {
            Op::Reopen => opened.close().expect("close"),
            Op::DropReopen => drop(opened),
            _ => {
                let got = apply(opened.store(), op).expect("no storage failure here");
                prop_assert_eq!(&got, &expected, "step {} {:?} on {}", step, op, kind.name());
                subject = Some(opened);
                continue;
            }
        }
        let reopened = kind.open(&path).expect("reopen");
        prop_assert_eq!(
            state(reopened.store()).expect("read all"),
            state(&model).expect("model"),
            "state after step {} {:?} on {}",
            step,
            op,
            kind.name()
        );
        reopened.assert_verified().expect("verify");
        subject = Some(reopened);
    }
    let opened = subject.expect("open");
    prop_assert_eq!(
        state(opened.store()).expect("read all"),
        state(&model).expect("model")
    );
    opened.assert_verified().expect("verify");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn automerge_on_flush_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(Kind::Automerge(storebench::Durability::OnFlush), &ops)?;
    }

    #[test]
    fn automerge_every_write_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(Kind::Automerge(storebench::Durability::EveryWrite), &ops)?;
    }

    #[test]
    fn redb_on_flush_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(Kind::Redb(storebench::Durability::OnFlush), &ops)?;
    }

    #[test]
    fn redb_every_write_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(Kind::Redb(storebench::Durability::EveryWrite), &ops)?;
    }
}
