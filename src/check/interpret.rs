//! The interpreter of an [`Op`] on a store: what every check runs an operation with, and what
//! it returned, in a form two stores' answers compare in.

use super::op::Op;
use crate::{Error, StorageBackend};

/// What an operation returned, comparable across backends.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Done,
    Value(Option<Vec<u8>>),
    Documents(Vec<(String, Vec<u8>)>),
    Count(usize),
    Names(Vec<String>),
}

pub(crate) fn apply(store: &dyn StorageBackend, op: &Op) -> Result<Outcome, Error> {
    Ok(match op {
        Op::Upsert(c, id, value) => {
            store.collection(c.name()).upsert(id.id(), value.bytes())?;
            Outcome::Done
        }
        Op::UpsertMany(c, batch) => {
            let docs = batch
                .0
                .iter()
                .map(|(id, v)| (id.id().to_owned(), v.bytes()))
                .collect();
            store.collection(c.name()).upsert_many(docs)?;
            Outcome::Done
        }
        Op::Get(c, id) => Outcome::Value(store.collection(c.name()).get(id.id())?),
        Op::Delete(c, id) => {
            store.collection(c.name()).delete(id.id())?;
            Outcome::Done
        }
        Op::Scan(c) => Outcome::Documents(store.collection(c.name()).scan()?),
        Op::ScanPrefix(c, prefix) => {
            Outcome::Documents(store.collection(c.name()).scan_prefix(prefix.id())?)
        }
        Op::ScanRange(c, start, limit) => Outcome::Documents(
            store
                .collection(c.name())
                .scan_range(start.id(), usize::from(*limit % 8))?,
        ),
        Op::Find(c, byte) => {
            let b = *byte;
            Outcome::Documents(
                store
                    .collection(c.name())
                    .find(Box::new(move |d| d.first() == Some(&b)))?,
            )
        }
        Op::Count(c) => Outcome::Count(store.collection(c.name()).count()?),
        Op::ListCollections => Outcome::Names(store.list_collections()),
        Op::Flush | Op::Compact | Op::Reopen | Op::Crash(_) | Op::FailIn(_) => Outcome::Done,
    })
}
