//! Reading a workload: a TOML or YCSB properties file, parsed, its keys checked and its values
//! validated into a [`Workload`].

use std::path::Path;

use super::error::WorkloadError;
use super::file::WorkloadFile;
use super::workload::Workload;
use super::{properties, unknown, validate};

/// Refuses a table with keys no workload has, naming all of them at once, in line order.
fn unknown(
    table: &toml::Table,
    path: &Path,
    line_of: impl Fn(&str) -> Option<usize>,
) -> Result<(), WorkloadError> {
    match unknown::unknown_keys(table, line_of) {
        None => Ok(()),
        Some(message) => Err(WorkloadError::Parse {
            path: path.to_owned(),
            message,
        }),
    }
}

impl Workload {
    /// Reads and validates a workload file; its name is the file's stem. A `.toml` file is
    /// TOML; any other is YCSB's Java properties (`workloads/workloada` runs unchanged).
    ///
    /// # Errors
    /// [`WorkloadError`] naming the file and the line, column or field at fault.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, WorkloadError> {
        Self::from_file_overridden(path.as_ref(), &[])
    }

    /// As [`from_file`](Self::from_file), with `overrides` (`key`, `value`) set over the
    /// file's keys, as YCSB's `-p key=value` sets them.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_file_overridden(
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<Self, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| "workload".into(), |s| s.to_string_lossy().into_owned());
        if path.extension().is_some_and(|e| e == "toml") {
            Self::from_toml_overridden(&name, &text, path, overrides)
        } else {
            Self::from_properties_overridden(&name, &text, path, overrides)
        }
    }

    /// Parses and validates workload TOML; `path` only names the source in errors.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_toml(name: &str, text: &str, path: &Path) -> Result<Self, WorkloadError> {
        Self::from_toml_overridden(name, text, path, &[])
    }

    /// As [`from_toml`](Self::from_toml), with `overrides` (`key`, `value`) set over the
    /// file's keys as YCSB's `-p key=value` sets them: values are read as in a properties file
    /// (an integer, a number, `true`/`false`, else a string), and dotted keys name nested ones.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_toml_overridden(
        name: &str,
        text: &str,
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<Self, WorkloadError> {
        let parse = |e: toml::de::Error| WorkloadError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut keys = properties::from_toml(toml::from_str(text).map_err(parse)?, path)?;
        properties::apply(&mut keys, overrides, path)?;
        unknown(&keys.table, path, |key| unknown::toml_line(text, key))?;
        let file: WorkloadFile = if keys.ignored.is_empty() && overrides.is_empty() {
            // From the text, not the table, so that an error keeps its line and column.
            toml::from_str(text).map_err(parse)?
        } else {
            keys.table.try_into().map_err(parse)?
        };
        let mut workload = validate::validate(name, file, path)?;
        workload.ignored_properties = keys.ignored;
        Ok(workload)
    }

    /// Parses and validates a YCSB workload file in Java properties syntax; `path` names the
    /// source in errors, and a `fieldlengthhistogram` file is read relative to it.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file); `dataintegrity=true`, which storebench cannot honour,
    /// is refused.
    pub fn from_properties(name: &str, text: &str, path: &Path) -> Result<Self, WorkloadError> {
        Self::from_properties_overridden(name, text, path, &[])
    }

    /// As [`from_properties`](Self::from_properties), with `overrides` set over the file's
    /// keys, as YCSB's `-p key=value` sets them.
    ///
    /// # Errors
    /// As [`from_properties`](Self::from_properties).
    pub fn from_properties_overridden(
        name: &str,
        text: &str,
        path: &Path,
        overrides: &[(String, String)],
    ) -> Result<Self, WorkloadError> {
        let mut keys = properties::from_properties(text, path)?;
        properties::apply(&mut keys, overrides, path)?;
        unknown(&keys.table, path, |key| keys.lines.get(key).copied())?;
        let file: WorkloadFile = keys.table.try_into().map_err(|e: toml::de::Error| {
            let message = e.to_string();
            // The table has no lines; the key the message names first does.
            let line = message
                .split('`')
                .skip(1)
                .step_by(2)
                .find_map(|key| keys.lines.get(key))
                .map_or(String::new(), |line| format!("line {line}: "));
            WorkloadError::Parse {
                path: path.to_owned(),
                message: format!("{line}{}", message.trim()),
            }
        })?;
        let mut workload = validate::validate(name, file, path)?;
        workload.ignored_properties = keys.ignored;
        Ok(workload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{FieldLength, Operation, RequestDistribution};

    fn parse(text: &str) -> Result<Workload, WorkloadError> {
        Workload::from_toml("t", text, Path::new("t.toml"))
    }

    #[test]
    fn an_empty_file_gets_ycsb_defaults() {
        let w = parse("").expect("valid");
        assert_eq!(w.record_count, 1000);
        assert_eq!(w.operation_count, 1000);
        assert_eq!(w.mix.proportion(Operation::Read), 0.95);
        assert_eq!(w.mix.proportion(Operation::Update), 0.05);
        assert_eq!(w.field_count, 10);
        assert_eq!(w.field_length, FieldLength::Constant { bytes: 100 });
        assert!(w.read_all_fields && !w.write_all_fields);
        assert_eq!(w.request_distribution, RequestDistribution::Uniform);
        assert_eq!(
            (w.insert_start, w.insert_count, w.zero_padding),
            (0, 1000, 1)
        );
        assert_eq!(w.collections, ["usertable"]);
    }

    #[test]
    fn exponential_takes_ycsb_dotted_keys_or_a_table() {
        for text in [
            "requestdistribution = \"exponential\"\nexponential.percentile = 90\n",
            "requestdistribution = \"exponential\"\n[exponential]\npercentile = 90\n",
        ] {
            let w = parse(text).expect("valid");
            assert_eq!(
                w.request_distribution,
                RequestDistribution::Exponential {
                    percentile: 90.0,
                    frac: 0.8571428571
                }
            );
        }
        assert!(
            parse("[exponential]\npercentil = 90\n").is_err(),
            "unknown keys in the table too"
        );
    }

    #[test]
    fn errors_name_the_field_or_the_line() {
        let text = parse("hotspotdatafraction = 2.0\nrequestdistribution = \"hotspot\"\n")
            .expect_err("out of range")
            .to_string();
        assert!(
            text.contains("`hotspotdatafraction`") && text.contains("t.toml"),
            "{text}"
        );
        let text = parse("\n\nseed = \"one\"\n")
            .expect_err("wrong type")
            .to_string();
        assert!(text.contains("line 3"), "{text}");
        let text = parse("minscanlength = 10\nmaxscanlength = 5\n")
            .expect_err("min > max")
            .to_string();
        assert!(text.contains("`minscanlength`"), "{text}");
    }

    #[test]
    fn a_load_only_workload_needs_no_mix() {
        let w = parse(
            "recordcount = 0\nreadproportion = 0\nupdateproportion = 0\ninsertproportion = 1.0\n",
        )
        .expect("inserts alone are fine");
        assert!(!w.reads_existing());
    }
}
