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
    let rules = Rules { path };
    let (record_count, insert_start, insert_count) = key_range(&rules, &file)?;
    let collections = collections(&rules, &file)?;
    let field_name_prefix = file
        .fieldnameprefix
        .clone()
        .unwrap_or_else(|| "field".into());
    // The record encoding gives a name one length byte; 20 digits are the most a number takes.
    if field_name_prefix.len() > 235 {
        return Err(rules.invalid(
            "fieldnameprefix",
            format!("is {} bytes; at most 235 fit", field_name_prefix.len()),
        ));
    }
    let workload = Workload {
        name: name.to_owned(),
        description: file.description.clone().unwrap_or_default(),
        record_count,
        insert_start,
        insert_count,
        insert_order: rules.choice("insertorder", file.insertorder.as_deref(), &INSERT_ORDERS)?,
        zero_padding: rules.positive("zeropadding", file.zeropadding, 1)?,
        field_count: rules.positive("fieldcount", file.fieldcount, 10)?,
        field_name_prefix,
        field_length: field_length(&rules, &file)?,
        read_all_fields: file.readallfields.unwrap_or(true),
        write_all_fields: file.writeallfields.unwrap_or(false),
        collections,
        operation_count: rules.count("operationcount", file.operationcount, 1000)?,
        operation_count_in_file: None,
        max_execution_time: rules.seconds("maxexecutiontime", file.maxexecutiontime)?,
        warmup_operation_count: rules.count(
            "warmupoperationcount",
            file.warmupoperationcount,
            0,
        )?,
        warmup_time: rules.seconds("warmuptime", file.warmuptime)?,
        mix: mix(&file).map_err(|(field, message)| rules.invalid(field, message))?,
        insert_proportion: file.insertproportion.unwrap_or(0.0),
        request_distribution: rules.choice(
            "requestdistribution",
            file.requestdistribution.as_deref(),
            &REQUEST_DISTRIBUTIONS,
        )?(&rules, &file)?,
        scan_length: scan_length(&rules, &file)?,
        scan_prefix_length: rules.positive("scanprefixlength", file.scanprefixlength, 8)?,
        threads: rules.positive("threadcount", file.threadcount, 1)?,
        target: target(&rules, file.target)?,
        seed: file.seed.unwrap_or(1),
        load_batch_size: rules.positive("loadbatchsize", file.loadbatchsize, 1)?,
        ignored_properties: Vec::new(),
        durability: match file.durability.as_deref() {
            None => Durability::default(),
            Some(name) => name.parse().map_err(|e: crate::UnknownDurability| {
                rules.invalid("durability", e.to_string())
            })?,
        },
    };
    if workload.insert_count == 0 && workload.record_count > 0 && workload.reads_existing() {
        return Err(rules.invalid(
            "insertcount",
            "is 0, but the mix reads, updates, scans or deletes existing records, and YCSB's \
             key choice draws them from this client's insertstart..insertstart+insertcount"
                .into(),
        ));
    }
    if workload.record_count == 0 && workload.reads_existing() {
        return Err(rules.invalid(
            "recordcount",
            "is 0, but the mix reads, updates, scans or deletes existing records: load some \
             records or keep only insert and count"
                .into(),
        ));
    }
    Ok(workload)
}

