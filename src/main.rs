//! The `vigie` command line: parses arguments into the library's options, builds an
//! [`Engine`], calls the library's jobs and reports what they return on stderr. No engine
//! logic lives here.

/// Writes a line to stderr and ignores the outcome: a closed or failing stderr (`2>&1 | head
/// -1`) must never end the run, as `eprintln!` does by panicking. Every message of the command
/// line goes through it.
macro_rules! msg {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod cli {
    pub mod progress;
    pub mod signals;
}

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use cli::progress::{ListProgress, TermProgress};
use cli::signals::Signals;
use vigie::engine::{Engine, EngineBuilder};
use vigie::hash::AlgoSet;
use vigie::index::{Index, IndexBuilder, ListSpec, PdqSearch, Role};
use vigie::jobs::{self, ExitStatus, JournalOptions, RunOptions, RunReport};
use vigie::lists::{ListFormat, ListType};
use vigie::matcher::VpdqRule;
use vigie::model::{Input, ItemResult};
use vigie::perceptual::decode::{DecodeLimits, Pixels};
use vigie::perceptual::letterbox::Unletterbox;
use vigie::report::{HashFormat, ScanFormat};
use vigie::source::{Limits, Shard};
use vigie::video::VideoLimits;

/// Find known content in large dumps: hash every item of files, directory trees and tar
/// archives, and match the hashes against compiled blocklists.
#[derive(Parser, Debug)]
#[command(name = "vigie", version, long_version = vigie::version::long(), max_term_width = 100,
          after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Hash every item and print one record per item.
    Hash(HashArgs),
    /// Match every item against an index (or lists) and print one record per hit.
    Scan(Box<ScanArgs>),
    /// Match hashes computed elsewhere (hash lists, e.g. a partner's PDQ signal file) against
    /// an index, without the content: one record per hit, as scan writes them, located
    /// LIST:LINE.
    Match(MatchArgs),
    /// Build and inspect index files.
    #[command(subcommand)]
    Index(IndexCmd),
    /// Print a shell completion script for vigie (e.g. `vigie completions bash >
    /// /etc/bash_completion.d/vigie`, or `source <(vigie completions zsh)`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print vigie's manual page, in roff (`vigie man > vigie.1; man ./vigie.1`).
    Man,
}

#[derive(Args, Debug)]
struct MatchArgs {
    /// A compiled index to match against (repeatable: each query is looked up in each; the
    /// lists of all of them must have distinct names).
    #[arg(long, short = 'i', value_name = "INDEX", required = true)]
    index: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Lists of query hashes, in any format `index build` reads.
    #[arg(required = true, value_name = "LIST")]
    lists: Vec<PathBuf>,
    /// Declared type of the next LIST's hashes, when its lines don't say (as `index build
    /// --type`: e.g. pdq for bare 64-hex-digit lines, which are otherwise sha256; phash or
    /// dhash for ImageHash's 16 hex digits).
    #[arg(long = "type", value_name = "TYPE", ignore_case = true)]
    kind: Vec<ListType>,
    #[command(flatten)]
    output: OutputArgs,
    /// Output format (jsonl, the default, or csv); or a list format (as `index build
    /// --format`), the format of the next LIST instead of detecting it from the content.
    #[arg(long, short = 'f', value_name = "FORMAT", value_parser = MatchFormatParser)]
    format: Vec<MatchFormat>,
    /// Also write a record for every clean and failed list record.
    #[arg(long)]
    all: bool,
    /// Largest PDQ Hamming distance that counts as a match (the industry's customary 31).
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::pdq::MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pdq_threshold: u32,
    #[command(flatten)]
    vpdq: VpdqRuleArgs,
    /// Largest pHash Hamming distance (of 64 bits) that counts as a match.
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    phash_threshold: u32,
    /// Largest dHash Hamming distance (of 64 bits) that counts as a match.
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    dhash_threshold: u32,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Do not check the index's checksums before matching (they are checked by default,
    /// once, in parallel: a damaged table would turn listed items clean).
    #[arg(long)]
    no_verify_index: bool,
}

/// A `vigie match --format` value: the output's format or the next list's.
#[derive(Clone, Copy, Debug)]
enum MatchFormat {
    Output(ScanFormat),
    List(ListFormat),
}

/// Parses a `vigie match --format` value ([`match_format`]); its possible values, which the
/// help lists, are the output formats then every list format, from the lists' one table.
#[derive(Clone, Copy)]
struct MatchFormatParser;

impl clap::builder::TypedValueParser for MatchFormatParser {
    type Value = MatchFormat;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<MatchFormat, clap::Error> {
        match_format.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let outputs = ScanFormat::value_variants().iter();
        let lists = ListFormat::ALL.iter();
        Some(Box::new(
            outputs
                .filter_map(ValueEnum::to_possible_value)
                .chain(lists.filter_map(ValueEnum::to_possible_value)),
        ))
    }
}

fn match_format(s: &str) -> Result<MatchFormat, String> {
    if let Ok(f) = ScanFormat::from_str(s, false) {
        return Ok(MatchFormat::Output(f));
    }
    ListFormat::from_name(s)
        .map(MatchFormat::List)
        .ok_or_else(|| {
            let lists: Vec<&str> = ListFormat::ALL.iter().map(|f| f.name()).collect();
            format!(
                "neither an output format (jsonl, csv) nor a list format ({})",
                lists.join(", ")
            )
        })
}

/// The value of a per-list option (`--type`, `--format`) for each list: each applies to the
/// next LIST on the command line, as in `index build`. `given` is (value, its index).
fn for_next_list<T: Clone + std::fmt::Debug>(
    list_idx: &[usize],
    flag: &str,
    given: impl IntoIterator<Item = (T, usize)>,
) -> Result<Vec<Option<T>>> {
    let mut out = vec![None; list_idx.len()];
    for (v, at) in given {
        let Some(slot) = list_idx.iter().position(|&l| l > at) else {
            bail!("--{flag} {v:?} is not followed by a list it could apply to");
        };
        if out[slot].replace(v).is_some() {
            bail!("two --{flag} options given for the same list");
        }
    }
    Ok(out)
}

/// When a video matches a known video (python-threatexchange's comparison and defaults).
#[derive(Args, Debug)]
struct VpdqRuleArgs {
    /// vPDQ: largest Hamming distance between two frames' PDQ hashes that pairs them.
    #[arg(long, value_name = "BITS", default_value_t = VpdqRule::default().distance,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    vpdq_distance: u32,
    /// vPDQ: frames of lower PDQ quality take no part in a comparison (on both sides).
    #[arg(long, value_name = "Q", default_value_t = VpdqRule::default().quality,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    vpdq_quality: u8,
    /// vPDQ: least share (percent) of the scanned video's distinct frames that must find a
    /// partner in the known video.
    #[arg(long, value_name = "PCT", default_value_t = VpdqRule::default().query_pct)]
    vpdq_query_pct: f64,
    /// vPDQ: least share (percent) of the known video's distinct frames that must find a
    /// partner (0: a clip cut from a known video matches it; the vpdq README's symmetric
    /// convention is 80 and 80).
    #[arg(long, value_name = "PCT", default_value_t = VpdqRule::default().compared_pct)]
    vpdq_compared_pct: f64,
}

impl VpdqRuleArgs {
    fn rule(&self) -> VpdqRule {
        VpdqRule {
            distance: self.vpdq_distance,
            quality: self.vpdq_quality,
            query_pct: self.vpdq_query_pct,
            compared_pct: self.vpdq_compared_pct,
        }
    }
}

