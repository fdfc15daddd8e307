//! The jobs the command line runs, `hash`, `scan` and `match`, as library calls: an
//! [`Engine`], the inputs and where the records go in; records written, a summary and an
//! exit status back. Nothing here prints: the caller reports the summary.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::engine::{Engine, Progress, ScanControl, Skip};
use crate::index::unmatchable as unmatchable_error;
use crate::journal::{Journal, Resumed};
use crate::lists::{
    no_hash_reason, read_list_as, read_list_from_as, ListEntry, ListError, ListFormat, ListHash,
    ListProblem, ListSummary, ListType,
};
use crate::matcher::{Matcher, MultiMatcher};
use crate::model::{Event, FailKind, Failure, Hit, Input, ItemResult, Location, Verdict};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;
use crate::report::sorted::Chunked;
use crate::report::wire::{SummaryFile, SummaryRecord};
use crate::report::{
    Custody, HashFormat, HashWriter, Output, ScanFormat, ScanWriter, Summary, Tally,
};
use crate::source::Shard;
use crate::video::VpdqFrame;

/// How a run ended, as a scanner's exit status.
///
/// A match is never hidden by an error: 1 takes precedence over 2 (as ClamAV lets a found
/// infection take priority). So 0 is the only status that vouches for completeness; 1 says
/// something matched, and whether the run was complete is the summary's `failed` count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: every item was read and nothing matched (items only known to an allowlist or
    /// probable in a Bloom filter are not matches).
    Clean = 0,
    /// 1: at least one item matched, whatever else failed.
    Matched = 1,
    /// 2: nothing matched and an error kept the run from being complete (an item failed, or
    /// output failed, or the reader of the records went away: a closed pipe).
    Error = 2,
}

impl ExitStatus {
    /// The status of a run that matched `matched` items and was complete or not.
    pub fn of(matched: u64, complete: bool) -> ExitStatus {
        if matched > 0 {
            ExitStatus::Matched
        } else if !complete {
            ExitStatus::Error
        } else {
            ExitStatus::Clean
        }
    }
}

/// What a `hash` or `scan` job reads and where it writes.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// What to read.
    pub inputs: Vec<Input>,
    /// Only this part of the inputs (an array job's task).
    pub shard: Option<Shard>,
    /// Write the records in path order (by path, offset, member; each item's records
    /// together, `--sort path`), so that a rerun
    /// writes the same bytes whatever order the threads finished in. Set for shards; not
    /// with a journal (whose records are written as items finish).
    pub sorted: bool,
    /// Records to this file (temporary name, renamed at the end) instead of stdout.
    pub output: Option<PathBuf>,
    /// The summary as JSON to this file.
    pub summary: Option<PathBuf>,
    /// End JSON Lines records with a summary record, `{"type":"summary",...}` with
    /// `"complete"`, so that a reader of the stream tells a complete one from a cut one.
    pub summary_record: bool,
    /// The run's chain of custody (the command line sets it), completed with its start and
    /// end times and put in the summary.
    pub custody: Option<Custody>,
    /// Stop when this flag is set (by a signal handler, say): items being read are left,
    /// what was finished is written, and the report says the run is incomplete
    /// ([`RunReport::stopped`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// Keep a journal of what was delivered, to resume the run if it is cut.
    pub journal: Option<JournalOptions>,
}

/// A journaled run (see [`crate::journal`]): its records go to `output` written in place,
/// and what was delivered is committed to the journal file as the run goes.
#[derive(Clone, Debug)]
pub struct JournalOptions {
    /// The journal file.
    pub path: PathBuf,
    /// Continue the run the journal records (if it exists), instead of refusing to start
    /// over it.
    pub resume: bool,
}

/// What a job returns.
#[derive(Debug)]
pub struct RunReport {
    /// The summary.
    pub summary: Summary,
    /// The exit status.
    pub status: ExitStatus,
    /// False when the run stopped before its end: the reader of the records went away (a
    /// closed pipe) or the caller asked it to stop. The summary counts what was read until
    /// then, and the status is [`ExitStatus::Error`] (the run cannot vouch for what it did
    /// not read), or [`ExitStatus::Matched`] if something matched before.
    pub complete: bool,
    /// True when the run stopped because [`RunOptions::stop`] was set.
    pub stopped: bool,
}

