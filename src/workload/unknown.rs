//! Unknown keys of a workload file, all reported at once and in line order: a file with three
//! keys storebench does not know gets one error naming the three, not one per attempt.

use std::collections::BTreeSet;

use toml::Table;

use super::file::WorkloadFile;

/// Every top-level key a workload file may hold: the fields of [`WorkloadFile`], read from its
/// serialized default so that the list cannot drift from the struct.
fn known_keys() -> BTreeSet<String> {
    serde_json::to_value(WorkloadFile::default())
        .ok()
        .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
        .unwrap_or_default()
}

/// The keys of `table` that are not workload keys, each with its line where `line_of` knows
/// it, in line order (keys of unknown line last, by name); `None` when there is none.
pub(crate) fn unknown_keys(
    table: &Table,
    line_of: impl Fn(&str) -> Option<usize>,
) -> Option<String> {
    let known = known_keys();
    let mut unknown: Vec<(Option<usize>, &str)> = table
        .keys()
        .filter(|k| !known.contains(*k))
        .map(|k| (line_of(k), k.as_str()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    // `None` sorts first; a key of unknown line (a `-p` override) goes last instead.
    unknown.sort_by_key(|&(line, key)| (line.is_none(), line, key));
    let listed: Vec<String> = unknown
        .iter()
        .map(|(line, key)| match line {
            Some(line) => format!("line {line}: unknown key `{key}`"),
            None => format!("unknown key `{key}`"),
        })
        .collect();
    let expected: Vec<&str> = known.iter().map(String::as_str).collect();
    Some(format!(
        "{}; a workload takes {} (workloads/README.md)",
        listed.join("; "),
        expected.join(", ")
    ))
}

/// The line (from 1) where TOML `text` sets top-level `key` (`key = ...`) or opens its table
/// (`[key]`), if any.
pub(crate) fn toml_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let sets = line
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']));
            let opens = line
                .strip_prefix('[')
                .and_then(|rest| rest.trim_start().strip_prefix(key))
                .is_some_and(|rest| rest.trim_start().starts_with([']', '.']));
            sets || opens
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_key_is_listed_in_line_order() {
        let text = "zeta = 1\nrecordcount = 5\nalpha = 2\n[mid]\nx = 1\n";
        let table: Table = toml::from_str(text).expect("valid TOML");
        let message = unknown_keys(&table, |k| toml_line(text, k)).expect("unknown keys");
        let at = |s: &str| message.find(s).expect(s);
        assert!(at("line 1: unknown key `zeta`") < at("line 3: unknown key `alpha`"));
        assert!(at("line 3: unknown key `alpha`") < at("line 4: unknown key `mid`"));
        assert!(!message.contains("`recordcount`;"), "{message}");
        assert!(message.contains("recordcount"), "the known keys are listed");
        let clean: Table = toml::from_str("recordcount = 5").expect("valid TOML");
        assert_eq!(unknown_keys(&clean, |_| None), None);
    }
}
