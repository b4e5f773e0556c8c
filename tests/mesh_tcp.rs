//! Replicas as processes (`storebench mesh --transport tcp`): a run over loopback sockets
//! reaches the same documents and figures as one in process; a replica drops a peer that
//! misbehaves, naming it, and serves the others; the coordinator stops every replica when
//! one dies or never becomes ready.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use storebench::binding::Bindings;
use storebench::mesh::transport::TransportError;
use storebench::mesh::{
    LinkFaults, MeshOptions, MeshReport, MeshTransport, MeshWorkload, ReplicaError, ReplicaFailure,
    TcpOptions, Transport, run_mesh_with, sync_over,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const STOREBENCH: &str = env!("CARGO_BIN_EXE_storebench");

/// A sync after every write: no two writes are concurrent, so every replica of every run
/// ends with each document's last write, whatever the replicas' actors.
const IN_STEP: &str = r#"name = "in-step"
replicas = 3
documents = 8
value_bytes = 32
operations = 90
sync_every = 1
topology = "ring"
"#;

/// A partitioned ring: concurrent writes, a replica that drifts apart and heals.
const PARTITIONED: &str = r#"name = "partitioned"
replicas = 3
documents = 10
value_bytes = 64
operations = 600
sync_every = 50
topology = "ring"

[partition]
replica = 2
from = 100
to = 400
"#;

fn run(workload: &str, dir: &Path, options: &MeshOptions) -> Result<MeshReport> {
    let workload = MeshWorkload::from_toml(workload)?;
    let automerge = Bindings::builtin().select("automerge")?;
    Ok(run_mesh_with(&workload, &automerge, dir, options, |_| {})?)
}

fn tcp() -> MeshTransport {
    MeshTransport::Tcp(TcpOptions::new(STOREBENCH).io_timeout(Duration::from_secs(5)))
}

/// A replica's documents, by id.
type Documents = Vec<(String, Vec<u8>)>;

/// Every document of every replica a run left in `dir`.
fn documents(dir: &Path, replicas: usize) -> Result<Vec<Documents>> {
    let automerge = Bindings::builtin().select("automerge")?;
    (0..replicas)
        .map(|r| {
            let handle = automerge
                .binding()
                .open(&dir.join(format!("replica-{r}")), None)?;
            let docs = handle.collection("mesh").scan()?;
            handle.close()?;
            Ok(docs)
        })
        .collect()
}

#[test]
fn a_run_over_tcp_reaches_the_documents_of_a_run_in_process() -> Result {
    let (local_dir, tcp_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let local = run(IN_STEP, local_dir.path(), &MeshOptions::new())?;
    let over_tcp = run(
        IN_STEP,
        tcp_dir.path(),
        &MeshOptions::new().transport(tcp()),
    )?;
    assert_eq!(
        (local.transport.as_str(), over_tcp.transport.as_str()),
        ("in-process", "tcp")
    );
    let local_docs = documents(local_dir.path(), 3)?;
    assert_eq!(local_docs[0].len(), 8);
    assert!(local_docs.iter().all(|docs| *docs == local_docs[0]));
    assert_eq!(documents(tcp_dir.path(), 3)?, local_docs);
    for (what, a, b) in [
        ("rounds", local.rounds, over_tcp.rounds),
        ("messages", local.messages, over_tcp.messages),
        ("bytes", local.bytes, over_tcp.bytes),
        (
            "changes",
            local.changes_replicated,
            over_tcp.changes_replicated,
        ),
        (
            "local writes",
            local.local_write.count,
            over_tcp.local_write.count,
        ),
        (
            "applied",
            local.apply_per_change.count,
            over_tcp.apply_per_change.count,
        ),
    ] {
        assert_eq!(a, b, "{what}");
    }
    assert!(over_tcp.converge_seconds > 0.0 && local.converge_seconds > 0.0);
    Ok(())
}

#[test]
fn faults_are_drawn_alike_in_process_and_over_tcp() -> Result {
    let faults = LinkFaults::new(0.1, 0.1, Duration::from_micros(100), 11)?;
    let options = MeshOptions::new().faults(faults);
    let (local_dir, tcp_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let local = run(PARTITIONED, local_dir.path(), &options)?;
    let over_tcp = run(
        PARTITIONED,
        tcp_dir.path(),
        &options.clone().transport(tcp()),
    )?;
    assert!(
        local.messages_lost > 0 && local.sessions_stalled > 0,
        "{local:?}"
    );
    assert!(local.messages_reordered > 0, "{local:?}");
    // Every write still reaches the two other replicas, over either transport.
    assert_eq!(local.changes_replicated + local.heal_changes, 1200);
    assert_eq!(
        over_tcp.changes_replicated + over_tcp.heal_changes,
        1200,
        "{over_tcp:?}"
    );
    // The draws follow the messages, and a session's messages are not quite fixed: where a
    // replica cannot tell what its peer holds it sends a Bloom filter of its changes, whose
    // false positives (about 1 in 100, over random change hashes) cost a message more now and
    // then, and shift the draws after it. So alike, not equal.
    for (what, a, b) in [
        ("lost", local.messages_lost, over_tcp.messages_lost),
        (
            "reordered",
            local.messages_reordered,
            over_tcp.messages_reordered,
        ),
        ("sessions", local.sessions, over_tcp.sessions),
        ("messages", local.messages, over_tcp.messages),
    ] {
        let (low, high) = (a.min(b) as f64, a.max(b) as f64);
        assert!(
            high <= low * 1.1 + 2.0,
            "{what}: {a} in process, {b} over TCP"
        );
    }
    assert_eq!(over_tcp.faults, Some(faults));
    Ok(())
}

/// A replica process started by hand, spoken to as the coordinator does.
struct Replica {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Replica {
    fn start(dir: &Path, index: usize, io_timeout_ms: u64) -> Result<Replica> {
        let mut child = Command::new(STOREBENCH)
            .args(["mesh-replica", "--backend", "automerge", "--dir"])
            .arg(dir.join(format!("replica-{index}")))
            .args(["--index", &index.to_string(), "--documents", "4"])
            .args([
                "--value-bytes",
                "16",
                "--io-timeout-ms",
                &io_timeout_ms.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?);
        let mut ready = String::new();
        stdout.read_line(&mut ready)?;
        let ready: serde_json::Value = serde_json::from_str(&ready)?;
        let port = ready["ready"]["port"].as_u64().ok_or("a port")? as u16;
        Ok(Replica {
            child,
            stdin,
            stdout,
            port,
        })
    }

    fn ask(&mut self, command: &str) -> Result<serde_json::Value> {
        writeln!(self.stdin, "{command}")?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(serde_json::from_str(&line)?)
    }

    /// Finishes it; what it wrote to standard error.
    fn finish(mut self) -> Result<String> {
        let finished = self.ask("\"finish\"")?;
        assert!(finished.get("finished").is_some(), "{finished}");
        let status = self.child.wait()?;
        assert!(status.success(), "{status}");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .ok_or("stderr")?
            .read_to_string(&mut stderr)?;
        Ok(stderr)
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn a_replica_drops_a_bad_peer_by_name_and_serves_the_others() -> Result {
    let dir = tempfile::tempdir()?;
    let mut served = Replica::start(dir.path(), 0, 1500)?;
    let mut other = Replica::start(dir.path(), 1, 1500)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], served.port));
    let hello = [b"H".as_slice(), &7u64.to_be_bytes()].concat();
    let mut peers = Vec::new();
    // Leaves in the middle of a message.
    let mut torn = TcpStream::connect(addr)?;
    torn.write_all(&[0, 0, 0, 100, 1, 2, 3])?;
    peers.push(torn.local_addr()?);
    drop(torn);
    // Announces a message of 4 GiB.
    let mut huge = TcpStream::connect(addr)?;
    huge.write_all(&u32::MAX.to_be_bytes())?;
    peers.push(huge.local_addr()?);
    // A frame that is not one of a sync session.
    let mut stranger = TcpStream::connect(addr)?;
    stranger.write_all(&frame(b"GET / HTTP/1.1"))?;
    peers.push(stranger.local_addr()?);
    // A session begun properly, then bytes that are no sync message.
    let mut garbage = TcpStream::connect(addr)?;
    garbage.write_all(&frame(&hello))?;
    garbage.write_all(&frame(b"Mnot a sync message at all"))?;
    peers.push(garbage.local_addr()?);
    // Connects and says nothing, held open while another peer syncs.
    let stalled = TcpStream::connect(addr)?;
    peers.push(stalled.local_addr()?);

    let wrote = other.ask(r#"{"write":{"writes":[[0,42],[3,43]]}}"#)?;
    assert_eq!(wrote, "wrote");
    let synced = other.ask(&format!(
        r#"{{"sync":{{"addr":"127.0.0.1:{}","peer":0,"sync":1}}}}"#,
        served.port
    ))?;
    assert_eq!(synced["synced"]["sessions"], 1, "{synced}");
    let digests = served.ask("\"digests\"")?;
    assert_eq!(digests, other.ask("\"digests\"")?);
    assert!(digests["digests"]["digests"][0].is_u64(), "{digests}");
    // The stalled peer is dropped after the bound.
    std::thread::sleep(Duration::from_millis(2500));
    let stats = served.ask("\"stats\"")?;
    assert_eq!(stats["stats"]["peers_dropped"], 5, "{stats}");
    assert_eq!(stats["stats"]["changes_applied"], 2, "{stats}");
    drop((huge, stranger, garbage, stalled));

    let log = served.finish()?;
    other.finish()?;
    for (peer, what) in peers.iter().zip([
        "disconnected in the middle of a message (7 of 104 bytes",
        "announced a message of 4294967295 bytes",
        "no frame of a sync session",
        "refused the peer's message",
        "stalled: nothing moved for 1500 ms while receiving",
    ]) {
        let line = log
            .lines()
            .find(|l| l.contains(&peer.to_string()))
            .ok_or_else(|| format!("no line names {peer}: {log}"))?;
        assert!(
            line.contains("dropped") && line.contains(what),
            "{what}: {line}"
        );
    }
    Ok(())
}

/// The replica processes whose command line names `dir`, still running.
fn replicas_running_in(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.starts_with(STOREBENCH) && cmdline.contains(&needle))
        .collect()
}

fn replica_error(err: &storebench::Error) -> Option<&ReplicaError> {
    std::error::Error::source(err)?.downcast_ref::<ReplicaError>()
}

#[test]
fn a_replica_that_never_becomes_ready_is_named_and_stopped() -> Result {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("silent.sh");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n")?;
    make_executable(&script)?;
    let transport =
        MeshTransport::Tcp(TcpOptions::new(&script).ready_timeout(Duration::from_millis(500)));
    let err = run(
        IN_STEP,
        dir.path(),
        &MeshOptions::new().transport(transport),
    )
    .expect_err("never ready");
    let err = err.downcast::<storebench::Error>()?;
    let replica = replica_error(&err).ok_or_else(|| format!("{err}"))?;
    assert_eq!(replica.replica, 0);
    assert!(
        matches!(replica.failure, ReplicaFailure::NeverReady { .. }),
        "{replica}"
    );
    assert!(
        replica.to_string().contains("was not ready after 0.5 s"),
        "{replica}"
    );
    let pid = replica.pid.ok_or("a pid")?;
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} is left"
    );
    Ok(())
}

#[test]
fn a_replica_that_dies_is_named_and_the_others_are_stopped() -> Result {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("dies.sh");
    // Replica 1 is killed a moment into the run; the others are the real thing.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in *\"--index 1 \"*) (sleep 0.5; kill -9 $$) & ;; esac\n\
             exec {STOREBENCH} \"$@\"\n"
        ),
    )?;
    make_executable(&script)?;
    let long = PARTITIONED.replace("operations = 600", "operations = 200000");
    let transport = MeshTransport::Tcp(TcpOptions::new(&script));
    let err = run(&long, dir.path(), &MeshOptions::new().transport(transport))
        .expect_err("replica 1 dies");
    let err = err.downcast::<storebench::Error>()?;
    let text = storebench_text(&err);
    // The coordinator notices it through a failed sync with replica 1, or replica 1 itself.
    assert!(text.contains("replica 1"), "{text}");
    assert!(text.contains("every replica process was stopped"), "{text}");
    assert_eq!(replicas_running_in(dir.path()), Vec::<String>::new());
    Ok(())
}