#[derive(Args, Debug)]
struct InputArgs {
    /// Files, directories and archives to read; '-' reads content from standard input as it
    /// streams (a tar, .tar.gz or .tar.zst is walked member by member, anything else is one
    /// item named '-'; a file named '-' is './-').
    paths: Vec<PathBuf>,
    /// Read paths to scan from FILE ('-' for standard input), one per line.
    #[arg(long, value_name = "FILE")]
    files_from: Vec<PathBuf>,
    /// Paths in --files-from are NUL-separated.
    #[arg(short = '0', long = "null")]
    null: bool,
    /// Follow symbolic links met while walking directories.
    #[arg(long)]
    follow: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Never memory-map inputs; read() them.
    #[arg(long)]
    no_mmap: bool,
    /// Treat every file as one item: archives (tar, zip, compressed tars) and compressed
    /// streams are not opened, and containers vigie cannot open (7z, RAR) are not reported as
    /// failed `unsupported` items either.
    #[arg(long)]
    no_archives: bool,
    /// Report only what is inside an opened zip, 7z or compressed stream, not the container's
    /// own record too (its digests, after its members'): half the hashing of a dump of
    /// zips, for scans where a whole archive is never on a list. A tar never has one.
    #[arg(long, conflicts_with = "no_archives")]
    members_only: bool,
    /// Containers opened inside containers, like clamscan's --max-recursion: an input is at
    /// depth 0, the members of an archive at 1.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    max_depth: u32,
    /// Bytes one member or compressed stream may expand to when decoded (like clamscan's
    /// --max-filesize); a larger one is a failed `limit` item.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_expanded)]
    max_expanded: u64,
    /// Bytes the decoded members of one input may total (like clamscan's --max-scansize);
    /// past it the rest is a failed `limit` item. Also the most bytes of a zip on standard
    /// input copied to a temporary file ($TMPDIR) to be opened.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_scan)]
    max_scan: u64,
    /// Members one archive may hold (like clamscan's --max-files); past it the rest is one
    /// failed `limit` item.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_members)]
    max_members: u64,
    /// Most bytes a packed member may expand to per byte of its packed data, and a zip's
    /// members together per byte of the zip (deflate cannot pass 1032; bzip2, LZMA, xz and
    /// zstd can: raise it to read members of theirs that compress better).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_ratio,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_ratio: u64,
    /// Take only part I of N (0-based) of the inputs, for array jobs: each path given and
    /// each line of --files-from is one unit, unit k going to part k % N; a directory given
    /// as a path is shared out by its entries. `--shard N` alone takes I from the
    /// environment (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX).
    /// Records are written sorted, so a rerun writes the same bytes; with -o DIR they go to
    /// DIR/part-I-of-N.EXT.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Read only files matching GLOB (repeatable; any of them). A glob without '/' is matched
    /// against the file name ('*.jpg'), one with '/' against the whole path as given or
    /// walked ('dump/**/cache/*'). Others are skipped and counted; archive members are not
    /// filtered.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files matching GLOB (repeatable), as --include matches them; wins over --include.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Skip files smaller than SIZE bytes (suffixes K, M, G, T: powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    min_size: Option<u64>,
    /// Skip files larger than SIZE bytes (suffixes K, M, G, T: powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,
}

/// A size in bytes, with an optional binary suffix: `512`, `64K`, `10M`, `2G`, `1T`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let shift = match t[split..].to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "not a size: {s:?} (bytes, or a number with K, M, G or T)"
            ))
        }
    };
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("not a size: {s:?} (bytes, or a number with K, M, G or T)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

#[derive(Args, Debug)]
struct OutputArgs {
    /// Write records to FILE (atomically: a temporary file renamed at the end); with
    /// --shard, FILE may be a directory.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// No progress display, no summary on stderr (failed items are still named).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Do not name failed items on stderr (they are still counted in the summary, and
    /// written as records with --all).
    #[arg(long)]
    no_messages: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Record what was read in FILE as the run goes (committed four times a second), so that
    /// a run cut by a kill, a crash or a lost node can be resumed with --resume: records are
    /// written to -o FILE in place, as items finish (not sorted).
    #[arg(long, value_name = "FILE", requires = "output")]
    journal: Option<PathBuf>,
    /// Continue the run that --journal FILE records (or start it if the journal does not
    /// exist): what it read is left out, its output is cut back to what the journal vouches
    /// for and appended to; the union is what one uninterrupted run writes.
    #[arg(long, requires = "journal")]
    resume: bool,
    /// End JSON Lines output with a summary record, {"type":"summary",...,"complete":BOOL},
    /// so that a reader tells a complete stream from a cut one.
    #[arg(long)]
    summary_record: bool,
    /// Write the records in a fixed order, so that two runs over the same input write the
    /// same bytes (nightly diffs, CI): `path` orders items by path, then by offset in the
    /// file (an archive's members in archive order). Records are held until the end (past
    /// 64 MiB in temporary files). Default: as items finish, the fastest.
    #[arg(long, value_enum, value_name = "ORDER", conflicts_with = "journal")]
    sort: Option<SortOrder>,
}

/// `--sort`: the order of the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortOrder {
    /// By path, then offset in the file, then archive member name.
    Path,
}

#[derive(Args, Debug)]
struct ImageArgs {
    /// Also compute the 8 dihedral PDQ hashes (rotations and flips); at scan time, match
    /// rotated and flipped copies too.
    #[arg(long)]
    pdq_dihedral: bool,
    /// Apply the EXIF orientation before hashing, as a viewer shows the image (the reference
    /// PDQ ignores it, so hashes then differ from the reference's for rotated photos).
    #[arg(long)]
    exif_orient: bool,
    /// Cut letterbox bars (rows and columns at the edges whose every pixel is black) off each
    /// image before hashing, so a letterboxed copy hashes like the original; as
    /// python-threatexchange's `--photo-preprocess unletterbox`.
    #[arg(long)]
    unletterbox: bool,
    /// With --unletterbox: the most a channel of a black bar's pixel may be (and the least,
    /// from 255, of a white one); python-threatexchange's --black-threshold.
    #[arg(long, value_name = "LEVEL", requires = "unletterbox",
          default_value_t = vigie::perceptual::letterbox::DEFAULT_THRESHOLD)]
    letterbox_threshold: u8,
    /// With --unletterbox: cut white bars too (python-threatexchange cuts black ones only, so
    /// hashes of white-barred images then differ from its).
    #[arg(long, requires = "unletterbox")]
    unletterbox_white: bool,
    /// Whose pixels to hash where decoders differ on purpose (16-bit grey, CMYK JPEG, palette
    /// and 1-bit PNG): threatexchange gives the PDQ that python-threatexchange and HMA compute
    /// (and their banks hold).
    #[arg(long, value_enum, default_value_t = PixelsArg::Viewer)]
    pixels: PixelsArg,
    /// Largest image to decode, in pixels; larger ones fail as `image too large`.
    #[arg(long, value_name = "PIXELS", default_value_t = 128_000_000)]
    max_pixels: u64,
    /// Largest pixel buffer to allocate while decoding one image, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    max_alloc: u64,
    /// Pixel buffers all threads together may hold while decoding, in bytes: an image waits
    /// for room, one larger than this fails as `image too large`.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    decode_memory: u64,
    /// vPDQ: seconds between the video frames hashed (the reference's secondsPerHash); 0
    /// hashes every frame.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    vpdq_seconds_per_hash: f64,
    /// Longest video to decode, in seconds (by its container's duration); longer ones fail
    /// as `video too long`.
    #[arg(long, value_name = "SECONDS", default_value_t = VideoLimits::default().max_duration_s)]
    video_max_duration: f64,
    /// Most frames to decode from one video; past them the video fails.
    #[arg(long, value_name = "N", default_value_t = VideoLimits::default().max_frames)]
    video_max_frames: u64,
    /// Largest video frame to decode, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = VideoLimits::default().max_pixels)]
    video_max_pixels: u64,
    /// Largest video to read into memory to decode when it cannot be decoded in place (a
    /// member of a compressed tar, a file read with --no-mmap), in bytes; a larger one keeps
    /// its exact hashes and fails as a video not decoded.
    #[arg(long, value_name = "BYTES", default_value_t = VideoLimits::default().max_bytes)]
    video_max_bytes: u64,
}

