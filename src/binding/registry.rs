//! `Bindings`: the bindings a command can select by name, and what a name selects.

use std::fmt;
use std::sync::Arc;

use super::Binding;
use crate::Durability;

/// The suffix that selects a binding in [`Durability::EveryWrite`] when it offers both modes.
const DURABLE_SUFFIX: &str = "-durable";

/// Bindings by name, as the command line and the runner look them up (YCSB's `-db`, go-ycsb's
/// `RegisterDBCreator`). The crate's own are in [`Bindings::builtin`]; a user adds theirs.
///
/// ```
/// use storebench::binding::{Bindings, builtin::MemoryBinding};
///
/// let mut bindings = Bindings::new();
/// bindings.add(MemoryBinding)?;
/// assert!(bindings.add(MemoryBinding).is_err(), "one name, one binding");
/// assert_eq!(bindings.select("memory")?.name(), "memory");
/// # Ok::<(), storebench::binding::BindingError>(())
/// ```
#[derive(Clone, Default)]
pub struct Bindings {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    binding: Arc<dyn Binding>,
    /// Whether a run that names no backend runs it.
    by_default: bool,
}

impl Bindings {
    /// No bindings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The crate's own: `memory`, `automerge` (and `automerge-durable`), `redb` (and
    /// `redb-durable`) as their cargo features allow, and `null` (selected by name only: it
    /// measures the harness alone).
    pub fn builtin() -> Self {
        super::builtin::register()
    }

    /// Adds `binding`, run by default when a command names no backend.
    ///
    /// # Errors
    /// [`BindingError::InvalidName`] for a name that is not lowercase ASCII letters, digits,
    /// `-` and `_`; [`BindingError::Duplicate`] when a name it would answer to is taken.
    pub fn add(&mut self, binding: impl Binding) -> Result<&mut Self, BindingError> {
        self.insert(Arc::new(binding), true)
    }

    /// Adds `binding`, run only when a command names it.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn add_by_name_only(&mut self, binding: impl Binding) -> Result<&mut Self, BindingError> {
        self.insert(Arc::new(binding), false)
    }

    fn insert(
        &mut self,
        binding: Arc<dyn Binding>,
        by_default: bool,
    ) -> Result<&mut Self, BindingError> {
        check_name(binding.name())?;
        let taken = self.every_selection().map(|s| s.name).collect::<Vec<_>>();
        let entry = Entry {
            binding,
            by_default,
        };
        if let Some(name) = selections(&entry).find(|s| taken.contains(&s.name)) {
            return Err(BindingError::Duplicate { name: name.name });
        }
        self.entries.push(entry);
        Ok(self)
    }

    /// What `name` selects: a binding, and the durability it runs with.
    ///
    /// # Errors
    /// [`BindingError::Unknown`], listing every name there is.
    pub fn select(&self, name: &str) -> Result<Selected, BindingError> {
        self.every_selection()
            .find(|s| s.name == name)
            .ok_or_else(|| BindingError::Unknown {
                name: name.to_owned(),
                known: self.names(),
            })
    }

    /// Every name a command may give, in registration order.
    pub fn names(&self) -> Vec<String> {
        self.every_selection().map(|s| s.name).collect()
    }

    /// What a command that names no backend runs.
    pub fn defaults(&self) -> Vec<Selected> {
        self.entries
            .iter()
            .filter(|e| e.by_default)
            .flat_map(selections)
            .collect()
    }

    /// Every binding, once each.
    pub fn bindings(&self) -> impl Iterator<Item = &dyn Binding> {
        self.entries.iter().map(|e| e.binding.as_ref())
    }

    fn every_selection(&self) -> impl Iterator<Item = Selected> + '_ {
        self.entries.iter().flat_map(selections)
    }
}

/// The names an entry answers to: its own, and `<name>-durable` when it offers both modes.
fn selections(entry: &Entry) -> impl Iterator<Item = Selected> + use<> {
    let binding = entry.binding.clone();
    let modes = binding.durabilities();
    let durable = (modes.len() > 1 && modes.contains(&Durability::EveryWrite)).then(|| Selected {
        name: format!("{}{DURABLE_SUFFIX}", binding.name()),
        binding: binding.clone(),
        fixed: Some(Durability::EveryWrite),
    });
    let plain = Selected {
        name: binding.name().to_owned(),
        binding,
        fixed: None,
    };
    std::iter::once(plain).chain(durable)
}

/// A binding as a command selected it: under which name, with which durability.
#[derive(Clone)]
pub struct Selected {
    name: String,
    binding: Arc<dyn Binding>,
    /// `Some` for `<name>-durable`; `None` runs with the workload's durability.
    fixed: Option<Durability>,
}

/// Names become directory and file names and command-line words: nothing that escapes a
/// directory (`/`, `..`) or needs quoting.
fn check_name(name: &str) -> Result<(), BindingError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(BindingError::InvalidName {
            name: name.to_owned(),
        })
    }
}

impl Selected {
    /// Selects `binding` under its own name, with the workload's durability.
    ///
    /// # Errors
    /// [`BindingError::InvalidName`], as for [`Bindings::add`]: the name becomes a directory.
    pub fn new(binding: impl Binding) -> Result<Self, BindingError> {
        check_name(binding.name())?;
        Ok(Self {
            name: binding.name().to_owned(),
            binding: Arc::new(binding),
            fixed: None,
        })
    }

