//! `verify()` for the Automerge backend: every document rebuilt from its change log must hold
//! exactly its materialized value, and no change log may outlive its document.

use automerge::ActorId;
use redb::{ReadTransaction, ReadableTable};

use super::super::persistent::{
    CHANGE_LOG, CollectionRef, Inconsistency, MATERIALIZED, VerifyReport, verify_materialized,
};
use super::{change_log, document};
use crate::Result;

pub(crate) fn verify(txn: &ReadTransaction, collections: &[CollectionRef]) -> Result<VerifyReport> {
    let log = txn.open_table(CHANGE_LOG)?;
    // Rebuilding reads the document; it never writes, so any actor will do.
    let actor = ActorId::random();
    let mut report = verify_materialized(txn, collections, |collection, id, value, report| {
        let problem = match change_log::load(&log, collection.id, &collection.name, id, &actor) {
            Ok(None) => Some(Inconsistency::MissingChangeLog {
                collection: collection.name.clone(),
                id: id.to_owned(),
            }),
            Err(error) => Some(Inconsistency::Unloadable(error)),
            Ok(Some(logged)) => match document::data(&logged.doc, &collection.name, id) {
                Ok(data) if data == value => None,
                Ok(_) => Some(Inconsistency::ValueMismatch {
                    collection: collection.name.clone(),
                    id: id.to_owned(),
                }),
                Err(error) => Some(Inconsistency::Unloadable(error)),
            },
        };
        report.problems.extend(problem);
        Ok(())
    })?;
    check_orphans(txn, collections, &mut report)?;
    Ok(report)
}

/// Every (collection, id) with chunks must have a materialized value.
fn check_orphans(
    txn: &ReadTransaction,
    collections: &[CollectionRef],
    report: &mut VerifyReport,
) -> Result<()> {
    let materialized = txn.open_table(MATERIALIZED)?;
    let mut previous: Option<(u64, String)> = None;
    for entry in txn.open_table(CHANGE_LOG)?.iter()? {
        let (key, _) = entry?;
        report.chunks += 1;
        let (collection_id, id, _) = key.value();
        if previous
            .as_ref()
            .is_some_and(|(c, i)| *c == collection_id && i == id)
        {
            continue;
        }
        previous = Some((collection_id, id.to_owned()));
        if materialized.get((collection_id, id))?.is_none() {
            let collection = collections
                .iter()
                .find(|c| c.id == collection_id)
                .map_or_else(|| format!("#{collection_id}"), |c| c.name.clone());
            report.problems.push(Inconsistency::OrphanChangeLog {
                collection,
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}
