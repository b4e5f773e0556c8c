//! The HTML pages, opened in a real browser: headless Chromium loads each page as a user would
//! (from a file, with nothing else), and a checker added to a copy of the page reports what
//! rendered. A page fails on any console message or script error, on anything fetched, on a
//! chart that drew nothing or whose legend lacks a series it should show, and on a table
//! that lacks a number of the reports it was made from.
//!
//! Where no Chromium can be found the browser tests say so on standard error and return; with
//! `STOREBENCH_REQUIRE_BROWSER` set (as `.ci/run` sets it, having installed Chromium) they
//! fail instead, so a gate never passes for want of a browser.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn storebench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_storebench"))
        .args(args)
        .output()
        .expect("storebench runs")
}

fn succeeds(args: &[&str]) {
    let out = storebench(args);
    assert!(
        out.status.success(),
        "storebench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Chromium: `STOREBENCH_CHROMIUM`, or the first of its usual names on the `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STOREBENCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome", "chrome"].map(|n| dir.join(n))
        })
        .find(|candidate| candidate.is_file())
}

/// Chromium, or `None` after saying why the test does not run; a panic instead where a
/// browser is required.
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("STOREBENCH_REQUIRE_BROWSER").is_none(),
            "STOREBENCH_REQUIRE_BROWSER is set and no Chromium was found (set \
             STOREBENCH_CHROMIUM, or install Debian's chromium)"
        );
        // Straight to the process's standard error: the test harness captures `eprintln!`
        // of a passing test, and a skip nobody sees would pass silently.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no Chromium on the PATH or in STOREBENCH_CHROMIUM, so the page was not \
             opened in a browser (`apt-get install chromium` to run this test)"
        );
    }
    found
}

/// Installed first thing in the page's head: catches every error and console message the
/// page's own content could cause.
const HOOK: &str = "<script>window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
for (const level of ['error', 'warn', 'log', 'info']) {
  const original = console[level];
  console[level] = (...args) => { window.__errors.push(level + ': ' + args.join(' ')); original(...args); };
}</script>";

/// Run once the page has loaded and laid out: what every chart and table shows. A series is
/// drawn when shapes in its colour (the palette's, in series order) are there, and named when
/// a text of the chart (a legend entry, a bar's label) is its name exactly.
const CHECKER: &str = "<script>window.addEventListener('load', () => {
  const palette = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000',
    '#F0E442'];
  const figures = [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    const texts = svg ? [...svg.querySelectorAll('text')].map(t => t.textContent.trim()) : [];
    const series = (f.dataset.series || '').split('\\n').filter(s => s.length > 0);
    const shapes = colour => svg ? [...svg.querySelectorAll('*')].filter(e =>
      e.getAttribute('fill') === colour || e.getAttribute('stroke') === colour).length : 0;
    return {
      caption: f.querySelector('figcaption') ? f.querySelector('figcaption').textContent : '',
      width: box.width, height: box.height,
      series: series.length,
      shapes: series.map((_, i) => shapes(palette[i % palette.length])),
      missing: series.filter(s => !texts.includes(s)),
    };
  });
  const cells = [...document.querySelectorAll('td')].map(td => td.textContent);
  const tables = [...document.querySelectorAll('table')].map(t => ({
    headers: [...t.querySelectorAll('thead th')].map(h => h.textContent),
    rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.children].map(c => c.textContent)),
  }));
  const fetched = performance.getEntriesByType('resource').map(r => r.name);
  const out = document.createElement('pre');
  out.id = 'storebench-check';
  out.textContent = JSON.stringify({ figures, cells, tables, fetched, errors: window.__errors });
  document.body.appendChild(out);
});</script>";

/// What the browser made of `page`: the checker's findings.
fn open_in(chromium: &Path, page: &Path) -> Value {
    let html = std::fs::read_to_string(page).expect("the page");
    let checked = html
        .replacen("<head>", &format!("<head>\n{HOOK}"), 1)
        .replacen("</body>", &format!("{CHECKER}\n</body>"), 1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = page.with_file_name("checked.html");
    std::fs::write(&copy, checked).expect("the checked copy");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", dir.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", copy.display()))
        .output()
        .expect("Chromium starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "Chromium failed: {stderr}");
    // Chromium logs every console message of a page as `CONSOLE`; the page has no script
    // of its own, and the checker writes none.
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"storebench-check\">")
        .map(|at| at + "<pre id=\"storebench-check\">".len())
        .unwrap_or_else(|| panic!("the checker did not run: {dom}"));
    let end = start + dom[start..].find("</pre>").expect("the checker's end");
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).expect("the checker's JSON")
}

