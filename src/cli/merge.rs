//! `storebench merge`: one report from the reports of client processes that ran together.

use crate::report::{MergeError, merge_clients, ycsb_summary};

use super::Failure;
use super::args::MergeArgs;

pub(crate) fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let merged = merge_clients(&args.clients, &args.out).map_err(|e| match e {
        MergeError::Write(_) => Failure::failed(e),
        _ => Failure::bad_input(e),
    })?;
    for report in &merged {
        println!("{}", ycsb_summary(report));
    }
    eprintln!(
        "{} merged reports written to {}",
        merged.len(),
        args.out.display()
    );
    Ok(())
}
