//! The performance targets of `AutomergeBackend`, each measured beside SQLite (the store users
//! would pick instead, bound in `bindings/sqlite`), beside `RedbBackend` (the floor), or beside
//! itself at another size, in this one run, printed as one table of measured ratio against goal.
//!
//! ```text
//! cargo bench --bench targets            # 1 to 3 minutes on two cores, once built
//! cargo bench --bench targets -- --test  # every measurement, tiny: checks the bench runs
//! ```
//!
//! Workload targets run `storebench-sqlite run` (the `storebench` command with the SQLite
//! binding added; built first when missing) in a child process per backend and run, so that
//! peak RSS belongs to that run alone; paired backends take turns, and each side's median run
//! counts. The rest time the library directly. OnFlush and 1 KiB values unless a row says
//! otherwise. `STOREBENCH_TARGETS_BIN` runs the workloads on another build of that command (to
//! measure a change side by side). The table also goes to `reports/latest/targets.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use storebench::report::Report;
use storebench::{AutomergeBackend, OpenOptions, RedbBackend, StorageBackend};

/// How big each measurement is: `full` for the figures, `smoke` to check the bench runs.
struct Scale {
    read_ops: u64,
    write_ops: u64,
    repeat: u32,
    history: u64,
    cold_samples: usize,
    collection_docs: u64,
    rss_ops: u64,
    durable_ops: u64,
}

const FULL: Scale = Scale {
    read_ops: 200_000,
    write_ops: 20_000,
    repeat: 5,
    history: 100_000,
    cold_samples: 5,
    collection_docs: 100_000,
    rss_ops: 20_000,
    durable_ops: 2_000,
};

const SMOKE: Scale = Scale {
    read_ops: 1_000,
    write_ops: 200,
    repeat: 1,
    history: 200,
    cold_samples: 2,
    collection_docs: 1_000,
    rss_ops: 200,
    durable_ops: 40,
};

/// One line of the table.
struct Row {
    target: String,
    measured: f64,
    goal: Goal,
    detail: String,
}

#[derive(Clone, Copy)]
enum Goal {
    AtLeast(f64),
    AtMost(f64),
    /// Reported, with no bound.
    Report,
}

impl Goal {
    fn verdict(self, measured: f64) -> &'static str {
        match self {
            Goal::AtLeast(goal) if measured >= goal => "met",
            Goal::AtMost(goal) if measured <= goal => "met",
            Goal::Report => "reported",
            _ => "NOT MET",
        }
    }

    fn describe(self) -> String {
        match self {
            Goal::AtLeast(goal) => format!(">= {goal}x"),
            Goal::AtMost(goal) => format!("<= {goal}x"),
            Goal::Report => "-".to_owned(),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let smoke = std::env::args().any(|a| a == "--test");
    let scale = if smoke { &SMOKE } else { &FULL };
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let runner = Runner {
        work: work.path().to_owned(),
        scale,
        bin: command()?,
    };
    let mut rows = Vec::new();
    rows.extend(against_sqlite(&runner)?);
    rows.extend(reads(&runner)?);
    rows.extend(writes(&runner)?);
    rows.extend(history(scale)?);
    rows.extend(count_and_open(scale, work.path())?);
    rows.push(memory(&runner)?);
    rows.extend(durable_writes(&runner)?);
    rows.extend(space(&runner)?);

    let table = table(&rows);
    println!("{table}");
    println!("measured in {:.0?}", started.elapsed());
    if !smoke {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/latest");
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("targets.md"), &table)?;
    }
    Ok(())
}

fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| target | measured | goal | verdict | figures |\n|---|---:|---:|---|---|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {:.2}x | {} | {} | {} |\n",
            row.target,
            row.measured,
            row.goal.describe(),
            row.goal.verdict(row.measured),
            row.detail
        ));
    }
    out
}

/// The `storebench-sqlite` command the workloads run on: `STOREBENCH_TARGETS_BIN`, or this
/// build's, built first when it is not there yet.
fn command() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("STOREBENCH_TARGETS_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_storebench")).with_file_name("storebench-sqlite");
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "storebench-sqlite"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .map_err(|e| format!("cannot start cargo to build storebench-sqlite: {e}"))?;
        if !status.success() || !bin.exists() {
            return Err(format!(
                "cannot build {} ({status}): run `cargo build --release -p storebench-sqlite`",
                bin.display()
            ));
        }
    }
    Ok(bin)
}