#[derive(Args, Debug)]
struct HashArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    image: ImageArgs,
    /// Algorithms, comma-separated: md5, sha1, sha256, xxh3_128 (or all), for images pdq,
    /// phash, dhash, for videos vpdq (default: md5,sha1,sha256; list formats pick their own).
    #[arg(long, value_name = "ALGOS")]
    algo: Option<String>,
    /// Output format: te is ThreatExchange signal lines (`pdq <hex>` per image, with `--algo
    /// vpdq` a `vpdq [...]` signal per video), te-csv the ThreatExchange dataset CSV (the same
    /// signals), vics Project VIC VICS 2.0 Media JSON, nsrl NSRL RDS 2.x NSRLFile.txt.
    #[arg(long, short = 'f', value_enum, default_value_t = HashFormat::Jsonl)]
    format: HashFormat,
    /// Decode large JPEGs at reduced scale (1/2, 1/4 or 1/8, both sides kept >= 512 px):
    /// several times faster, perceptual hashes a few bits from the exact ones. Off by default:
    /// hashes written for sharing should be exact.
    #[arg(long)]
    fast_decode: bool,
    /// With --format te or te-csv, keep PDQ hashes of quality under 50, which are left out
    /// by default (as `threatexchange hash` leaves them out: too unreliable to match on) and
    /// counted in the summary.
    #[arg(long)]
    keep_low_quality: bool,
}

#[derive(Args, Debug)]
struct ScanArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    run: RunArgs,
    /// A compiled index to match against (repeatable: every item is matched against each,
    /// hashed once; the lists of all of them must have distinct names, and an allowlist of
    /// any of them applies to all).
    #[arg(
        long,
        short = 'i',
        value_name = "INDEX",
        required_unless_present_any = ["list", "allow"]
    )]
    index: Vec<PathBuf>,
    /// A hash list (blocklist) to compile in memory and match against (repeatable; alone or
    /// beside --index).
    #[arg(long, short = 'l', value_name = "LIST")]
    list: Vec<PathBuf>,
    /// An allowlist to compile in memory with the --list lists (repeatable): items it holds
    /// are reported as known, not matched perceptually, whichever index blocks them.
    #[arg(long, value_name = "LIST")]
    allow: Vec<PathBuf>,
    /// Name of the next --list or --allow (default: its file stem), as `index build --name`.
    #[arg(long, value_name = "NAME")]
    name: Vec<String>,
    /// Label of the next --list's or --allow's entries (default: its file stem).
    #[arg(long, value_name = "LABEL")]
    label: Vec<String>,
    /// Declared type of the next --list or --allow, as `index build --type`.
    #[arg(long = "type", value_enum, value_name = "TYPE", ignore_case = true)]
    kind: Vec<ListType>,
    /// Format of the next --list or --allow, instead of detecting it from the content (as
    /// `index build --format`; here --format is the records' format).
    #[arg(long = "list-format", value_enum, value_name = "FORMAT")]
    list_format: Vec<ListFormat>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ScanFormat::Jsonl)]
    format: ScanFormat,
    /// Also write a record for every clean and failed item.
    #[arg(long)]
    all: bool,
    /// Accept a list that yields no hash (every line malformed, an empty file) or an index
    /// that holds no entry, which are otherwise refused: nothing could match them.
    #[arg(long)]
    allow_empty: bool,
    /// Compute these algorithms too (default: only those the index holds).
    #[arg(long, value_name = "ALGOS")]
    algo: Option<String>,
    #[command(flatten)]
    image: ImageArgs,
    /// Largest PDQ Hamming distance that counts as a match (the industry's customary 31).
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::pdq::MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pdq_threshold: u32,
    /// Largest pHash Hamming distance (of 64 bits) that counts as a match.
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    phash_threshold: u32,
    /// Largest dHash Hamming distance (of 64 bits) that counts as a match.
    #[arg(long, value_name = "BITS", default_value_t = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    dhash_threshold: u32,
    /// Images whose PDQ quality is below this are not matched on PDQ (counted in the summary
    /// as low_quality; pHash and dHash, which have no quality measure, still match).
    #[arg(long, value_name = "Q", default_value_t = vigie::perceptual::pdq::MIN_QUALITY,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pdq_min_quality: u8,
    #[command(flatten)]
    vpdq: VpdqRuleArgs,
    /// Decode every pixel of large JPEGs (the reference's hashes, bit for bit) instead of the
    /// default reduced-scale decode (1/2, 1/4 or 1/8, both sides kept >= 512 px), which is
    /// several times faster and moves PDQ by a few bits, well inside --pdq-threshold.
    #[arg(long)]
    exact_decode: bool,
    /// Do not check the index's checksums before matching (they are checked by default,
    /// once, in parallel: a damaged table would turn listed items clean).
    #[arg(long)]
    no_verify_index: bool,
}

#[derive(Subcommand, Debug)]
enum IndexCmd {
    /// Compile hash lists into one index file.
    Build(Box<BuildArgs>),
    /// Print an index's lists and counts.
    Info(InfoArgs),
    /// Sign an index (minisign's format), so that scans given --trusted-key accept it; the
    /// minisign tool verifies the signature too (`minisign -V -m INDEX -p KEY.pub`).
    Sign(SignArgs),
    /// Merge indexes into one, without the source lists: every list of each INDEX with its
    /// entries, name, label, role and source (each input verified first).
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// The index file to write.
    #[arg(long, short = 'o', value_name = "INDEX")]
    output: PathBuf,
    /// The indexes to merge, in order (their lists keep it).
    #[arg(required = true, value_name = "INDEX")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Name each list STEM/NAME, STEM being its index file's stem (otherwise two inputs
    /// holding lists of the same name are refused: a hit would not say which it is from).
    #[arg(long)]
    qualify: bool,
    /// How PDQ hashes will be searched, as `index build --pdq-search`.
    #[arg(long, value_name = "auto|linear|mih:M", default_value = "auto",
          value_parser = |s: &str| s.parse::<PdqSearch>())]
    pdq_search: PdqSearch,
    /// No report on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Args, Debug)]
struct BuildArgs {
    /// The index file to write.
    #[arg(
        long,
        short = 'o',
        value_name = "INDEX",
        required_unless_present = "dry_run"
    )]
    output: Option<PathBuf>,
    /// Check the lists without writing an index: each list's detected format, entries per
    /// type and malformed lines (stderr, as a build reports them), then what the index would
    /// hold (stdout, as `index info` prints it; with --json, one JSON document of both).
    #[arg(long, conflicts_with = "output")]
    dry_run: bool,
    /// With --dry-run: print one JSON document, {"lists": [...], "index": {...}}.
    #[arg(long, requires = "dry_run")]
    json: bool,
    /// Hash lists, format detected from the content: plain hex, md5sum/sha1sum/sha256sum
    /// (also --tag and -z), hashdeep, NSRL RDS 2.x and RDSv3, VICS JSON, ThreatExchange
    /// (signal lines, dataset CSV, legacy .te), TCAP and StopNCII JSON pages, PDQ hasher
    /// CSV, X-Ways text, EnCase .hash, DCSO Bloom filters (CIRCL hashlookup). Blocklists
    /// unless --role allow precedes them.
    #[arg(required_unless_present = "allow", value_name = "LIST")]
    lists: Vec<PathBuf>,
    /// An allowlist (repeatable): its items are reported as known, not as matches, and are
    /// not matched perceptually. Same as `--role allow LIST`.
    #[arg(long, value_name = "LIST")]
    allow: Vec<PathBuf>,
    /// Role of the next LIST: block (hits are matches; the default, except for a Bloom
    /// filter) or allow (hits are known; the default of a Bloom filter).
    #[arg(long, value_enum, value_name = "ROLE")]
    role: Vec<Role>,
    /// Hex case of the next LIST's keys when it is a DCSO Bloom filter: upper (default, as
    /// CIRCL hashlookup's filters) or lower. Its key algorithm is --type (default sha1).
    #[arg(long, value_enum, value_name = "CASE")]
    bloom_case: Vec<BloomCase>,
    /// Name of the next LIST (default: its file stem). Give before the list it names.
    #[arg(long, value_name = "NAME")]
    name: Vec<String>,
    /// Label of the next LIST's entries (default: the list's file stem).
    #[arg(long, value_name = "LABEL")]
    label: Vec<String>,
    /// Declared type of the next LIST, when its lines don't say and length would guess
    /// wrong (e.g. xxh3_128, 32 hex digits like md5; pdq, 64 hex digits like sha256).
    #[arg(long = "type", value_enum, value_name = "TYPE", ignore_case = true)]
    kind: Vec<ListType>,
    /// Format of the next LIST, instead of detecting it from the content.
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    list_format: Vec<ListFormat>,
    /// Fail on the first malformed line instead of counting it, and on the first list that
    /// cannot be read (otherwise that list is left out, named, and the build exits 2).
    #[arg(long)]
    strict: bool,
    /// Accept a list that yields no hash (every line malformed, an empty file, a Bloom
    /// filter with no bit set), which is otherwise refused: nothing could match it.
    #[arg(long)]
    allow_empty: bool,
    /// How PDQ hashes will be searched: auto (multi-index tables from 16,384 hashes on),
    /// linear (no tables: smallest file), or mih:M (M tables, 10 to 64).
    #[arg(long, value_name = "auto|linear|mih:M", default_value = "auto",
          value_parser = |s: &str| s.parse::<PdqSearch>())]
    pdq_search: PdqSearch,
    /// No report on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Whose signature an index must carry.
