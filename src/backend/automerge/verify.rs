//! `verify()` for the Automerge backend: every document rebuilt from its change log must hold
//! exactly its materialized value and agree with its heads, and no change log or heads may
//! outlive its document.

use automerge::ActorId;
use redb::{ReadTransaction, ReadableTable};

use super::super::persistent::{
    CHANGE_LOG, CollectionRef, Inconsistency, MATERIALIZED, VerifyReport, verify_materialized,
};
use super::{change_log, document, heads};
use crate::Result;

pub(crate) fn verify(txn: &ReadTransaction, collections: &[CollectionRef]) -> Result<VerifyReport> {
    let log = txn.open_table(CHANGE_LOG)?;
    // Rebuilding reads the document; it never writes, so any actor will do.
    let actor = ActorId::random();
    let mut report = verify_materialized(txn, collections, |collection, id, value, report| {
        let mismatch = |detail: String| Inconsistency::HeadsMismatch {
            collection: collection.name.clone(),
            id: id.to_owned(),
            detail,
        };
        let mut logged = match change_log::load(&log, collection.id, &collection.name, id, &actor) {
            Ok(Some(logged)) => logged,
            Ok(None) => {
                report.problems.push(Inconsistency::MissingChangeLog {
                    collection: collection.name.clone(),
                    id: id.to_owned(),
                });
                return Ok(());
            }
            Err(error) => {
                report.problems.push(Inconsistency::Unloadable(error));
                return Ok(());
            }
        };
        match document::data(&logged.doc, &collection.name, id) {
            Ok(data) if data == value => {}
            Ok(_) => report.problems.push(Inconsistency::ValueMismatch {
                collection: collection.name.clone(),
                id: id.to_owned(),
            }),
            Err(error) => report.problems.push(Inconsistency::Unloadable(error)),
        }
        match heads::read(&log, collection.id, &collection.name, id) {
            Ok(Some(stored)) => report
                .problems
                .extend(heads::disagreement(&stored, &mut logged).map(mismatch)),
            Ok(None) => report.problems.push(mismatch("it has no heads".into())),
            Err(error) => report.problems.push(Inconsistency::Unloadable(error)),
        }
        Ok(())
    })?;
    // Every document with chunks or heads must have a materialized value.
    let mut logged: Vec<(u64, String)> = Vec::new();
    for entry in log.iter()? {
        let (key, _) = entry?;
        let (collection_id, id, seq) = key.value();
        if seq != heads::HEADS_SEQ {
            report.chunks += 1;
        }
        if logged
            .last()
            .is_none_or(|(c, i)| *c != collection_id || i != id)
        {
            logged.push((collection_id, id.to_owned()));
        }
    }
    check_orphans(txn, collections, &logged, &mut report)?;
    Ok(report)
}

fn check_orphans(
    txn: &ReadTransaction,
    collections: &[CollectionRef],
    logged: &[(u64, String)],
    report: &mut VerifyReport,
) -> Result<()> {
    let materialized = txn.open_table(MATERIALIZED)?;
    for (collection_id, id) in logged {
        if materialized.get((*collection_id, id.as_str()))?.is_none() {
            let collection = collections
                .iter()
                .find(|c| c.id == *collection_id)
                .map_or_else(|| format!("#{collection_id}"), |c| c.name.clone());
            report.problems.push(Inconsistency::OrphanChangeLog {
                collection,
                id: id.clone(),
            });
        }
    }
    Ok(())
}
