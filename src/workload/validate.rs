//! From the file as written to a `Workload` that can run: defaults applied, every value
//! checked, every error naming its field.

use std::path::Path;
use std::time::Duration;

use super::distribution::{FieldLength, ScanLength};
use super::error::WorkloadError;
use super::file::WorkloadFile;
use super::keys::InsertOrder;
use super::operation::{Operation, OperationMix};
use super::request::RequestDistribution;
use super::workload::Workload;
use crate::Durability;

/// The longest run or warm-up: a year. Longer is a typo, and would overflow clocks.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;
/// Open-loop targets: at least one operation a day, at most a billion a second.
const MIN_TARGET: f64 = 1.0 / 86_400.0;
const MAX_TARGET: f64 = 1e9;

pub(crate) fn validate(
    name: &str,
    file: WorkloadFile,
    path: &Path,
) -> Result<Workload, WorkloadError> {
    let invalid = |field: &'static str, message: String| WorkloadError::Invalid {
        path: path.to_owned(),
        field,
        message,
    };
    let count =
        |field: &'static str, value: Option<i64>, default: u64| -> Result<u64, WorkloadError> {
            match value {
                None => Ok(default),
                Some(v) if v >= 0 => Ok(v as u64),
                Some(v) => Err(invalid(field, format!("must be zero or more, not {v}"))),
            }
        };
    let positive =
        |field: &'static str, value: Option<i64>, default: u64| -> Result<usize, WorkloadError> {
            match value {
                None => Ok(default as usize),
                Some(v) if v > 0 => Ok(v as usize),
                Some(v) => Err(invalid(field, format!("must be at least 1, not {v}"))),
            }
        };
    let fraction =
        |field: &'static str, value: Option<f64>, default: f64| -> Result<f64, WorkloadError> {
            let v = value.unwrap_or(default);
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(invalid(field, format!("must be between 0 and 1, not {v}")))
            }
        };
    let seconds =
        |field: &'static str, value: Option<f64>| -> Result<Option<Duration>, WorkloadError> {
            match value {
                None => Ok(None),
                Some(s) if s > 0.0 && s <= MAX_SECONDS => Ok(Some(Duration::from_secs_f64(s))),
                Some(s) => Err(invalid(
                    field,
                    format!("must be a positive number of seconds up to {MAX_SECONDS}, not {s}"),
                )),
            }
        };
    let skew = |field: &'static str, value: Option<f64>| -> Result<f64, WorkloadError> {
        let c = value.unwrap_or(0.99);
        if c > 0.0 && c.is_finite() && (c - 1.0).abs() > 1e-9 {
            Ok(c)
        } else {
            Err(invalid(
                field,
                format!("must be positive and not 1, not {c}"),
            ))
        }
    };

    let record_count = count("recordcount", file.recordcount, 1000)?;
    let insert_start = count("insertstart", file.insertstart, 0)?;
    if insert_start > record_count {
        return Err(invalid(
            "insertstart",
            format!("{insert_start} is beyond recordcount {record_count}"),
        ));
    }
    let insert_count = count("insertcount", file.insertcount, record_count - insert_start)?;
    if insert_start + insert_count > record_count {
        return Err(invalid(
            "insertcount",
            format!(
                "insertstart {insert_start} + insertcount {insert_count} is beyond recordcount \
                 {record_count}: the run's inserts would collide with loaded keys"
            ),
        ));
    }
    let zero_padding = positive("zeropadding", file.zeropadding, 1)?;
    let insert_order = match file.insertorder.as_deref() {
        None | Some("hashed") => InsertOrder::Hashed,
        Some("ordered") => InsertOrder::Ordered,
        Some(other) => {
            return Err(invalid(
                "insertorder",
                format!("`{other}` is not `hashed` or `ordered`"),
            ));
        }
    };

    let field_count = positive("fieldcount", file.fieldcount, 10)?;
    let field_name_prefix = file
        .fieldnameprefix
        .clone()
        .unwrap_or_else(|| "field".into());
    // The record encoding gives a name one length byte; 20 digits are the most a number takes.
    if field_name_prefix.len() > 235 {
        return Err(invalid(
            "fieldnameprefix",
            format!("is {} bytes; at most 235 fit", field_name_prefix.len()),
        ));
    }
    let field_length = positive("fieldlength", file.fieldlength, 100)?;
    let min_field_length = positive("minfieldlength", file.minfieldlength, 1)?;
    let field_length = match file.fieldlengthdistribution.as_deref() {
        None | Some("constant") => FieldLength::Constant {
            bytes: field_length,
        },
        Some(kind @ ("uniform" | "zipfian")) => {
            if min_field_length > field_length {
                return Err(invalid(
                    "minfieldlength",
                    format!("{min_field_length} is more than fieldlength {field_length}"),
                ));
            }
            let (min, max) = (min_field_length, field_length);
            if kind == "uniform" {
                FieldLength::Uniform { min, max }
            } else {
                FieldLength::Zipfian { min, max }
            }
        }
        Some("histogram") => {
            let buckets = file.fieldlengthhistogram.clone().unwrap_or_default();
            if buckets.is_empty() {
                return Err(invalid(
                    "fieldlengthhistogram",
                    "is required by the histogram distribution: [[bytes, weight], ...]".into(),
                ));
            }
            let mut checked = Vec::with_capacity(buckets.len());
            for (bytes, weight) in buckets {
                if bytes <= 0 || !(weight >= 0.0 && weight.is_finite()) {
                    return Err(invalid(
                        "fieldlengthhistogram",
                        format!(
                            "[{bytes}, {weight}] needs a positive length and a weight of 0 or more"
                        ),
                    ));
                }
                checked.push((bytes as usize, weight));
            }
            if checked.iter().all(|b| b.1 == 0.0) {
                return Err(invalid("fieldlengthhistogram", "every weight is 0".into()));
            }
            FieldLength::Histogram { buckets: checked }
        }
        Some(other) => {
            return Err(invalid(
                "fieldlengthdistribution",
                format!("`{other}` is not one of constant, uniform, zipfian, histogram"),
            ));
        }
    };
    if file.fieldlengthhistogram.is_some() && !matches!(field_length, FieldLength::Histogram { .. })
    {
        return Err(invalid(
            "fieldlengthhistogram",
            "is only used with fieldlengthdistribution = \"histogram\"".into(),
        ));
    }

    let collections = file
        .collections
        .clone()
        .unwrap_or_else(|| vec!["usertable".into()]);
    if collections.is_empty() {
        return Err(invalid(
            "collections",
            "needs at least one collection name".into(),
        ));
    }
    let mut unique = collections.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != collections.len() {
        return Err(invalid("collections", "names a collection twice".into()));
    }

    let mix = mix(&file).map_err(|(field, message)| invalid(field, message))?;

    let request_distribution = match file.requestdistribution.as_deref() {
        Some("zipfian") => RequestDistribution::Zipfian {
            constant: skew("zipfianconstant", file.zipfianconstant)?,
        },
        Some("true-zipfian") => RequestDistribution::TrueZipfian {
            constant: skew("zipfianconstant", file.zipfianconstant)?,
        },
        None | Some("uniform") => RequestDistribution::Uniform,
        Some("latest") => RequestDistribution::Latest {
            constant: skew("zipfianconstant", file.zipfianconstant)?,
        },
        Some("hotspot") => RequestDistribution::Hotspot {
            data_fraction: fraction("hotspotdatafraction", file.hotspotdatafraction, 0.2)?,
            operation_fraction: fraction("hotspotopnfraction", file.hotspotopnfraction, 0.8)?,
        },
        Some("sequential") => RequestDistribution::Sequential,
        Some("exponential") => {
            let e = file.exponential.clone().unwrap_or_default();
            let percentile = e.percentile.unwrap_or(95.0);
            if !(percentile > 0.0 && percentile < 100.0) {
                return Err(invalid(
                    "exponential.percentile",
                    format!("must be in (0, 100), not {percentile}"),
                ));
            }
            let frac = e.frac.unwrap_or(0.8571428571);
            // Above 1 the distribution's mass falls mostly beyond the key space, where draws
            // are repeated: it would spin rather than choose.
            if !(frac > 0.0 && frac <= 1.0) {
                return Err(invalid(
                    "exponential.frac",
                    format!("must be in (0, 1], not {frac}"),
                ));
            }
            RequestDistribution::Exponential { percentile, frac }
        }
        Some(other) => {
            return Err(invalid(
                "requestdistribution",
                format!(
                    "`{other}` is not one of uniform, zipfian, latest, hotspot, sequential, \
                     exponential, true-zipfian"
                ),
            ));
        }
    };

    let scan_length = ScanLength {
        min: positive("minscanlength", file.minscanlength, 1)?,
        max: positive("maxscanlength", file.maxscanlength, 1000)?,
        zipfian: match file.scanlengthdistribution.as_deref() {
            None | Some("uniform") => false,
            Some("zipfian") => true,
            Some(other) => {
                return Err(invalid(
                    "scanlengthdistribution",
                    format!("`{other}` is not `uniform` or `zipfian`"),
                ));
            }
        },
    };
    if scan_length.min > scan_length.max {
        return Err(invalid(
            "minscanlength",
            format!(
                "{} is more than maxscanlength {}",
                scan_length.min, scan_length.max
            ),
        ));
    }

    let durability = match file.durability.as_deref() {
        None => Durability::default(),
        Some(name) => name
            .parse()
            .map_err(|e: crate::UnknownDurability| invalid("durability", e.to_string()))?,
    };

    let target = match file.target {
        None => None,
        Some(0.0) => None,
        Some(t) if (MIN_TARGET..=MAX_TARGET).contains(&t) => Some(t),
        Some(t) => {
            return Err(invalid(
                "target",
                format!(
                    "must be 0 (unthrottled) or between {MIN_TARGET} and {MAX_TARGET} operations \
                     per second, not {t}"
                ),
            ));
        }
    };

    let workload = Workload {
        name: name.to_owned(),
        description: file.description.unwrap_or_default(),
        record_count,
        insert_start,
        insert_count,
        insert_order,
        zero_padding,
        field_count,
        field_name_prefix,
        field_length,
        read_all_fields: file.readallfields.unwrap_or(true),
        write_all_fields: file.writeallfields.unwrap_or(false),
        collections,
        operation_count: count("operationcount", file.operationcount, 1000)?,
        operation_count_in_file: None,
        max_execution_time: seconds("maxexecutiontime", file.maxexecutiontime)?,
        warmup_operation_count: count("warmupoperationcount", file.warmupoperationcount, 0)?,
        warmup_time: seconds("warmuptime", file.warmuptime)?,
        mix,
        insert_proportion: file.insertproportion.unwrap_or(0.0),
        request_distribution,
        scan_length,
        scan_prefix_length: positive("scanprefixlength", file.scanprefixlength, 8)?,
        threads: positive("threadcount", file.threadcount, 1)?,
        target,
        seed: file.seed.unwrap_or(1),
        load_batch_size: positive("loadbatchsize", file.loadbatchsize, 1)?,
        ignored_properties: Vec::new(),
        durability,
    };
    if workload.insert_count == 0 && workload.record_count > 0 && workload.reads_existing() {
        return Err(invalid(
            "insertcount",
            "is 0, but the mix reads, updates, scans or deletes existing records, and YCSB's \
             key choice draws them from this client's insertstart..insertstart+insertcount"
                .into(),
        ));
    }
    if workload.record_count == 0 && workload.reads_existing() {
        return Err(invalid(
            "recordcount",
            "is 0, but the mix reads, updates, scans or deletes existing records: load some \
             records or keep only insert and count"
                .into(),
        ));
    }
    Ok(workload)
}