#[derive(Args, Debug)]
struct TrustArgs {
    /// Refuse the index unless its signature (INDEX.minisig, or --signature) verifies with
    /// this minisign public key: a key file (`minisign -G`'s .pub) or the base64 key itself.
    /// Checked on the bytes opened, before anything is matched.
    #[arg(long, value_name = "KEY")]
    trusted_key: Option<String>,
    /// The index's signature file (default: INDEX.minisig; with several indexes each is
    /// read from its own INDEX.minisig).
    #[arg(long, value_name = "FILE", requires = "trusted_key")]
    signature: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SignArgs {
    /// The index file to sign.
    index: PathBuf,
    /// A minisign secret key file (`minisign -G`; `-W` for one without a password).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// A file whose first line is the key's password (else the environment variable
    /// VIGIE_KEY_PASSWORD; an unencrypted key needs neither).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Where to write the signature (default: INDEX.minisig).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct InfoArgs {
    /// The index file.
    index: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    /// Also check every section's checksum (reads the whole file).
    #[arg(long)]
    verify: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// The exit statuses, shown by `--help` and the manual page.
const EXIT_STATUS: &str = "Exit status: 0 nothing found and every item read; 1 something \
matched (whatever else failed); 2 nothing matched and the run was not complete (an item or \
the output failed), or a usage error; 130 or 143 stopped by SIGINT or SIGTERM. Only 0 vouches \
for a complete run: with 1, the summary's `failed` count says whether it was complete.";

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli, &matches) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                // The reader went away (`| head`): not worth a message, but the run is not
                // complete, so not a success either.
                return ExitCode::from(ExitStatus::Error as u8);
            }
            msg!("vigie: error: {}", one_line(&e));
            ExitCode::from(ExitStatus::Error as u8)
        }
    }
}

/// An error and its causes on one line, each said once: a cause whose text the line already
/// holds is left out (an error that shows its source and also returns it as its source), and
/// a cause starting with the path the line ends with does not repeat it (`cannot open index
/// X` then `X: reason` gives `cannot open index X: reason`).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
            continue;
        }
        if line.contains(&text) {
            continue;
        }
        let reason = match text.split_once(": ") {
            Some((head, rest)) if line.ends_with(head) => rest,
            _ => &text,
        };
        line.push_str(": ");
        line.push_str(reason);
    }
    line
}

/// `--pixels`: whose pixels to hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PixelsArg {
    /// What a viewer shows: 16-bit grey scaled to 8 bits, CMYK converted, palettes expanded.
    Viewer,
    /// Pillow's convert("RGB"), as pdqhash users feed it: 16-bit grey clamped to 255.
    Pillow,
    /// python-threatexchange's and HMA's PDQ hasher: Pillow's pixels, a CMYK JPEG's C, M, Y
    /// as R, G, B, a palette PNG's indices, a 1-bit PNG's 0 and 1.
    Threatexchange,
}

/// Hex case of a DCSO Bloom filter's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BloomCase {
    /// Upper-case hex (CIRCL hashlookup's filters).
    Upper,
    /// Lower-case hex.
    Lower,
}

/// Runs the subcommand given, one function each (`cmd_*`), and gives its exit status.
fn run(cli: Cli, matches: &ArgMatches) -> Result<u8> {
    match cli.cmd {
        Cmd::Completions { shell } => to_stdout(|out| {
            clap_complete::generate(shell, &mut Cli::command(), "vigie", out);
            Ok(())
        }),
        Cmd::Man => to_stdout(|out| clap_mangen::Man::new(Cli::command()).render(out)),
        Cmd::Hash(a) => cmd_hash(&a),
        Cmd::Scan(a) => cmd_scan(&a, sub_matches(matches, &["scan"])?),
        Cmd::Match(a) => cmd_match(&a, sub_matches(matches, &["match"])?),
        Cmd::Index(IndexCmd::Build(a)) => {
            cmd_index_build(&a, sub_matches(matches, &["index", "build"])?)
        }
        Cmd::Index(IndexCmd::Sign(a)) => cmd_index_sign(&a),
        Cmd::Index(IndexCmd::Merge(a)) => cmd_index_merge(&a),
        Cmd::Index(IndexCmd::Info(a)) => cmd_index_info(&a),
    }
}

/// The matches of the subcommand at `path` (`["index", "build"]`): the positions of its
/// arguments pair per-list options with their lists.
fn sub_matches<'m>(matches: &'m ArgMatches, path: &[&str]) -> Result<&'m ArgMatches> {
    path.iter()
        .try_fold(matches, |m, name| m.subcommand_matches(name))
        .with_context(|| format!("internal: no {} matches", path.join(" ")))
}

/// The positions on the command line of argument `id`'s values.
fn indices(m: &ArgMatches, id: &str) -> Vec<usize> {
    m.indices_of(id).map(|i| i.collect()).unwrap_or_default()
}

/// Writes a generated document (a completion script, the manual page) to stdout.
fn to_stdout(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    write(&mut out)?;
    out.flush()?;
    Ok(ExitStatus::Clean as u8)
}

/// `vigie hash`.
fn cmd_hash(a: &HashArgs) -> Result<u8> {
    let (given, mut p) = parse_algos(a.algo.as_deref())?;
    let shared = matches!(a.format, HashFormat::Te | HashFormat::TeCsv);
    p.pdq |= shared;
    let algos = a.format.algos(given).map_err(anyhow::Error::msg)?;
    let engine = image_options(engine_options(&a.input)?, &a.image, p)
        .algos(algos)
        .fast_decode(a.fast_decode)
        .flag_low_quality(shared && !a.keep_low_quality)
        .build()?;
    let invocation = std::env::args().collect::<Vec<_>>().join(" ");
    let job = |opts, progress: &TermProgress, failed: &mut dyn FnMut(&ItemResult)| {
        jobs::hash(&engine, opts, a.format, &invocation, progress, failed)
    };
    run_job(
        &a.input,
        &a.output,
        &a.run,
        a.format.name(),
        Vec::new(),
        job,
    )
}

/// `vigie scan`.
fn cmd_scan(a: &ScanArgs, sub: &ArgMatches) -> Result<u8> {
    // The indexes' SHA-256 reads them whole: only when a summary is written.
    let want_custody = a.output.summary.is_some() || a.run.summary_record;
    check_index_args(&a.index, &a.trust)?;
    // Per-list options are paired with their lists first: one with no list after it is
    // refused before anything is opened.
    let specs = list_specs(&a.list_args(), sub)?;
    let (indexes, held) = scan_indexes(a, &specs, want_custody)?;
    let (extra, p) = parse_algos(a.algo.as_deref())?;
    let mut engine = image_options(engine_options(&a.input)?, &a.image, p)
        .pdq_min_quality(a.pdq_min_quality)
        .fast_decode(!a.exact_decode);
    engine = match_rules(
        engine,
        [a.pdq_threshold, a.phash_threshold, a.dhash_threshold],
        &a.vpdq,
        a.no_verify_index,
    );
    if let Some(extra) = extra {
        engine = engine.algos(extra);
    }
    for index in indexes {
        engine = engine.index(index);
    }
    let engine = engine.build().map_err(duplicate_hint)?;
    let job = |opts, progress: &TermProgress, failed: &mut dyn FnMut(&ItemResult)| {
        jobs::scan(&engine, opts, a.format, a.all, progress, failed)
    };
    run_job(&a.input, &a.output, &a.run, scan_ext(a.format), held, job)
}