/// Runs workloads through the `storebench-sqlite` binary, one child process per backend and run.
struct Runner<'a> {
    work: PathBuf,
    scale: &'a Scale,
    bin: PathBuf,
}

impl Runner<'_> {
    /// Runs `workload` on `backend` with extra `storebench run` arguments; its report.
    fn run(&self, workload: &str, backend: &str, args: &[&str]) -> Result<Report, String> {
        let out = self
            .work
            .join(format!("{workload}-{backend}-{}", args.join("_")));
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new(&self.bin)
            .args(["run", workload, "--backend", backend, "--quiet"])
            .arg("--workloads-dir")
            .arg(root.join("workloads"))
            .arg("--out")
            .arg(&out)
            .args(args)
            .status()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        if !status.success() {
            return Err(format!("storebench run {workload} on {backend}: {status}"));
        }
        let path = out.join(workload).join(backend).join("report.json");
        let json = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&json).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Runs `workload` on `backend` and on its redb counterpart; see [`versus`](Self::versus).
    fn pair(&self, workload: &str, backend: &str, ops: u64) -> Result<[Report; 2], String> {
        self.versus(
            workload,
            backend,
            &backend.replace("automerge", "redb"),
            ops,
        )
    }

    /// Runs `workload` on `ours` and on `theirs`, `repeat` times each, taking turns (and
    /// turns at going first) so that both see the same machine; the median run of each.
    fn versus(
        &self,
        workload: &str,
        ours: &str,
        theirs: &str,
        ops: u64,
    ) -> Result<[Report; 2], String> {
        let ops = ops.to_string();
        let args = ["--ops", &ops];
        let (mut mine, mut other) = (Vec::new(), Vec::new());
        for round in 0..self.scale.repeat {
            if round % 2 == 0 {
                mine.push(self.run(workload, ours, &args)?);
                other.push(self.run(workload, theirs, &args)?);
            } else {
                other.push(self.run(workload, theirs, &args)?);
                mine.push(self.run(workload, ours, &args)?);
            }
        }
        Ok([median_run(mine), median_run(other)])
    }
}

/// The run with the median throughput.
fn median_run(mut runs: Vec<Report>) -> Report {
    runs.sort_by(|a, b| {
        a.run
            .throughput_ops_per_sec
            .total_cmp(&b.run.throughput_ops_per_sec)
    });
    runs.swap_remove(runs.len() / 2)
}

fn operation<'r>(report: &'r Report, name: &str) -> &'r storebench::report::OperationStats {
    report
        .operations
        .iter()
        .find(|o| o.operation == name)
        .unwrap_or_else(|| panic!("{} has no {name} operation", report.workload.name))
}

/// The row comparing two runs' whole throughput.
fn throughput_ratio(target: String, ours: &Report, theirs: &Report, goal: Goal) -> Row {
    let (ours, theirs) = (
        ours.run.throughput_ops_per_sec,
        theirs.run.throughput_ops_per_sec,
    );
    Row {
        target,
        measured: ours / theirs,
        goal,
        detail: format!("{} vs {}", kops(ours), kops(theirs)),
    }
}

fn kops(ops_per_sec: f64) -> String {
    format!("{:.1}k ops/s", ops_per_sec / 1e3)
}

fn micros(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1e3)
}

/// S: automerge against a tuned SQLite, the store users would pick, on every YCSB preset and
/// update-only (OnFlush), and durable (EveryWrite) on update-only and durable-writes.
fn against_sqlite(runner: &Runner) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let on_flush = [
        "ycsb-a",
        "ycsb-b",
        "ycsb-c",
        "ycsb-d",
        "ycsb-e",
        "ycsb-f",
        "update-only",
    ];
    let durable = ["update-only", "durable-writes"];
    let pairs = on_flush
        .iter()
        .map(|w| (*w, "automerge", "sqlite", runner.scale.write_ops))
        .chain(durable.iter().map(|w| {
            (
                *w,
                "automerge-durable",
                "sqlite-durable",
                runner.scale.durable_ops,
            )
        }));
    for (workload, ours, theirs, ops) in pairs {
        let [a, s] = runner.versus(workload, ours, theirs, ops)?;
        let target = format!("S {workload}: throughput, {ours} / {theirs}");
        rows.push(throughput_ratio(target, &a, &s, Goal::AtLeast(1.0)));
    }
    Ok(rows)
}