fn storebench_text(err: &storebench::Error) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn make_executable(path: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[test]
fn the_command_runs_over_tcp_and_refuses_bad_faults() -> Result {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("partitioned.toml");
    std::fs::write(&file, PARTITIONED)?;
    let out = dir.path().join("out");
    let (file, out_arg) = (file.to_str().ok_or("path")?, out.to_str().ok_or("path")?);
    let ran = Command::new(STOREBENCH)
        .args([
            "mesh",
            file,
            "--transport",
            "tcp",
            "--out",
            out_arg,
            "--quiet",
        ])
        .args(["--loss", "0.05", "--fault-seed", "4"])
        .output()?;
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        out.join("partitioned/automerge/mesh.json"),
    )?)?;
    assert_eq!(json["transport"], "tcp");
    assert_eq!(json["faults"]["loss"], 0.05);
    assert!(
        json["converge_seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{json}"
    );
    assert!(String::from_utf8_lossy(&ran.stdout).contains("wall-clock to converge"));
    for (flag, value) in [
        ("--loss", "1.5"),
        ("--delay-ms", "-1"),
        ("--transport", "udp"),
    ] {
        let refused = Command::new(STOREBENCH)
            .args([
                "mesh",
                file,
                &format!("{flag}={value}"),
                "--out",
                out_arg,
                "--quiet",
            ])
            .output()?;
        assert_eq!(refused.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(flag.trim_start_matches('-')),
            "{flag}: {stderr}"
        );
    }
    Ok(())
}