/// Every chart drew something the size of a chart, with every series its legend should
/// show; nothing was fetched and nothing went wrong. Returns the charts' captions.
fn assert_rendered(found: &Value) -> Vec<String> {
    assert_eq!(found["errors"], Value::Array(vec![]), "errors: {found:#}");
    assert_eq!(found["fetched"], Value::Array(vec![]), "fetched: {found:#}");
    let figures = found["figures"].as_array().expect("figures");
    assert!(!figures.is_empty(), "no chart at all: {found:#}");
    for figure in figures {
        let caption = &figure["caption"];
        assert!(
            figure["width"].as_f64() > Some(200.0) && figure["height"].as_f64() > Some(100.0),
            "a chart drew no area: {figure:#}"
        );
        assert!(
            figure["series"].as_u64() > Some(0),
            "{caption}: no series named"
        );
        // A bar is one shape; a line has its line, its markers and its legend entry.
        let least = if caption
            .as_str()
            .is_some_and(|c| c.starts_with("Throughput of"))
        {
            1
        } else {
            3
        };
        for (i, shapes) in figure["shapes"]
            .as_array()
            .expect("shapes")
            .iter()
            .enumerate()
        {
            assert!(
                shapes.as_u64() >= Some(least),
                "{caption}: series {i} drew {shapes} shapes in its colour"
            );
        }
        assert_eq!(
            figure["missing"],
            Value::Array(vec![]),
            "{caption}: series missing from its legend"
        );
    }
    figures
        .iter()
        .map(|f| f["caption"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn cells(found: &Value) -> Vec<String> {
    found["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A run of three backends, twice each, rendered: its report directory.
fn rendered_run(dir: &Path) -> PathBuf {
    let out = dir.join("reports");
    let out_arg = out.to_str().expect("a UTF-8 path");
    succeeds(&[
        "run",
        "ycsb-a",
        "--backend",
        "memory,redb,automerge",
        "--ops",
        "2000",
        "--repeat",
        "2",
        "--quiet",
        "--out",
        out_arg,
    ]);
    succeeds(&["report", out_arg]);
    out
}

#[test]
fn the_report_page_renders_in_a_browser_with_every_chart_and_number() {
    let Some(chromium) = browser() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = rendered_run(dir.path());
    let found = open_in(&chromium, &out.join("index.html"));
    let captions = assert_rendered(&found);
    for wanted in [
        "Throughput of the run phase",
        "read: latency at each percentile",
        "update: latency at each percentile",
        "Operations completed in each whole second",
        "Resident memory",
        "CPU time",
    ] {
        assert!(
            captions.iter().any(|c| c.starts_with(wanted)),
            "no chart \"{wanted}…\" among {captions:#?}"
        );
    }
    // The measures table holds each report's numbers as report.json has them, in the row of
    // the measure and the column of the backend.
    let tables = found["tables"].as_array().expect("tables");
    let table = |first: &str| {
        tables
            .iter()
            .find(|t| t["headers"][0] == first)
            .unwrap_or_else(|| panic!("no table headed {first}"))
    };
    let (measures, repeats) = (table("measure"), table("backend"));
    let cell = |measure: &str, backend: &str| -> String {
        let headers = measures["headers"].as_array().expect("headers");
        let column = headers
            .iter()
            .position(|h| h == backend)
            .unwrap_or_else(|| panic!("no column {backend}"));
        let rows = measures["rows"].as_array().expect("rows");
        let row = rows
            .iter()
            .find(|r| r[0] == measure)
            .unwrap_or_else(|| panic!("no row {measure}"));
        row[column].as_str().expect("text").to_owned()
    };
    for backend in ["memory", "redb", "automerge"] {
        let path = out.join("ycsb-a").join(backend).join("report.json");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("report.json"))
                .expect("a report");
        let number = |v: &Value, decimals: usize| format!("{:.*}", decimals, v.as_f64().unwrap());
        let throughput = number(&report["run"]["throughput_ops_per_sec"], 0);
        assert_eq!(cell("ops/s", backend), throughput, "{backend}");
        for op in report["operations"].as_array().expect("operations") {
            let name = op["operation"].as_str().expect("a name");
            let p50 = format!("{:.1}", op["latency_ns"]["p50"].as_f64().unwrap() / 1000.0);
            assert_eq!(cell(&format!("{name} p50 µs"), backend), p50, "{backend}");
        }
        let row = repeats["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r[0] == backend)
            .unwrap_or_else(|| panic!("no repeats of {backend}"));
        for run in report["repeat"]["throughput_ops_per_sec"]
            .as_array()
            .expect("repeats")
        {
            let run = Value::String(number(run, 0));
            assert!(
                row.as_array().expect("cells").contains(&run),
                "{backend}: no {run}"
            );
        }
    }
}

#[test]
fn the_comparison_page_renders_in_a_browser_with_its_verdicts() {
    let Some(chromium) = browser() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = rendered_run(dir.path());
    let page = dir.path().join("compare.html");
    let out_arg = out.to_str().expect("a UTF-8 path");
    // A set against itself: two runs a side, so not judged (exit 4), but the page is written.
    let compared = storebench(&[
        "compare",
        out_arg,
        out_arg,
        "--html",
        page.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(compared.status.code(), Some(4), "{compared:?}");
    let found = open_in(&chromium, &page);
    assert_rendered(&found);
    let cells = cells(&found);
    assert!(cells.iter().any(|c| c == "insufficient data"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "ycsb-a/redb"), "{cells:?}");
}

#[test]
fn the_mesh_page_renders_in_a_browser() {
    let Some(chromium) = browser() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let workload = dir.path().join("small-heal.toml");
    std::fs::write(
        &workload,
        "name = \"small-heal\"\nreplicas = 3\ndocuments = 10\nvalue_bytes = 64\n\
         operations = 300\nsync_every = 20\ntopology = \"ring\"\n\n\
         [partition]\nreplica = 2\nfrom = 100\nto = 200\n",
    )
    .expect("the workload");
    let out = dir.path().join("mesh");
    succeeds(&[
        "mesh",
        workload.to_str().expect("a UTF-8 path"),
        "--quiet",
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    let found = open_in(&chromium, &out.join("index.html"));
    let captions = assert_rendered(&found);
    assert_eq!(captions.len(), 4, "{captions:#?}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("small-heal/automerge/mesh.json")).expect("mesh.json"),
    )
    .expect("a report");
    let cells = cells(&found);
    let rounds = report["rounds"].as_u64().expect("rounds").to_string();
    assert!(cells.contains(&rounds), "no {rounds} rounds in {cells:?}");
    assert!(
        report["peak_divergence"].as_u64() > Some(0),
        "the partition diverged nothing"
    );
}

/// Reports that cannot be read are skipped and said to be; the page holds the rest.
#[test]
fn a_page_is_written_for_what_can_be_read_and_says_what_was_skipped() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = rendered_run(dir.path());
    let runs = out.join("ycsb-a");
    // A report from the future, a truncated one, and a run without its .hgrm.
    let future = runs.join("memory/report.json");
    let text = std::fs::read_to_string(&future).expect("report.json");
    let value: Value = serde_json::from_str(&text).expect("a report");
    let schema = value["schema_version"].as_u64().expect("a version");
    std::fs::write(
        &future,
        text.replacen(
            &format!("\"schema_version\": {schema}"),
            &format!("\"schema_version\": {}", schema + 100),
            1,
        ),
    )
    .expect("rewritten");
    let truncated = runs.join("redb/report.json");
    let text = std::fs::read_to_string(&truncated).expect("report.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).expect("truncated");
    std::fs::remove_file(runs.join("automerge/read.hgrm")).expect("removed");

    let out_arg = out.to_str().expect("a UTF-8 path");
    let rendered = storebench(&["report", out_arg]);
    assert!(rendered.status.success(), "{rendered:?}");
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(stderr.contains("skipped"), "{stderr}");
    let page = std::fs::read_to_string(out.join("index.html")).expect("the page");
    assert!(page.contains("2 reports skipped, not readable"), "{page}");
    assert!(page.contains(&format!("report schema version {}", schema + 100)));
    assert!(page.contains("redb/report.json: not a readable report"));
    assert!(
        page.contains("read.hgrm: No such file"),
        "the missing .hgrm is not said"
    );
    assert!(page.contains("<th scope=\"col\">automerge</th>"));

    // Nothing readable at all: exit 2.
    std::fs::write(runs.join("automerge/report.json"), "{").expect("truncated");
    let rendered = storebench(&["report", out_arg]);
    assert_eq!(rendered.status.code(), Some(2), "{rendered:?}");
}