/// 1: reads on ycsb-c.
fn reads(runner: &Runner) -> Result<Vec<Row>, String> {
    let [a, r] = runner.pair("ycsb-c", "automerge", runner.scale.read_ops)?;
    let (ar, rr) = (operation(&a, "read"), operation(&r, "read"));
    Ok(vec![
        Row {
            target: "1 reads: ycsb-c read throughput, automerge / redb".into(),
            measured: ar.throughput_ops_per_sec / rr.throughput_ops_per_sec,
            goal: Goal::AtLeast(0.9),
            detail: format!(
                "{} vs {}",
                kops(ar.throughput_ops_per_sec),
                kops(rr.throughput_ops_per_sec)
            ),
        },
        Row {
            target: "1 reads: ycsb-c read p99, automerge / redb".into(),
            measured: ar.latency_ns.p99 as f64 / rr.latency_ns.p99 as f64,
            goal: Goal::AtMost(1.2),
            detail: format!(
                "{} vs {}",
                micros(ar.latency_ns.p99),
                micros(rr.latency_ns.p99)
            ),
        },
    ])
}

/// 2: update-only and ycsb-a.
fn writes(runner: &Runner) -> Result<Vec<Row>, String> {
    let [a, r] = runner.pair("update-only", "automerge", runner.scale.write_ops)?;
    let (au, ru) = (operation(&a, "update"), operation(&r, "update"));
    let updates = Row {
        target: "2 writes: update-only update throughput, automerge / redb".into(),
        measured: au.throughput_ops_per_sec / ru.throughput_ops_per_sec,
        goal: Goal::Report,
        detail: format!(
            "{} vs {}; p50 {} vs {}",
            kops(au.throughput_ops_per_sec),
            kops(ru.throughput_ops_per_sec),
            micros(au.latency_ns.p50),
            micros(ru.latency_ns.p50)
        ),
    };
    let [a, r] = runner.pair("ycsb-a", "automerge", runner.scale.write_ops)?;
    let target = "2 writes: ycsb-a throughput, automerge / redb".to_owned();
    let mixed = throughput_ratio(target, &a, &r, Goal::AtLeast(0.6));
    // Store level: the same workload twenty times longer, its file growing with the history.
    let ops = runner.scale.write_ops;
    let run = |ops: u64| runner.run("ycsb-a", "automerge", &["--ops", &ops.to_string()]);
    let (short, long) = (run(ops)?, run(ops * 20)?);
    let flat = Row {
        target: format!(
            "2 writes: ycsb-a automerge throughput, {} / {ops} operations",
            ops * 20
        ),
        measured: long.run.throughput_ops_per_sec / short.run.throughput_ops_per_sec,
        goal: Goal::AtLeast(0.9),
        detail: format!(
            "{} vs {}; file {} vs {}",
            kops(long.run.throughput_ops_per_sec),
            kops(short.run.throughput_ops_per_sec),
            mib(long.file_bytes),
            mib(short.file_bytes)
        ),
    };
    Ok(vec![updates, mixed, flat])
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "?".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / 1048576.0),
    )
}

fn value(seed: u64) -> Vec<u8> {
    let mut v: Vec<u8> = (0..1024u64)
        .map(|i| (i.wrapping_mul(31) ^ seed) as u8)
        .collect();
    v[..8].copy_from_slice(&seed.to_le_bytes());
    v
}

