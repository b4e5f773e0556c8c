//! Reports: what a run measured, as `report.json` (versioned schema), HdrHistogram files and a
//! YCSB-style summary. Renderers read reports; they never re-run anything.

mod comparable;
mod compare;
mod environment;
mod from_outcome;
mod hgrm;
mod html;
mod interval_log;
mod judge;
mod markdown;
mod merge;
mod palette;
mod plot;
mod resource_plot;
mod resources;
mod schema;
mod summary;
mod table;
mod write;

// The API: a report's shape, reading and writing reports, the YCSB summary, a comparison
// table, and `compare`'s verdicts for a gate written in Rust.
pub use compare::{CompareError, MetricChange, compare, load_reports};
pub use judge::{GROSS_FACTOR, MIN_RUNS, MIN_SAMPLES_ABOVE, Verdict};
pub use markdown::comparison_markdown;
pub use schema::{
    BackendInfo, Latency, Machine, OLDEST_READABLE_SCHEMA_VERSION, OperationStats, Phase, Repeat,
    RepeatLatency, Report, ResourceTotals, Resources, SCHEMA_VERSION, WorkloadInfo,
};
pub use summary::ycsb_summary;
pub use write::{WriteError, write_run};

// The rest is the command's: its tables, plots, pages and files.
pub(crate) use comparable::differences_among;
pub(crate) use compare::{
    Located, action_benchmark_json, comparison_table, failed_runs, incomparable, load_readable,
    unpaired,
};
pub(crate) use html::{comparison_page, mesh_page, report_page};
pub(crate) use markdown::{by_table, index_markdown, operations, workload_markdown};
pub(crate) use merge::{MergeError, merge_clients};
pub(crate) use plot::{latency_spectrum_svg, throughput_bars_svg, throughput_timeline_svg};
pub(crate) use write::{Invocation, write_in_turns};