/// The indexes a scan matches against: each `--index` opened (and checked for entries
/// unless `--allow-empty`), then the `--list` and `--allow` lists compiled in memory into
/// one more; with their custody records when `want_custody`.
fn scan_indexes(
    a: &ScanArgs,
    specs: &[ListSpec],
    want_custody: bool,
) -> Result<(Vec<Arc<Index>>, Vec<vigie::report::IndexCustody>)> {
    let mut held = Vec::new();
    let mut indexes = Vec::new();
    for p in &a.index {
        let index = open_index(p, &a.trust)?;
        if !a.allow_empty {
            index.check_not_empty().map_err(allow_empty_hint)?;
        }
        if want_custody {
            held.push(index_custody(p, &index, &a.trust));
        }
        indexes.push(Arc::new(index));
    }
    if !specs.is_empty() {
        if a.trust.trusted_key.is_some() {
            bail!(
                "--trusted-key accepts signed indexes only, and lists given with --list or \
                 --allow are not signed: build an index of them and sign it"
            );
        }
        let mut b = IndexBuilder::new();
        b.set_allow_empty(a.allow_empty);
        for spec in specs {
            let rep = b.add_list(spec, false).map_err(allow_empty_hint)?;
            report_list(&rep, a.output.quiet);
        }
        let index = b.into_index()?;
        if want_custody {
            held.push(index_custody(
                Path::new("(--list and --allow lists, compiled in memory)"),
                &index,
                &a.trust,
            ));
        }
        indexes.push(Arc::new(index));
    }
    Ok((indexes, held))
}

/// The matching rules `scan` and `match` share: the PDQ, pHash and dHash thresholds, the
/// vPDQ rule, and whether the indexes' checksums are checked first.
fn match_rules(
    b: EngineBuilder,
    [pdq, phash, dhash]: [u32; 3],
    vpdq: &VpdqRuleArgs,
    no_verify_index: bool,
) -> EngineBuilder {
    b.pdq_threshold(pdq)
        .vpdq_rule(vpdq.rule())
        .phash_threshold(phash)
        .dhash_threshold(dhash)
        .verify_index(!no_verify_index)
}

/// Runs a hash or scan job: its inputs, outputs and custody (with `indexes`), the progress
/// display and the failed items named on stderr around `job`; then its report and exit
/// status.
fn run_job(
    input: &InputArgs,
    output: &OutputArgs,
    run: &RunArgs,
    ext: &str,
    indexes: Vec<vigie::report::IndexCustody>,
    job: impl FnOnce(
        RunOptions,
        &TermProgress,
        &mut dyn FnMut(&ItemResult),
    ) -> std::io::Result<RunReport>,
) -> Result<u8> {
    let signals = Signals::install()?;
    let (mut opts, part) = run_options(input, output, run, &signals, ext)?;
    opts.custody = Some(custody(indexes));
    let progress = TermProgress::start(drawn(output), known_size(input));
    let mut failed = name_failures(output);
    let report = job(opts, &progress, &mut failed);
    progress.finish();
    finished(report?, output.quiet, part.as_deref(), &signals)
}

/// `vigie match`.
fn cmd_match(a: &MatchArgs, m: &ArgMatches) -> Result<u8> {
    let list_idx = indices(m, "lists");
    let kinds = for_next_list(
        &list_idx,
        "type",
        a.kind.iter().copied().zip(indices(m, "kind")),
    )?;
    let mut output_format = ScanFormat::Jsonl;
    let mut list_formats = Vec::new();
    for (f, at) in a.format.iter().zip(indices(m, "format")) {
        match *f {
            MatchFormat::Output(o) => output_format = o,
            MatchFormat::List(l) => list_formats.push((l, at)),
        }
    }
    let formats = for_next_list(&list_idx, "format", list_formats)?;
    check_index_args(&a.index, &a.trust)?;
    let indexes = a
        .index
        .iter()
        .map(|p| open_index(p, &a.trust))
        .collect::<Result<Vec<_>>>()?;
    let opts = jobs::MatchOptions {
        lists: a
            .lists
            .iter()
            .zip(kinds.into_iter().zip(formats))
            .map(|(l, (kind, format))| (l.clone(), kind, format))
            .collect(),
        output: a.output.output.clone(),
        summary: a.output.summary.clone(),
        // The indexes' SHA-256 reads them whole: only when a summary is written.
        custody: a.output.summary.is_some().then(|| {
            custody(
                a.index
                    .iter()
                    .zip(&indexes)
                    .map(|(p, i)| index_custody(p, i, &a.trust))
                    .collect(),
            )
        }),
    };
    let engine = indexes
        .into_iter()
        .fold(Engine::builder(), |b, i| b.index(Arc::new(i)))
        .threads(a.threads.unwrap_or(0));
    let engine = match_rules(
        engine,
        [a.pdq_threshold, a.phash_threshold, a.dhash_threshold],
        &a.vpdq,
        a.no_verify_index,
    )
    .build()
    .map_err(duplicate_hint)?;
    let report = jobs::match_lists(
        &engine,
        &opts,
        output_format,
        a.all,
        &mut name_failures(&a.output),
    )?;
    finished(report, a.output.quiet, None, &Signals::none())
}

/// `vigie index build`.
fn cmd_index_build(a: &BuildArgs, sub: &ArgMatches) -> Result<u8> {
    let specs = list_specs(&a.list_args(), sub)?;
    if let Some(out) = &a.output {
        check_destination(out)?;
    }
    let mut b = IndexBuilder::new();
    b.set_pdq_search(a.pdq_search);
    b.set_allow_empty(a.allow_empty);
    let (reports, failed) = add_lists(&mut b, &specs, a)?;
    if !failed.is_empty() && reports.is_empty() {
        bail!(
            "no list could be read ({} failed): nothing to build",
            failed.len()
        );
    }
    let status = if failed.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    };
    let Some(output) = &a.output else {
        dry_run(b, a.json, &reports, &failed)?;
        return Ok(status as u8);
    };
    let stats = write_index(b, output)?;
    if !a.quiet {
        msg!(
            "vigie: wrote {}: {} bytes, {} lists, distinct digests: {}, distinct pdq: {}{}",
            output.display(),
            stats.bytes,
            stats.lists,
            stats.distinct,
            stats.distinct_pdq,
            if stats.distinct_phash + stats.distinct_dhash > 0 {
                format!(
                    ", distinct phash: {}, distinct dhash: {}",
                    stats.distinct_phash, stats.distinct_dhash
                )
            } else {
                String::new()
            }
        );
    }
    if !failed.is_empty() {
        // Said even under -q: the index lacks lists it was asked to hold.
        msg!(
            "vigie: {} lists failed and were left out of {}",
            failed.len(),
            output.display()
        );
    }
    // Malformed lines were reported above; --strict is how to make them fatal.
    Ok(status as u8)
}

/// `index build --dry-run`: the index built in memory, described on stdout (with `json`, one
/// document of it, the lists' reports and the failed lists), never written.
fn dry_run(
    b: IndexBuilder,
    json: bool,
    reports: &[vigie::index::ListReport],
    failed: &[serde_json::Value],
) -> Result<()> {
    let info = b.into_index().map_err(allow_empty_hint)?.info();
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "lists": reports, "failed": failed, "index": info });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        write!(out, "{info}")?;
    }
    out.flush()?;
    if !failed.is_empty() {
        msg!("vigie: {} lists failed", failed.len());
    }
    Ok(())
}

