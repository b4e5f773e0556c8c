//! Known defects as data: a store's defects its author already knows (SQLite keeps no page
//! checksums; a store that cannot refuse a closed handle yet) are listed, and the checks
//! report each once and go on past it instead of stopping at it, so that what else they find
//! is still found. What they excused is in their result.

use std::fmt;

use super::Divergence;
use super::op::Op;

/// A defect a store is known to have, and which divergences it explains.
///
/// ```
/// use storebench::check::{KnownDefect, Op};
///
/// const KNOWN: &[KnownDefect] = &[
///     // By what the check says.
///     KnownDefect::new("no page checksums: a flipped bit reads back as data", |d| {
///         d.what.contains("silently wrong data")
///     }),
///     // By the kind of operation it diverged at.
///     KnownDefect::in_operation("find skips empty documents", |op| matches!(op, Op::Find(..))),
/// ];
/// # let _ = KNOWN;
/// ```
#[derive(Clone, Copy)]
pub struct KnownDefect {
    name: &'static str,
    matches: Matches,
}

#[derive(Clone, Copy)]
enum Matches {
    Divergence(fn(&Divergence) -> bool),
    Operation(fn(&Op) -> bool),
}

impl KnownDefect {
    /// The defect `name`, explaining every divergence `matches` accepts.
    pub const fn new(name: &'static str, matches: fn(&Divergence) -> bool) -> Self {
        Self {
            name,
            matches: Matches::Divergence(matches),
        }
    }

    /// The defect `name`, explaining every divergence found at an operation `matches` accepts.
    pub const fn in_operation(name: &'static str, matches: fn(&Op) -> bool) -> Self {
        Self {
            name,
            matches: Matches::Operation(matches),
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether it explains `divergence`.
    pub fn explains(&self, divergence: &Divergence) -> bool {
        match self.matches {
            Matches::Divergence(matches) => matches(divergence),
            Matches::Operation(matches) => divergence.op.as_ref().is_some_and(matches),
        }
    }
}

impl fmt::Debug for KnownDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownDefect")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A known defect a check met and went on past: the first divergence it explained, and how
/// many it explained in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excused {
    /// The defect's name.
    pub defect: &'static str,
    /// The first divergence it explained.
    pub first: String,
    /// How many it explained.
    pub times: usize,
}

impl fmt::Display for Excused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "known defect \"{}\" excused {} time(s); the first: {}",
            self.defect, self.times, self.first
        )
    }
}

/// The known defects a check run goes on past, and those it met.
pub(crate) struct Excuses<'k> {
    known: &'k [KnownDefect],
    excused: Vec<Excused>,
}

impl<'k> Excuses<'k> {
    pub(crate) fn new(known: &'k [KnownDefect]) -> Self {
        Self {
            known,
            excused: Vec::new(),
        }
    }

    /// `Ok` when a known defect explains `divergence` (counted), else the divergence back.
    pub(crate) fn excuse(&mut self, divergence: Divergence) -> Result<(), Divergence> {
        let Some(defect) = self.known.iter().find(|k| k.explains(&divergence)) else {
            return Err(divergence);
        };
        match self.excused.iter_mut().find(|e| e.defect == defect.name) {
            Some(met) => met.times += 1,
            None => self.excused.push(Excused {
                defect: defect.name,
                first: divergence.to_string(),
                times: 1,
            }),
        }
        Ok(())
    }

    /// Adds what another run excused.
    pub(crate) fn extend(&mut self, other: Vec<Excused>) {
        for e in other {
            match self.excused.iter_mut().find(|m| m.defect == e.defect) {
                Some(met) => met.times += e.times,
                None => self.excused.push(e),
            }
        }
    }

    pub(crate) fn into_excused(self) -> Vec<Excused> {
        self.excused
    }
}