/// The median time of `f` over `samples` calls.
fn median_time(samples: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// 3: one more upsert after 10 and after `history` changes, hot and cold.
fn history(scale: &Scale) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    const WINDOW: usize = 100;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("history.redb");
    let store = AutomergeBackend::open(&path, OpenOptions::new())?;
    let docs = store.collection("docs");
    // Hot: the upserts right after the 10th, and those right after the last. A flush every
    // 1,000, as a store would flush, so that both windows begin a little after one: unflushed
    // writes are held in memory until redb's write buffer fills, and a window that began
    // before any went to the file would be timed without the writes every later one pays.
    let mut times = Vec::new();
    for seq in 1..=scale.history + WINDOW as u64 {
        let start = Instant::now();
        docs.upsert("long", value(seq))?;
        times.push(start.elapsed());
        if seq % 1_000 == 0 {
            store.flush()?;
        }
    }
    let median = |window: &mut [Duration]| -> Duration {
        window.sort();
        window[window.len() / 2]
    };
    let hot_early = median(&mut times[10..10 + WINDOW].to_vec());
    let hot_late = median(&mut times[scale.history as usize..].to_vec());
    for seq in 1..=10 {
        docs.upsert("short", value(seq))?;
    }
    store.close()?;

    // Cold: the first upsert of each document after a reopen, when nothing of it is in
    // memory (the backend keeps no documents loaded, so this is also what an evicted one costs).
    let mut cold_early = Vec::new();
    let mut cold_late = Vec::new();
    for sample in 0..scale.cold_samples as u64 {
        let store = AutomergeBackend::open(&path, OpenOptions::new())?;
        let docs = store.collection("docs");
        let mut order = [("short", &mut cold_early), ("long", &mut cold_late)];
        // The first write after an open also warms redb's page cache: take turns going first.
        if sample % 2 == 1 {
            order.reverse();
        }
        for (id, times) in order {
            let start = Instant::now();
            docs.upsert(id, value(2_000_000 + sample))?;
            times.push(start.elapsed());
        }
        store.close()?;
    }
    let (cold_early, cold_late) = (median(&mut cold_early), median(&mut cold_late));
    let n = scale.history;
    Ok(vec![
        Row {
            target: format!("3 history: upsert after {n} changes / after 10, hot"),
            measured: hot_late.as_secs_f64() / hot_early.as_secs_f64(),
            goal: Goal::AtMost(1.5),
            detail: format!("{hot_late:.1?} vs {hot_early:.1?}"),
        },
        Row {
            target: format!("3 history: upsert after {n} changes / after 10, cold"),
            measured: cold_late.as_secs_f64() / cold_early.as_secs_f64(),
            goal: Goal::AtMost(3.0),
            detail: format!("{cold_late:.1?} vs {cold_early:.1?}"),
        },
    ])
}

/// 4 and 5: `count` and open, on a database of `collection_docs` documents against one of 100.
fn count_and_open(scale: &Scale, dir: &Path) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let big = dir.join("big.redb");
    let small = dir.join("small.redb");
    for (path, documents) in [(&big, scale.collection_docs), (&small, 100)] {
        let store = AutomergeBackend::open(path, OpenOptions::new())?;
        let docs = store.collection("docs");
        for start in (0..documents).step_by(1_000) {
            let batch = (start..(start + 1_000).min(documents))
                .map(|i| (format!("doc-{i:08}"), i.to_le_bytes().to_vec()))
                .collect();
            docs.upsert_many(batch)?;
        }
        store.close()?;
    }
    let count_time = |path: &Path| -> Result<Duration, Box<dyn std::error::Error>> {
        let store = AutomergeBackend::open(path, OpenOptions::new())?;
        let docs = store.collection("docs");
        let time = median_time(1_001, || {
            docs.count().expect("count");
        });
        store.close()?;
        Ok(time)
    };
    let (count_big, count_small) = (count_time(&big)?, count_time(&small)?);
    let open_time = |path: &Path, options: OpenOptions| -> Duration {
        median_time(11, || {
            let store = AutomergeBackend::open(path, options.clone()).expect("open");
            store.close().expect("close");
        })
    };
    let trusted = OpenOptions::new().check_integrity(false);
    let (open_big, open_small) = (
        open_time(&big, OpenOptions::new()),
        open_time(&small, OpenOptions::new()),
    );
    let (trusted_big, trusted_small) =
        (open_time(&big, trusted.clone()), open_time(&small, trusted));
    let n = scale.collection_docs;
    Ok(vec![
        Row {
            target: format!("4 count: {n} documents / 100"),
            measured: count_big.as_secs_f64() / count_small.as_secs_f64(),
            goal: Goal::AtMost(2.0),
            detail: format!("{count_big:.1?} vs {count_small:.1?}"),
        },
        Row {
            target: format!("5 open (and close), trusted: {n} documents / 100"),
            measured: trusted_big.as_secs_f64() / trusted_small.as_secs_f64(),
            goal: Goal::AtMost(3.0),
            detail: format!(
                "{trusted_big:.1?} vs {trusted_small:.1?} with `check_integrity(false)`"
            ),
        },
        Row {
            target: format!("5 open (and close), checked (the default): {n} documents / 100"),
            measured: open_big.as_secs_f64() / open_small.as_secs_f64(),
            goal: Goal::AtMost(3.0),
            detail: format!("{open_big:.1?} vs {open_small:.1?}; verifies every page checksum"),
        },
    ])
}