/// Reads `index build`'s lists into `b`, reporting each (and the progress) on stderr. A list
/// that cannot be read is left out and named, the others are built (unless --strict, which
/// makes it an error); returns the lists' reports and the failed lists.
fn add_lists(
    b: &mut IndexBuilder,
    specs: &[ListSpec],
    a: &BuildArgs,
) -> Result<(Vec<vigie::index::ListReport>, Vec<serde_json::Value>)> {
    let mut reports = Vec::new();
    let mut failed: Vec<serde_json::Value> = Vec::new();
    let mut shown = ListProgress::start(!a.quiet);
    for (i, spec) in specs.iter().enumerate() {
        let size = std::fs::metadata(&spec.path).ok().map(|m| m.len());
        shown.reading(i, specs.len(), &spec.path, size);
        let rep = match b.add_list(spec, a.strict) {
            Ok(rep) => rep,
            Err(e @ vigie::index::IndexError::List(_)) if !a.strict => {
                let e = allow_empty_hint(e);
                shown.println(|| msg!("vigie: {e} (list left out; --strict stops the build here)"));
                failed.push(serde_json::json!({
                    "path": spec.path.display().to_string(),
                    "error": e.to_string(),
                }));
                continue;
            }
            Err(e) => return Err(allow_empty_hint(e)),
        };
        let secs = shown.elapsed();
        shown.println(|| {
            report_list(&rep, a.quiet);
            if let (Some(bytes), false) = (size, a.quiet) {
                msg!(
                    "vigie: list {}: {:.1} MB read in {secs:.2} s ({:.1} MB/s)",
                    rep.name,
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs.max(1e-6)
                );
            }
        });
        reports.push(rep);
    }
    shown.finish();
    Ok((reports, failed))
}

/// Checks an index's destination before anything is read: a bad `-o` fails at once, not
/// after the lists or indexes (which may take an hour) were read. A device or fifo is
/// written in place: opening it now would consume its reader.
fn check_destination(out: &Path) -> Result<()> {
    if !std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
        vigie::report::output::Destination::open(out)
            .with_context(|| format!("cannot write index {}", out.display()))?;
    }
    Ok(())
}

/// Writes the index `b` holds to `out`.
fn write_index(b: IndexBuilder, out: &Path) -> Result<vigie::index::IndexStats> {
    b.write(out)
        .with_context(|| format!("cannot write index {}", out.display()))
}

/// `vigie index sign`.
fn cmd_index_sign(a: &SignArgs) -> Result<u8> {
    let index = Index::open(&a.index)
        .with_context(|| format!("cannot open index {}", a.index.display()))?;
    let key = std::fs::read_to_string(&a.key)
        .with_context(|| format!("cannot read key {}", a.key.display()))?;
    let password = match &a.password_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read password file {}", f.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        None => std::env::var("VIGIE_KEY_PASSWORD").ok(),
    };
    let name = a
        .index
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let comment = format!(
        "vigie index {name}, {} bytes, format version {}, signed by vigie {}",
        index.info().file_size,
        index.info().version,
        vigie::version::VERSION
    );
    let sig = index
        .sign(&key, password, &comment)
        .with_context(|| format!("cannot sign with {}", a.key.display()))?;
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| vigie::index::signature::signature_path(&a.index));
    std::fs::write(&out, sig)
        .with_context(|| format!("cannot write signature {}", out.display()))?;
    msg!("vigie: signed {}: {}", a.index.display(), out.display());
    Ok(ExitStatus::Clean as u8)
}

/// `vigie index merge`.
fn cmd_index_merge(a: &MergeArgs) -> Result<u8> {
    check_index_args(&a.inputs, &a.trust)?;
    check_destination(&a.output)?;
    let mut b = IndexBuilder::new();
    b.set_pdq_search(a.pdq_search);
    for p in &a.inputs {
        let index = open_index(p, &a.trust)?;
        let reports = b.add_index(&index, p, a.qualify).map_err(|e| match e {
            e @ vigie::index::IndexError::DuplicateList { .. } => {
                anyhow::anyhow!("{e}; --qualify names each list INDEX-STEM/NAME")
            }
            e => anyhow::Error::from(e).context(format!("cannot merge index {}", p.display())),
        })?;
        for rep in &reports {
            report_list(rep, a.quiet);
        }
    }
    let stats = write_index(b, &a.output)?;
    if !a.quiet {
        msg!(
            "vigie: wrote {}: {} bytes, {} lists from {} indexes, distinct digests: {}, \
             distinct pdq: {}",
            a.output.display(),
            stats.bytes,
            stats.lists,
            a.inputs.len(),
            stats.distinct,
            stats.distinct_pdq,
        );
    }
    Ok(ExitStatus::Clean as u8)
}

/// `vigie index info`.
fn cmd_index_info(a: &InfoArgs) -> Result<u8> {
    let index = open_index(&a.index, &a.trust)?;
    if a.verify {
        index
            .verify()
            .with_context(|| format!("index {} failed verification", a.index.display()))?;
    }
    let info = index.info();
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &info)?;
        writeln!(out)?;
    } else {
        write!(out, "{info}")?;
        if a.verify {
            writeln!(out, "checksums: ok")?;
        }
    }
    Ok(ExitStatus::Clean as u8)
}

/// Whether a run's progress is displayed: not under -q, nor when the records go to a terminal
/// on stdout (they show the progress, and a display would leave stale lines among them).
fn drawn(out: &OutputArgs) -> bool {
    use std::io::IsTerminal;
    !out.quiet && (out.output.is_some() || !std::io::stdout().is_terminal())
}

/// The inputs' total size when every input is a regular file named on the command line (a
/// directory's size is unknown until walked), for the progress display's estimate.
fn known_size(input: &InputArgs) -> Option<u64> {
    if !input.files_from.is_empty() || input.paths.is_empty() {
        return None;
    }
    input.paths.iter().try_fold(0u64, |sum, p| {
        let m = std::fs::metadata(p)
            .ok()
            .filter(std::fs::Metadata::is_file)?;
        Some(sum + m.len())
    })
}

/// A run's chain of custody: this build, the command line, and the indexes.
fn custody(indexes: Vec<vigie::report::IndexCustody>) -> vigie::report::Custody {
    vigie::report::Custody {
        vigie: vigie::version::VERSION.into(),
        commit: vigie::version::COMMIT.into(),
        features: vigie::version::features()
            .into_iter()
            .map(String::from)
            .collect(),
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        indexes,
        ..Default::default()
    }
}

/// The index of a run as a report names it: path, size, SHA-256, format, trusted key.
fn index_custody(path: &Path, index: &Index, trust: &TrustArgs) -> vigie::report::IndexCustody {
    let info = index.info();
    vigie::report::IndexCustody {
        path: path.display().to_string(),
        bytes: info.file_size,
        sha256: index.sha256(),
        format_version: info.version,
        verified_with_key: trust.trusted_key.clone(),
        lists: info
            .lists
            .into_iter()
            .map(|l| vigie::report::ListCustody {
                name: l.name,
                path: l.source,
                bytes: l.source_bytes,
                sha256: l.source_sha256,
            })
            .collect(),
    }
}

/// Checks the indexes given before any is opened: none given twice (its lists would clash
/// with themselves), and no `--signature` with several (it names one file; each index's
/// signature is then read from its own INDEX.minisig).
fn check_index_args(indexes: &[PathBuf], trust: &TrustArgs) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for p in indexes {
        let id = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if !seen.insert(id) {
            bail!("index {} is given twice", p.display());
        }
    }
    if indexes.len() > 1 && trust.signature.is_some() {
        bail!(
            "--signature names one index's signature, and {} indexes are given: each is read \
             from its own INDEX.minisig",
            indexes.len()
        );
    }
    Ok(())
}

/// Adds to a duplicate list name's error how to tell the lists apart.
fn duplicate_hint(e: vigie::engine::EngineError) -> anyhow::Error {
    use vigie::index::IndexError;
    match e {
        vigie::engine::EngineError::Index(d @ IndexError::DuplicateList { .. }) => {
            anyhow::anyhow!(
                "{d}; name them apart (index build --name, scan --name) or merge the indexes \
                 with `vigie index merge --qualify`"
            )
        }
        e => e.into(),
    }
}