/// A choice's table: each name a file may give, with what it chooses. The first is the
/// default, and a name not in the table is refused with every name the table holds.
type Choices<T> = [(&'static str, T)];

/// Builds a distribution from the file's parameters for it.
type Build<T> = fn(&Rules<'_>, &WorkloadFile) -> Result<T, WorkloadError>;

const INSERT_ORDERS: [(&str, InsertOrder); 2] = [
    ("hashed", InsertOrder::Hashed),
    ("ordered", InsertOrder::Ordered),
];

/// Whether scan lengths are drawn from a Zipfian distribution.
const SCAN_LENGTH_DISTRIBUTIONS: [(&str, bool); 2] = [("uniform", false), ("zipfian", true)];

const REQUEST_DISTRIBUTIONS: [(&str, Build<RequestDistribution>); 7] = [
    ("uniform", |_, _| Ok(RequestDistribution::Uniform)),
    ("zipfian", |rules, file| {
        let constant = rules.skew("zipfianconstant", file.zipfianconstant)?;
        Ok(RequestDistribution::Zipfian { constant })
    }),
    ("latest", |rules, file| {
        let constant = rules.skew("zipfianconstant", file.zipfianconstant)?;
        Ok(RequestDistribution::Latest { constant })
    }),
    ("hotspot", |rules, file| {
        Ok(RequestDistribution::Hotspot {
            data_fraction: rules.fraction("hotspotdatafraction", file.hotspotdatafraction, 0.2)?,
            operation_fraction: rules.fraction(
                "hotspotopnfraction",
                file.hotspotopnfraction,
                0.8,
            )?,
        })
    }),
    ("sequential", |_, _| Ok(RequestDistribution::Sequential)),
    ("exponential", exponential),
    ("true-zipfian", |rules, file| {
        let constant = rules.skew("zipfianconstant", file.zipfianconstant)?;
        Ok(RequestDistribution::TrueZipfian { constant })
    }),
];

const FIELD_LENGTH_DISTRIBUTIONS: [(&str, Build<FieldLength>); 4] = [
    ("constant", |rules, file| {
        let bytes = rules.positive("fieldlength", file.fieldlength, 100)?;
        Ok(FieldLength::Constant { bytes })
    }),
    ("uniform", |rules, file| {
        let (min, max) = field_length_bounds(rules, file)?;
        Ok(FieldLength::Uniform { min, max })
    }),
    ("zipfian", |rules, file| {
        let (min, max) = field_length_bounds(rules, file)?;
        Ok(FieldLength::Zipfian { min, max })
    }),
    ("histogram", histogram),
];

/// The rules a value of the file is checked by, each error naming the file and the field.
struct Rules<'a> {
    path: &'a Path,
}

impl Rules<'_> {
    fn invalid(&self, field: &'static str, message: String) -> WorkloadError {
        WorkloadError::Invalid {
            path: self.path.to_owned(),
            field,
            message,
        }
    }

    /// The table's choice `value` names, or its first when the file gives none.
    fn choice<T: Copy>(
        &self,
        field: &'static str,
        value: Option<&str>,
        choices: &Choices<T>,
    ) -> Result<T, WorkloadError> {
        let name = value.unwrap_or(choices[0].0);
        match choices.iter().find(|(n, _)| *n == name) {
            Some(&(_, chosen)) => Ok(chosen),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                Err(self.invalid(
                    field,
                    format!("`{name}` is not one of {}", names.join(", ")),
                ))
            }
        }
    }

    /// A count: zero or more.
    fn count(
        &self,
        field: &'static str,
        value: Option<i64>,
        default: u64,
    ) -> Result<u64, WorkloadError> {
        match value {
            None => Ok(default),
            Some(v) if v >= 0 => Ok(v as u64),
            Some(v) => Err(self.invalid(field, format!("must be zero or more, not {v}"))),
        }
    }

    /// A size: one or more.
    fn positive(
        &self,
        field: &'static str,
        value: Option<i64>,
        default: u64,
    ) -> Result<usize, WorkloadError> {
        match value {
            None => Ok(default as usize),
            Some(v) if v > 0 => Ok(v as usize),
            Some(v) => Err(self.invalid(field, format!("must be at least 1, not {v}"))),
        }
    }

    /// A fraction: between 0 and 1.
    fn fraction(
        &self,
        field: &'static str,
        value: Option<f64>,
        default: f64,
    ) -> Result<f64, WorkloadError> {
        let v = value.unwrap_or(default);
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.invalid(field, format!("must be between 0 and 1, not {v}")))
        }
    }

    /// A length of time: positive, at most a year.
    fn seconds(
        &self,
        field: &'static str,
        value: Option<f64>,
    ) -> Result<Option<Duration>, WorkloadError> {
        match value {
            None => Ok(None),
            Some(s) if s > 0.0 && s <= MAX_SECONDS => Ok(Some(Duration::from_secs_f64(s))),
            Some(s) => Err(self.invalid(
                field,
                format!("must be a positive number of seconds up to {MAX_SECONDS}, not {s}"),
            )),
        }
    }

    /// A Zipfian skew: positive and not 1 (where the distribution's formula divides by 0).
    fn skew(&self, field: &'static str, value: Option<f64>) -> Result<f64, WorkloadError> {
        let c = value.unwrap_or(0.99);
        if c > 0.0 && c.is_finite() && (c - 1.0).abs() > 1e-9 {
            Ok(c)
        } else {
            Err(self.invalid(field, format!("must be positive and not 1, not {c}")))
        }
    }
}