/// Runs `vigie hash`: one record per item. Every failed item is also handed to `on_failure`
/// (when it is read), so that the caller can name it: the library never prints.
///
/// # Errors
/// Output errors (other than a closed pipe, which ends the run quietly with an incomplete
/// report), summary-file errors, journal errors (see [`crate::journal::JournalError`]), and
/// `--format vics` asked for sorted or journaled output (a VICS document numbers its
/// records).
pub fn hash(
    engine: &Engine,
    opts: RunOptions,
    format: HashFormat,
    invocation: &str,
    progress: &dyn Progress,
    on_failure: &mut dyn FnMut(&ItemResult),
) -> io::Result<RunReport> {
    if (opts.sorted || opts.journal.is_some()) && format == HashFormat::Vics {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "vics output numbers its records in reading order: it cannot be sorted, sharded \
             or journaled (use jsonl, csv or a list format)",
        ));
    }
    let record = summary_record(&opts, format == HashFormat::Jsonl)?;
    let mut run = Run::start(engine, &opts, "hash", &format!("{format:?}"))?;
    let mut w = HashWriter::new(
        run.take_output(),
        format,
        engine.algos(),
        engine.perceptual().any(),
        invocation,
    )?;
    run.header_written(w.get_mut());
    let finished = run.drive(engine, opts.inputs, progress, |step| {
        write_step(&mut w, step, on_failure)
    })?;
    // A shared list's counts: what its records hold. Under te only images with a PDQ hash
    // kept make a record (a non-image is not counted as hashed); the PDQ hashes left out
    // for their quality are counted apart (items the engine flagged low_quality, which it
    // does only when asked to: see `EngineBuilder::flag_low_quality`).
    let (te, left_out) = (format == HashFormat::Te, finished.tally.low_quality);
    let shared = matches!(format, HashFormat::Te | HashFormat::TeCsv);
    let kept = finished.tally.images.saturating_sub(left_out);
    run.finish(
        finished,
        false,
        record,
        || w.finish()?.finish(),
        |s| {
            if te {
                s.hashed = Some(kept);
            }
            if shared {
                s.pdq_left_out = Some(left_out);
            }
        },
    )
}

/// Runs `vigie scan`: one record per hit (per item with `all`). Every failed item is also
/// handed to `on_failure`, as in [`hash`].
///
/// # Errors
/// As [`hash`].
pub fn scan(
    engine: &Engine,
    opts: RunOptions,
    format: ScanFormat,
    all: bool,
    progress: &dyn Progress,
    on_failure: &mut dyn FnMut(&ItemResult),
) -> io::Result<RunReport> {
    let record = summary_record(&opts, format == ScanFormat::Jsonl)?;
    let mut run = Run::start(engine, &opts, "scan", &format!("{format:?} {all}"))?;
    let mut w = ScanWriter::new(run.take_output(), format, all)?;
    run.header_written(w.get_mut());
    let finished = run.drive(engine, opts.inputs, progress, |step| {
        write_step(&mut w, step, on_failure)
    })?;
    run.finish(finished, true, record, || w.finish()?.finish(), |_| {})
}

/// What the writer of a job's records is asked to do.
enum Step<'a> {
    /// Write an item's records (returns 0).
    Item(&'a ItemResult),
    /// Flush and sync the output; return its length (for a journal's commit).
    Sync,
}

/// A job's record writer, over the run's output.
trait Records {
    fn write_item(&mut self, r: &ItemResult) -> io::Result<()>;
    fn output(&mut self) -> &mut Chunked<Output>;
}

impl Records for HashWriter<Chunked<Output>> {
    fn write_item(&mut self, r: &ItemResult) -> io::Result<()> {
        self.item(r)
    }
    fn output(&mut self) -> &mut Chunked<Output> {
        self.get_mut()
    }
}

impl Records for ScanWriter<Chunked<Output>> {
    fn write_item(&mut self, r: &ItemResult) -> io::Result<()> {
        self.item(r)
    }
    fn output(&mut self) -> &mut Chunked<Output> {
        self.get_mut()
    }
}

/// Where an item's records go in sorted output: by path (its bytes), then by offset in
/// the file (an archive's members in archive order), then by member name.
fn sort_key(loc: &Location) -> Vec<u8> {
    let path = crate::model::os_bytes(loc.path.as_os_str());
    let member = loc.member.as_deref().unwrap_or_default();
    let mut key = Vec::with_capacity(path.len() + 9 + member.len());
    key.extend_from_slice(&path);
    // A 0 byte ends the path (none is in a path), so that a path sorts before its
    // extensions ("a" before "a.b").
    key.push(0);
    key.extend_from_slice(&loc.offset.to_be_bytes());
    key.extend_from_slice(member);
    key
}

