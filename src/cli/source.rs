//! Where a workload named on the command line comes from: a file by path, a file in the
//! workloads directory, or a preset built into the binary, in that order.

use std::path::{Path, PathBuf};

use crate::workload::{PRESETS, Workload, WorkloadError};

/// Where a workload was found.
pub(crate) enum Source {
    /// A file: named by path, or `<workloads dir>/<name>.toml`.
    File(PathBuf),
    /// A preset built into the binary: its name and text.
    BuiltIn(&'static str, &'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::BuiltIn(..) => f.write_str("built in"),
        }
    }
}

/// Finds `name`: a path (ending in `.toml`, holding a `/`, or naming a file here), else
/// `<dir>/<name>.toml`, else the preset of that name.
pub(crate) fn find(name: &str, dir: &Path) -> Option<Source> {
    let path = Path::new(name);
    if name.ends_with(".toml") || name.contains('/') || path.is_file() {
        return Some(Source::File(path.to_owned()));
    }
    let in_dir = dir.join(format!("{name}.toml"));
    if in_dir.is_file() {
        return Some(Source::File(in_dir));
    }
    PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .map(|&(preset, text)| Source::BuiltIn(preset, text))
}

/// Reads and validates the workload at `source`, with `overrides` (`-p key=value`) set over
/// its keys.
pub(crate) fn load(
    source: &Source,
    overrides: &[(String, String)],
) -> Result<Workload, WorkloadError> {
    match source {
        Source::File(path) => Workload::from_file_overridden(path, overrides),
        Source::BuiltIn(name, text) => Workload::from_toml_overridden(
            name,
            text,
            Path::new(&format!("{name} (built in)")),
            overrides,
        ),
    }
}
