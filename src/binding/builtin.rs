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
mod persistent {
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

    /// What both redb-based backends offer alike, so that one function opens either.
    trait Persistent: crate::StorageBackend + Sized + 'static {
        fn open_file(path: &Path, options: OpenOptions) -> Result<Self>;
        fn open_storage(storage: FaultStorage, options: OpenOptions) -> Result<Self>;
        fn verify(&self) -> Result<VerifyReport>;
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

    macro_rules! persistent {
        ($backend:ty $(, $sync:expr)?) => {
            impl Persistent for $backend {
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
        crate::binding::replica::automerge::start
    );
    persistent!(crate::RedbBackend);

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

    /// [`AutomergeBackend`](crate::AutomergeBackend) with these options. The run picks the
    /// durability, among both modes; options that ask for `EveryWrite` leave it that one.
    #[cfg(feature = "automerge-backend")]
    #[derive(Debug, Clone, Default)]
    pub struct AutomergeBinding {
        /// Page cache and integrity check.
        pub options: OpenOptions,
    }

    #[cfg(feature = "automerge-backend")]
    impl Binding for AutomergeBinding {
        fn name(&self) -> &str {
            "automerge"
        }

        fn description(&self) -> &str {
            "every document an Automerge CRDT document, persisted in redb"
        }

        fn durabilities(&self) -> &[Durability] {
            modes(&self.options)
        }

        fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
            open::<crate::AutomergeBackend>(Place::File(&dir.join(FILE)), &self.options, durability)
        }

        fn settings(&self, _durability: Option<Durability>) -> Settings {
            settings(&self.options)
        }

        fn open_on(
            &self,
            storage: FaultStorage,
            durability: Option<Durability>,
        ) -> Option<Result<Handle>> {
            let place = Place::Storage(storage);
            Some(open::<crate::AutomergeBackend>(
                place,
                &self.options,
                durability,
            ))
        }

        fn reference(&self) -> Option<&str> {
            Some("redb")
        }

        fn versions(&self) -> crate::binding::Versions {
            super::locked_versions(&["automerge", "redb"])
        }
    }

    /// [`RedbBackend`](crate::RedbBackend) with these options. The run picks the durability,
    /// among both modes; options that ask for `EveryWrite` leave it that one.
    #[derive(Debug, Clone, Default)]
    pub struct RedbBinding {
        /// Page cache and integrity check.
        pub options: OpenOptions,
    }

    impl Binding for RedbBinding {
        fn name(&self) -> &str {
            "redb"
        }

        fn description(&self) -> &str {
            "the same bytes straight in redb, no CRDT: the floor"
        }

        fn durabilities(&self) -> &[Durability] {
            modes(&self.options)
        }

        fn open(&self, dir: &Path, durability: Option<Durability>) -> Result<Handle> {
            open::<crate::RedbBackend>(Place::File(&dir.join(FILE)), &self.options, durability)
        }

        fn settings(&self, _durability: Option<Durability>) -> Settings {
            settings(&self.options)
        }

        fn versions(&self) -> crate::binding::Versions {
            super::locked_versions(&["redb"])
        }

        fn open_on(
            &self,
            storage: FaultStorage,
            durability: Option<Durability>,
        ) -> Option<Result<Handle>> {
            let place = Place::Storage(storage);
            Some(open::<crate::RedbBackend>(place, &self.options, durability))
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
