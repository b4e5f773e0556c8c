//! `verify()` for the Automerge backend: every document rebuilt from its change log must hold
//! exactly its materialized value and agree with its heads; a change log without a value must
//! be a deleted document's (a tombstone), and agree with its heads too; and every chunk must
//! belong to a document.

use automerge::ActorId;
use redb::ReadTransaction;

use super::super::persistent::{
    CollectionRef, Inconsistency, MATERIALIZED, VerifyReport, verify_materialized,
};
use super::change_log::{self, ChangeLogRead};
use super::stored_heads;
use super::{document, verified};
use crate::Result;

/// Checks every document; `me` is the actor the database writes as in this open.
pub(crate) fn verify(
    txn: &ReadTransaction,
    collections: &[CollectionRef],
    me: &ActorId,
) -> Result<VerifyReport> {
    let log = change_log::read(txn)?;
    let mut report = verify_materialized(txn, collections, |collection, id, value, report| {
        check_document(&log, collection, id, Some(value), me, report);
        Ok(())
    })?;
    // Every document with heads but no value must be a deleted one; every chunk must be on
    // the chain of a document's heads.
    let materialized = txn.open_table(MATERIALIZED)?;
    let mut chained = 0;
    for (collection_id, id) in log.documents()? {
        let name = collections.iter().find(|c| c.id == collection_id);
        let named = name.map_or_else(|| format!("#{collection_id}"), |c| c.name.clone());
        if let Ok(Some(heads)) = stored_heads::read(&log, collection_id, &named, &id) {
            chained += heads.chunks;
        }
        if materialized.get((collection_id, id.as_str()))?.is_some() {
            continue;
        }
        match name {
            Some(collection) => check_document(&log, collection, &id, None, me, &mut report),
            None => report.problems.push(Inconsistency::OrphanChangeLog {
                collection: named,
                id,
            }),
        }
    }
    report.chunks = log.chunk_count()?;
    if report.chunks > chained {
        report.problems.push(Inconsistency::UnlinkedChunks {
            count: report.chunks - chained,
        });
    }
    Ok(report)
}

/// Checks one document, unless one with exactly its bytes was found sound before (see
/// [`verified`]).
fn check_document(
    log: &impl ChangeLogRead,
    collection: &CollectionRef,
    id: &str,
    value: Option<&[u8]>,
    me: &ActorId,
    report: &mut VerifyReport,
) {
    let digest = verified::digest(log, collection.id, id, value);
    if digest.as_ref().is_some_and(verified::is_sound) {
        report.remembered += 1;
        return;
    }
    let problems = report.problems.len();
    rebuild_and_compare(log, collection, id, value, me, report);
    if let Some(digest) = digest.filter(|_| report.problems.len() == problems) {
        verified::remember(digest);
    }
}

/// Rebuilds one document and compares it with its materialized `value` (`None`: it has none,
/// so the document must be deleted) and its heads.
fn rebuild_and_compare(
    log: &impl ChangeLogRead,
    collection: &CollectionRef,
    id: &str,
    value: Option<&[u8]>,
    me: &ActorId,
    report: &mut VerifyReport,
) {
    let named = |collection: &CollectionRef| (collection.name.clone(), id.to_owned());
    // Rebuilding reads the document; it never writes, so any actor will do.
    let actor = ActorId::random();
    let stored = match stored_heads::read(log, collection.id, &collection.name, id) {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            let (collection, id) = named(collection);
            report
                .problems
                .push(Inconsistency::MissingChangeLog { collection, id });
            return;
        }
        Err(error) => return report.problems.push(Inconsistency::Unloadable(error)),
    };
    let mut logged = match change_log::load_from(log, &collection.name, id, &stored, &actor) {
        Ok(logged) => logged,
        Err(error) => return report.problems.push(Inconsistency::Unloadable(error)),
    };
    match value {
        Some(value) => match document::data(&logged.doc, &collection.name, id) {
            Ok(data) if data == value => {}
            Ok(_) => {
                let (collection, id) = named(collection);
                report
                    .problems
                    .push(Inconsistency::ValueMismatch { collection, id });
            }
            Err(error) => return report.problems.push(Inconsistency::Unloadable(error)),
        },
        None => {
            if document::value_ops(&logged.doc).is_none_or(|ops| !ops.is_empty()) {
                let (collection, id) = named(collection);
                report
                    .problems
                    .push(Inconsistency::OrphanChangeLog { collection, id });
                return;
            }
        }
    }
    let mismatch = |detail: String| {
        let (collection, id) = named(collection);
        Inconsistency::HeadsMismatch {
            collection,
            id,
            detail,
        }
    };
    report
        .problems
        .extend(stored_heads::disagreement(&stored, &mut logged, me).map(mismatch));
}
