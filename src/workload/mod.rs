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

pub use distribution::{FieldLength, LengthChooser, ScanLength};
pub use error::WorkloadError;
pub use keys::{InsertOrder, KeySpace};
pub use operation::{Operation, OperationMix};
pub use presets::{PRESETS, preset};
pub use record::{BadRecord, RECORD_VERSION, decode_record, encode_record, with_field};
pub use request::{KeyChooser, KeyRange, RequestDistribution};
pub use rng::Rng;
pub use workload::Workload;

pub(crate) use keys::write_key;
