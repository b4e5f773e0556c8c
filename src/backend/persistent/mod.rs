//! What every persistent backend shares: the redb file, its format, the collections, the
//! materialized values that serve every read, and durability.

mod backend;
mod batch;
mod collection;
mod group_commit;
mod materialized;
mod open;
mod options;
mod store;
mod tables;
mod verify;
mod view;
mod write_path;

// Parts only the Automerge backend uses are compiled out with it; the rest is shared.

#[cfg(feature = "check")]
pub use batch::BatchBug;
pub use options::OpenOptions;
pub use verify::{Inconsistency, VerifyReport};

pub(crate) use backend::{PersistentBackend, forward_storage_backend};
pub(crate) use materialized::MaterializedWriter;
#[cfg(feature = "automerge-backend")]
pub(crate) use open::Opened;
pub(crate) use open::{open_path, open_storage};
pub(crate) use store::Store;
#[cfg(feature = "automerge-backend")]
pub(crate) use tables::{CHANGE_LOG, CollectionId, HEADS, MATERIALIZED, META};
pub(crate) use verify::verify_materialized;
pub(crate) use view::{Snapshot, View, with_view};
pub(crate) use write_path::{CollectionRef, WritePath};
