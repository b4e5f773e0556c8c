//! The crate's own backends, bound through the same [`Binding`] API a user's store uses.

use std::path::Path;

use super::{Binding, Bindings, Handle};
use crate::{Durability, InMemoryBackend, NullBackend, Result};

/// Registers every built-in binding the enabled features provide.
pub(super) fn register() -> Bindings {
    let mut bindings = Bindings::new();
    // The names are distinct and valid: registration cannot fail.
    let _ = bindings.add(MemoryBinding);
    #[cfg(feature = "automerge-backend")]
    let _ = bindings.add(AutomergeBinding::default());
    #[cfg(feature = "redb-backend")]
    let _ = bindings.add(RedbBinding::default());
    let _ = bindings.add_by_name_only(NullBinding);
    let _ = bindings.add_by_name_only(BasicBinding);
    bindings
}

/// [`InMemoryBackend`]: keeps nothing across a close.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryBinding;

impl Binding for MemoryBinding {
    fn name(&self) -> &str {
        "memory"
    }

    fn description(&self) -> &str {
        "ordered maps in memory: the reference model, never durable"
    }

    fn durabilities(&self) -> &[Durability] {
        &[]
    }

    fn open(&self, _dir: &Path, _durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(InMemoryBackend::new()))
    }
}

/// [`NullBackend`]: stores nothing, so a run measures the harness alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullBinding;

impl Binding for NullBinding {
    fn name(&self) -> &str {
        "null"
    }

    fn description(&self) -> &str {
        "stores nothing: measures the harness alone"
    }

    fn durabilities(&self) -> &[Durability] {
        &[]
    }

    fn in_memory(&self) -> bool {
        false // it keeps nothing
    }

    fn keeps_data(&self) -> bool {
        false
    }

    fn open(&self, _dir: &Path, _durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(NullBackend))
    }
}

/// Like YCSB's `BasicDB`: stores nothing and logs every operation it receives to standard
/// output (`READ usertable user6284781860667377211 [ <all fields>]`), to read or diff the
/// exact operation stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicBinding;

impl Binding for BasicBinding {
    fn name(&self) -> &str {
        "basic"
    }

    fn description(&self) -> &str {
        "stores nothing, prints every operation as YCSB's BasicDB does"
    }

    fn durabilities(&self) -> &[Durability] {
        &[]
    }

    fn in_memory(&self) -> bool {
        false // it keeps nothing
    }

    fn keeps_data(&self) -> bool {
        false
    }

    fn open(&self, _dir: &Path, _durability: Option<Durability>) -> Result<Handle> {
        Ok(Handle::new(NullBackend))
    }

    fn logs_operations(&self) -> bool {
        true
    }
}

#[cfg(feature = "automerge-backend")]
pub use persistent::AutomergeBinding;
#[cfg(feature = "redb-backend")]
pub use persistent::RedbBinding;
#[cfg(feature = "redb-backend")]
pub use persistent::{Persistent, PersistentBinding};

#[cfg(feature = "redb-backend")]
mod persistent {
    use std::marker::PhantomData;

    use super::*;
    use crate::binding::Settings;
    use crate::fault::FaultStorage;
    use crate::{OpenOptions, VerifyReport};

    /// Both persistent backends keep one file of this name in their directory.
    const FILE: &str = "store.redb";