/// Does what [`Run::drive`] asks of a job's writer: an item's records (a failed item is
/// also handed to `on_failure`), or a flush and sync returning the output's length.
fn write_step(
    w: &mut impl Records,
    step: Step<'_>,
    on_failure: &mut dyn FnMut(&ItemResult),
) -> io::Result<u64> {
    match step {
        Step::Item(r) => {
            if r.verdict() == Verdict::Failed {
                on_failure(r);
            }
            w.write_item(r)?;
            w.output().end_item(&sort_key(&r.loc)).map(|()| 0)
        }
        Step::Sync => {
            w.output().flush()?;
            w.output().get_mut().sync()
        }
    }
}

/// A `hash` or `scan` job between its start and its end: its outputs, its journal.
struct Run {
    output: Option<Chunked<Output>>,
    output_path: Option<PathBuf>,
    summary: Option<(Output, PathBuf)>,
    journal: Option<(Journal, Resumed)>,
    shard: Option<Shard>,
    stop: Option<Arc<AtomicBool>>,
    /// Its chain of custody, its start time set.
    custody: Option<Custody>,
}

/// A run that ended: at its end, at a closed pipe or at a stop.
struct Finished {
    tally: Tally,
    secs: f64,
    pipe_closed: bool,
    stopped: bool,
}

impl Run {
    /// Opens the outputs (before anything is read, so that a bad path fails at once) and
    /// the journal. `job` and `format` name the run in the journal's fingerprint.
    fn start(engine: &Engine, opts: &RunOptions, job: &str, format: &str) -> io::Result<Run> {
        let (output, journal) = match &opts.journal {
            None => {
                let out = named(
                    Output::create(opts.output.as_deref()),
                    "output",
                    opts.output.as_deref(),
                )?;
                (out, None)
            }
            Some(j) => {
                let Some(path) = opts.output.as_deref() else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a journaled run needs its records in a file (-o FILE): records \
                         written to a pipe cannot be taken back when it resumes",
                    ));
                };
                if opts.sorted {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a journaled run writes its records as items finish: it cannot sort \
                         them",
                    ));
                }
                let print = fingerprint(engine, opts, job, format);
                let (journal, resumed) = Journal::open(&j.path, print, j.resume)?;
                let found = std::fs::metadata(path).map_or(0, |m| m.len());
                if found < resumed.committed_len {
                    return Err(crate::journal::JournalError::OutputChanged {
                        journal: j.path.clone(),
                        output: path.to_path_buf(),
                        committed: resumed.committed_len,
                        found,
                    }
                    .into());
                }
                let out = named(
                    Output::resume(path, resumed.committed_len),
                    "output",
                    Some(path),
                )?;
                (out, Some((journal, resumed)))
            }
        };
        let summary = match &opts.summary {
            Some(p) => Some((
                named(Output::create(Some(p)), "summary", Some(p))?,
                p.clone(),
            )),
            None => None,
        };
        let mut output = Chunked::new(output);
        if opts.sorted {
            output.start_sorting();
        }
        Ok(Run {
            output: Some(output),
            output_path: opts.output.clone(),
            summary,
            journal,
            shard: opts.shard,
            stop: opts.stop.clone(),
            custody: started(opts.custody.as_ref()),
        })
    }

    fn take_output(&mut self) -> Chunked<Output> {
        self.output.take().expect("the output is taken once")
    }

    /// The writer wrote its header: a resumed output had it already (it was dropped), the
    /// records that follow are written.
    fn header_written(&self, out: &mut Chunked<Output>) {
        out.get_mut().stop_discarding();
    }

    /// Scans `inputs`, handing every item to `write`, committing the journal as it goes.
    fn drive(
        &mut self,
        engine: &Engine,
        inputs: Vec<Input>,
        progress: &dyn Progress,
        mut write: impl FnMut(Step<'_>) -> io::Result<u64>,
    ) -> io::Result<Finished> {
        let start = Instant::now();
        let (mut journal, resumed) = match &mut self.journal {
            Some((j, r)) => (Some(j), Some(&*r)),
            None => (None, None),
        };
        let earlier_secs = resumed.map_or(0.0, |r| r.secs);
        let mut tally = resumed.map(|r| r.tally.clone()).unwrap_or_default();
        let ctl = ScanControl {
            shard: self.shard,
            stop: self.stop.as_deref(),
            skip: resumed.map(|r| &r.done as &dyn Skip),
            inputs_done: journal.is_some(),
        };
        let completed = resumed.is_some_and(|r| r.completed);
        let res = if completed {
            Ok(()) // an earlier run completed it: nothing is left to read
        } else {
            engine.scan_with(inputs, &ctl, progress, |ev| {
                tally.add(&ev);
                if let Event::Item(r) = &ev {
                    progress.item_verdict(r.verdict());
                    write(Step::Item(r))?;
                }
                if let Some(j) = journal.as_deref_mut() {
                    j.record(&ev);
                    if j.due() {
                        let len = write(Step::Sync)?;
                        j.commit(len, earlier_secs + start.elapsed().as_secs_f64(), &tally)?;
                    }
                }
                Ok(())
            })
        };
        let secs = earlier_secs + start.elapsed().as_secs_f64();
        let pipe_closed = match res {
            Ok(()) => false,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => true,
            Err(e) => return Err(e),
        };
        let stopped = self
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed));
        if let (Some(j), false) = (journal, completed) {
            let len = write(Step::Sync)?;
            j.commit(len, secs, &tally)?;
        }
        Ok(Finished {
            tally,
            secs,
            pipe_closed,
            stopped,
        })
    }

    /// Ends the run: the output (its records, a summary record when `record`, then the
    /// rename into place), the summary file, the journal's end, the report. A run cut by a
    /// closed pipe only reports; a stopped one writes what it has, marked incomplete.
    fn finish(
        mut self,
        run: Finished,
        scan: bool,
        record: bool,
        records: impl FnOnce() -> io::Result<Output>,
        adjust: impl FnOnce(&mut Summary),
    ) -> io::Result<RunReport> {
        let complete = !run.pipe_closed && !run.stopped;
        let mut summary = run.tally.summary(Duration::from_secs_f64(run.secs), scan);
        summary.complete = complete;
        summary.custody = finished(self.custody.take());
        adjust(&mut summary);
        let status = ExitStatus::of(run.tally.matched, complete && run.tally.failed == 0);
        let report = RunReport {
            summary,
            status,
            complete,
            stopped: run.stopped,
        };
        if run.pipe_closed {
            return Ok(report);
        }
        let path = self.output_path.as_deref();
        let written = records().and_then(|mut out| {
            if record {
                serde_json::to_writer(&mut out, &SummaryRecord::new(&report.summary))?;
                out.write_all(b"\n")?;
            }
            out.commit()
        });
        named(written, "output", path)?;
        if let Some((mut out, p)) = self.summary {
            let written =
                serde_json::to_writer_pretty(&mut out, &SummaryFile::new(&report.summary))
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                    .and_then(|()| out.commit());
            named(written, "summary", Some(&p))?;
        }
        match self.journal {
            Some((mut j, r)) if complete && !r.completed => j.complete()?,
            _ => {}
        }
        debug_assert_eq!(
            report.summary.items,
            run.tally.clean
                + run.tally.matched
                + run.tally.known
                + run.tally.probable
                + run.tally.failed
        );
        Ok(report)
    }
}