/// Opens an index; with --trusted-key, refuses it unless its signature verifies.
fn open_index(path: &Path, trust: &TrustArgs) -> Result<Index> {
    let index =
        Index::open(path).with_context(|| format!("cannot open index {}", path.display()))?;
    if let Some(k) = &trust.trusted_key {
        use vigie::index::signature;
        // A key file, else the key itself.
        let (text, file) = match std::fs::read_to_string(k) {
            Ok(t) => (t, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (k.clone(), false),
            Err(e) => bail!("cannot read trusted key {k}: {e}"),
        };
        let key = signature::public_key(&text).with_context(|| {
            if file {
                format!("trusted key {k}")
            } else {
                format!("trusted key {k}: no such file, and")
            }
        })?;
        let sig_path = trust
            .signature
            .clone()
            .unwrap_or_else(|| signature::signature_path(path));
        let sig = std::fs::read_to_string(&sig_path).with_context(|| {
            format!(
                "index {} refused: --trusted-key given and its signature {} cannot be read",
                path.display(),
                sig_path.display()
            )
        })?;
        index.verify_signature(&sig, &key).with_context(|| {
            format!(
                "index {} refused: its signature {} does not verify with the trusted key",
                path.display(),
                sig_path.display()
            )
        })?;
    }
    Ok(index)
}

/// Adds to an empty list's or index's error the flag that accepts it.
fn allow_empty_hint(e: vigie::index::IndexError) -> anyhow::Error {
    use vigie::index::IndexError;
    let empty = matches!(
        e,
        IndexError::EmptyIndex { .. } | IndexError::List(vigie::lists::ListError::NoHash { .. })
    );
    if empty {
        anyhow::anyhow!("{e}; --allow-empty accepts it")
    } else {
        e.into()
    }
}

fn report_list(rep: &vigie::index::ListReport, quiet: bool) {
    if quiet {
        return;
    }
    let videos = match rep.videos {
        0 => String::new(),
        n => format!(", videos (vpdq): {n}"),
    };
    msg!(
        "vigie: list {} ({}): {} format, {}list, label {:?}, entries: {}, pdq: {}{}{videos}, \
         malformed lines: {}",
        rep.name,
        rep.path,
        serde_json::to_value(rep.format)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        rep.role,
        rep.label,
        rep.entries,
        rep.pdq,
        if rep.phash + rep.dhash > 0 {
            format!(", phash: {}, dhash: {}", rep.phash, rep.dhash)
        } else {
            String::new()
        },
        rep.malformed
    );
    for n in &rep.notes {
        msg!("vigie: {}: note: {n}", rep.path);
    }
    for p in &rep.problems {
        msg!("vigie: {p}");
    }
    if rep.malformed > rep.problems.len() as u64 {
        msg!(
            "vigie: {}: {} more malformed lines not shown",
            rep.path,
            rep.malformed - rep.problems.len() as u64
        );
    }
}

/// Pairs each LIST (and `--allow` LIST, in command-line order) with the `--name`, `--label`,
/// `--type`, `--format`, `--role` and `--bloom-case` given before it (after the previous list).
/// The lists of a command line and the options that apply to the next list (`--name`,
/// `--label`, `--type`, a format, `--role`, `--bloom-case`), as `index build` and `scan
/// --list` take them.
struct ListArgs<'a> {
    /// The id of the blocklists' argument (`lists`, positional, or `list`, `--list`).
    lists_id: &'static str,
    lists: &'a [PathBuf],
    allow: &'a [PathBuf],
    /// The format option's flag as typed (`format` or `list-format`).
    format_flag: &'static str,
    list_format: &'a [ListFormat],
    name: &'a [String],
    label: &'a [String],
    kind: &'a [ListType],
    role: &'a [Role],
    bloom_case: &'a [BloomCase],
}

impl BuildArgs {
    fn list_args(&self) -> ListArgs<'_> {
        ListArgs {
            lists_id: "lists",
            lists: &self.lists,
            allow: &self.allow,
            format_flag: "format",
            list_format: &self.list_format,
            name: &self.name,
            label: &self.label,
            kind: &self.kind,
            role: &self.role,
            bloom_case: &self.bloom_case,
        }
    }
}

impl ScanArgs {
    fn list_args(&self) -> ListArgs<'_> {
        ListArgs {
            lists_id: "list",
            lists: &self.list,
            allow: &self.allow,
            format_flag: "list-format",
            list_format: &self.list_format,
            name: &self.name,
            label: &self.label,
            kind: &self.kind,
            role: &[],
            bloom_case: &[],
        }
    }
}

fn list_specs(a: &ListArgs<'_>, m: &ArgMatches) -> Result<Vec<ListSpec>> {
    let idx = |id: &str| indices(m, id);
    // (position on the command line, path, role given by --allow)
    let mut all: Vec<(usize, &PathBuf, Option<Role>)> = idx(a.lists_id)
        .into_iter()
        .zip(a.lists)
        .map(|(i, p)| (i, p, None))
        .chain(
            idx("allow")
                .into_iter()
                .zip(a.allow)
                .map(|(i, p)| (i, p, Some(Role::Allow))),
        )
        .collect();
    all.sort_by_key(|x| x.0);
    let list_idx: Vec<usize> = all.iter().map(|x| x.0).collect();
    fn per_list<T: Clone + std::fmt::Debug>(
        m: &ArgMatches,
        list_idx: &[usize],
        id: &str,
        values: &[T],
        format_flag: &str,
    ) -> Result<Vec<Option<T>>> {
        if values.is_empty() {
            return Ok(vec![None; list_idx.len()]);
        }
        let idx: Vec<usize> = m.indices_of(id).map(|i| i.collect()).unwrap_or_default();
        let mut out = vec![None; list_idx.len()];
        // The option as typed: ids are field names (`kind` is `--type`).
        let flag = match id {
            "kind" => "type".to_string(),
            "list_format" => format_flag.to_string(),
            _ => id.replace('_', "-"),
        };
        for (v, at) in values.iter().zip(idx) {
            let Some(slot) = list_idx.iter().position(|&l| l > at) else {
                bail!("--{flag} {v:?} is not followed by a list it could apply to");
            };
            if out[slot].replace(v.clone()).is_some() {
                bail!("two --{flag} options given for the same list");
            }
        }
        Ok(out)
    }
    let f = a.format_flag;
    let formats = per_list(m, &list_idx, "list_format", a.list_format, f)?;
    let names = per_list(m, &list_idx, "name", a.name, f)?;
    let labels = per_list(m, &list_idx, "label", a.label, f)?;
    let kinds = per_list(m, &list_idx, "kind", a.kind, f)?;
    let roles = per_list(m, &list_idx, "role", a.role, f)?;
    let cases = per_list(m, &list_idx, "bloom_case", a.bloom_case, f)?;
    all.iter()
        .enumerate()
        .map(|(i, &(_, path, allow))| {
            let role = match (roles[i], allow) {
                (Some(r), Some(_)) if r != Role::Allow => {
                    bail!("--role {r} given for --allow {}", path.display())
                }
                (Some(r), _) => Some(r),
                (None, allow) => allow,
            };
            Ok(ListSpec {
                path: path.clone(),
                name: names[i].clone(),
                label: labels[i].clone(),
                algo: kinds[i],
                format: formats[i],
                role,
                bloom_lower: cases[i] == Some(BloomCase::Lower),
            })
        })
        .collect()
}

/// The perceptual hashes named in `--algo`.
#[derive(Clone, Copy, Default)]
struct Perceptual {
    pdq: bool,
    vpdq: bool,
    phash: bool,
    dhash: bool,
}

/// Splits `--algo` into exact algorithms (`None` when not given) and perceptual hashes.
fn parse_algos(arg: Option<&str>) -> Result<(Option<AlgoSet>, Perceptual)> {
    let Some(arg) = arg else {
        return Ok((None, Perceptual::default()));
    };
    let mut exact = AlgoSet::EMPTY;
    let mut p = Perceptual::default();
    for name in arg.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "pdq" => p.pdq = true,
            "vpdq" => p.vpdq = true,
            "phash" => p.phash = true,
            "dhash" => p.dhash = true,
            "all" => exact = exact.union("all".parse().map_err(anyhow::Error::msg)?),
            _ => exact.insert(
                name.parse::<vigie::hash::Algo>()
                    .map_err(|e| anyhow::anyhow!("{e} (or pdq, phash, dhash, vpdq)"))?,
            ),
        }
    }
    if exact.is_empty() && !(p.pdq || p.phash || p.dhash || p.vpdq) {
        bail!("--algo names no algorithm");
    }
    Ok((Some(exact), p))
}

