//! Grouping a batch of input records into JSON output lines, optionally on all cores. Bad records
//! become an error object on their own line; the rest are still grouped.

use rayon::prelude::*;
use serde::Serialize;

use crate::case::Case;
use crate::grouper::{Grouped, Scratch};
use crate::input::InputError;
use crate::set::GrouperSet;

/// Output and threading options.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Add the rule messages (`trace`) to every result.
    pub trace: bool,
    /// Worker threads: 1 groups on the calling thread, 0 uses every core, n uses n threads.
    pub threads: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            trace: false,
            threads: 1,
        }
    }
}

#[derive(Serialize)]
struct ResultLine<'a> {
    id: &'a str,
    status: &'a str,
    mdc: &'a str,
    adrg: &'a str,
    drg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a [String]>,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    error: String,
}

/// Groups one parsed record (or reports its error) and appends one JSON line to `out`.
pub fn write_case_line(
    set: &GrouperSet,
    record: &Result<Case, InputError>,
    options: BatchOptions,
    scratch: &mut Scratch,
    trace: &mut Vec<String>,
    out: &mut Vec<u8>,
) {
    let written = match record {
        Err(error) => write_json(
            out,
            &ErrorLine {
                line: error.line(),
                id: None,
                error: error.to_string(),
            },
        ),
        Ok(case) => match set.get(case.version.as_deref()) {
            Err(error) => write_json(
                out,
                &ErrorLine {
                    line: None,
                    id: Some(&case.id),
                    error: error.to_string(),
                },
            ),
            Ok(grouper) => {
                trace.clear();
                let grouped = if options.trace {
                    grouper.group_traced(
                        &case.patient,
                        &case.diagnoses,
                        &case.procedures,
                        scratch,
                        trace,
                    )
                } else {
                    grouper.group(&case.patient, &case.diagnoses, &case.procedures, scratch)
                };
                write_result(
                    out,
                    &case.id,
                    &grouped,
                    options.trace.then_some(trace.as_slice()),
                )
            }
        },
    };
    if written.is_err() {
        out.extend_from_slice(b"{\"error\":\"cannot serialise the result\"}");
    }
    out.push(b'\n');
}

fn write_result(
    out: &mut Vec<u8>,
    id: &str,
    grouped: &Grouped<'_>,
    trace: Option<&[String]>,
) -> serde_json::Result<()> {
    let line = ResultLine {
        id,
        status: grouped.status.as_str(),
        mdc: grouped.mdc,
        adrg: grouped.adrg,
        drg: grouped.drg,
        trace,
    };
    write_json(out, &line)
}

fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value)
}

/// Records per work unit; each unit reuses one scratch and one output buffer.
const CHUNK: usize = 4096;

/// Parses and groups JSON lines (`first_line` is the 1-based number of `lines[0]`) and returns the
/// output text, one line per input line, in input order.
pub fn group_json_lines(
    set: &GrouperSet,
    lines: &[&str],
    first_line: usize,
    options: BatchOptions,
) -> Vec<u8> {
    run_chunks(lines, options, |chunk_index, chunk, out| {
        let mut scratch = Scratch::default();
        let mut trace = Vec::new();
        for (offset, text) in chunk.iter().enumerate() {
            let record =
                crate::input::parse_json_case(text, first_line + chunk_index * CHUNK + offset);
            write_case_line(set, &record, options, &mut scratch, &mut trace, out);
        }
    })
}

/// Groups records already read (e.g. from CSV) and returns the output text in input order.
pub fn group_records(
    set: &GrouperSet,
    records: &[Result<Case, InputError>],
    options: BatchOptions,
) -> Vec<u8> {
    run_chunks(records, options, |_, chunk, out| {
        let mut scratch = Scratch::default();
        let mut trace = Vec::new();
        for record in chunk {
            write_case_line(set, record, options, &mut scratch, &mut trace, out);
        }
    })
}

/// Runs `work` over chunks of `items`, on a rayon pool unless one thread is asked for, and joins
/// the chunk outputs in order.
fn run_chunks<T: Sync>(
    items: &[T],
    options: BatchOptions,
    work: impl Fn(usize, &[T], &mut Vec<u8>) + Sync,
) -> Vec<u8> {
    let run = |(index, chunk): (usize, &[T])| {
        let mut out = Vec::with_capacity(chunk.len() * 96);
        work(index, chunk, &mut out);
        out
    };
    let pool = match options.threads {
        1 => None,
        n => rayon::ThreadPoolBuilder::new().num_threads(n).build().ok(),
    };
    let parts: Vec<Vec<u8>> = match pool {
        Some(pool) => pool.install(|| items.par_chunks(CHUNK).enumerate().map(run).collect()),
        None => items.chunks(CHUNK).enumerate().map(run).collect(),
    };
    parts.concat()
}