/// The proportions, checked: each in [0, 1], not all 0. Each one the file leaves out takes
/// YCSB's default (`readproportion` 0.95, `updateproportion` 0.05, the rest 0), and the mix is
/// the proportions divided by their sum, as YCSB's `DiscreteGenerator` weighs them: a file
/// that gives only `updateproportion = 1` gets about one read in two (0.95 / 1.95), as in YCSB.
fn mix(file: &WorkloadFile) -> Result<OperationMix, (&'static str, String)> {
    let given: [(Operation, &'static str, Option<f64>, f64); 9] = [
        (Operation::Read, "readproportion", file.readproportion, 0.95),
        (
            Operation::Update,
            "updateproportion",
            file.updateproportion,
            0.05,
        ),
        (
            Operation::Insert,
            "insertproportion",
            file.insertproportion,
            0.0,
        ),
        (Operation::Scan, "scanproportion", file.scanproportion, 0.0),
        (
            Operation::ReadModifyWrite,
            "readmodifywriteproportion",
            file.readmodifywriteproportion,
            0.0,
        ),
        (
            Operation::Delete,
            "deleteproportion",
            file.deleteproportion,
            0.0,
        ),
        (Operation::Find, "findproportion", file.findproportion, 0.0),
        (
            Operation::Count,
            "countproportion",
            file.countproportion,
            0.0,
        ),
        (
            Operation::ScanPrefix,
            "scanprefixproportion",
            file.scanprefixproportion,
            0.0,
        ),
    ];
    let mut weights = Vec::new();
    for (op, field, value, default) in given {
        let p = value.unwrap_or(default);
        if !(0.0..=1.0).contains(&p) {
            return Err((field, format!("must be between 0 and 1, not {p}")));
        }
        if p > 0.0 {
            weights.push((op, p));
        }
    }
    let sum: f64 = weights.iter().map(|p| p.1).sum();
    if sum == 0.0 {
        return Err((
            "readproportion",
            "every operation proportion is 0: there is nothing to run".into(),
        ));
    }
    let proportions = weights.into_iter().map(|(op, p)| (op, p / sum)).collect();
    Ok(OperationMix { proportions })
}