/// Whether to end the records with a summary record: only JSON Lines have one.
fn summary_record(opts: &RunOptions, jsonl: bool) -> io::Result<bool> {
    if opts.summary_record && !jsonl {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a summary record ends JSON Lines output only (--format jsonl)",
        ));
    }
    Ok(opts.summary_record)
}

/// What names a run in its journal: the job, its output format, what it reads and writes,
/// the engine's algorithms, perceptual and container options, and the index it matches against (not
/// the threads or the display, which change no record).
fn fingerprint(engine: &Engine, opts: &RunOptions, job: &str, format: &str) -> u128 {
    let text = format!(
        "{job}\n{format}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        opts.inputs,
        opts.shard,
        opts.output,
        engine.file_filter(),
        {
            // What opens containers changes records; how files are read (mmap) does not.
            let o = engine.open_options();
            (o.archives, o.limits, o.container_records)
        },
        engine.algos(),
        engine.perceptual(),
        engine.video(),
        engine.matcher().and_then(|m| m.each.first().map(|m| (
            m.pdq_threshold,
            m.dihedral,
            m.vpdq,
            m.phash_threshold,
            m.dhash_threshold
        ))),
        engine.index().map(|i| i.info()),
    );
    // More indexes name the run too (one index alone gives the text it always gave).
    let text = engine
        .indexes()
        .iter()
        .skip(1)
        .fold(text, |t, i| format!("{t}\n{:?}", i.info()));
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// An I/O error about an output file, naming it: `cannot write output PATH: reason`.
fn named<T>(r: io::Result<T>, what: &str, path: Option<&Path>) -> io::Result<T> {
    match (r, path) {
        (Err(e), Some(p)) => Err(io::Error::new(
            e.kind(),
            format!("cannot write {what} {}: {e}", p.display()),
        )),
        (r, _) => r,
    }
}

/// A run's chain of custody with its start time, now.
fn started(custody: Option<&Custody>) -> Option<Custody> {
    custody.map(|c| Custody {
        started_utc: crate::report::utc(std::time::SystemTime::now()),
        ..c.clone()
    })
}

/// A run's chain of custody with its end time, now.
fn finished(custody: Option<Custody>) -> Option<Custody> {
    custody.map(|c| Custody {
        finished_utc: crate::report::utc(std::time::SystemTime::now()),
        ..c
    })
}

/// The report of a run cut short by a closed pipe: incomplete, so never a clean status.
fn cut_short(tally: &Tally, secs: std::time::Duration, scan: bool) -> RunReport {
    let mut summary = tally.summary(secs, scan);
    summary.complete = false;
    RunReport {
        summary,
        status: ExitStatus::of(tally.matched, false),
        complete: false,
        stopped: false,
    }
}

/// The end of a match job: its summary (with `custody`) written, its report.
fn finish(
    summary_out: Option<(Output, &Path)>,
    tally: Tally,
    secs: std::time::Duration,
    custody: Option<Custody>,
) -> io::Result<RunReport> {
    let mut summary = tally.summary(secs, true);
    summary.custody = custody;
    if let Some((mut out, p)) = summary_out {
        let written = serde_json::to_writer_pretty(&mut out, &SummaryFile::new(&summary))
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.commit());
        named(written, "summary", Some(p))?;
    }
    let status = ExitStatus::of(tally.matched, tally.failed == 0);
    Ok(RunReport {
        summary,
        status,
        complete: true,
        stopped: false,
    })
}

