//! `storebench mesh`: replication workloads on stores that replicate.

use std::path::Path;

use super::Failure;
use super::args::MeshArgs;
use crate::binding::Bindings;
use crate::mesh::{MESH_PRESETS, MeshWorkload, mesh_preset, run_mesh};

pub(crate) fn mesh(args: &MeshArgs, bindings: &Bindings) -> Result<(), Failure> {
    // Every name is checked before anything runs.
    let workloads = args
        .workloads
        .iter()
        .map(|w| load(w))
        .collect::<Result<Vec<_>, _>>()?;
    let backends = args
        .backend
        .iter()
        .map(|name| bindings.select(name).map_err(Failure::bad_input))
        .collect::<Result<Vec<_>, _>>()?;
    for workload in &workloads {
        for backend in &backends {
            let dir = tempfile::tempdir().map_err(Failure::failed)?;
            let total = workload.operations;
            let quiet = args.quiet;
            let report = run_mesh(workload, backend, dir.path(), |done| {
                if !quiet {
                    eprint!(
                        "\r{} on {}: {done}/{total} writes",
                        workload.name,
                        backend.name()
                    );
                }
            })
            .map_err(|e| {
                Failure::failed(format!(
                    "{} on {}: {}",
                    workload.name,
                    backend.name(),
                    crate::error::with_causes(&e)
                ))
            })?;
            if !quiet {
                eprintln!();
            }
            let out = args.out.join(&workload.name).join(backend.name());
            std::fs::create_dir_all(&out)
                .map_err(|e| Failure::failed(format!("{}: {e}", out.display())))?;
            let json = serde_json::to_string_pretty(&report).map_err(Failure::failed)?;
            write(&out.join("mesh.json"), &json)?;
            let markdown = report.to_markdown();
            write(&out.join("mesh.md"), &markdown)?;
            println!("{markdown}");
        }
    }
    Ok(())
}

/// A built-in workload by name, or a TOML file.
fn load(name: &str) -> Result<MeshWorkload, Failure> {
    if let Some(preset) = mesh_preset(name) {
        return Ok(preset);
    }
    let text = std::fs::read_to_string(name).map_err(|e| {
        let known: Vec<&str> = MESH_PRESETS.iter().map(|(n, _)| *n).collect();
        Failure::bad_input(format!(
            "{name} is neither a built-in replication workload ({}) nor a readable file: {e}",
            known.join(", ")
        ))
    })?;
    MeshWorkload::from_toml(&text).map_err(|e| Failure::bad_input(format!("{name}: {e}")))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::failed(format!("{}: {e}", path.display())))
}
