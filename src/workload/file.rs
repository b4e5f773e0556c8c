//! The TOML shape of a workload file. Keys are YCSB's property names where YCSB has one; every
//! key is optional (YCSB's default applies) and an unknown key is an error.

use serde::{Deserialize, Serialize};

/// A workload file exactly as written, before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkloadFile {
    pub description: Option<String>,

    // Dataset.
    pub recordcount: Option<i64>,
    pub insertstart: Option<i64>,
    pub insertcount: Option<i64>,
    pub insertorder: Option<String>,
    pub zeropadding: Option<i64>,
    pub fieldcount: Option<i64>,
    pub fieldnameprefix: Option<String>,
    pub readallfields: Option<bool>,
    pub writeallfields: Option<bool>,
    pub fieldlength: Option<i64>,
    pub minfieldlength: Option<i64>,
    pub fieldlengthdistribution: Option<String>,
    /// `[[size, weight], ...]`: this project's inline form of YCSB's histogram file.
    pub fieldlengthhistogram: Option<Vec<(i64, f64)>>,
    pub collections: Option<Vec<String>>,

    // Run length.
    pub operationcount: Option<i64>,
    /// Seconds (YCSB's `maxexecutiontime`); when set, the run stops at this time.
    pub maxexecutiontime: Option<f64>,
    pub warmupoperationcount: Option<i64>,
    pub warmuptime: Option<f64>,

    // Operation mix.
    pub readproportion: Option<f64>,
    pub updateproportion: Option<f64>,
    pub insertproportion: Option<f64>,
    pub scanproportion: Option<f64>,
    pub readmodifywriteproportion: Option<f64>,
    pub deleteproportion: Option<f64>,
    pub findproportion: Option<f64>,
    pub countproportion: Option<f64>,
    pub scanprefixproportion: Option<f64>,

    // Key choice.
    pub requestdistribution: Option<String>,
    pub zipfianconstant: Option<f64>,
    pub hotspotdatafraction: Option<f64>,
    pub hotspotopnfraction: Option<f64>,
    pub exponential: Option<ExponentialFile>,

    // Scans.
    pub minscanlength: Option<i64>,
    pub maxscanlength: Option<i64>,
    pub scanlengthdistribution: Option<String>,
    pub scanprefixlength: Option<i64>,

    // Execution.
    pub threadcount: Option<i64>,
    /// Operations per second across all threads; 0 or absent runs as fast as possible.
    pub target: Option<f64>,
    pub seed: Option<u64>,
    pub loadbatchsize: Option<i64>,

    // Backend options.
    pub durability: Option<String>,
}

/// YCSB's `exponential.percentile` and `exponential.frac`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExponentialFile {
    pub percentile: Option<f64>,
    pub frac: Option<f64>,
}