/// Opens the records' output and the summary's file before anything is read, so that a bad
/// path fails the run at once rather than after the scan.
fn open_outputs<'a>(
    output: Option<&Path>,
    summary: Option<&'a Path>,
) -> io::Result<(Output, Option<(Output, &'a Path)>)> {
    let out = named(Output::create(output), "output", output)?;
    let summary = match summary {
        Some(p) => Some((named(Output::create(Some(p)), "summary", Some(p))?, p)),
        None => None,
    };
    Ok((out, summary))
}

/// What `vigie match` reads and where it writes.
#[derive(Clone, Debug)]
pub struct MatchOptions {
    /// The lists of query hashes, each with the type of its hashes when the file cannot tell
    /// and its format when it is not to be detected.
    pub lists: Vec<(PathBuf, Option<ListType>, Option<ListFormat>)>,
    /// Records to this file instead of stdout.
    pub output: Option<PathBuf>,
    /// The summary as JSON to this file.
    pub summary: Option<PathBuf>,
    /// The run's chain of custody, completed with its times and put in the summary.
    pub custody: Option<Custody>,
}

/// Query hashes read per parallel batch.
const MATCH_BATCH: usize = 65_536;
/// Fewest PDQ queries searched together by one thread: a read batch's PDQ queries are
/// shared evenly among the threads (the index cuts each share into the batches its memory
/// bound allows), and the larger a share the less of the tables each query streams.
const PDQ_SHARE_MIN: usize = 1_024;
/// Fewest vPDQ queries (videos) searched together by one thread, for the same reason: a
/// video's frames searched are about a fifth of its distinct frames (see
/// `IndexMatcher::find_videos`), a dozen for a minute at one hash a second.
const VPDQ_SHARE_MIN: usize = 64;

/// One record of a query list: where it is, and its hash or why it has none.
struct Query {
    loc: Location,
    hash: Result<ListHash, Failure>,
}

/// Runs `vigie match`: every hash of the query lists (computed elsewhere, without the
/// content) is looked up in the index, exact hashes by equality and PDQ hashes within the
/// matcher's threshold. Each list record is one item, located as `LIST:LINE`; its hits are
/// written as `vigie scan` writes an item's hits, `hash` being the query hash. A record that
/// yields no hash, or a list that cannot be read, is a failed item, handed to `on_failure`
/// too: exit status as for scan.
///
/// # Errors
/// As [`hash`]; an engine without an index; a list that yields no hash at all
/// ([`ListError::NoHash`]); a list holding a hash of a type the index holds none of
/// ([`crate::index::IndexError::Unmatchable`]: a list of PDQ hashes read as sha256 against a
/// PDQ index would otherwise say "0 matched"). These errors carry the typed error inside
/// the [`io::Error`].
pub fn match_lists(
    engine: &Engine,
    opts: &MatchOptions,
    format: ScanFormat,
    all: bool,
    on_failure: &mut dyn FnMut(&ItemResult),
) -> io::Result<RunReport> {
    match_batched(
        engine,
        opts,
        format,
        all,
        MATCH_BATCH,
        on_failure,
        &mut |_| {},
    )
}

/// [`match_lists`] with query records looked up `batch_len` at a time; `flushed` is told the
/// length of every batch (tests check the bound).
fn match_batched(
    engine: &Engine,
    opts: &MatchOptions,
    format: ScanFormat,
    all: bool,
    batch_len: usize,
    on_failure: &mut dyn FnMut(&ItemResult),
    flushed: &mut dyn FnMut(usize),
) -> io::Result<RunReport> {
    let matcher = engine.matcher().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "match needs an engine with an index",
        )
    })?;
    let (out, summary) = open_outputs(opts.output.as_deref(), opts.summary.as_deref())?;
    let w = ScanWriter::new(out, format, all)?;
    let start = Instant::now();
    let custody = started(opts.custody.as_ref());
    // A list of queries is a large batch: map the PDQ (and pHash, dHash) tables in at once
    // (see pdq_prefault).
    matcher.pdq_prefault();
    // What the index can match: a query of another type is refused, not reported clean.
    let held = matcher.holds();
    let mut sink = MatchSink {
        engine,
        matcher,
        batch: Vec::with_capacity(batch_len),
        batch_len,
        w,
        tally: Tally::default(),
        failed_write: None,
        on_failure,
        flushed,
    };
    for (path, declared, format) in &opts.lists {
        match_list(&mut sink, path, *declared, *format, &held)?;
    }
    let secs = start.elapsed();
    let MatchSink {
        w,
        tally,
        failed_write,
        ..
    } = sink;
    match failed_write {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(cut_short(&tally, secs, true)),
        Some(e) => Err(e),
        None => {
            named(w.finish()?.commit(), "output", opts.output.as_deref())?;
            finish(summary, tally, secs, finished(custody))
        }
    }
}

