//! `storebench list`.

use crate::binding::Bindings;
use crate::workload::Workload;

use super::Failure;
use super::args::ListArgs;

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
    let dir = &args.workloads_dir;
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::bad_input(format!(
            "cannot read workloads directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut invalid = Vec::new();
    for path in paths {
        match Workload::from_file(&path) {
            Ok(w) => println!("  {:<16} {}", w.name, w.description),
            Err(e) => invalid.push(e.to_string()),
        }
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(Failure::bad_input(invalid.join("\n")))
    }
}
