//! Records the versions of the crates that decide the measurements (from Cargo.lock), so every
//! report can say exactly what it measured.

use std::path::Path;

const CRATES: [&str; 3] = ["automerge", "redb", "hdrhistogram"];

fn main() {
    let lock =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut versions = Vec::new();
    let mut name: Option<String> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && CRATES.contains(&n.as_str())
        {
            versions.push(format!("{n}={}", v.trim_matches('"')));
        }
    }
    println!(
        "cargo::rustc-env=STOREBENCH_CRATE_VERSIONS={}",
        versions.join(",")
    );
}