/// Where `vigie match`'s query records go: gathered into batches of `batch_len`, each batch
/// looked up at once, then its items written and counted in list order.
struct MatchSink<'a> {
    engine: &'a Engine,
    matcher: MultiMatcher<'a>,
    batch: Vec<Query>,
    batch_len: usize,
    w: ScanWriter<Output>,
    tally: Tally,
    /// The first error writing a record: records are no longer written after it (the items
    /// are still counted), and it ends the run.
    failed_write: Option<io::Error>,
    on_failure: &'a mut dyn FnMut(&ItemResult),
    /// Told the length of every batch looked up.
    flushed: &'a mut dyn FnMut(usize),
}

impl MatchSink<'_> {
    /// Queues a record, and looks the batch up once it is full.
    fn push(&mut self, q: Query) {
        self.batch.push(q);
        if self.batch.len() >= self.batch_len {
            self.flush();
        }
    }

    /// Looks the batch up in parallel, then writes and counts its items in list order.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        (self.flushed)(self.batch.len());
        let results = look_up(self.engine, &self.matcher, &mut self.batch);
        for r in results {
            if r.verdict() == Verdict::Failed {
                (self.on_failure)(&r);
            }
            if self.failed_write.is_none() {
                if let Err(e) = self.w.item(&r) {
                    self.failed_write = Some(e);
                }
            }
            self.tally.add(&Event::Item(Box::new(r)));
        }
    }
}

/// Reads one query list into `sink` and looks its last records up. A list that cannot be
/// read is one failed item; a list holding a hash type the index holds none of (`held`), or
/// no hash at all, is an error.
fn match_list(
    sink: &mut MatchSink<'_>,
    path: &Path,
    declared: Option<ListType>,
    format: Option<ListFormat>,
    held: &[ListType],
) -> io::Result<()> {
    let (res, read) = read_queries(sink, path, declared, format, held);
    if let Some(kind) = read.unmatchable {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            unmatchable_error(path, kind, held),
        ));
    }
    match res {
        Err(e) => {
            let kind = match e {
                ListError::Io { .. } => FailKind::Open,
                _ => FailKind::List,
            };
            sink.batch.push(Query {
                loc: Location::file(path.to_owned(), 0),
                hash: Err(Failure::new(kind, e.to_string())),
            });
        }
        Ok(s) if read.entries == 0 => {
            // A list that yields nothing would match nothing and say "0 matched".
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                ListError::NoHash {
                    path: path.to_owned(),
                    reason: no_hash_reason(
                        s.format,
                        s.lines,
                        read.malformed,
                        read.first_problem.as_ref(),
                    ),
                },
            ));
        }
        Ok(_) => {}
    }
    sink.flush();
    Ok(())
}

/// What reading a query list gave besides its records.
#[derive(Default)]
struct ListRead {
    entries: u64,
    malformed: u64,
    first_problem: Option<ListProblem>,
    /// The first hash type of the list that the index holds none of: reading stopped there.
    unmatchable: Option<ListType>,
}

