//! Workloads: YCSB-compatible TOML files describing a dataset and an operation mix, and the
//! distributions they draw from.

mod distribution;
mod error;
mod file;
mod keys;
mod load;
mod operation;
mod presets;
mod properties;
mod record;
mod request;
mod rng;
mod unknown;
mod validate;
#[allow(clippy::module_inception)] // the module is named for the type it defines
mod workload;
mod zipfian;

pub use distribution::{FieldLength, ScanLength};
pub use error::WorkloadError;
pub use keys::InsertOrder;
pub use operation::{Operation, OperationMix};
pub use presets::{PRESETS, preset};
pub use request::RequestDistribution;
pub use rng::Rng;
pub use workload::Workload;

// The generators a run draws from, and the records it writes: the runner's, not a user's.
pub(crate) use distribution::LengthChooser;
pub(crate) use keys::{KeySpace, write_key};
pub(crate) use record::{BadRecord, decode_record, encode_record, with_field};
pub(crate) use request::KeyChooser;