/// `recordcount`, `insertstart` and `insertcount`: this client's inserts must stay within the
/// records, clear of the keys it loads.
fn key_range(rules: &Rules<'_>, file: &WorkloadFile) -> Result<(u64, u64, u64), WorkloadError> {
    let record_count = rules.count("recordcount", file.recordcount, 1000)?;
    let insert_start = rules.count("insertstart", file.insertstart, 0)?;
    if insert_start > record_count {
        return Err(rules.invalid(
            "insertstart",
            format!("{insert_start} is beyond recordcount {record_count}"),
        ));
    }
    let insert_count = rules.count("insertcount", file.insertcount, record_count - insert_start)?;
    if insert_start + insert_count > record_count {
        return Err(rules.invalid(
            "insertcount",
            format!(
                "insertstart {insert_start} + insertcount {insert_count} is beyond recordcount \
                 {record_count}: the run's inserts would collide with loaded keys"
            ),
        ));
    }
    Ok((record_count, insert_start, insert_count))
}

/// At least one collection, none twice.
fn collections(rules: &Rules<'_>, file: &WorkloadFile) -> Result<Vec<String>, WorkloadError> {
    let collections = file
        .collections
        .clone()
        .unwrap_or_else(|| vec!["usertable".into()]);
    if collections.is_empty() {
        return Err(rules.invalid("collections", "needs at least one collection name".into()));
    }
    let mut unique = collections.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != collections.len() {
        return Err(rules.invalid("collections", "names a collection twice".into()));
    }
    Ok(collections)
}

/// The field length distribution of the table, and the histogram only where it is used.
fn field_length(rules: &Rules<'_>, file: &WorkloadFile) -> Result<FieldLength, WorkloadError> {
    // Both bounds are checked whatever the distribution reads of them.
    rules.positive("fieldlength", file.fieldlength, 100)?;
    rules.positive("minfieldlength", file.minfieldlength, 1)?;
    let build = rules.choice(
        "fieldlengthdistribution",
        file.fieldlengthdistribution.as_deref(),
        &FIELD_LENGTH_DISTRIBUTIONS,
    )?;
    let field_length = build(rules, file)?;
    if file.fieldlengthhistogram.is_some() && !matches!(field_length, FieldLength::Histogram { .. })
    {
        return Err(rules.invalid(
            "fieldlengthhistogram",
            "is only used with fieldlengthdistribution = \"histogram\"".into(),
        ));
    }
    Ok(field_length)
}

/// `minfieldlength` and `fieldlength` as the bounds of a drawn length.
fn field_length_bounds(
    rules: &Rules<'_>,
    file: &WorkloadFile,
) -> Result<(usize, usize), WorkloadError> {
    let max = rules.positive("fieldlength", file.fieldlength, 100)?;
    let min = rules.positive("minfieldlength", file.minfieldlength, 1)?;
    if min > max {
        return Err(rules.invalid(
            "minfieldlength",
            format!("{min} is more than fieldlength {max}"),
        ));
    }
    Ok((min, max))
}

/// `fieldlengthhistogram`: buckets of a positive length and a weight, not every weight 0.
fn histogram(rules: &Rules<'_>, file: &WorkloadFile) -> Result<FieldLength, WorkloadError> {
    let buckets = file.fieldlengthhistogram.clone().unwrap_or_default();
    if buckets.is_empty() {
        return Err(rules.invalid(
            "fieldlengthhistogram",
            "is required by the histogram distribution: [[bytes, weight], ...]".into(),
        ));
    }
    let mut checked = Vec::with_capacity(buckets.len());
    for (bytes, weight) in buckets {
        if bytes <= 0 || !(weight >= 0.0 && weight.is_finite()) {
            return Err(rules.invalid(
                "fieldlengthhistogram",
                format!("[{bytes}, {weight}] needs a positive length and a weight of 0 or more"),
            ));
        }
        checked.push((bytes as usize, weight));
    }
    if checked.iter().all(|b| b.1 == 0.0) {
        return Err(rules.invalid("fieldlengthhistogram", "every weight is 0".into()));
    }
    Ok(FieldLength::Histogram { buckets: checked })
}

