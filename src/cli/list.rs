//! `storebench list`.

use crate::binding::Bindings;
use crate::workload::PRESETS;

use super::args::ListArgs;
use super::{Failure, source};

pub(crate) fn list(args: &ListArgs, bindings: &Bindings) -> Result<(), Failure> {
    println!("backends:");
    for binding in bindings.bindings() {
        let durable = if binding.durabilities().len() > 1 {
            format!(" (and {}-durable)", binding.name())
        } else {
            String::new()
        };
        println!(
            "  {:<16} {}{durable}",
            binding.name(),
            binding.description()
        );
    }
    println!("workloads:");
    // The built-in presets (or the workloads directory's file of the same name), then the
    // directory's other files.
    let dir = &args.workloads_dir;
    let mut names: Vec<String> = PRESETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .filter(|name| !names.contains(name))
            .collect();
        extra.sort();
        names.extend(extra);
    }
    let mut invalid = Vec::new();
    for name in names {
        let Some(source) = source::find(&name, dir) else {
            continue;
        };
        match source::load(&source, &[]) {
            Ok(w) => println!(
                "  {:<16} {:<28} {}",
                w.name,
                source.to_string(),
                w.description
            ),
            Err(e) => invalid.push(e.to_string()),
        }
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(Failure::bad_input(invalid.join("\n")))
    }
}
