//! For a binding's build script: the version of a dependency that this build locked, read
//! from the nearest `Cargo.lock` above the package, so that `Binding::versions` reports the
//! engine a run measured rather than the requirement in `Cargo.toml` (`fjall = "3.1"` says
//! nothing of the patch release that ran).
//!
//! In `build.rs`'s `main` (then `env!("STOREBENCH_FJALL_VERSION")` in the binding):
//!
//! ```no_run
//! storebench_locked::emit("fjall", "STOREBENCH_FJALL_VERSION");
//! ```

use std::path::{Path, PathBuf};

/// Tells cargo to set the compile-time variable `var` to the locked version of the package
/// `name` ("unknown" where no lock file names it, as in a package built from crates.io
/// without one), and to run the build script again when the lock file changes.
pub fn emit(name: &str, var: &str) {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let lock = manifest_dir.as_deref().and_then(nearest_lock);
    let text = match &lock {
        Some(lock) => {
            println!("cargo::rerun-if-changed={}", lock.display());
            std::fs::read_to_string(lock).unwrap_or_default()
        }
        None => String::new(),
    };
    let version = locked(&text, name).unwrap_or("unknown");
    println!("cargo::rustc-env={var}={version}");
}

/// The `Cargo.lock` in `dir` or the nearest directory above it: a workspace keeps one, at
/// its root.
fn nearest_lock(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|lock| lock.is_file())
}

/// The version of the package `name` in a `Cargo.lock`'s text: the line after its `name`
/// line. The first such entry, where a lock holds two versions of one package.
fn locked<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = text.lines();
    lines.find(|line| *line == wanted)?;
    lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')
}

#[cfg(test)]
mod tests {
    use super::locked;

    const LOCK: &str = "[[package]]\nname = \"fjall\"\nversion = \"3.1.13\"\n\n\
                        [[package]]\nname = \"fjall-extra\"\nversion = \"9.9.9\"\n";

    #[test]
    fn the_version_of_a_locked_package_is_found() {
        assert_eq!(locked(LOCK, "fjall"), Some("3.1.13"));
        assert_eq!(locked(LOCK, "fjall-extra"), Some("9.9.9"));
    }

    #[test]
    fn a_package_the_lock_does_not_name_has_none() {
        assert_eq!(locked(LOCK, "fja"), None);
        assert_eq!(locked("", "fjall"), None);
    }
}