/// A user's own network: here, queues between two threads.
struct Queues {
    out: std::sync::mpsc::Sender<Vec<u8>>,
    inbox: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Transport for Queues {
    fn send(&mut self, message: &[u8]) -> std::result::Result<(), TransportError> {
        self.out
            .send(message.to_vec())
            .map_err(|e| TransportError::Io(std::io::Error::other(e)))
    }

    fn receive(&mut self) -> std::result::Result<Vec<u8>, TransportError> {
        self.inbox
            .recv_timeout(Duration::from_secs(5))
            .map_err(|e| TransportError::Io(std::io::Error::other(e)))
    }
}

#[test]
fn a_users_transport_carries_a_session() -> Result {
    let automerge = Bindings::builtin().select("automerge")?;
    let (a_dir, b_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = automerge.binding().open(a_dir.path(), None)?;
    let b = automerge.binding().open(b_dir.path(), None)?;
    a.collection("notes").upsert("one", b"from a".to_vec())?;
    b.collection("notes").upsert("two", b"from b".to_vec())?;
    let (a_out, b_in) = std::sync::mpsc::channel();
    let (b_out, a_in) = std::sync::mpsc::channel();
    let settled = std::thread::scope(|scope| {
        let answering = scope.spawn(|| {
            let endpoint = b.sync().ok_or("replicates")?;
            let queues = Queues {
                out: b_out,
                inbox: b_in,
            };
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(sync_over(
                endpoint, queues, "a", false,
            )?)
        });
        let endpoint = a.sync().ok_or("replicates")?;
        let queues = Queues {
            out: a_out,
            inbox: a_in,
        };
        let started = sync_over(endpoint, queues, "b", true)?;
        let answered = answering
            .join()
            .map_err(|_| "the answering side panicked")??;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(started && answered)
    })
    .map_err(|e| e.to_string())?;
    assert!(settled);
    for store in [&a, &b] {
        assert_eq!(store.collection("notes").count()?, 2);
    }
    Ok(())
}