    /// The modes a persistent binding with `options` offers. Both, OnFlush preferred, unless
    /// the options ask for `EveryWrite`: that is honoured, as the one mode offered, so that a
    /// run or a check cannot quietly open the store in the mode its options refused.
    fn modes(options: &OpenOptions) -> &'static [Durability] {
        match options.durability {
            Durability::OnFlush => &Durability::ALL,
            Durability::EveryWrite => &[Durability::EveryWrite],
        }
    }

    /// Where a persistent backend opens: its file, or the fault-injecting disk.
    enum Place<'a> {
        File(&'a Path),
        Storage(FaultStorage),
    }

    /// What both redb-based backends offer alike, so that one binding serves either. Sealed:
    /// the crate's two backends are its only implementations.
    pub trait Persistent: sealed::Sealed + crate::StorageBackend + Sized + 'static {
        /// The binding's name.
        const NAME: &'static str;
        /// What the binding is, in a line.
        const DESCRIPTION: &'static str;
        /// The binding tables set beside it.
        const REFERENCE: Option<&'static str> = None;
        /// The crates it is made of, whose locked versions reports record.
        const BUILT_ON: &'static [&'static str];
        /// Opens the store in its file.
        fn open_file(path: &Path, options: OpenOptions) -> Result<Self>;
        /// Opens the store on the fault-injecting disk.
        fn open_storage(storage: FaultStorage, options: OpenOptions) -> Result<Self>;
        /// Its own consistency check.
        fn verify(&self) -> Result<VerifyReport>;
        /// Its compaction.
        fn compact(&self) -> Result<()>;
        /// How a sync session starts, for a backend that replicates.
        const SYNC: Option<crate::binding::SyncFn<Self>> = None;
    }

    /// Opens `S` with `options` in the run's durability, its verify exposed to the checks.
    fn open<S: Persistent>(
        place: Place<'_>,
        options: &OpenOptions,
        durability: Option<Durability>,
    ) -> Result<Handle> {
        let options = options.clone().durability(durability.unwrap_or_default());
        let store = match place {
            Place::File(path) => S::open_file(path, options)?,
            Place::Storage(storage) => S::open_storage(storage, options)?,
        };
        let verify: crate::binding::VerifyFn<S> = |s| {
            let report = s.verify()?;
            Ok(report.problems.iter().map(ToString::to_string).collect())
        };
        let handle = Handle::builder(store).verify(verify).compact(S::compact);
        Ok(match S::SYNC {
            Some(sync) => handle.sync(sync),
            None => handle,
        }
        .build())
    }

    mod sealed {
        pub trait Sealed {}
    }

    macro_rules! persistent {
        ($backend:ty, $name:literal, $description:literal, [$($crate_name:literal),*]
         $(, reference $reference:literal)? $(, sync $sync:expr)?) => {
            impl sealed::Sealed for $backend {}
            impl Persistent for $backend {
                const NAME: &'static str = $name;
                const DESCRIPTION: &'static str = $description;
                $(const REFERENCE: Option<&'static str> = Some($reference);)?
                const BUILT_ON: &'static [&'static str] = &[$($crate_name),*];
                $(const SYNC: Option<crate::binding::SyncFn<Self>> = Some($sync);)?
                fn open_file(path: &Path, options: OpenOptions) -> Result<Self> {
                    Self::open(path, options)
                }
                fn open_storage(storage: FaultStorage, options: OpenOptions) -> Result<Self> {
                    Self::open_with_storage(storage, options)
                }
                fn verify(&self) -> Result<VerifyReport> {
                    Self::verify(self)
                }
                fn compact(&self) -> Result<()> {
                    Self::compact(self)
                }
            }
        };
    }
    #[cfg(feature = "automerge-backend")]
    persistent!(
        crate::AutomergeBackend,
        "automerge",
        "every document an Automerge CRDT document, persisted in redb",
        ["automerge", "redb"],
        reference "redb",
        sync crate::binding::replica::automerge::start
    );
    persistent!(
        crate::RedbBackend,
        "redb",
        "the same bytes straight in redb, no CRDT: the floor",
        ["redb"]
    );

    fn settings(options: &OpenOptions) -> Settings {
        Settings::from([
            (
                "page_cache_bytes".to_owned(),
                options.page_cache_bytes.to_string(),
            ),
            (
                "check_integrity".to_owned(),
                options.check_integrity.to_string(),
            ),
            ("batch_bytes".to_owned(), options.batch_bytes.to_string()),
        ])
    }

    /// A redb-based backend bound with these options. The run picks the durability, among both
    /// modes; options that ask for `EveryWrite` leave it that one. One binding serves both
    /// backends: they differ only in what [`Persistent`] says of them.
    pub struct PersistentBinding<S> {
        /// Page cache, integrity check, batch bound, and durability as above.
        pub options: OpenOptions,
        store: PhantomData<fn() -> S>,
    }

    /// [`AutomergeBackend`](crate::AutomergeBackend), bound.
    #[cfg(feature = "automerge-backend")]
    pub type AutomergeBinding = PersistentBinding<crate::AutomergeBackend>;

    /// [`RedbBackend`](crate::RedbBackend), bound.
    pub type RedbBinding = PersistentBinding<crate::RedbBackend>;

    impl<S: Persistent> PersistentBinding<S> {
        /// The binding with these options.
        pub fn new(options: OpenOptions) -> Self {
            Self {
                options,
                store: PhantomData,
            }
        }
    }

    impl<S: Persistent> Default for PersistentBinding<S> {
        fn default() -> Self {
            Self::new(OpenOptions::default())
        }
    }

    impl<S: Persistent> Clone for PersistentBinding<S> {
        fn clone(&self) -> Self {
            Self::new(self.options.clone())
        }
    }

    impl<S: Persistent> std::fmt::Debug for PersistentBinding<S> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("PersistentBinding")
                .field("store", &S::NAME)
                .field("options", &self.options)
                .finish()
        }
    }

    impl<S: Persistent> Binding for PersistentBinding<S> {
        fn name(&self) -> &str {
            S::NAME
        }

        fn description(&self) -> &str {
            S::DESCRIPTION
        }

        fn durabilities(&self) -> &[Durability] {
            modes(&self.options)
        }

        fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
            open::<S>(Place::File(&dir.join(FILE)), &self.options, durability)
        }

        fn settings(&self, _durability: Option<Durability>) -> Settings {
            settings(&self.options)
        }

        fn open_on(
            &self,
            storage: FaultStorage,
            durability: Option<Durability>,
        ) -> Option<Result<Handle>> {
            Some(open::<S>(
                Place::Storage(storage),
                &self.options,
                durability,
            ))
        }

        fn reference(&self) -> Option<&str> {
            S::REFERENCE
        }

        fn versions(&self) -> crate::binding::Versions {
            super::locked_versions(S::BUILT_ON)
        }
    }
}

/// The versions of `names` this build locked (from Cargo.lock, recorded at build): what the
/// built-in stores are made of.
#[cfg(feature = "redb-backend")]
fn locked_versions(names: &[&str]) -> crate::binding::Versions {
    env!("STOREBENCH_CRATE_VERSIONS")
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| names.contains(name))
        .map(|(name, version)| (name.to_owned(), version.to_owned()))
        .collect()
}
