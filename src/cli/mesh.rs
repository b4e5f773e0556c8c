//! `storebench mesh`: replication workloads on stores that replicate.

use std::path::Path;

use std::time::Duration;

use super::Failure;
use super::args::{FaultArgs, MeshArgs, MeshReplicaArgs};
use crate::binding::Bindings;
use crate::mesh::{
    LinkFaults, MESH_PRESETS, MeshOptions, MeshTransport, MeshWorkload, ReplicaSetup, TcpOptions,
    mesh_preset, run_mesh_with, serve_replica,
};

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
    let mut options = MeshOptions::new().faults(faults(&args.faults)?);
    if args.transport == "tcp" {
        // Replicas are this very program: its bindings are theirs.
        let program = std::env::current_exe().map_err(|e| {
            Failure::failed(format!("cannot find this program to start replicas: {e}"))
        })?;
        options = options.transport(MeshTransport::Tcp(
            TcpOptions::new(program).io_timeout(args.io_timeout),
        ));
    }
    let mut reports = Vec::new();
    for workload in &workloads {
        for backend in &backends {
            let dir = tempfile::tempdir().map_err(Failure::failed)?;
            let total = workload.operations;
            let quiet = args.quiet;
            let report = run_mesh_with(workload, backend, dir.path(), &options, |done| {
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
            reports.push(report);
        }
    }
    // One page of every run, as `storebench report` writes for workloads.
    let page = crate::report::mesh_page(&reports).map_err(Failure::failed)?;
    let path = args.out.join("index.html");
    write(&path, &page)?;
    if !args.quiet {
        eprintln!("the runs' page is {}", path.display());
    }
    Ok(())
}

/// `storebench mesh-replica`: one replica of a run over TCP, until the coordinator says
/// finish or goes away.
pub(crate) fn replica(args: MeshReplicaArgs, bindings: &Bindings) -> Result<(), Failure> {
    let faults = faults(&FaultArgs {
        loss: args.loss,
        reorder: args.reorder,
        delay_ms: args.delay_us as f64 / 1000.0,
        fault_seed: args.fault_seed,
    })?;
    let setup = ReplicaSetup::new(
        &args.backend,
        args.dir,
        args.index,
        args.documents,
        args.value_bytes,
    )
    .faults(faults)
    .io_timeout(Duration::from_millis(args.io_timeout_ms));
    serve_replica(setup, bindings)
        .map_err(|e| Failure::failed(format!("mesh-replica {}: {e}", args.index)))
}

fn faults(args: &FaultArgs) -> Result<LinkFaults, Failure> {
    if !(args.delay_ms >= 0.0 && args.delay_ms <= 60_000.0) {
        return Err(Failure::bad_input(format!(
            "--delay-ms is {}; it must be 0 to 60000",
            args.delay_ms
        )));
    }
    let delay = Duration::from_secs_f64(args.delay_ms / 1000.0);
    LinkFaults::new(args.loss, args.reorder, delay, args.fault_seed)
        .map_err(|e| Failure::bad_input(format!("--{e}")))
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