/// Reads a query list's records into `sink`, each located `LIST:LINE`: its entries as
/// queries, its malformed records as failed items, in line order, looked up every
/// `batch_len` records whichever they are. Reading stops at the first hash of a type not
/// in `held`.
fn read_queries(
    sink: &mut MatchSink<'_>,
    path: &Path,
    declared: Option<ListType>,
    format: Option<ListFormat>,
    held: &[ListType],
) -> (Result<ListSummary, ListError>, ListRead) {
    let entry_loc = |line: u64| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(":{line}"));
        Location::file(PathBuf::from(p), 0)
    };
    let mut read = ListRead::default();
    let unmatchable: Cell<Option<ListType>> = Cell::new(None);
    let queue = std::cell::RefCell::new(sink);
    let res = read_list_until(
        path,
        declared,
        format,
        &|| unmatchable.get().is_some(),
        |e| {
            if unmatchable.get().is_some() {
                return;
            }
            let kind = e.hash.list_type();
            // A video's frames match known videos and known images alike.
            let matchable =
                held.contains(&kind) || (kind == ListType::Vpdq && held.contains(&ListType::Pdq));
            if !matchable {
                unmatchable.set(Some(kind));
                return;
            }
            read.entries += 1;
            queue.borrow_mut().push(Query {
                loc: entry_loc(e.line),
                hash: Ok(e.hash),
            })
        },
        |p| {
            if unmatchable.get().is_some() {
                return;
            }
            read.malformed += 1;
            if read.first_problem.is_none() {
                read.first_problem = Some(p.clone());
            }
            queue.borrow_mut().push(Query {
                loc: entry_loc(p.line),
                hash: Err(Failure::new(FailKind::List, p.reason)),
            })
        },
    );
    read.unmatchable = unmatchable.get();
    (res, read)
}

/// Looks a batch of query records up, in parallel, and drains it: one item per record, in
/// order. PDQ, pHash, dHash and vPDQ queries are searched in batches per kind (the index
/// shares memory traffic across a batch); then every record is resolved.
fn look_up(engine: &Engine, matcher: &MultiMatcher<'_>, batch: &mut Vec<Query>) -> Vec<ItemResult> {
    engine.install(|| {
        let pdq: Vec<PdqHash> = batch
            .iter()
            .filter_map(|q| q.hash.as_ref().ok().and_then(ListHash::as_pdq).copied())
            .collect();
        let mut pdq_hits = search_shared(&pdq, PDQ_SHARE_MIN, |c| matcher.find_pdq_many(c));
        // pHash and dHash queries likewise, one batch per kind.
        let mut img_hits: Vec<std::vec::IntoIter<Vec<Hit>>> = ImgKind::ALL
            .into_iter()
            .map(|kind| {
                let qs: Vec<ImgHash64> = batch
                    .iter()
                    .filter_map(|q| q.hash.as_ref().ok()?.as_img())
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, h)| h)
                    .collect();
                search_shared(&qs, PDQ_SHARE_MIN, |c| matcher.find_img_many(kind, c)).into_iter()
            })
            .collect();
        // vPDQ queries (known videos) likewise: all their frames searched in one batch per
        // share.
        let videos: Vec<&[VpdqFrame]> = batch
            .iter()
            .filter_map(|q| match &q.hash {
                Ok(ListHash::Vpdq(frames)) => Some(&frames[..]),
                _ => None,
            })
            .collect();
        let mut video_hits =
            search_shared(&videos, VPDQ_SHARE_MIN, |c| matcher.find_videos(c)).into_iter();
        let mut next = pdq_hits.iter_mut();
        let items: Vec<(Query, Vec<Hit>)> = batch
            .drain(..)
            .map(|q| {
                let hits = match q.hash {
                    Ok(ListHash::Pdq(_)) => next.next().map(std::mem::take),
                    Ok(ListHash::Img(k, _)) => img_hits[usize::from(k.id())].next(),
                    Ok(ListHash::Vpdq(_)) => video_hits.next(),
                    _ => None,
                };
                (q, hits.unwrap_or_default())
            })
            .collect();
        items
            .into_par_iter()
            .map(|(q, hits)| resolve(q, hits, matcher))
            .collect()
    })
}

/// Searches `queries` in parallel, shared evenly among the current pool's threads, no share
/// smaller than `min`: one hit list per query, in order.
fn search_shared<Q: Sync>(
    queries: &[Q],
    min: usize,
    search: impl Fn(&[Q]) -> Vec<Vec<Hit>> + Sync + Send,
) -> Vec<Vec<Hit>> {
    let share = queries
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(min);
    queries.par_chunks(share).flat_map_iter(search).collect()
}

