//! The preset workloads, built into the binary: `storebench run ycsb-a` works from any
//! directory, and an installed binary has them too. The files in `workloads/` are their
//! source; a test keeps the two the same.

/// Each preset's name and TOML text.
pub const PRESETS: &[(&str, &str)] = &[
    ("bulk-load", include_str!("../../workloads/bulk-load.toml")),
    (
        "durable-writes",
        include_str!("../../workloads/durable-writes.toml"),
    ),
    (
        "history-growth",
        include_str!("../../workloads/history-growth.toml"),
    ),
    (
        "large-values",
        include_str!("../../workloads/large-values.toml"),
    ),
    (
        "many-collections",
        include_str!("../../workloads/many-collections.toml"),
    ),
    (
        "mesh-state",
        include_str!("../../workloads/mesh-state.toml"),
    ),
    (
        "update-only",
        include_str!("../../workloads/update-only.toml"),
    ),
    ("ycsb-a", include_str!("../../workloads/ycsb-a.toml")),
    ("ycsb-b", include_str!("../../workloads/ycsb-b.toml")),
    ("ycsb-c", include_str!("../../workloads/ycsb-c.toml")),
    ("ycsb-d", include_str!("../../workloads/ycsb-d.toml")),
    ("ycsb-e", include_str!("../../workloads/ycsb-e.toml")),
    ("ycsb-f", include_str!("../../workloads/ycsb-f.toml")),
];

/// The TOML text of the preset called `name`.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `workloads/` is a preset, word for word, and every preset valid.
    #[test]
    fn the_presets_are_the_workloads_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the workloads directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        files.sort();
        let names: Vec<&str> = PRESETS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, names);
        for (name, text) in PRESETS {
            let file = std::fs::read_to_string(dir.join(format!("{name}.toml"))).expect("read");
            assert_eq!(&file, text, "{name}");
            let path = std::path::Path::new(name);
            assert!(
                super::super::Workload::from_toml(name, text, path).is_ok(),
                "{name}"
            );
        }
    }
}
