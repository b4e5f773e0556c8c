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

pub use comparable::{differences, differences_among};
pub use compare::{
    CompareError, MetricChange, action_benchmark_json, compare, comparison_table, failed_runs,
    incomparable, load_reports, unpaired,
};
pub use hgrm::percentile_distribution;
// The pages and what only they use are the command's, not the API's.
pub(crate) use compare::{Located, load_readable};
pub(crate) use html::{comparison_page, mesh_page, report_page};
pub use interval_log::interval_log;
pub use judge::{GROSS_FACTOR, MIN_RUNS, MIN_SAMPLES_ABOVE, Verdict};
pub use markdown::{
    by_table, by_workload, comparison_markdown, index_markdown, operations, workload_markdown,
};
pub use merge::{MergeError, merge_clients};
pub use plot::{latency_spectrum_svg, throughput_bars_svg, throughput_timeline_svg};
pub use schema::{
    BackendInfo, Latency, Machine, OLDEST_READABLE_SCHEMA_VERSION, OperationStats, Phase, Repeat,
    RepeatLatency, Report, ResourceTotals, Resources, SCHEMA_VERSION, WorkloadInfo,
};
pub use summary::ycsb_summary;
pub(crate) use write::write_in_turns;
pub use write::{Invocation, WriteError, write_repeated, write_run};