/// [`read_list`], but reading ends early (with an I/O error, which the caller ignores) once
/// `stop()` is true. An NSRL RDSv3 database, which SQLite reads from its file, is read to
/// its end.
fn read_list_until(
    path: &Path,
    declared: Option<ListType>,
    format: Option<ListFormat>,
    stop: &dyn Fn() -> bool,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
    let io_err = |source| ListError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let mut magic = Vec::with_capacity(SQLITE_MAGIC.len());
    (&mut file)
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(io_err)?;
    if format == Some(ListFormat::Rdsv3) || (format.is_none() && magic == SQLITE_MAGIC) {
        drop(file);
        return read_list_as(path, declared, format, on_entry, on_problem);
    }
    let input = StopAt {
        inner: io::Cursor::new(magic).chain(file),
        stop,
    };
    read_list_from_as(input, path, declared, format, on_entry, on_problem)
}

/// A reader that fails once `stop()` is true.
struct StopAt<'s, R> {
    inner: R,
    stop: &'s dyn Fn() -> bool,
}

impl<R: Read> Read for StopAt<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.stop)() {
            return Err(io::Error::other("reading stopped"));
        }
        self.inner.read(buf)
    }
}

/// The item of one query record, with its hits (`hits`: those of a PDQ, pHash, dHash or vPDQ
/// query, already searched).
fn resolve(q: Query, mut hits: Vec<Hit>, matcher: &MultiMatcher<'_>) -> ItemResult {
    let outcome = q.hash.map(|h| match h {
        ListHash::Exact(d) => {
            let digests = crate::hash::Digests::one(d);
            matcher.find(&digests, &mut hits);
            digests
        }
        ListHash::Pdq(_) | ListHash::Img(..) | ListHash::Vpdq(_) => crate::hash::Digests::default(),
    });
    ItemResult {
        loc: q.loc,
        outcome,
        image: None,
        image_error: None,
        video: None,
        low_quality: false,
        hits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexBuilder;
    use std::sync::Arc;

    /// Malformed records are looked up (as failed items) in batches of the same bound as
    /// entries: a list of nothing but malformed lines is never queued whole.
    #[test]
    fn malformed_records_are_flushed_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let hello_md5 = "6f5902ac237024bdd0c176cb93063dc4";
        let list = dir.path().join("queries.txt");
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("not-a-hash-{i}\n"));
        }
        text.push_str(hello_md5);
        text.push('\n');
        std::fs::write(&list, text).unwrap();
        let mut b = IndexBuilder::new();
        b.add_digests(
            "bad",
            "test",
            "mem",
            [crate::hash::Digest::from_hex(crate::hash::Algo::Md5, hello_md5).unwrap()],
        )
        .unwrap();
        let engine = Engine::builder()
            .index(Arc::new(b.into_index().unwrap()))
            .threads(2)
            .build()
            .unwrap();
        let opts = MatchOptions {
            lists: vec![(list, None, None)],
            output: Some(dir.path().join("out.jsonl")),
            summary: None,
            custody: None,
        };
        let mut sizes = Vec::new();
        let mut failures = 0;
        let report = match_batched(
            &engine,
            &opts,
            ScanFormat::Jsonl,
            false,
            16,
            &mut |_| failures += 1,
            &mut |n| sizes.push(n),
        )
        .unwrap();
        assert_eq!(failures, 1000);
        assert_eq!(report.summary.items, 1001);
        assert_eq!(sizes.iter().sum::<usize>(), 1001, "{sizes:?}");
        assert!(sizes.iter().all(|&n| n <= 16), "{sizes:?}");
    }

    /// A query list is read no further once the job knows it must refuse it.
    #[test]
    fn reading_a_query_list_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("sha256.txt");
        let text: String = (0..100_000u32).map(|i| format!("{i:064x}\n")).collect();
        std::fs::write(&list, text).unwrap();
        let seen = Cell::new(0u64);
        let res = read_list_until(
            &list,
            None,
            None,
            &|| seen.get() >= 1,
            |_| seen.set(seen.get() + 1),
            |p| panic!("{p:?}"),
        );
        assert!(matches!(res, Err(ListError::Io { .. })), "{res:?}");
        assert!(seen.get() < 100_000, "{}", seen.get());
        // Not asked: read whole.
        seen.set(0);
        read_list_until(
            &list,
            None,
            None,
            &|| false,
            |_| seen.set(seen.get() + 1),
            |_| {},
        )
        .unwrap();
        assert_eq!(seen.get(), 100_000);
    }

    #[test]
    fn a_match_wins_over_an_incomplete_run() {
        assert_eq!(ExitStatus::of(0, true), ExitStatus::Clean);
        assert_eq!(ExitStatus::of(0, false), ExitStatus::Error);
        assert_eq!(ExitStatus::of(3, true), ExitStatus::Matched);
        assert_eq!(ExitStatus::of(3, false), ExitStatus::Matched);
    }
}