/// YCSB's exponential distribution: `exponential.percentile` of the draws fall within
/// `exponential.frac` of the keys.
fn exponential(
    rules: &Rules<'_>,
    file: &WorkloadFile,
) -> Result<RequestDistribution, WorkloadError> {
    let e = file.exponential.clone().unwrap_or_default();
    let percentile = e.percentile.unwrap_or(95.0);
    if !(percentile > 0.0 && percentile < 100.0) {
        return Err(rules.invalid(
            "exponential.percentile",
            format!("must be in (0, 100), not {percentile}"),
        ));
    }
    let frac = e.frac.unwrap_or(0.8571428571);
    // Above 1 the distribution's mass falls mostly beyond the key space, where draws are
    // repeated: it would spin rather than choose.
    if !(frac > 0.0 && frac <= 1.0) {
        return Err(rules.invalid("exponential.frac", format!("must be in (0, 1], not {frac}")));
    }
    Ok(RequestDistribution::Exponential { percentile, frac })
}

/// Scan lengths: bounds in order, and their distribution from the table.
fn scan_length(rules: &Rules<'_>, file: &WorkloadFile) -> Result<ScanLength, WorkloadError> {
    let scan_length = ScanLength {
        min: rules.positive("minscanlength", file.minscanlength, 1)?,
        max: rules.positive("maxscanlength", file.maxscanlength, 1000)?,
        zipfian: rules.choice(
            "scanlengthdistribution",
            file.scanlengthdistribution.as_deref(),
            &SCAN_LENGTH_DISTRIBUTIONS,
        )?,
    };
    if scan_length.min > scan_length.max {
        return Err(rules.invalid(
            "minscanlength",
            format!(
                "{} is more than maxscanlength {}",
                scan_length.min, scan_length.max
            ),
        ));
    }
    Ok(scan_length)
}

/// An open-loop target: 0 (or none) runs unthrottled.
fn target(rules: &Rules<'_>, target: Option<f64>) -> Result<Option<f64>, WorkloadError> {
    match target {
        None => Ok(None),
        Some(0.0) => Ok(None),
        Some(t) if (MIN_TARGET..=MAX_TARGET).contains(&t) => Ok(Some(t)),
        Some(t) => Err(rules.invalid(
            "target",
            format!(
                "must be 0 (unthrottled) or between {MIN_TARGET} and {MAX_TARGET} operations \
                 per second, not {t}"
            ),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> WorkloadError {
        Workload::from_toml("t", text, Path::new("t.toml")).expect_err("refused")
    }

    #[test]
    fn a_choice_not_in_its_table_is_refused_with_every_name_the_table_holds() {
        let names = |choices: &[&str]| choices.join(", ");
        for (field, table) in [
            (
                "requestdistribution",
                names(&REQUEST_DISTRIBUTIONS.map(|c| c.0)),
            ),
            (
                "fieldlengthdistribution",
                names(&FIELD_LENGTH_DISTRIBUTIONS.map(|c| c.0)),
            ),
            (
                "scanlengthdistribution",
                names(&SCAN_LENGTH_DISTRIBUTIONS.map(|c| c.0)),
            ),
            ("insertorder", names(&INSERT_ORDERS.map(|c| c.0))),
        ] {
            let err = refused(&format!("{field} = \"bogus\"\n"));
            let text = err.to_string();
            assert!(
                text.contains(field) && text.contains(&format!("`bogus` is not one of {table}")),
                "{field}: {text}"
            );
        }
    }

    #[test]
    fn each_bound_is_checked_whatever_the_distribution_reads() {
        for text in [
            "minfieldlength = 0\n",
            "fieldlength = -1\nfieldlengthdistribution = \"histogram\"\nfieldlengthhistogram = [[8, 1.0]]\n",
        ] {
            let err = refused(text).to_string();
            assert!(err.contains("must be at least 1"), "{text}: {err}");
        }
    }
}