    /// The name it was selected by: the binding's, or `<name>-durable`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The binding.
    pub fn binding(&self) -> &dyn Binding {
        self.binding.as_ref()
    }

    /// The durability it runs with when a workload asks for `wanted`: `None` for a store that
    /// offers no mode; the fixed mode of `<name>-durable`; `wanted` when offered; else the
    /// binding's preferred mode.
    pub fn durability(&self, wanted: Durability) -> Option<Durability> {
        // `fixed` is set only for a binding that offers both modes.
        mode_for(self.binding.durabilities(), self.fixed.unwrap_or(wanted))
    }
}

/// The mode a store offering `modes` (its preferred first) runs with when asked for `wanted`:
/// `wanted` when it is offered, else the preferred; `None` for a store that offers none. The
/// one place this rule is written: runs and the model check both take it.
pub(crate) fn mode_for(modes: &[Durability], wanted: Durability) -> Option<Durability> {
    modes
        .contains(&wanted)
        .then_some(wanted)
        .or_else(|| modes.first().copied())
}

impl fmt::Debug for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("name", &self.name)
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

/// A binding that cannot be registered or selected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// Two bindings answer to one name.
    Duplicate {
        /// The name.
        name: String,
    },
    /// A name with characters a file name or the command line would mangle.
    InvalidName {
        /// The name.
        name: String,
    },
    /// No binding answers to the name.
    Unknown {
        /// The name asked for.
        name: String,
        /// Every name there is.
        known: Vec<String>,
    },
}

impl fmt::Display for BindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingError::Duplicate { name } => write!(
                f,
                "two bindings are registered under the name `{name}`; rename one of them"
            ),
            BindingError::InvalidName { name } => write!(
                f,
                "the binding name `{name}` is not usable: use lowercase ASCII letters, digits, \
                 `-` and `_`"
            ),
            BindingError::Unknown { name, known } => write!(
                f,
                "unknown backend `{name}`; choose from {}",
                known.join(", ")
            ),
        }
    }
}

impl std::error::Error for BindingError {}

#[cfg(test)]
mod tests {
    use super::super::builtin::{MemoryBinding, NullBinding};
    use super::*;

    struct Named(&'static str, &'static [Durability]);

    impl Binding for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn durabilities(&self) -> &[Durability] {
            self.1
        }
        fn open(
            &self,
            _: &std::path::Path,
            _: Option<Durability>,
        ) -> crate::Result<super::super::Handle> {
            Ok(super::super::Handle::new(crate::InMemoryBackend::new()))
        }
    }

    const BOTH: &[Durability] = &[Durability::OnFlush, Durability::EveryWrite];

    #[test]
    fn a_mode_is_the_one_asked_for_when_offered_else_the_preferred() {
        use Durability::{EveryWrite, OnFlush};
        assert_eq!(mode_for(BOTH, EveryWrite), Some(EveryWrite));
        assert_eq!(mode_for(&[EveryWrite], OnFlush), Some(EveryWrite));
        assert_eq!(mode_for(&[], OnFlush), None);
        for mode in Durability::ALL {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
        assert_eq!(
            "OnFlush".parse::<Durability>().map_err(|e| e.to_string()),
            Err("`OnFlush` is not `on-flush` or `every-write`".to_owned())
        );
    }

    /// Options that ask for `EveryWrite` are honoured: the binding offers that mode alone, so
    /// neither a run nor a check opens it in another.
    #[cfg(feature = "redb-backend")]
    #[test]
    fn a_persistent_binding_honours_the_durability_of_its_options() {
        use super::super::builtin::RedbBinding;
        use crate::OpenOptions;
        let durable = RedbBinding::new(OpenOptions::new().durability(Durability::EveryWrite));
        assert_eq!(durable.durabilities(), &[Durability::EveryWrite]);
        let selected = Selected::new(durable).expect("a valid name");
        assert_eq!(
            selected.durability(Durability::OnFlush),
            Some(Durability::EveryWrite)
        );
        assert_eq!(RedbBinding::default().durabilities(), BOTH);
    }

    #[test]
    fn a_name_taken_by_a_derived_name_is_refused() {
        let mut bindings = Bindings::new();
        bindings.add(Named("kv", BOTH)).expect("a free name");
        assert!(matches!(
            bindings.add(Named("kv-durable", &[])),
            Err(BindingError::Duplicate { name }) if name == "kv-durable"
        ));
        // And the other way round: a binding whose derived name is taken.
        let mut bindings = Bindings::new();
        bindings.add(Named("kv-durable", &[])).expect("a free name");
        assert!(matches!(
            bindings.add(Named("kv", BOTH)),
            Err(BindingError::Duplicate { name }) if name == "kv-durable"
        ));
        assert!(matches!(
            Bindings::builtin().add(MemoryBinding),
            Err(BindingError::Duplicate { .. })
        ));
        assert!(matches!(
            Bindings::new().add_by_name_only(NullBinding).map(|_| ()),
            Ok(())
        ));
    }

    #[test]
    fn names_must_survive_file_systems_and_shells() {
        for bad in ["", "My Store", "a/b", "..", "é"] {
            assert!(
                matches!(
                    Bindings::new().add(Named(bad, &[])),
                    Err(BindingError::InvalidName { .. })
                ),
                "{bad:?}"
            );
            assert!(Selected::new(Named(bad, &[])).is_err(), "{bad:?}");
        }
    }
}