/// 6: peak RSS of ycsb-a run ten times longer.
fn memory(runner: &Runner) -> Result<Row, String> {
    let ops = runner.scale.rss_ops;
    let rss = |ops: u64| -> Result<u64, String> {
        let report = runner.run("ycsb-a", "automerge", &["--ops", &ops.to_string()])?;
        report
            .peak_rss_bytes
            .ok_or_else(|| "this platform reports no peak RSS".to_owned())
    };
    let (short, long) = (rss(ops)?, rss(ops * 10)?);
    Ok(Row {
        target: format!("6 memory: ycsb-a peak RSS, {} / {ops} operations", ops * 10),
        measured: long as f64 / short as f64,
        goal: Goal::AtMost(1.1),
        detail: format!(
            "{:.1} MiB vs {:.1} MiB",
            long as f64 / 1048576.0,
            short as f64 / 1048576.0
        ),
    })
}

/// 7: EveryWrite, four writers against one.
fn durable_writes(runner: &Runner) -> Result<Vec<Row>, String> {
    let ops = runner.scale.durable_ops;
    let mut rows = Vec::new();
    for backend in ["automerge-durable", "redb-durable"] {
        // Syncs on a shared disk vary from run to run: the median of `repeat` runs.
        let throughput = |threads: u64| -> Result<f64, String> {
            let (ops, threads) = ((ops * threads).to_string(), threads.to_string());
            let repeat = runner.scale.repeat.to_string();
            let args = ["--ops", &ops, "--threads", &threads, "--repeat", &repeat];
            let report = runner.run("update-only", backend, &args)?;
            Ok(report.run.throughput_ops_per_sec)
        };
        let (one, four) = (throughput(1)?, throughput(4)?);
        rows.push(Row {
            target: format!("7 durable: {backend} update-only, 4 writers / 1"),
            measured: four / one,
            goal: if backend.starts_with("automerge") {
                Goal::AtLeast(2.5)
            } else {
                Goal::Report
            },
            detail: format!("{} vs {}", kops(four), kops(one)),
        });
    }
    Ok(rows)
}

/// 8: file bytes per live document after compaction, on ycsb-a's dataset; and history-growth's
/// space amplification as it runs.
fn space(runner: &Runner) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let data = runner.work.join("space");
    let data_arg = data.to_str().ok_or("temporary path is not UTF-8")?;
    let mut per_doc = Vec::new();
    for backend in ["automerge", "redb"] {
        runner.run("ycsb-a", backend, &["--data", data_arg])?;
        let path = data.join(format!("ycsb-a-{backend}")).join("store.redb");
        let documents = match backend {
            "automerge" => {
                let store = AutomergeBackend::open(&path, OpenOptions::new())?;
                store.compact()?;
                let documents = documents(&store)?;
                store.close()?;
                documents
            }
            _ => {
                let store = RedbBackend::open(&path, OpenOptions::new())?;
                store.compact()?;
                let documents = documents(&store)?;
                store.close()?;
                documents
            }
        };
        per_doc.push(std::fs::metadata(&path)?.len() as f64 / documents as f64);
    }
    let growth = |backend| -> Result<f64, String> {
        let ops = runner.scale.write_ops.to_string();
        runner
            .run("history-growth", backend, &["--ops", &ops])?
            .space_amplification
            .ok_or_else(|| "no space amplification for a file backend".to_owned())
    };
    let (growth_automerge, growth_redb) = (growth("automerge")?, growth("redb")?);
    Ok(vec![
        Row {
            target: "8 space: ycsb-a file bytes per document after compaction, automerge / redb"
                .into(),
            measured: per_doc[0] / per_doc[1],
            goal: Goal::AtMost(2.0),
            detail: format!("{:.0} B vs {:.0} B", per_doc[0], per_doc[1]),
        },
        Row {
            target: "8 space: history-growth space amplification, automerge / redb".into(),
            measured: growth_automerge / growth_redb,
            goal: Goal::Report,
            detail: format!("{growth_automerge:.1} vs {growth_redb:.1} (file bytes / live bytes)"),
        },
    ])
}

fn documents(store: &dyn StorageBackend) -> storebench::Result<usize> {
    let mut total = 0;
    for name in store.list_collections() {
        total += store.collection(&name).count()?;
    }
    Ok(total)
}