/// The engine options every job shares: threads, reading, walking.
fn engine_options(input: &InputArgs) -> Result<EngineBuilder> {
    let filter = vigie::source::FileFilter::new(
        &input.include,
        &input.exclude,
        input.min_size,
        input.max_size,
    )
    .map_err(anyhow::Error::msg)?;
    Ok(Engine::builder()
        .threads(input.threads.unwrap_or(0))
        .mmap(!input.no_mmap)
        .archives(!input.no_archives)
        .container_records(!input.members_only)
        .archive_limits(archive_limits(input))
        .follow_links(input.follow)
        .filter(filter))
}

/// The bounds on opening containers, from the `--max-*` flags.
fn archive_limits(input: &InputArgs) -> Limits {
    let mut l = Limits::default();
    l.max_depth = input.max_depth;
    l.max_expanded = input.max_expanded;
    l.max_scan = input.max_scan;
    l.max_members = input.max_members;
    l.max_ratio = input.max_ratio;
    l
}

/// The image options: perceptual hashes asked for, decoding limits, orientation.
fn image_options(b: EngineBuilder, a: &ImageArgs, p: Perceptual) -> EngineBuilder {
    b.pdq(p.pdq)
        .vpdq(p.vpdq)
        .vpdq_seconds_per_hash(a.vpdq_seconds_per_hash)
        .video_limits(VideoLimits {
            max_duration_s: a.video_max_duration,
            max_frames: a.video_max_frames,
            max_pixels: a.video_max_pixels,
            max_bytes: a.video_max_bytes,
        })
        .phash(p.phash)
        .dhash(p.dhash)
        .pdq_dihedral(a.pdq_dihedral)
        .exif_orient(a.exif_orient)
        .unletterbox(a.unletterbox.then_some(Unletterbox {
            threshold: a.letterbox_threshold,
            white: a.unletterbox_white,
        }))
        .pixels(match a.pixels {
            PixelsArg::Viewer => Pixels::Viewer,
            PixelsArg::Pillow => Pixels::Pillow,
            PixelsArg::Threatexchange => Pixels::ThreatExchange,
        })
        .decode_limits(DecodeLimits {
            max_pixels: a.max_pixels,
            max_alloc: a.max_alloc,
        })
        .decode_memory(a.decode_memory)
}

/// The file extension of a scan format's part files.
fn scan_ext(f: ScanFormat) -> &'static str {
    match f {
        ScanFormat::Jsonl => "jsonl",
        ScanFormat::Csv => "csv",
    }
}

/// The shard from `--shard I/N`, or `--shard N` with I from an array job's environment.
fn parse_shard(arg: &str) -> Result<Shard> {
    let (i, n) = match arg.split_once('/') {
        Some((i, n)) => (i.trim().to_string(), n),
        None => (shard_index_from_env()?, arg),
    };
    let parse = |v: &str, what: &str| -> Result<u64> {
        v.trim()
            .parse::<u64>()
            .with_context(|| format!("--shard {arg}: {what} {v:?} is not a whole number"))
    };
    Shard::new(parse(&i, "index")?, parse(n, "count")?)
        .map_err(|e| anyhow::anyhow!("--shard {arg}: {e}"))
}

/// The task index an array job sets: Kubernetes Indexed Jobs, Slurm arrays (made 0-based
/// with SLURM_ARRAY_TASK_MIN), AWS Batch arrays.
fn shard_index_from_env() -> Result<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(i) = var("JOB_COMPLETION_INDEX") {
        return Ok(i);
    }
    if let Some(i) = var("SLURM_ARRAY_TASK_ID") {
        let min = var("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
        let (i, min) = (i.trim().parse::<u64>(), min.trim().parse::<u64>());
        return match (i, min) {
            (Ok(i), Ok(min)) if i >= min => Ok((i - min).to_string()),
            _ => bail!("SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_MIN are not a valid task index"),
        };
    }
    if let Some(i) = var("AWS_BATCH_JOB_ARRAY_INDEX") {
        return Ok(i);
    }
    bail!(
        "--shard N needs the task index: give --shard I/N, or run as an array job \
         (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX set)"
    )
}

/// The inputs and outputs of a hash or scan job, and the part file it writes (with a shard
/// and `-o DIR`).
fn run_options(
    input: &InputArgs,
    output: &OutputArgs,
    run: &RunArgs,
    signals: &Signals,
    ext: &str,
) -> Result<(RunOptions, Option<PathBuf>)> {
    // `-` is standard input's content, read once: given twice, or with a path list read from
    // standard input, one of them would find it empty.
    let stdin_uses = input.paths.iter().filter(|p| p.as_os_str() == "-").count()
        + input
            .files_from
            .iter()
            .filter(|f| f.as_os_str() == "-")
            .count();
    if stdin_uses > 1 {
        bail!("standard input ('-') can be read only once: as content or as --files-from, once");
    }
    let mut inputs: Vec<Input> = input
        .paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p.clone())
            }
        })
        .collect();
    inputs.extend(input.files_from.iter().map(|f| Input::FilesFrom {
        list: f.clone(),
        nul: input.null,
    }));
    if inputs.is_empty() {
        bail!("no input: give paths or --files-from");
    }
    let shard = input.shard.as_deref().map(parse_shard).transpose()?;
    let mut out = output.output.clone();
    if let (Some(s), Some(dir)) = (shard, &out) {
        // A directory: one that exists, or a path ending with '/' (created).
        let slash = dir.as_os_str().to_string_lossy().ends_with('/');
        if slash && !dir.exists() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        }
        if dir.is_dir() {
            out = Some(dir.join(format!("part-{}-of-{}.{ext}", s.index, s.count)));
        }
    }
    // An array task's journal may be a directory too: DIR/part-I-of-N.journal.
    let journal = run.journal.as_ref().map(|j| match shard {
        Some(s) if j.is_dir() => j.join(format!("part-{}-of-{}.journal", s.index, s.count)),
        _ => j.clone(),
    });
    let opts = RunOptions {
        inputs,
        shard,
        sorted: (shard.is_some() && journal.is_none()) || run.sort == Some(SortOrder::Path),
        output: out.clone(),
        summary: output.summary.clone(),
        summary_record: run.summary_record,
        custody: None,
        stop: Some(signals.stop.clone()),
        journal: journal.map(|path| JournalOptions {
            path,
            resume: run.resume,
        }),
    };
    Ok((opts, out.filter(|_| shard.is_some())))
}

/// What a job does with each failed item: names it on stderr with its reason, `vigie:
/// LOCATION: kind: reason` (as sha256sum and clamscan do), even under `-q`, unless
/// `--no-messages`.
fn name_failures(out: &OutputArgs) -> impl FnMut(&ItemResult) {
    let named = !out.no_messages;
    move |r| {
        if let (true, Some(f)) = (named, r.failure()) {
            msg!("vigie: {}: {f}", r.loc);
        }
    }
}

/// Reports a finished job on stderr (unless quiet) and gives its exit status: 128 + the
/// signal's number when a signal stopped it.
fn finished(report: RunReport, quiet: bool, part: Option<&Path>, signals: &Signals) -> Result<u8> {
    let signal = signals.received().filter(|_| report.stopped);
    if let Some((_, name)) = signal {
        msg!("vigie: stopped by {name}: what was read is written, marked incomplete");
    }
    if !quiet && (report.complete || report.stopped) {
        msg!("vigie: {}", report.summary);
        if let Some(p) = part {
            msg!("vigie: wrote {}", p.display());
        }
    }
    Ok(match signal {
        Some((n, _)) => 128 + n,
        None => report.status as u8,
    })
}
