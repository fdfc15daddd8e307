//! The jobs the command line runs, `hash`, `scan` and `match`, as library calls: a validated
//! configuration in, records out, a summary and an exit status back.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::lists::{read_list, ListError, ListHash, ListType};
use crate::matcher::IndexMatcher;
use crate::perceptual::pdq::PdqHash;
use crate::pipeline::{self, Counters, Event, Hit, ItemResult, Matcher, PipelineConfig};
use crate::report::progress::Progress;
use crate::report::{HashFormat, HashWriter, Output, ScanFormat, ScanWriter, Summary, Tally};
use crate::source::{FailKind, Failure, Location};

/// How a run ended, as a scanner's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every item was read and nothing matched (items only known to an allowlist or
    /// probable in a Bloom filter are not matches).
    Clean = 0,
    /// 1: at least one item matched and every item was read.
    Matched = 1,
    /// 2: an error kept the run from being complete (an item failed, or output failed). Takes
    /// precedence over 1, as with grep: a partial scan cannot vouch for what it did not read.
    Error = 2,
}

/// Settings shared by both jobs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The pipeline (inputs, walk, open, algorithms, threads).
    pub pipeline: PipelineConfig,
    /// Records to this file (temporary name, renamed at the end) instead of stdout.
    pub output: Option<PathBuf>,
    /// The summary as JSON to this file.
    pub summary: Option<PathBuf>,
    /// No progress display and no summary on stderr.
    pub quiet: bool,
}

/// What a job returns.
#[derive(Debug)]
pub struct RunReport {
    /// The summary.
    pub summary: Summary,
    /// The exit status.
    pub status: ExitStatus,
}

/// Runs `vigie hash`: one record per item.
///
/// # Errors
/// Output errors (other than a closed pipe, which ends the run quietly) and summary-file errors.
pub fn hash(opts: &RunOptions, format: HashFormat, invocation: &str) -> io::Result<RunReport> {
    let out = Output::create(opts.output.as_deref())?;
    let mut w = HashWriter::new(
        out,
        format,
        opts.pipeline.algos,
        opts.pipeline.perceptual.any(),
        invocation,
    )?;
    let lists_only = !matches!(format, HashFormat::Jsonl | HashFormat::Csv);
    let quiet = opts.quiet;
    let run = drive(opts, None, |r| {
        if lists_only {
            if let Some(f) = r.failure() {
                if !quiet {
                    eprintln!("vigie: {}: {f}", r.loc);
                }
            }
        }
        w.item(r)
    })?;
    match run {
        Finished::Done(tally, secs) => {
            w.finish()?.commit()?;
            finish(opts.summary.as_deref(), opts.quiet, tally, secs, false)
        }
        Finished::PipeClosed(tally, secs) => Ok(RunReport {
            summary: tally.summary(secs, false),
            status: ExitStatus::Clean,
        }),
    }
}

/// Runs `vigie scan`: one record per hit (per item with `all`).
///
/// # Errors
/// As [`hash`].
pub fn scan(
    opts: &RunOptions,
    matcher: &dyn Matcher,
    format: ScanFormat,
    all: bool,
) -> io::Result<RunReport> {
    let out = Output::create(opts.output.as_deref())?;
    let mut w = ScanWriter::new(out, format, all)?;
    let run = drive(opts, Some(matcher), |r| w.item(r))?;
    match run {
        Finished::Done(tally, secs) => {
            w.finish()?.commit()?;
            finish(opts.summary.as_deref(), opts.quiet, tally, secs, true)
        }
        Finished::PipeClosed(tally, secs) => Ok(RunReport {
            summary: tally.summary(secs, true),
            status: ExitStatus::Clean,
        }),
    }
}

enum Finished {
    Done(Tally, std::time::Duration),
    PipeClosed(Tally, std::time::Duration),
}

fn drive(
    opts: &RunOptions,
    matcher: Option<&dyn Matcher>,
    mut write: impl FnMut(&pipeline::ItemResult) -> io::Result<()>,
) -> io::Result<Finished> {
    let counters = Arc::new(Counters::default());
    let progress = Progress::start(counters.clone(), !opts.quiet);
    let start = Instant::now();
    let mut tally = Tally::default();
    let res = pipeline::run(&opts.pipeline, matcher, &counters, |ev| {
        tally.add(&ev);
        match &ev {
            Event::Item(r) => write(r),
            Event::Skipped(_) => Ok(()),
        }
    });
    progress.finish();
    let secs = start.elapsed();
    match res {
        Ok(()) => Ok(Finished::Done(tally, secs)),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Finished::PipeClosed(tally, secs)),
        Err(e) => Err(e),
    }
}

fn finish(
    summary_path: Option<&Path>,
    quiet: bool,
    tally: Tally,
    secs: std::time::Duration,
    scan: bool,
) -> io::Result<RunReport> {
    let summary = tally.summary(secs, scan);
    debug_assert_eq!(
        summary.items,
        tally.clean + tally.matched + tally.known + tally.probable + tally.failed
    );
    if !quiet {
        eprintln!("vigie: {summary}");
    }
    if let Some(p) = summary_path {
        let mut out = Output::create(Some(p))?;
        serde_json::to_writer_pretty(&mut out, &summary)?;
        out.write_all(b"\n")?;
        out.commit()?;
    }
    let status = if tally.failed > 0 {
        ExitStatus::Error
    } else if tally.matched > 0 {
        ExitStatus::Matched
    } else {
        ExitStatus::Clean
    };
    Ok(RunReport { summary, status })
}

