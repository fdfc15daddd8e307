//! The two jobs the command line runs, `hash` and `scan`, as library calls: a validated
//! configuration in, records out, a summary and an exit status back.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::pipeline::{self, Counters, Event, Matcher, PipelineConfig};
use crate::report::progress::Progress;
use crate::report::{HashFormat, HashWriter, Output, ScanFormat, ScanWriter, Summary, Tally};

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
            finish(opts, tally, secs, false)
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
            finish(opts, tally, secs, true)
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
    opts: &RunOptions,
    tally: Tally,
    secs: std::time::Duration,
    scan: bool,
) -> io::Result<RunReport> {
    let summary = tally.summary(secs, scan);
    debug_assert_eq!(
        summary.items,
        tally.clean + tally.matched + tally.known + tally.probable + tally.failed
    );
    if !opts.quiet {
        eprintln!("vigie: {summary}");
    }
    if let Some(p) = &opts.summary {
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
