//! `View`: what a reader reads, the committed state or the open batch of unflushed writes.
//!
//! An `OnFlush` write lands in a write transaction that stays open until it is committed (see
//! [`Batch`](super::batch::Batch)); a reader must see it at once, so while that transaction
//! holds a write, reads go through it, under its lock. Otherwise a reader takes a redb read
//! transaction and runs beside writers.

use redb::{Key, ReadTransaction, ReadableTable, TableDefinition, Value, WriteTransaction};

use super::batch::BatchGuard;
use crate::Result;

/// A transaction tables are read from: a read transaction, or the open write transaction.
pub(crate) trait Snapshot {
    /// The table `definition`, to read.
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<impl ReadableTable<K, V> + '_>;
}

impl Snapshot for ReadTransaction {
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<impl ReadableTable<K, V> + '_> {
        Ok(self.open_table(definition)?)
    }
}

impl Snapshot for WriteTransaction {
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> Result<impl ReadableTable<K, V> + '_> {
        Ok(self.open_table(definition)?)
    }
}

/// Every completed write, as one reader sees it.
pub(crate) enum View<'a> {
    /// Everything is committed: a read transaction, which writers do not wait for.
    Committed(ReadTransaction),
    /// The open batch holds writes: its transaction, held locked while the reader reads.
    Batch(BatchGuard<'a>),
}

/// Evaluates `$body` with `$txn` bound to the view's transaction, whichever kind it is, so
/// that the read functions, generic over [`Snapshot`], are compiled for both.
macro_rules! with_view {
    ($view:expr, |$txn:ident| $body:expr) => {
        match $view {
            $crate::backend::persistent::View::Committed(ref committed) => {
                let $txn = committed;
                $body
            }
            $crate::backend::persistent::View::Batch(ref batch) => {
                let $txn = batch.txn();
                $body
            }
        }
    };
}
pub(crate) use with_view;