/// What `vigie match` reads and where it writes.
#[derive(Clone, Debug)]
pub struct MatchOptions {
    /// The lists of query hashes, each with the type of its hashes when the file cannot tell.
    pub lists: Vec<(PathBuf, Option<ListType>)>,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Records to this file instead of stdout.
    pub output: Option<PathBuf>,
    /// The summary as JSON to this file.
    pub summary: Option<PathBuf>,
    /// No summary on stderr.
    pub quiet: bool,
}

/// Query hashes read per parallel batch.
const MATCH_BATCH: usize = 65_536;
/// Fewest PDQ queries searched together by one thread: a read batch's PDQ queries are
/// shared evenly among the threads (the index cuts each share into the batches its memory
/// bound allows), and the larger a share the less of the tables each query streams.
const PDQ_SHARE_MIN: usize = 1_024;

/// One record of a query list: where it is, and its hash or why it has none.
struct Query {
    loc: Location,
    hash: Result<ListHash, Failure>,
}

/// Runs `vigie match`: every hash of the query lists (computed elsewhere, without the
/// content) is looked up in the index, exact hashes by equality and PDQ hashes within the
/// matcher's threshold. Each list record is one item, located as `LIST:LINE`; its hits are
/// written as `vigie scan` writes an item's hits, `hash` being the query hash. A record that
/// yields no hash, or a list that cannot be read, is a failed item: exit status as for scan.
///
/// # Errors
/// As [`hash`].
pub fn match_lists(
    opts: &MatchOptions,
    matcher: &IndexMatcher<'_>,
    format: ScanFormat,
    all: bool,
) -> io::Result<RunReport> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(io::Error::other)?;
    let out = Output::create(opts.output.as_deref())?;
    let mut w = ScanWriter::new(out, format, all)?;
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut failed_write: Option<io::Error> = None;
    let mut batch: Vec<Query> = Vec::with_capacity(MATCH_BATCH);
    // A list of queries is a large batch: map the PDQ tables in at once (see pdq_prefault).
    matcher.index.pdq_prefault();
    // Looks the batch up in parallel, then writes and counts its items in list order.
    let mut flush = |batch: &mut Vec<Query>, failed_write: &mut Option<io::Error>| {
        let results: Vec<ItemResult> = pool.install(|| {
            // PDQ queries are searched in batches (the index shares memory traffic across a
            // batch), in parallel; then every record is resolved in list order.
            let pdq: Vec<PdqHash> = batch
                .iter()
                .filter_map(|q| q.hash.as_ref().ok().and_then(ListHash::as_pdq).copied())
                .collect();
            let share = pdq
                .len()
                .div_ceil(rayon::current_num_threads())
                .max(PDQ_SHARE_MIN);
            let mut pdq_hits: Vec<Vec<Hit>> = pdq
                .par_chunks(share)
                .flat_map_iter(|c| matcher.find_pdq_many(c))
                .collect();
            let mut next = pdq_hits.iter_mut();
            let items: Vec<(Query, Vec<Hit>)> = batch
                .drain(..)
                .map(|q| {
                    let pdq = matches!(q.hash, Ok(ListHash::Pdq(_)));
                    let hits = if pdq {
                        next.next().map(std::mem::take)
                    } else {
                        None
                    };
                    (q, hits.unwrap_or_default())
                })
                .collect();
            items
                .into_par_iter()
                .map(|(q, hits)| resolve(q, hits, matcher))
                .collect()
        });
        for r in results {
            if failed_write.is_none() {
                if let Err(e) = w.item(&r) {
                    *failed_write = Some(e);
                }
            }
            tally.add(&Event::Item(Box::new(r)));
        }
    };
    for (path, declared) in &opts.lists {
        let entry_loc = |line: u64| {
            let mut p = path.as_os_str().to_owned();
            p.push(format!(":{line}"));
            Location::file(PathBuf::from(p), 0)
        };
        // Entries and problems go to the same batch, in line order.
        let queue = std::cell::RefCell::new(&mut batch);
        let res = read_list(
            path,
            *declared,
            |e| {
                let mut b = queue.borrow_mut();
                b.push(Query {
                    loc: entry_loc(e.line),
                    hash: Ok(e.hash),
                });
                if b.len() >= MATCH_BATCH {
                    flush(&mut b, &mut failed_write);
                }
            },
            |p| {
                queue.borrow_mut().push(Query {
                    loc: entry_loc(p.line),
                    hash: Err(Failure::new(FailKind::List, p.reason)),
                });
            },
        );
        if let Err(e) = res {
            let kind = match e {
                ListError::Io { .. } => FailKind::Open,
                _ => FailKind::List,
            };
            batch.push(Query {
                loc: Location::file(path.clone(), 0),
                hash: Err(Failure::new(kind, e.to_string())),
            });
        }
        flush(&mut batch, &mut failed_write);
    }
    let secs = start.elapsed();
    match failed_write {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(RunReport {
            summary: tally.summary(secs, true),
            status: ExitStatus::Clean,
        }),
        Some(e) => Err(e),
        None => {
            w.finish()?.commit()?;
            finish(opts.summary.as_deref(), opts.quiet, tally, secs, true)
        }
    }
}

/// The item of one query record, with its hits (`hits`: those of a PDQ query, already
/// searched).
fn resolve(q: Query, mut hits: Vec<Hit>, matcher: &IndexMatcher<'_>) -> ItemResult {
    let outcome = q.hash.map(|h| match h {
        ListHash::Exact(d) => {
            let digests = crate::hash::Digests::one(d);
            matcher.find(&digests, &mut hits);
            digests
        }
        ListHash::Pdq(_) => crate::hash::Digests::default(),
    });
    ItemResult {
        loc: q.loc,
        outcome,
        image: None,
        image_error: None,
        low_quality: false,
        hits,
    }
}
