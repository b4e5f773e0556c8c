//! Records the heed version this build locked (from the workspace's Cargo.lock), so that
//! `Binding::versions` reports the engine a run measured, not the requirement in Cargo.toml.

use std::path::Path;

fn main() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = locked(&text, "heed").unwrap_or("unknown");
    println!("cargo::rustc-env=STOREBENCH_HEED_VERSION={version}");
}

/// The version of the package `name` in a Cargo.lock's text.
fn locked<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = text.lines();
    let wanted = format!("name = \"{name}\"");
    lines.find(|line| *line == wanted)?;
    lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')
}
