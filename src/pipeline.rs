//! Wiring the stages: walk → open → hash → match → one consumer.
//!
//! # Threading
//! One thread walks the inputs and feeds a bounded channel of files; a rayon pool of
//! `threads` workers opens, hashes and matches them (the members of one large tar are spread
//! over the pool in batches); every result goes through a second bounded channel to the
//! caller's thread, which alone writes output. That thread also matches images perceptually,
//! [`IMAGE_BATCH`] at a time (one multi-index search for all of them), holding their results
//! back until their batch is searched. Memory stays flat: the channels are bounded,
//! tar members are processed in bounded batches, and mapped pages are released once hashed.

use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{bounded, Sender};
use rayon::prelude::*;

use crate::engine::{Progress, ScanControl};
use crate::hash::{hash_many, AlgoSet, Digests, MultiHasher};
use crate::matcher::{Matcher, IMAGE_BATCH};
use crate::model::{Event, FailKind, Failure, Hit, Input, ItemResult, Location};
use crate::perceptual::{hash_image, Drift, ImageError, ImageHashes, PerceptualConfig, FAST_DRIFT};
use crate::read::{Data, FileAt, FileStream, Random};
use crate::source::archive::{
    over_budget, ArchiveError, Body, Budget, Expansion, Fault, Format, InPlace, Member, MemberKind,
    MemberStream, Metered, Packed,
};
use crate::source::open::{
    classify, classify_reader, read_full, spool, unopened_failure, Compression, Spooled, HEAD_LEN,
    SNIFF_LEN,
};
use crate::source::stream::{single_decoder, StreamFault};
use crate::source::zip::Method;
use crate::source::{open_file, Container, Found, OpenOptions, WalkOptions};
use crate::video::{hash_video, VideoConfig};

mod sevenz;

/// How a scan reads, hashes and matches: everything but the inputs (see
/// [`crate::engine::EngineBuilder`], which resolves it from the caller's options).
#[derive(Clone, Debug)]
pub(crate) struct PipelineConfig {
    /// How to walk directories.
    pub walk: WalkOptions,
    /// How to open files.
    pub open: OpenOptions,
    /// Exact algorithms to compute on every item.
    pub algos: AlgoSet,
    /// Perceptual hashes of images (off by default).
    pub perceptual: PerceptualConfig,
    /// Mark images under the PDQ quality minimum as low quality (when matching).
    pub check_quality: bool,
    /// vPDQ hashes of videos (off by default).
    pub video: VideoConfig,
}

/// Tar members larger than this are hashed as they stream out of a decoder instead of being
/// buffered and handed to the pool.
const STREAM_BUFFER_LIMIT: u64 = 16 << 20;
/// Members per parallel batch, and bytes per batch, for tar archives.
const BATCH_MEMBERS: usize = 256;
const BATCH_BYTES: u64 = 16 << 20;
/// Mapped bytes hashed between two releases of the pages behind.
const RELEASE_STEP: usize = 64 << 20;
/// Small items hashed together (multi-buffer MD5 takes eight at a time).
const GROUP: usize = 32;
/// Items at least this large are hashed by two threads when several algorithms run.
const SPLIT_MIN_LEN: usize = 32 << 20;

struct Ctx<'a> {
    cfg: &'a PipelineConfig,
    matcher: Option<&'a dyn Matcher>,
    progress: &'a dyn Progress,
    out: Sender<Event>,
    quit: &'a AtomicBool,
    ctl: &'a ScanControl<'a>,
    /// Where the items are: an input's own, or inside nested containers.
    nest: Nest,
}

/// Where a context's items are: in an input (depth 0), or inside containers met as members
/// and opened in turn.
#[derive(Clone, Default)]
struct Nest {
    /// Member names of the containers enclosing the items, outermost first.
    chain: Vec<Vec<u8>>,
    /// Containers enclosing the items below the input: 0 for an input's own members.
    depth: u32,
    /// What decoding may still expand to under the outermost nested container.
    budget: Option<std::sync::Arc<Budget>>,
}

impl<'a> Ctx<'a> {
    /// The same context, sending its results to `out` instead, in nest `nest`.
    fn with(&self, out: Sender<Event>, nest: Nest) -> Ctx<'a> {
        Ctx {
            cfg: self.cfg,
            matcher: self.matcher,
            progress: self.progress,
            out,
            quit: self.quit,
            ctl: self.ctl,
            nest,
        }
    }

    /// Where an item of the archive at `path` is: `name` (or the archive itself when `None`),
    /// prefixed by the chain of containers enclosing it.
    fn loc(&self, path: &std::path::Path, name: Option<&[u8]>, offset: u64, size: u64) -> Location {
        let mut full = self.nest.chain.clone();
        full.extend(name.map(<[u8]>::to_vec));
        let member = (!full.is_empty()).then(|| full.join(&b'/'));
        Location {
            path: path.to_path_buf(),
            member,
            chain: if full.len() >= 2 { full } else { Vec::new() },
            offset,
            size,
        }
    }

    /// Where an archive error is: the member at fault, or the archive itself at the damaged
    /// range.
    fn error_loc(&self, path: &std::path::Path, e: &ArchiveError) -> Location {
        self.loc(path, e.member.as_deref(), e.offset, e.skipped)
    }

    /// Where a member is: its name, the offset of its data in the archive (its packed data
    /// for a packed member) and its size.
    fn member_loc(&self, path: &std::path::Path, m: &Member) -> Location {
        self.loc(path, Some(&m.name), m.offset, m.size)
    }

    /// Whether an item in memory whose bytes are `b` is a container to open in turn (`Some(Ok)`,
    /// see [`Ctx::open_nested`]), one nested too deep (`Some(Err)`: a failed `limit`), or no
    /// container vigie opens (`None`).
    fn opens(&self, b: &[u8]) -> Option<Result<(), Failure>> {
        if !self.cfg.open.archives {
            return None;
        }
        let what = crate::source::open::openable(b)?;
        let max = self.cfg.open.limits.max_depth;
        if self.nest.depth >= max {
            let why = format!("{what}: not opened, nested deeper than --max-depth {max}");
            return Some(Err(Failure::new(FailKind::Limit, why)));
        }
        Some(Ok(()))
    }

    /// Opens a member held in memory that is itself a container (a tar, a zip, a compressed
    /// tar or stream: [`Ctx::opens`]), after its own record: its members are items whose
    /// location is the chain of members (`a.zip/inner.tar.gz/x.jpg`). Decoding under it is
    /// charged to one [`Budget`] per outermost nested container.
    fn open_nested(&self, loc: &Location, data: &Data) {
        let Some(member) = &loc.member else { return };
        if !matches!(self.opens(data.bytes()), Some(Ok(()))) || data.faulted() || self.stopped() {
            return;
        }
        let chain = if loc.chain.is_empty() {
            vec![member.clone()]
        } else {
            loc.chain.clone()
        };
        let limits = &self.cfg.open.limits;
        let budget = self.nest.budget.clone().unwrap_or_else(|| {
            let by_ratio = (data.len() as u64).saturating_mul(limits.max_ratio);
            std::sync::Arc::new(Budget::new(by_ratio.min(limits.max_scan)))
        });
        // The member's file name names the content of a compressed stream without one.
        let last = chain
            .last()
            .and_then(|c| c.rsplit(|&b| b == b'/').next())
            .unwrap_or_default()
            .to_vec();
        let name = std::path::Path::new(std::ffi::OsStr::from_bytes(&last));
        let child = self.with(
            self.out.clone(),
            Nest {
                chain,
                depth: self.nest.depth + 1,
                budget: Some(budget.clone()),
            },
        );
        let path = loc.path.clone();
        match crate::source::open::classify_metered(data.clone(), name, Some(budget)) {
            Container::Archive(format, d) => archive_in_place(&child, path, format, &d),
            Container::ArchiveStream(c, stream) => archive_streamed(&child, path, c, stream),
            Container::Compressed {
                compression,
                name,
                raw,
                data,
            } => compressed_stream(&child, path, compression, name, raw, data),
            Container::SevenZ(d) => sevenz::archive(&child, path, &d),
            _ => {}
        }
    }

    fn send(&self, ev: Event) {
        if self.out.send(ev).is_err() {
            self.quit.store(true, Ordering::Relaxed);
        }
    }

    /// Whether to start no more work: the consumer went away, or the caller asked to stop.
    fn stopped(&self) -> bool {
        self.quit.load(Ordering::Relaxed)
            || self.ctl.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Whether an earlier run delivered the item at `loc` (a resumed run leaves it out).
    fn delivered(&self, loc: &Location) -> bool {
        self.ctl.skip.is_some_and(|s| s.item_done(loc))
    }

    /// Whether an earlier run delivered member `m` of the archive at `path`.
    fn member_delivered(&self, path: &std::path::Path, m: &Member) -> bool {
        self.ctl.skip.is_some() && self.delivered(&self.member_loc(path, m))
    }

    /// Tells the consumer that every item of the input at `path` was delivered, when the
    /// caller asked for it and the run was not stopped (an item may then have been left).
    fn input_done(&self, path: PathBuf) {
        if self.ctl.inputs_done && !self.stopped() {
            self.send(Event::InputDone(path));
        }
    }

    /// Completes one item: exact matching, perceptual hashes when its `bytes` sniff as an
    /// image (unless an allowlist knows it and no blocklist holds it: then nothing perceptual
    /// is computed or matched), and the result sent on; perceptual matching is done there, in
    /// batches of images (see [`run`]).
    fn finish(&self, loc: Location, outcome: Result<Digests, Failure>, bytes: Option<&[u8]>) {
        self.finish_with(loc, outcome, bytes, None);
    }

    /// [`Ctx::finish`] with the image error of an image that was not decoded.
    fn finish_with(
        &self,
        loc: Location,
        outcome: Result<Digests, Failure>,
        bytes: Option<&[u8]>,
        not_decoded: Option<Failure>,
    ) {
        if self.delivered(&loc) {
            return;
        }
        let mut hits = Vec::new();
        if let (Some(m), Ok(d)) = (self.matcher, &outcome) {
            m.find(d, &mut hits);
        }
        let known = hits.iter().any(Hit::is_allow) && !hits.iter().any(Hit::is_block);
        let (mut image, mut image_error, mut video) = (None, not_decoded, None);
        // An archive or compressed stream met where vigie does not open it: hashed as one
        // item (its own digests stand, and were matched), failed because its content was not
        // read.
        if let (Ok(_), Some(b), None) = (&outcome, bytes, &image_error) {
            image_error = match self.opens(b) {
                Some(Ok(())) => None, // opened after its record (`open_nested`)
                Some(Err(too_deep)) => Some(too_deep),
                None => self.unopened(b),
            };
        }
        if let (Ok(_), Some(b), false, None) = (&outcome, bytes, known, &image_error) {
            match hash_image(b, &self.cfg.perceptual).map(|r| self.verified(b, r)) {
                Some(Ok(i)) => image = Some(i),
                Some(Err(e)) => image_error = Some(Failure::new(FailKind::Image, e.to_string())),
                None => {}
            }
            // A video is decoded and hashed only when it is no image (the sniffs exclude
            // each other: a video container never starts with an image's magic).
            if image.is_none() && image_error.is_none() {
                match hash_video(b, &self.cfg.video) {
                    Some(Ok(v)) => {
                        // A video is matched here, on its worker: its frames are one batch.
                        if let Some(m) = self.matcher {
                            m.find_video(&v.frames, &mut hits);
                        }
                        video = Some(Box::new(v));
                    }
                    Some(Err(e)) => {
                        image_error = Some(Failure::new(FailKind::Video, e.to_string()))
                    }
                    None => {}
                }
            }
        }
        let low_quality = self.cfg.check_quality
            && image
                .as_ref()
                .and_then(|i| i.pdq_quality)
                .is_some_and(|q| q < self.cfg.perceptual.min_quality);
        self.progress.item_done();
        self.send(Event::Item(Box::new(ItemResult {
            loc,
            outcome,
            image,
            image_error,
            video,
            low_quality,
            hits,
        })));
    }

    /// The hashes a match may rest on: an image decoded at reduced scale whose PDQ hashes
    /// come within the threshold plus the screen's slack
    /// ([`FAST_PDQ_DRIFT`](crate::perceptual::FAST_PDQ_DRIFT), more with unletterboxing:
    /// [`PerceptualConfig::fast_drift`]) of an entry (or its pHash, dHash within theirs plus
    /// their drift, [`FAST_DRIFT`]) is decoded again at
    /// full size, and its exact hashes replace the screen's. So the fast path only ever
    /// decides that an image matches nothing; every hit is the reference's, at the
    /// reference's distance.
    fn verified(
        &self,
        bytes: &[u8],
        screened: Result<ImageHashes, ImageError>,
    ) -> Result<ImageHashes, ImageError> {
        match (&screened, self.matcher) {
            (Ok(i), Some(m))
                if i.decode_scale > 1
                    && m.near(
                        i,
                        &Drift {
                            pdq: self.cfg.perceptual.fast_drift(),
                            ..FAST_DRIFT
                        },
                    ) =>
            {
                let mut exact = self.cfg.perceptual;
                exact.decode.fast = false;
                hash_image(bytes, &exact).unwrap_or(screened)
            }
            _ => screened,
        }
    }

    /// The `unsupported` failure of an item whose first bytes are those of a container vigie
    /// did not open (see [`unopened_failure`]); none with `--no-archives`, where every file
    /// is one item by request.
    fn unopened(&self, head: &[u8]) -> Option<Failure> {
        if !self.cfg.open.archives {
            return None;
        }
        unopened_failure(&head[..head.len().min(SNIFF_LEN)])
    }

    fn fail(&self, loc: Location, f: Failure) {
        self.finish(loc, Err(f), None);
    }

    /// Whether an item read as a stream, whose first bytes are `head` (at least
    /// [`crate::source::open::HEAD_LEN`] of them, unless the item is shorter), is to be read
    /// whole to be decoded: an image when perceptual hashes are wanted, a video when vPDQ is.
    fn to_decode(&self, head: &[u8]) -> Option<Decodable> {
        if self.cfg.perceptual.any() && crate::perceptual::decode::sniff(head).is_some() {
            return Some(Decodable {
                kind: FailKind::Image,
                max: self.cfg.perceptual.decode.limits.max_alloc,
            });
        }
        if self.cfg.video.vpdq && crate::video::sniff(head).is_some() {
            return Some(Decodable {
                kind: FailKind::Video,
                max: self.cfg.video.limits.max_bytes,
            });
        }
        None
    }

    /// Hashes many items: small ones in groups of [`GROUP`] through [`hash_many`] (multi-buffer
    /// MD5), large ones one by one through [`Ctx::hash_data`]; groups run in parallel.
    fn hash_items(&self, items: Vec<(Location, Data)>) {
        let (large, small): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|(_, d)| d.len() >= SPLIT_MIN_LEN);
        small.par_chunks(GROUP).for_each(|group| {
            let slices: Vec<&[u8]> = group.iter().map(|(_, d)| d.bytes()).collect();
            let digests = hash_many(self.cfg.algos, &slices);
            let done = |((loc, d), digests): (&(Location, Data), Digests)| {
                self.progress.bytes_read(d.len() as u64);
                self.finish(loc.clone(), checked(loc, d, digests), Some(d.bytes()));
                self.open_nested(loc, d);
            };
            // Decoding and hashing an image or a video costs far more than its exact digests:
            // the items of a group are then spread over the pool, one task each (an idle core
            // steals them one by one), else a group of large photos would keep one core busy
            // while the other waits. Without `with_max_len(1)` rayon hands out runs of items,
            // and a run being worked through cannot be stolen: 14 videos went 5.6 s of CPU to
            // one thread and 3.2 s to the other (1.58x, not 1.9x; docs/bench/vpdq-threads.md).
            if self.cfg.perceptual.any() || self.cfg.video.vpdq {
                group.par_iter().zip(digests).with_max_len(1).for_each(done);
            } else {
                group.iter().zip(digests).for_each(done);
            }
        });
        large
            .into_par_iter()
            .for_each(|(loc, d)| self.hash_data(loc, &d));
    }

    /// Hashes one large item (at least [`SPLIT_MIN_LEN`] bytes: [`Ctx::hash_items`] sends
    /// smaller ones to [`hash_many`]), releasing mapped pages behind the hasher.
    ///
    /// With several algorithms the item is hashed by two threads at once, each running half of
    /// the algorithms (by cost) over the same bytes, so one huge file still keeps two cores
    /// busy; when the other core is busy with other items, rayon runs both halves here.
    fn hash_data(&self, loc: Location, data: &Data) {
        let bytes = data.bytes();
        let split = match self.cfg.algos.split_by_cost() {
            Some(halves) if rayon::current_num_threads() > 1 => Some(halves),
            _ => None,
        };
        let (mut h, mut h2) = match split {
            Some((a, b)) => (MultiHasher::new(a), Some(MultiHasher::new(b))),
            None => (MultiHasher::new(self.cfg.algos), None),
        };
        let mut done = 0;
        // A map whose file shrank under it reads zeros from there on: the item fails
        // (`checked`), so the rest is not hashed.
        while done < bytes.len() && !data.faulted() {
            if self.stopped() {
                return; // left undelivered: the run is incomplete
            }
            let end = (done + RELEASE_STEP).min(bytes.len());
            let step = &bytes[done..end];
            match &mut h2 {
                Some(h2) => {
                    rayon::join(|| h.update(step), || h2.update(step));
                }
                None => h.update(step),
            }
            if data.is_mapped() && bytes.len() > RELEASE_STEP {
                data.release(done..end);
            }
            self.progress.bytes_read((end - done) as u64);
            done = end;
        }
        let digests = match h2 {
            Some(h2) => h.finish().merge(h2.finish()),
            None => h.finish(),
        };
        let outcome = checked(&loc, data, digests);
        self.finish(loc.clone(), outcome, Some(bytes));
        self.open_nested(&loc, data);
    }
}

/// A compressed file's own bytes as its decoder reads them, hashed on the way for the file's
/// own record; shared so that what the decoder leaves (trailing bytes) is read and hashed too.
#[derive(Clone)]
struct Tee(std::sync::Arc<std::sync::Mutex<TeeState>>);

struct TeeState {
    raw: Box<dyn Read + Send>,
    hasher: MultiHasher,
    len: u64,
}

impl Tee {
    fn new(raw: Box<dyn Read + Send>, algos: AlgoSet) -> Tee {
        Tee(std::sync::Arc::new(std::sync::Mutex::new(TeeState {
            raw,
            hasher: MultiHasher::new(algos),
            len: 0,
        })))
    }

    /// Reads the rest of the raw bytes, then gives their digests and length.
    fn finish(self) -> io::Result<(Digests, u64)> {
        io::copy(&mut self.clone(), &mut io::sink())?;
        let state = std::sync::Arc::into_inner(self.0)
            .ok_or_else(|| io::Error::other("the compressed file is still being read"))?;
        let state = state
            .into_inner()
            .map_err(|_| io::Error::other("a reader panicked"))?;
        Ok((state.hasher.finish(), state.len))
    }
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self
            .0
            .lock()
            .map_err(|_| io::Error::other("a reader panicked"))?;
        let n = s.raw.read(buf)?;
        s.hasher.update(&buf[..n]);
        s.len += n as u64;
        Ok(n)
    }
}

/// The content of a single compressed stream (see [`crate::source::stream`]).
enum Inner {
    /// Whole, verified, for the pool to hash (and decode, when it is an image or a video).
    Buffered(Vec<u8>),
    /// Large: hashed as it was decoded, verified; with why it was not decoded when it was to
    /// be, or why it is itself a container vigie did not open.
    Hashed(Digests, Option<Failure>, u64),
}

/// A compressed file holding no tar (`.gz`, `.zst`, `.xz`, `.bz2`): its content is one item,
/// a member of the file named `name`, decoded (bounded by `--max-expanded` and `--max-scan`)
/// and reported only once the stream's checks verified it (a mismatch, a cut, or a limit
/// reached make it a failed item, never a digest); then the file's own record, its digests
/// taken from the same read ([`Tee`]).
fn compressed_stream(
    ctx: &Ctx<'_>,
    path: PathBuf,
    compression: Compression,
    name: Vec<u8>,
    raw: Box<dyn Read + Send>,
    data: Option<Data>,
) {
    let tee = Tee::new(raw, ctx.cfg.algos);
    let inner_loc = |size| ctx.loc(&path, Some(&name), 0, size);
    let inner = match single_decoder(compression, tee.clone()) {
        Ok(dec) => {
            let dec: Box<dyn Read + Send> = match &ctx.nest.budget {
                Some(b) => Box::new(Metered::new(dec, b.clone())),
                None => dec,
            };
            read_inner(ctx, dec, compression)
        }
        Err(e) => Err((0, Failure::new(FailKind::Decompress, e.to_string()))),
    };
    if ctx.stopped() {
        return; // left undelivered: the run is incomplete
    }
    match inner {
        Ok(Inner::Buffered(buf)) => {
            let loc = inner_loc(buf.len() as u64);
            if !ctx.delivered(&loc) {
                ctx.hash_items(vec![(loc, Data::from_vec(buf))]);
            }
        }
        Ok(Inner::Hashed(digests, failure, len)) => {
            ctx.finish_with(inner_loc(len), Ok(digests), None, failure)
        }
        Err((len, f)) => ctx.fail(inner_loc(len), f),
    }
    // Nested, the compressed file is a member whose own record was given already.
    if ctx.stopped() || ctx.nest.depth > 0 {
        return;
    }
    let outer = tee.finish();
    let len = outer.as_ref().map_or(0, |(_, n)| *n);
    let loc = Location::file(path.clone(), len);
    let changed = data.as_ref().and_then(Data::changed);
    if !ctx.cfg.open.container_records {
        // Only the content is reported; it fails if the file changed under it.
        if let Some(why) = changed {
            let why = format!("{why}: the digests of its content may be wrong");
            ctx.fail(loc, Failure::new(FailKind::Read, why));
        }
        return;
    }
    let outcome = match (outer, changed) {
        (Err(e), _) => Err(Failure::new(FailKind::Read, e.to_string())),
        (Ok(_), Some(why)) => {
            let why = format!("{why}: the digests of its content may be wrong");
            Err(Failure::new(FailKind::Read, why))
        }
        (Ok((digests, _)), None) => Ok(digests),
    };
    ctx.finish_with(loc, outcome, None, None);
}

/// Reads a single stream's content from `dec`: buffered whole when small (up to
/// [`STREAM_BUFFER_LIMIT`], or up to its decoding bound when it is an image or a video to
/// decode), else hashed as it streams. At most the limits' bound plus one byte is decoded;
/// more is a failed `limit` item. `Err` carries the bytes decoded and the failure.
fn read_inner(
    ctx: &Ctx<'_>,
    dec: Box<dyn Read + Send + '_>,
    compression: Compression,
) -> Result<Inner, (u64, Failure)> {
    let limits = &ctx.cfg.open.limits;
    let bound = limits.max_expanded.min(limits.max_scan);
    let what = compression.name();
    let failed = |len: u64, e: io::Error| {
        if over_budget(e.kind()) {
            return (
                len,
                Failure::new(FailKind::Limit, format!("{what} stream: {e}")),
            );
        }
        let kind = if crate::read::changed_while_read(&e) {
            FailKind::Read
        } else {
            FailKind::Decompress
        };
        let why = format!(
            "{what} stream: {e}: its content is corrupt or cut short, so no digest of it is \
             reported"
        );
        (len, Failure::new(kind, why))
    };
    let flag = if bound == limits.max_expanded {
        "--max-expanded"
    } else {
        "--max-scan"
    };
    let over = |len: u64| {
        let why = format!(
            "{what} stream expands to more than {bound} bytes ({flag}): the rest was not read"
        );
        (len, Failure::new(FailKind::Limit, why))
    };
    let mut r = dec.take(bound.saturating_add(1));
    let mut head = vec![0u8; HEAD_LEN];
    let n = read_full(&mut r, &mut head).map_err(|e| failed(0, e))?;
    head.truncate(n);
    let decode = ctx.to_decode(&head);
    let cap = decode
        .as_ref()
        .map_or(STREAM_BUFFER_LIMIT, |d| d.max.max(STREAM_BUFFER_LIMIT))
        .min(bound);
    let sniff = head[..n.min(SNIFF_LEN)].to_vec();
    let mut not_decoded = None;
    let mut h = MultiHasher::new(ctx.cfg.algos);
    let mut total = match read_whole(ctx, &mut r, head, cap.saturating_add(1)) {
        Err(e) => return Err(failed(0, e)),
        Ok(Ok(buf)) if buf.len() as u64 <= cap => return Ok(Inner::Buffered(buf)),
        Ok(Ok(buf)) | Ok(Err(buf)) => {
            h.update(&buf);
            ctx.progress.bytes_read(buf.len() as u64);
            buf.len() as u64
        }
    };
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        if ctx.stopped() {
            return Err((total, Failure::new(FailKind::Read, "stopped")));
        }
        match read_full(&mut r, &mut chunk).map_err(|e| failed(total, e))? {
            0 => break,
            n => {
                h.update(&chunk[..n]);
                total += n as u64;
                ctx.progress.bytes_read(n as u64);
            }
        }
    }
    if total > bound {
        return Err(over(total));
    }
    if let Some(d) = decode {
        let what = format!("the {total} bytes of a {what} stream");
        not_decoded = d
            .refusal(total, &what)
            .or_else(|| Some(d.unallocated(&what)));
    }
    Ok(Inner::Hashed(
        h.finish(),
        not_decoded.or_else(|| ctx.unopened(&sniff)),
        total,
    ))
}

/// Bytes read per step from a file streamed with read(); two such buffers alternate, one
/// filled while the other is hashed.
const STREAM_STEP: usize = 8 << 20;

/// A large file read with read() (`--no-mmap`, or a map refused; see
/// [`crate::read::STREAM_MIN_LEN`]), hashed as it streams: memory stays at two buffers of
/// [`STREAM_STEP`] bytes however large the file. A file that changed while it was read is a
/// failed `read` item ([`FileStream`]). Exact digests only, unless its head says it is to be
/// decoded ([`Ctx::to_decode`]: an image when perceptual hashes are wanted, a video when vPDQ
/// is): then it is read whole, up to the bound of its kind; a larger one (or one that cannot
/// be allocated) is hashed as it streams and fails as an image or video not decoded, saying
/// why, its exact hashes kept.
fn stream_file(ctx: &Ctx<'_>, path: PathBuf, mut file: FileStream, head: &[u8]) {
    let len = file.len();
    let loc = Location::file(path, len);
    if ctx.delivered(&loc) {
        return;
    }
    let mut not_decoded = None;
    if let Some(d) = ctx.to_decode(head) {
        let what = format!("a file of {len} bytes read with --no-mmap");
        not_decoded = d.refusal(len, &what);
        if not_decoded.is_none() {
            let mut buf = Vec::new();
            let reserved = usize::try_from(len)
                .ok()
                .is_some_and(|n| buf.try_reserve_exact(n).is_ok());
            if reserved {
                match file.read_to_end(&mut buf) {
                    Ok(_) => ctx.hash_items(vec![(loc, Data::from_vec(buf))]),
                    Err(e) => ctx.fail(loc, Failure::new(FailKind::Read, e.to_string())),
                }
                return;
            }
            not_decoded = Some(d.unallocated(&what));
        }
    }
    match stream_hash(ctx, &mut file) {
        Ok(digests) => {
            let not_decoded = not_decoded.or_else(|| ctx.unopened(head));
            ctx.finish_with(loc, Ok(digests), None, not_decoded)
        }
        Err(_) if ctx.stopped() => {} // left undelivered: the run is incomplete
        Err(e) => ctx.fail(loc, Failure::new(FailKind::Read, e.to_string())),
    }
}

/// An item read as a stream that is to be decoded, as its first bytes tell
/// ([`Ctx::to_decode`]): it has to be read into memory whole first.
struct Decodable {
    /// [`FailKind::Image`] or [`FailKind::Video`].
    kind: FailKind,
    /// The most bytes it may be read into memory at.
    max: u64,
}

impl Decodable {
    /// Why an item of `size` bytes (`what` describes it) is not read whole to be decoded,
    /// or `None` when it may be.
    fn refusal(&self, size: u64, what: &str) -> Option<Failure> {
        let why = match self.kind {
            FailKind::Video if !crate::video::DECODES => "built without video support".into(),
            _ if size <= self.max => return None,
            FailKind::Video => format!(
                "video too large to read into memory: {what} is over the video buffering \
                 limit of {} bytes (--video-max-bytes), so it was not decoded",
                self.max
            ),
            _ => format!(
                "image too large: {what} is over the decoding limit of {} bytes, so it was \
                 not decoded",
                self.max
            ),
        };
        Some(Failure::new(self.kind, why))
    }

    /// The failure of an item that could not be read into memory.
    fn unallocated(&self, what: &str) -> Failure {
        Failure::new(
            self.kind,
            format!("out of memory reading {what} into memory, so it was not decoded"),
        )
    }
}

/// A stream of unknown length (standard input) holding no tar: one item, hashed as it
/// streams in steps of 1 MiB. When it sniffs as an image or a video that is to be decoded
/// ([`Ctx::to_decode`]), it is read whole first, up to the bound of its kind; a longer one is
/// hashed as it streams and its failure says why it was not decoded.
fn stream_reader(ctx: &Ctx<'_>, path: PathBuf, mut r: Box<dyn Read + Send>, head: &[u8]) {
    let decode = ctx.to_decode(head);
    let max = decode.as_ref().map_or(0, |d| d.max);
    let mut buf = Vec::new();
    if decode.is_some() {
        match r.by_ref().take(max.saturating_add(1)).read_to_end(&mut buf) {
            Ok(n) if n as u64 <= max => {
                let loc = Location::file(path, n as u64);
                ctx.hash_items(vec![(loc, Data::from_vec(buf))]);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let f = Failure::new(FailKind::Read, format!("standard input: {e}"));
                return ctx.fail(Location::file(path, buf.len() as u64), f);
            }
        }
    }
    let mut h = MultiHasher::new(ctx.cfg.algos);
    h.update(&buf);
    let mut len = buf.len() as u64;
    // Its last bytes, where a zip's end record would be (a self-extracting zip: a stub first).
    let mut tail = crate::source::zip::Tail::default();
    tail.push(&buf);
    drop(buf);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        if ctx.stopped() {
            return; // left undelivered: the run is incomplete
        }
        match read_full(&mut r, &mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&chunk[..n]);
                tail.push(&chunk[..n]);
                len += n as u64;
                ctx.progress.bytes_read(n as u64);
            }
            Err(e) => {
                let f = Failure::new(FailKind::Read, format!("standard input: {e}"));
                return ctx.fail(Location::file(path, len), f);
            }
        }
    }
    let what = format!("standard input of {len} bytes");
    let zip_last = (ctx.cfg.open.archives && tail.ends_as_zip(len)).then(|| {
        let why = "standard input ends as a zip does (an end of central directory record after \
                   other data: a self-extracting zip?): not opened from a stream, its members \
                   were not read; give it as a file";
        Failure::new(FailKind::Unsupported, why)
    });
    let not_decoded = decode
        .and_then(|d| d.refusal(len, &what))
        .or_else(|| ctx.unopened(head))
        .or(zip_last);
    ctx.finish_with(Location::file(path, len), Ok(h.finish()), None, not_decoded);
}

/// Hashes a stream to its end, reading the next [`STREAM_STEP`] while hashing the last (and,
/// with several algorithms, hashing with two threads as [`Ctx::hash_data`] does).
fn stream_hash(ctx: &Ctx<'_>, file: &mut FileStream) -> io::Result<Digests> {
    let split = match ctx.cfg.algos.split_by_cost() {
        Some(halves) if rayon::current_num_threads() > 1 => Some(halves),
        _ => None,
    };
    let (mut h, mut h2) = match split {
        Some((a, b)) => (MultiHasher::new(a), Some(MultiHasher::new(b))),
        None => (MultiHasher::new(ctx.cfg.algos), None),
    };
    let mut cur = vec![0u8; STREAM_STEP];
    let mut next = vec![0u8; STREAM_STEP];
    let mut n = read_full(file, &mut cur)?;
    while n > 0 {
        if ctx.stopped() {
            return Err(io::Error::other("the run was stopped"));
        }
        let step = &cur[..n];
        let (read, ()) = rayon::join(
            || read_full(file, &mut next),
            || match &mut h2 {
                Some(h2) => {
                    rayon::join(|| h.update(step), || h2.update(step));
                }
                None => h.update(step),
            },
        );
        ctx.progress.bytes_read(n as u64);
        n = read?;
        std::mem::swap(&mut cur, &mut next);
    }
    Ok(match h2 {
        Some(h2) => h.finish().merge(h2.finish()),
        None => h.finish(),
    })
}

/// The digests of a whole file read from a map, unless the file changed while it was read
/// (then its digests are of neither version: a failed `read` item). Archive members are
/// checked once for their whole archive, by [`archive_in_place`], except for a truncation: a
/// member hashed after a read past the archive's new end (zeros, see `read/guard.rs`) fails.
fn checked(loc: &Location, data: &Data, digests: Digests) -> Result<Digests, Failure> {
    match loc.member {
        None => match data.changed() {
            Some(why) => Err(Failure::new(FailKind::Read, why)),
            None => Ok(digests),
        },
        Some(_) if data.faulted() => Err(Failure::new(
            FailKind::Read,
            "the archive shrank while it was read: this member's bytes may be zeros, not its own",
        )),
        Some(_) => Ok(digests),
    }
}

/// Runs the pipeline over `inputs` on `pool`, calling `consume` on the caller's thread for
/// every event; `ctl` says which part to take, when to stop and what to leave out.
///
/// When `ctl.stop` is set, no new item is started, items being hashed are abandoned at
/// their next step (never delivered half-read), and whatever was finished is still
/// delivered before `run` returns. The walker runs on a thread of its own, not joined once
/// stopped: it may be blocked reading a path list from a pipe that never ends, and it ends by
/// itself at its next find (no one receives it any more).
///
/// # Errors
/// The first error returned by `consume` (for example a broken pipe): the run stops early and
/// the error is returned. Failures of single items are events, never errors.
pub(crate) fn run(
    cfg: &PipelineConfig,
    inputs: Vec<Input>,
    pool: &rayon::ThreadPool,
    matcher: Option<&dyn Matcher>,
    progress: &dyn Progress,
    ctl: &ScanControl<'_>,
    mut consume: impl FnMut(Event) -> io::Result<()>,
) -> io::Result<()> {
    let quit = std::sync::Arc::new(AtomicBool::new(false));
    let (found_tx, found_rx) = bounded::<Found>(1024);
    let (ev_tx, ev_rx) = bounded::<Event>(4096);
    let walker = {
        let (quit, walk) = (quit.clone(), cfg.walk.clone());
        std::thread::Builder::new()
            .name("vigie-walker".into())
            .spawn(move || {
                crate::source::walk_inputs(inputs, &walk, &|f| {
                    !quit.load(Ordering::Relaxed) && found_tx.send(f).is_ok()
                });
            })?
    };
    let result = std::thread::scope(|s| {
        let quit = &*quit;
        s.spawn(move || {
            let ctx = Ctx {
                cfg,
                matcher,
                progress,
                out: ev_tx,
                quit,
                ctl,
                nest: Nest::default(),
            };
            pool.install(|| {
                // Whatever the walker has already queued is taken in one go (up to GROUP
                // entries), so that small files are hashed together (multi-buffer MD5). The
                // wait for the walker wakes up now and then to see whether to stop.
                let batches = std::iter::from_fn(|| {
                    let first = loop {
                        if ctx.stopped() {
                            return None;
                        }
                        match found_rx.recv_timeout(std::time::Duration::from_millis(50)) {
                            Ok(f) => break f,
                            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
                        }
                    };
                    let mut batch = vec![first];
                    batch.extend(found_rx.try_iter().take(GROUP - 1));
                    Some(batch)
                });
                batches.par_bridge().for_each(|batch| {
                    if !ctx.stopped() {
                        process_found_batch(&ctx, batch);
                    }
                })
            });
        });
        // Items with an image to match perceptually wait here until IMAGE_BATCH of them
        // are searched together; the others go straight on. An image still at reduced scale
        // was screened by its worker (`Ctx::verified`) and found near no entry, so it cannot
        // match: it is not searched again. An image under the PDQ quality minimum is not
        // matched on PDQ (its hash is noise), but it is on pHash and dHash, which have no
        // quality measure of their own. An input's end waits behind its items.
        let mut pending: Vec<Box<ItemResult>> = Vec::new();
        let mut ends: Vec<PathBuf> = Vec::new();
        let mut consume_all = |ev: Option<Event>| {
            let full = match ev {
                Some(Event::Item(r))
                    if matcher.is_some()
                        && r.image.as_ref().is_some_and(|i| i.decode_scale == 1) =>
                {
                    pending.push(r);
                    pending.len() >= IMAGE_BATCH
                }
                Some(Event::InputDone(p)) if !pending.is_empty() => {
                    ends.push(p);
                    false
                }
                Some(ev) => return consume(ev),
                None => true, // the end: whatever waits goes
            };
            if let (Some(m), true) = (matcher, full) {
                // Low-quality images are searched without their PDQ hash.
                let without_pdq: Vec<Option<ImageHashes>> = pending
                    .iter()
                    .map(|r| {
                        let i = r.image.as_ref().filter(|_| r.low_quality)?;
                        Some(ImageHashes {
                            pdq: None,
                            pdq_dihedral: None,
                            ..i.clone()
                        })
                    })
                    .collect();
                let images: Vec<&ImageHashes> = pending
                    .iter()
                    .zip(&without_pdq)
                    .filter_map(|(r, w)| w.as_ref().or(r.image.as_ref()))
                    .collect();
                let found = m.find_images(&images);
                for (mut r, hits) in pending.drain(..).zip(found) {
                    r.hits.extend(hits);
                    consume(Event::Item(r))?;
                }
            }
            if full {
                for p in ends.drain(..) {
                    consume(Event::InputDone(p))?;
                }
            }
            Ok(())
        };
        let mut result = Ok(());
        for ev in ev_rx.iter().map(Some).chain([None]) {
            if let Err(e) = consume_all(ev) {
                quit.store(true, Ordering::Relaxed);
                result = Err(e);
                break;
            }
        }
        drop(ev_rx);
        result
    });
    quit.store(true, Ordering::Relaxed);
    let stopped = ctl.stop.is_some_and(|s| s.load(Ordering::Relaxed));
    if result.is_ok() && !stopped {
        // Every input was walked (the workers saw the walker's end): the thread is ending.
        let _ = walker.join();
    }
    result
}

/// Handles what the walker found: plain files are opened and collected so that they are
/// hashed together; archives are opened and walked here.
fn process_found_batch(ctx: &Ctx<'_>, batch: Vec<Found>) {
    let mut blobs = Vec::new();
    let mut blob_inputs = Vec::new();
    for f in batch {
        // An input an earlier run delivered whole is not opened again.
        let done = |p: &std::path::Path| ctx.ctl.skip.is_some_and(|s| s.input_done(p));
        let (path, opened) = match f {
            Found::File { path, .. } | Found::Bytes { name: path, .. } if done(&path) => continue,
            Found::File { path, size } => match open_file(&path, &ctx.cfg.open) {
                Err(f) => {
                    ctx.fail(Location::file(path.clone(), size), f);
                    ctx.input_done(path);
                    continue;
                }
                Ok(c) => (path, c),
            },
            Found::Stdin => {
                let path = PathBuf::from("-");
                let stdin: Box<dyn Read + Send> = Box::new(io::stdin());
                match classify_reader(stdin, ctx.cfg.open.archives) {
                    Ok(c) => (path, c),
                    Err(e) => {
                        let f = Failure::new(FailKind::Read, format!("standard input: {e}"));
                        ctx.fail(Location::file(path, 0), f);
                        continue;
                    }
                }
            }
            Found::Bytes { name, data } if ctx.cfg.open.archives => {
                let c = classify(data, &name);
                (name, c)
            }
            Found::Bytes { name, data } => (name, Container::Blob(data)),
            Found::Failed(loc, fail) => {
                ctx.fail(loc, fail);
                continue;
            }
            Found::Skipped(why) => {
                ctx.send(Event::Skipped(why));
                continue;
            }
        };
        match opened {
            Container::Blob(data) => {
                let loc = Location::file(path.clone(), data.len() as u64);
                if !ctx.delivered(&loc) {
                    blobs.push((loc, data));
                }
                blob_inputs.push(path);
            }
            Container::Archive(format, data) => {
                archive_in_place(ctx, path.clone(), format, &data);
                ctx.input_done(path);
            }
            Container::Reader(reader, head) => {
                stream_reader(ctx, path.clone(), reader, &head);
                ctx.input_done(path);
            }
            Container::Compressed {
                compression,
                name,
                raw,
                data,
            } => {
                compressed_stream(ctx, path.clone(), compression, name, raw, data);
                ctx.input_done(path);
            }
            Container::ArchiveStream(c, stream) => {
                archive_streamed(ctx, path.clone(), c, stream);
                ctx.input_done(path);
            }
            Container::Stream(file, head) => {
                stream_file(ctx, path.clone(), file, &head);
                ctx.input_done(path);
            }
            Container::ZipAt(file) => {
                archive_at(ctx, path.clone(), &file);
                ctx.input_done(path);
            }
            Container::ZipStream(reader) => {
                zip_spooled(ctx, path.clone(), reader);
                ctx.input_done(path);
            }
            Container::SevenZ(data) => {
                sevenz::archive(ctx, path.clone(), &data);
                ctx.input_done(path);
            }
        }
    }
    ctx.hash_items(blobs);
    for path in blob_inputs {
        ctx.input_done(path);
    }
}

/// Decides what to do with a member that is not a file; returns true when it was handled.
fn non_regular(ctx: &Ctx<'_>, path: &std::path::Path, m: &Member) -> bool {
    match &m.kind {
        MemberKind::File => false,
        MemberKind::Directory => true,
        MemberKind::Link => {
            ctx.send(Event::Skipped("link"));
            true
        }
        MemberKind::Special => {
            ctx.send(Event::Skipped("special"));
            true
        }
        MemberKind::Unsupported(what) => {
            ctx.fail(
                ctx.member_loc(path, m),
                Failure::new(FailKind::Unsupported, format!("{what} is not supported")),
            );
            true
        }
    }
}

/// Members of an archive held in memory (a tar, a zip), hashed in parallel batches: the
/// headers (a zip's central directory, checked against each local header) are walked here
/// while earlier batches are hashed by the pool; at most `2 × threads + 2` batches wait, so
/// memory stays bounded however many members there are. Members in place are hashed from the
/// map; packed ones are decoded by their batch's task (buffered up to
/// [`STREAM_BUFFER_LIMIT`], else hashed as they stream), their CRC-32 verified before their
/// digests are reported. A member is admitted against the [`Limits`](crate::source::Limits)
/// first ([`Expansion::admit`]): an encrypted one, one packed with a method vigie does not
/// decode, or one whose declared size is over the bounds is a failed item, decided before
/// anything is decoded or allocated.
///
/// Then the archive's own record ([`Format::is_item`]: a zip's digests), or, for a tar, a
/// failed `read` item when it changed while its members were read.
fn archive_in_place(ctx: &Ctx<'_>, path: PathBuf, format: Format, data: &Data) {
    let members = match InPlace::open(format, data.bytes()) {
        Ok(m) => m,
        Err(e) => {
            let loc = ctx.loc(&path, None, 0, data.len() as u64);
            ctx.fail(loc, Failure::new(FailKind::Archive, e.to_string()));
            return;
        }
    };
    let hash = |batch: &Batch| hash_batch(ctx, &path, data, format, batch);
    walk_members(ctx, &path, members, data.len() as u64, &hash);
    if ctx.nest.depth > 0 {
        // Nested: the container is a member whose own record was given already, read from
        // its parent's bytes, which its parent checks.
    } else if format.is_item() && ctx.cfg.open.container_records {
        if !ctx.stopped() {
            container_itself(ctx, path.clone(), data, None);
        }
    } else if let Some(why) = data.changed() {
        // Every member was read: were they read from the archive as it was when opened?
        let loc = Location::file(path.clone(), data.len() as u64);
        let why = format!("{why}: the digests of its members may be wrong");
        ctx.fail(loc, Failure::new(FailKind::Read, why));
    }
}

/// A zip read with positioned reads, never mapped nor held whole (`--no-mmap` on a file of
/// at least [`crate::read::STREAM_MIN_LEN`] bytes, or standard input spooled to a file): its
/// central directory and local headers are read where the end record says, a header at a
/// time, and its members as [`archive_in_place`] reads a mapped zip's (in parallel batches,
/// each member decoded from a buffered range of the file and verified); then the zip's own
/// record, read from start to end.
fn archive_at(ctx: &Ctx<'_>, path: PathBuf, file: &FileAt) {
    let dir = match crate::source::zip::find(file) {
        Ok(d) => d,
        Err(e) => {
            let kind = if e.io.is_some() {
                FailKind::Read
            } else {
                FailKind::Archive
            };
            let loc = ctx.loc(&path, None, 0, file.len());
            ctx.fail(loc, Failure::new(kind, e.to_string()));
            return;
        }
    };
    let members = dir
        .entries()
        .map(|r| r.map(Member::from).map_err(ArchiveError::from));
    let hash = |batch: &Batch| hash_batch_at(ctx, &path, file, batch);
    walk_members(ctx, &path, members, file.len(), &hash);
    if ctx.nest.depth == 0 && !ctx.stopped() {
        let loc = Location::file(path.clone(), file.len());
        if ctx.delivered(&loc) {
            return;
        }
        if !ctx.cfg.open.container_records {
            // --members-only: no record of its own, unless the file changed under its members.
            if let Some(why) = file.changed() {
                let why = format!("{why}: the digests of its members may be wrong");
                ctx.fail(loc, Failure::new(FailKind::Read, why));
            }
            return;
        }
        let outcome = match hash_reader(ctx, &mut file.range(0, file.len())) {
            Ok((d, _)) => match file.changed() {
                Some(why) => {
                    let why = format!("{why}: the digests of its members may be wrong");
                    Err(Failure::new(FailKind::Read, why))
                }
                None => Ok(d),
            },
            Err(_) if ctx.stopped() => return,
            Err(e) => Err(Failure::new(FailKind::Read, e.to_string())),
        };
        ctx.finish_with(loc, outcome, None, None);
    }
}

/// Hashes what `r` gives to its end, counting the bytes; a stop asked for meanwhile is an
/// [`io::ErrorKind::Interrupted`] error.
fn hash_reader(ctx: &Ctx<'_>, r: &mut dyn Read) -> io::Result<(Digests, u64)> {
    let mut h = MultiHasher::new(ctx.cfg.algos);
    let mut chunk = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        if ctx.stopped() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        match read_full(r, &mut chunk)? {
            0 => return Ok((h.finish(), len)),
            n => {
                h.update(&chunk[..n]);
                len += n as u64;
            }
        }
    }
}

/// A zip on standard input: spooled to an unlinked temporary file (at most `--max-scan`
/// bytes), then read as a zip file is, mapped or (`--no-mmap`, a large one) with positioned
/// reads. A zip needs its end first, which a stream gives last. Past the limit it is hashed
/// whole as it streams and fails `limit`; a spool that fails (no space left) fails `read`,
/// naming the reason: never reported clean with its members unread.
fn zip_spooled(ctx: &Ctx<'_>, path: PathBuf, mut r: Box<dyn Read + Send>) {
    let limit = ctx.cfg.open.limits.max_scan;
    let fail = |len, f| ctx.fail(Location::file(path.clone(), len), f);
    match spool(&mut r, limit) {
        Err(e) => {
            let why = format!(
                "standard input holds a zip, spooled to a temporary file in {} to be read: {e}: \
                 its members were not read",
                std::env::temp_dir().display()
            );
            fail(0, Failure::new(FailKind::Read, why));
        }
        Ok(Spooled::Over(file)) => {
            let mut whole = file.chain(r);
            match hash_reader(ctx, &mut whole) {
                Ok((d, len)) => {
                    let why = format!(
                        "standard input holds a zip of {len} bytes, more than --max-scan \
                         ({limit} bytes) spooled: not opened, its members were not read"
                    );
                    let f = Failure::new(FailKind::Limit, why);
                    ctx.finish_with(Location::file(path, len), Ok(d), None, Some(f));
                }
                Err(_) if ctx.stopped() => {}
                Err(e) => fail(
                    0,
                    Failure::new(FailKind::Read, format!("standard input: {e}")),
                ),
            }
        }
        Ok(Spooled::File(file, len)) => match Data::random(file, len, ctx.cfg.open.mmap) {
            Ok(Random::Data(d)) => archive_in_place(ctx, path, Format::Zip, &d),
            Ok(Random::At(at)) => archive_at(ctx, path, &at),
            Err(e) => {
                let why = format!("standard input spooled to a temporary file: {e}");
                fail(len, Failure::new(FailKind::Read, why));
            }
        },
    }
}

/// Walks an archive's members (`members`, from an archive of `archive_len` bytes), admitting
/// each against the limits, and hashes them in parallel batches through `hash`: the headers
/// are walked here while earlier batches are hashed by the pool; at most `2 × threads + 2`
/// batches wait, so memory stays bounded however many members there are.
fn walk_members(
    ctx: &Ctx<'_>,
    path: &std::path::Path,
    members: impl Iterator<Item = Result<Member, ArchiveError>>,
    archive_len: u64,
    hash: &(dyn Fn(&Batch) + Sync),
) {
    let max_inflight = 2 * rayon::current_num_threads() + 2;
    let inflight = AtomicUsize::new(0);
    let mut expansion = Expansion::new(
        ctx.cfg.open.limits,
        Some(archive_len),
        ctx.nest.budget.clone(),
    );
    let inflight = &inflight;
    rayon::in_place_scope(|scope| {
        let mut batch = Batch::default();
        let spawn = |batch: Batch| {
            if batch.members.is_empty() {
                return;
            }
            while inflight.load(Ordering::Acquire) >= max_inflight {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
            inflight.fetch_add(1, Ordering::AcqRel);
            scope.spawn(move |_| {
                hash(&batch);
                inflight.fetch_sub(1, Ordering::AcqRel);
            });
        };
        for m in members {
            if ctx.stopped() {
                return;
            }
            let m = match m {
                Ok(m) => m,
                // Damage skipped (the walk goes on) or the error that ends the walk: a failed
                // item either way, covering the bytes that were not read.
                Err(e) => {
                    if !e.resumes {
                        spawn(std::mem::take(&mut batch));
                    }
                    let kind = match e.fault {
                        Fault::Io(_) => FailKind::Read,
                        Fault::Decode(_) => FailKind::Decompress,
                        Fault::Malformed => FailKind::Archive,
                    };
                    ctx.fail(ctx.error_loc(path, &e), Failure::new(kind, e.to_string()));
                    if !e.resumes {
                        break;
                    }
                    continue;
                }
            };
            if let Some(f) = expansion.count() {
                spawn(std::mem::take(&mut batch));
                ctx.fail(ctx.member_loc(path, &m), f);
                break;
            }
            let end = m.offset.saturating_add(m.stored_len());
            batch.end = usize::try_from(end).unwrap_or(usize::MAX);
            if non_regular(ctx, path, &m) {
                continue;
            }
            if ctx.member_delivered(path, &m) {
                continue;
            }
            if let Err(f) = expansion.admit(&m) {
                ctx.fail(ctx.member_loc(path, &m), f);
                continue;
            }
            batch.bytes += m.stored_len();
            batch.members.push(m);
            if batch.members.len() >= BATCH_MEMBERS || batch.bytes >= BATCH_BYTES {
                let next = Batch {
                    start: batch.end,
                    ..Batch::default()
                };
                spawn(std::mem::replace(&mut batch, next));
            }
        }
        spawn(batch);
    });
}

/// [`hash_batch`] for a zip read with positioned reads ([`archive_at`]): each member read
/// from its range of the file through a buffer, stored ones verified by their CRC-32, packed
/// ones decoded and verified ([`unpack`]).
fn hash_batch_at(ctx: &Ctx<'_>, path: &std::path::Path, file: &FileAt, batch: &Batch) {
    let mut items = Vec::with_capacity(batch.members.len());
    for m in &batch.members {
        if ctx.stopped() {
            return;
        }
        let loc = ctx.member_loc(path, m);
        let raw = file.range(m.offset, m.stored_len());
        let Body::Packed(p) = &m.body else {
            let why = "a member not packed in a zip";
            ctx.fail(loc, Failure::new(FailKind::Archive, why));
            continue;
        };
        let unpacked = crate::source::zip::unpacker(p.method, m.size, raw)
            .map_err(|e| decode_failure(m, p, &e))
            .and_then(|dec| unpack(ctx, m, p, dec));
        match unpacked {
            Ok(Unpacked::Item(d)) => items.push((loc, d)),
            Ok(Unpacked::Hashed(digests, head)) => {
                ctx.finish_with(loc, Ok(digests), None, ctx.unopened(&head))
            }
            Err(_) if ctx.stopped() => return,
            Err(f) => ctx.fail(loc, f),
        }
    }
    ctx.hash_items(items);
}

/// Consecutive members of an archive in memory, hashed as one task.
#[derive(Default)]
struct Batch {
    members: Vec<Member>,
    /// Bytes of member data in the archive.
    bytes: u64,
    /// The archive range the batch covers, headers included (for a format whose members are
    /// in order, [`Format::in_order`]).
    start: usize,
    end: usize,
}

/// Reads a batch of members (in place: a window of the map; packed: decoded here and
/// verified) and hashes them; for a format whose members are in order, the pages of the
/// batch's whole range (member data and the headers between them) are read ahead first and
/// released after, so the resident set stays flat.
fn hash_batch(ctx: &Ctx<'_>, path: &std::path::Path, data: &Data, format: Format, batch: &Batch) {
    // From the page holding the previous batch's last byte: a page shared by two batches is
    // released by the later one (the earlier, if still reading it, just faults it back).
    let start = batch.start / 4096 * 4096;
    let end = batch.end.min(data.len());
    // A batch holding one huge member is not populated whole: hash_data faults it in and
    // releases it step by step.
    let in_order = format.in_order();
    if in_order && end.saturating_sub(start) <= 4 * BATCH_BYTES as usize {
        data.populate(start..end);
    }
    let mut items = Vec::with_capacity(batch.members.len());
    for m in &batch.members {
        if ctx.stopped() {
            return;
        }
        let loc = ctx.member_loc(path, m);
        let Some(raw) = m.stored_range().and_then(|r| data.slice(r)) else {
            let why = "member data lies outside the archive";
            ctx.fail(loc, Failure::new(FailKind::Archive, why));
            continue;
        };
        let Body::Packed(p) = &m.body else {
            items.push((loc, raw));
            continue;
        };
        match packed_member(ctx, m, p, raw) {
            Ok(Unpacked::Item(d)) => items.push((loc, d)),
            Ok(Unpacked::Hashed(digests, head)) => {
                let (unopened, outcome) = (ctx.unopened(&head), checked(&loc, data, digests));
                ctx.finish_with(loc, outcome, None, unopened)
            }
            Err(_) if ctx.stopped() => return,
            Err(f) => ctx.fail(loc, f),
        }
    }
    ctx.hash_items(items);
    if in_order {
        data.release(start..end);
    } else {
        // Members in directory order (a zip's, usually the order of their bytes too): the span
        // of the batch's members is dropped once they are hashed, so that the resident set
        // stays flat here as well. Were a span to cover members another task still reads,
        // their pages would only be faulted back in.
        let ranges = batch.members.iter().filter_map(Member::stored_range);
        let span = ranges.fold(None, |acc: Option<std::ops::Range<usize>>, r| {
            Some(acc.map_or(r.clone(), |a| a.start.min(r.start)..a.end.max(r.end)))
        });
        if let Some(span) = span {
            data.release(span);
        }
    }
}

/// The container's own record, after its members': its digests, so that a list of whole files
/// (an APK, a DOCX, a known archive) still matches it. Hashed in steps, releasing mapped pages
/// behind; when the file changed while it was read, it fails (`read`), which also says its
/// members' digests may be wrong. `unread`: why its members could not be read at all (its
/// digests still stand, as an unopened container's do).
fn container_itself(ctx: &Ctx<'_>, path: PathBuf, data: &Data, unread: Option<Failure>) {
    let loc = Location::file(path, data.len() as u64);
    if ctx.delivered(&loc) {
        return;
    }
    let bytes = data.bytes();
    let mut h = MultiHasher::new(ctx.cfg.algos);
    let mut done = 0;
    for step in bytes.chunks(RELEASE_STEP) {
        if ctx.stopped() {
            return;
        }
        h.update(step);
        if data.is_mapped() && bytes.len() > RELEASE_STEP {
            data.release(done..done + step.len());
        }
        done += step.len();
    }
    let outcome = match data.changed() {
        Some(why) => {
            let why = format!("{why}: the digests of its members may be wrong");
            Err(Failure::new(FailKind::Read, why))
        }
        None => Ok(h.finish()),
    };
    ctx.finish_with(loc, outcome, None, unread);
}

/// A packed member read and verified.
enum Unpacked {
    /// Its bytes (in place for a stored member), for the pool to hash.
    Item(Data),
    /// Large and deflated: hashed as it was inflated; its first bytes (up to [`SNIFF_LEN`]).
    Hashed(Digests, Vec<u8>),
}

/// Verifies a stored member's CRC-32 (its bytes stay in place), or decodes a packed one
/// ([`crate::source::zip::unpacker`]: deflate, deflate64, bzip2, LZMA, zstd, xz) and verifies
/// its size and CRC-32 ([`unpack`]).
fn packed_member(ctx: &Ctx<'_>, m: &Member, p: &Packed, raw: Data) -> Result<Unpacked, Failure> {
    if p.method == Method::Stored {
        // In steps, releasing mapped pages behind: a stored member of gigabytes would
        // otherwise stay resident whole until it is hashed (and released) after.
        let mut c = flate2::Crc::new();
        let bytes = raw.bytes();
        let mut done = 0;
        for step in bytes.chunks(RELEASE_STEP) {
            if ctx.stopped() {
                return Err(Failure::new(FailKind::Read, "stopped"));
            }
            c.update(step);
            if raw.is_mapped() && bytes.len() > RELEASE_STEP {
                raw.release(done..done + step.len());
            }
            done += step.len();
        }
        return if c.sum() == p.crc32 {
            Ok(Unpacked::Item(raw))
        } else {
            Err(crc_failure(m, p, c.sum()))
        };
    }
    let dec = crate::source::zip::unpacker(p.method, m.size, raw.bytes())
        .map_err(|e| decode_failure(m, p, &e))?;
    unpack(ctx, m, p, dec)
}

/// The failure of a packed member whose bytes do not have the CRC-32 the archive records.
fn crc_failure(m: &Member, p: &Packed, got: u32) -> Failure {
    let why = format!(
        "zip member {:?}: CRC-32 {got:08x} of its bytes, {:08x} in the archive: its bytes are \
         corrupt, so no digest of them is reported",
        m.display_name(),
        p.crc32
    );
    Failure::new(FailKind::Decompress, why)
}

/// The failure of a packed member whose decoder failed (or whose packed bytes could not be
/// read: an I/O error, a file that changed).
fn decode_failure(m: &Member, p: &Packed, e: &io::Error) -> Failure {
    let name = m.display_name();
    if crate::read::changed_while_read(e) {
        return Failure::new(FailKind::Read, format!("zip member {name:?}: {e}"));
    }
    let why = format!("zip member {name:?}: {} stream: {e}", p.method.name());
    Failure::new(FailKind::Decompress, why)
}

/// Reads a member's bytes out of `dec` (its decoder, or its stored bytes), at most its
/// declared size plus one byte: buffered for the pool when at most [`STREAM_BUFFER_LIMIT`]
/// bytes, else hashed as they come; its size and CRC-32 verified before anything of it is
/// reported (a mismatch is a failed item, never a digest).
fn unpack(ctx: &Ctx<'_>, m: &Member, p: &Packed, dec: impl Read) -> Result<Unpacked, Failure> {
    let size_fail = |got: u64| {
        let why = format!(
            "zip member {:?} decodes to {got}{} bytes, its entry declares {}",
            m.display_name(),
            if got > m.size { " or more" } else { "" },
            m.size
        );
        Failure::new(FailKind::Archive, why)
    };
    let mut dec = dec.take(m.size.saturating_add(1));
    if m.size <= STREAM_BUFFER_LIMIT {
        let mut buf = Vec::new();
        buf.try_reserve_exact(m.size as usize)
            .map_err(|e| Failure::new(FailKind::Limit, e.to_string()))?;
        dec.read_to_end(&mut buf)
            .map_err(|e| decode_failure(m, p, &e))?;
        if buf.len() as u64 != m.size {
            return Err(size_fail(buf.len() as u64));
        }
        let mut c = flate2::Crc::new();
        c.update(&buf);
        if c.sum() != p.crc32 {
            return Err(crc_failure(m, p, c.sum()));
        }
        return Ok(Unpacked::Item(Data::from_vec(buf)));
    }
    let mut h = MultiHasher::new(ctx.cfg.algos);
    let mut crc = flate2::Crc::new();
    let mut head = Vec::new();
    let mut total = 0u64;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        if ctx.stopped() {
            return Err(Failure::new(FailKind::Read, "stopped"));
        }
        match read_full(&mut dec, &mut chunk).map_err(|e| decode_failure(m, p, &e))? {
            0 => break,
            n => {
                if head.is_empty() {
                    head = chunk[..n.min(SNIFF_LEN)].to_vec();
                }
                h.update(&chunk[..n]);
                crc.update(&chunk[..n]);
                total += n as u64;
                ctx.progress.bytes_read(n as u64);
            }
        }
    }
    if total != m.size {
        return Err(size_fail(total));
    }
    if crc.sum() != p.crc32 {
        return Err(crc_failure(m, p, crc.sum()));
    }
    Ok(Unpacked::Hashed(h.finish(), head))
}

/// A member read out of a decoder.
enum Streamed {
    /// Small enough to hand to the pool, or to be decoded.
    Buffered(Vec<u8>),
    /// Large: hashed here as it streamed; with why it was not decoded when it was to be, and
    /// its first bytes (up to [`SNIFF_LEN`]).
    Hashed(Digests, Option<Failure>, Vec<u8>),
    /// Read past without hashing: an earlier run delivered it.
    Passed,
}

/// Reads a member from `reader` (the current member of a [`MemberStream`], or of a 7z block):
/// buffered when at most [`STREAM_BUFFER_LIMIT`] bytes
/// (the buffer grows with the bytes that arrive, never with the declared size), else hashed
/// chunk by chunk; only read past when `keep` is false. A large member whose first bytes say
/// it is to be decoded ([`Ctx::to_decode`]) is buffered whole too, up to the bound of its
/// kind; over it (or when memory runs out) it is hashed as it streams, with the failure
/// saying why it was not decoded. `source` names the stream in that failure. A stop asked
/// for meanwhile is an [`io::ErrorKind::Interrupted`] error.
fn read_member(
    ctx: &Ctx<'_>,
    mut reader: impl Read,
    size: u64,
    keep: bool,
    source: &str,
) -> io::Result<Streamed> {
    if keep && size <= STREAM_BUFFER_LIMIT {
        let mut buf = Vec::new();
        reader.read_to_end(&mut buf)?;
        return Ok(Streamed::Buffered(buf));
    }
    let mut h = keep.then(|| MultiHasher::new(ctx.cfg.algos));
    let mut not_decoded = None;
    // Its first bytes: what it is (an image, a video, a container vigie does not open).
    let mut head = Vec::new();
    if let Some(h) = &mut h {
        let head_len = usize::try_from(size).map_or(HEAD_LEN, |s| s.min(HEAD_LEN));
        let mut first = vec![0u8; head_len];
        let n = read_full(&mut reader, &mut first)?;
        first.truncate(n);
        head = first[..n.min(SNIFF_LEN)].to_vec();
        if let Some(d) = ctx.to_decode(&first) {
            let what = format!("a member of {size} bytes read from a {source} stream");
            not_decoded = d.refusal(size, &what);
            if not_decoded.is_none() {
                match read_whole(ctx, &mut reader, first, size)? {
                    Ok(buf) => return Ok(Streamed::Buffered(buf)),
                    Err(part) => {
                        not_decoded = Some(d.unallocated(&what));
                        h.update(&part);
                        ctx.progress.bytes_read(part.len() as u64);
                    }
                }
            } else {
                h.update(&first);
                ctx.progress.bytes_read(first.len() as u64);
            }
        } else {
            h.update(&first);
            ctx.progress.bytes_read(first.len() as u64);
        }
    }
    let mut chunk = vec![0u8; size.clamp(1, 1 << 20) as usize];
    loop {
        if ctx.stopped() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        match read_full(&mut reader, &mut chunk)? {
            0 => {
                return Ok(h.map_or(Streamed::Passed, |h| {
                    Streamed::Hashed(h.finish(), not_decoded, head)
                }))
            }
            n => {
                if let Some(h) = &mut h {
                    h.update(&chunk[..n]);
                    ctx.progress.bytes_read(n as u64);
                }
            }
        }
    }
}

/// Reads `reader` to its end after the bytes already in `buf`, for a member declared `size`
/// bytes long: the buffer grows as bytes arrive (doubling, by at least 1 MiB, never past the
/// declared size), each step reserved with `try_reserve`. `Ok(Err(part))` when memory ran
/// out: `part` holds what was read so far (the rest is still to be read from `reader`).
fn read_whole(
    ctx: &Ctx<'_>,
    reader: &mut impl Read,
    mut buf: Vec<u8>,
    size: u64,
) -> io::Result<Result<Vec<u8>, Vec<u8>>> {
    loop {
        if ctx.stopped() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let left = size.saturating_sub(buf.len() as u64);
        let step = left.min((buf.len() as u64).max(1 << 20)).max(1);
        let Ok(step_len) = usize::try_from(step) else {
            return Ok(Err(buf));
        };
        if buf.try_reserve_exact(step_len).is_err() {
            return Ok(Err(buf));
        }
        // At most `step` bytes, which the reservation holds: `read_to_end` does not grow
        // the buffer (its probe past the limit reads nothing).
        let n = reader.by_ref().take(step).read_to_end(&mut buf)?;
        if (n as u64) < step {
            return Ok(Ok(buf));
        }
    }
}

/// Members of a compressed tar, decoded as a stream (see [`stream_members`]), whose results
/// are held back until the stream's own checksums (gzip's CRC-32 and size of each member,
/// zstd's content checksum when the frame has one) are verified: the decoder is read to its
/// end, which the tar's end-of-archive marker alone never reaches. When the stream is
/// corrupt, truncated, or fails to decode, every member read from it fails (`decompress`):
/// its bytes may be wrong where nothing else noticed, and a digest is never reported that was
/// not verified. A member's hits still stand (a finding is never hidden). The held results are
/// small (no item bytes), one per member.
///
/// A large uncompressed tar read with read() (`--no-mmap`; `compression` is `None`) is walked
/// the same way, read to its end so that a file that changed while it was read is seen (see
/// [`crate::read::FileStream`]); its failures are `read` failures.
fn archive_streamed(
    ctx: &Ctx<'_>,
    path: PathBuf,
    compression: Option<Compression>,
    mut stream: MemberStream,
) {
    let kind = stream_fail_kind(compression);
    let (tx, held) = crossbeam_channel::unbounded();
    let holding = ctx.with(tx, ctx.nest.clone());
    let read = stream_members(&holding, &path, compression, &mut stream);
    drop(holding);
    if ctx.stopped() {
        // What was read is not verified and the rest is not read: nothing is delivered.
        return;
    }
    let corrupt = |why: String| {
        let msg = match compression {
            Some(_) => {
                format!("{why}: the archive is corrupt, so this member's bytes are not verified")
            }
            None => format!("{why}: this member's bytes are not verified"),
        };
        Failure::new(kind, msg)
    };
    let unverified = match read {
        StreamEnd::Failed(why) => Some(corrupt(why)),
        StreamEnd::Limit(why) => Some(Failure::new(
            FailKind::Limit,
            format!(
                "{why}: the rest of the stream was not read, so this member's bytes are not \
                 verified"
            ),
        )),
        StreamEnd::Verified => None,
        StreamEnd::Clean => {
            let why = verify_to_end(stream.into_inner(), compression).err();
            // The damage is an item of its own too: a corrupt stream holding no member
            // (nothing held to fail) must not pass as an empty, clean archive.
            if let Some(why) = &why {
                let loc = ctx.loc(&path, None, 0, 0);
                ctx.fail(loc, Failure::new(kind, why.clone()));
            }
            why.map(corrupt)
        }
    };
    for ev in held.try_iter() {
        match (ev, &unverified) {
            (Event::Item(mut r), Some(failure)) if r.outcome.is_ok() => {
                r.outcome = Err(failure.clone());
                ctx.send(Event::Item(r));
            }
            (ev, _) => ctx.send(ev),
        }
    }
}

/// Reads a decoder to its end, so that it checks the stream's checksums. Trailing bytes
/// after a complete, verified stream (tape padding, another format's garbage) are ignored, as
/// `gzip -d` ignores them; a checksum mismatch or a stream cut short is an error.
/// A file that changed while it was read is an error too, in its own words.
fn verify_to_end(
    mut reader: Box<dyn Read + Send>,
    compression: Option<Compression>,
) -> Result<(), String> {
    let name = stream_name(compression);
    match io::copy(&mut reader, &mut io::sink()) {
        Ok(_) => Ok(()),
        Err(e) if crate::read::changed_while_read(&e) => Err(e.to_string()),
        Err(e) => match corrupt_stream(stream_fault(compression, &e)) {
            Some(why) => Err(format!("{name} stream {why}: {e}")),
            None => Ok(()),
        },
    }
}

/// What a reader's error says of the stream it stopped: a decompressor's says it itself
/// ([`Fault::Decode`]); another's (a plain tar's reader, a budget's `Metered` reader) is
/// taken by its kind, as a decoder's of that kind would be.
fn stream_fault(compression: Option<Compression>, e: &io::Error) -> StreamFault {
    match Fault::of(e) {
        Fault::Decode(fault) => fault,
        _ => kind_fault(compression, e.kind()),
    }
}

/// [`stream_fault`] of an error that is not a decompressor's, of this kind.
fn kind_fault(compression: Option<Compression>, kind: io::ErrorKind) -> StreamFault {
    match compression {
        Some(Compression::Xz | Compression::Bzip2) => StreamFault::Unclassified,
        _ if kind == io::ErrorKind::UnexpectedEof => StreamFault::Truncated,
        _ => StreamFault::Undecodable,
    }
}

/// The name of a stream in messages.
fn stream_name(compression: Option<Compression>) -> &'static str {
    compression.map_or("tar", Compression::name)
}

/// The kind of a stream's failures: a compressed stream's are `decompress`, a plain file's
/// `read`.
fn stream_fail_kind(compression: Option<Compression>) -> FailKind {
    match compression {
        Some(_) => FailKind::Decompress,
        None => FailKind::Read,
    }
}

/// How an error decoding the stream after the tar's end-of-archive marker is taken: a stream
/// cut short or failing its checksum is corrupt (`Some`, why); bytes that do not decode (a
/// next gzip member or zstd frame that is not one) are garbage after a complete, verified
/// stream (`None`). An xz or bzip2 decoder's errors do not say which they are
/// ([`StreamFault::Unclassified`]): every one is taken as corruption.
fn corrupt_stream(fault: StreamFault) -> Option<&'static str> {
    match fault {
        StreamFault::Unclassified => Some("failed"),
        StreamFault::Truncated => Some("ends early, before its checksum"),
        StreamFault::Checksum => Some("checksum mismatch"),
        StreamFault::Undecodable => None,
    }
}

/// How the members of a compressed tar were read.
enum StreamEnd {
    /// To the end of the tar: the rest of the stream is still to be verified.
    Clean,
    /// To the end of the decoded stream, which ended in garbage after a complete tar and a
    /// verified stream: nothing is left to verify.
    Verified,
    /// The stream failed to decode: why (reported as a failed item already).
    Failed(String),
    /// A limit stopped the reading before the end: why (reported as a failed item already).
    Limit(String),
}

/// Reads the members of a compressed tar: small ones are buffered and hashed by the pool in
/// batches, large ones hashed as they stream; see [`StreamEnd`].
fn stream_members(
    ctx: &Ctx<'_>,
    path: &std::path::Path,
    compression: Option<Compression>,
    stream: &mut MemberStream,
) -> StreamEnd {
    let mut batch: Vec<(Member, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0u64;
    let mut expansion = Expansion::new(ctx.cfg.open.limits, None, ctx.nest.budget.clone());
    let flush = |batch: &mut Vec<(Member, Vec<u8>)>| {
        let items = batch
            .drain(..)
            .map(|(m, bytes)| (ctx.member_loc(path, &m), Data::from_vec(bytes)))
            .collect();
        ctx.hash_items(items);
    };
    loop {
        if ctx.stopped() {
            return StreamEnd::Clean;
        }
        let m = match stream.next_member() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            // Damage skipped: a failed item, and the members after it are read.
            Err(e) if e.resumes => {
                ctx.fail(
                    ctx.error_loc(path, &e),
                    Failure::new(FailKind::Archive, e.to_string()),
                );
                continue;
            }
            Err(e) => {
                flush(&mut batch);
                return walk_ended(ctx, path, compression, stream.after_end(), &e);
            }
        };
        if let Some(f) = expansion.count() {
            flush(&mut batch);
            let why = f.message.clone();
            ctx.fail(ctx.member_loc(path, &m), f);
            return StreamEnd::Limit(why);
        }
        let limits = &ctx.cfg.open.limits;
        if compression.is_some() && stream.position() > limits.max_scan {
            flush(&mut batch);
            let why = format!(
                "{} stream expands to more than {} bytes (--max-scan): the rest was not read",
                stream_name(compression),
                limits.max_scan
            );
            ctx.fail(
                ctx.member_loc(path, &m),
                Failure::new(FailKind::Limit, why.clone()),
            );
            return StreamEnd::Limit(why);
        }
        if non_regular(ctx, path, &m) {
            continue;
        }
        let mut keep = !ctx.member_delivered(path, &m);
        if keep && compression.is_some() && m.size > limits.max_expanded {
            let why = format!(
                "a member of {} bytes: over the limit of {} bytes per item (--max-expanded), \
                 not read",
                m.size, limits.max_expanded
            );
            ctx.fail(ctx.member_loc(path, &m), Failure::new(FailKind::Limit, why));
            keep = false;
        }
        match read_member(ctx, stream.data(), m.size, keep, stream_name(compression)) {
            Ok(Streamed::Buffered(buf)) => {
                batch_bytes += m.size;
                batch.push((m, buf));
                if batch.len() >= BATCH_MEMBERS || batch_bytes >= BATCH_BYTES {
                    flush(&mut batch);
                    batch_bytes = 0;
                }
            }
            // Over the buffering limit, a member is only hashed exactly as it streams (and
            // fails as not decoded when it was to be, or as not opened when it is a container).
            Ok(Streamed::Hashed(digests, not_decoded, head)) => {
                let failure = not_decoded.or_else(|| ctx.unopened(&head));
                ctx.finish_with(ctx.member_loc(path, &m), Ok(digests), None, failure)
            }
            Ok(Streamed::Passed) => {}
            Err(_) if ctx.stopped() => return StreamEnd::Clean,
            Err(e) => {
                flush(&mut batch);
                return member_read_failed(ctx, ctx.member_loc(path, &m), compression, &e);
            }
        }
    }
    flush(&mut batch);
    StreamEnd::Clean
}

/// The walk of a stream ended in `e` (nothing skipped): a failed item at its place, and how
/// the stream ended. A malformed archive ends the walk only (`Clean`: the stream is still
/// verified to its end); a reader's failure ends the stream (`Failed`, or `Limit` for a
/// budget), unless, after the tar's end marker (`after_end`), it is garbage after a complete
/// compressed stream (`Verified`).
fn walk_ended(
    ctx: &Ctx<'_>,
    path: &std::path::Path,
    compression: Option<Compression>,
    after_end: bool,
    e: &ArchiveError,
) -> StreamEnd {
    let loc = ctx.error_loc(path, e);
    // The reader failed (`Some`, what that says of the stream), or the archive is malformed
    // (`None`).
    let io = match e.fault {
        Fault::Io(kind) if over_budget(kind) => {
            let why = format!("{} stream {e}", stream_name(compression));
            ctx.fail(loc, Failure::new(FailKind::Limit, why.clone()));
            return StreamEnd::Limit(why);
        }
        Fault::Io(kind) => Some(kind_fault(compression, kind)),
        Fault::Decode(fault) => Some(fault),
        Fault::Malformed => None,
    };
    // Reading on after the end marker (for concatenated archives), the decoder may meet what
    // follows its stream: judged as `verify_to_end` judges it. (A plain file read with read()
    // has no stream after its tar: an error there is the file's, e.g. one that changed while
    // it was read.)
    if let (Some(fault), Some(_), true) = (io, compression, after_end) {
        if corrupt_stream(fault).is_none() {
            return StreamEnd::Verified;
        }
    }
    if io.is_none() {
        ctx.fail(loc, Failure::new(FailKind::Archive, e.to_string()));
        return StreamEnd::Clean;
    }
    let msg = format!("{} stream {e}", stream_name(compression));
    ctx.fail(
        loc,
        Failure::new(stream_fail_kind(compression), msg.clone()),
    );
    StreamEnd::Failed(msg)
}

/// Reading the data of the member at `loc` failed with `e`: a failed item, and the stream's
/// end (`Limit` for a budget, else `Failed`; a file that changed while it was read says so
/// in its own words).
fn member_read_failed(
    ctx: &Ctx<'_>,
    loc: Location,
    compression: Option<Compression>,
    e: &io::Error,
) -> StreamEnd {
    if over_budget(e.kind()) {
        let why = format!("{} stream: {e}", stream_name(compression));
        ctx.fail(loc, Failure::new(FailKind::Limit, why.clone()));
        return StreamEnd::Limit(why);
    }
    let msg = if crate::read::changed_while_read(e) {
        e.to_string()
    } else {
        format!("{} stream: {e}", stream_name(compression))
    };
    ctx.fail(
        loc,
        Failure::new(stream_fail_kind(compression), msg.clone()),
    );
    StreamEnd::Failed(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NoProgress;
    use crate::hash::Algo;
    use crate::read::MmapPolicy;

    fn config() -> PipelineConfig {
        PipelineConfig {
            walk: WalkOptions::default(),
            open: OpenOptions::default(),
            algos: [Algo::Md5, Algo::Xxh3_128].into_iter().collect(),
            perceptual: PerceptualConfig::default(),
            check_quality: false,
            video: crate::video::VideoConfig::default(),
        }
    }

    /// MD5 alone: quick in a debug build, for tests that read many megabytes.
    fn md5() -> PipelineConfig {
        PipelineConfig {
            algos: [Algo::Md5].into_iter().collect(),
            ..config()
        }
    }

    /// Runs `f` with a pipeline context and returns the items it sent.
    fn items(f: impl FnOnce(&Ctx<'_>)) -> Vec<ItemResult> {
        items_with(config(), f)
    }

    /// [`items`] with a configuration of the caller's.
    fn items_with(cfg: PipelineConfig, f: impl FnOnce(&Ctx<'_>)) -> Vec<ItemResult> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let quit = AtomicBool::new(false);
        let ctl = ScanControl::default();
        let ctx = Ctx {
            cfg: &cfg,
            matcher: None,
            progress: &NoProgress,
            out: tx,
            quit: &quit,
            ctl: &ctl,
            nest: Nest::default(),
        };
        f(&ctx);
        drop(ctx);
        rx.try_iter()
            .filter_map(|ev| match ev {
                Event::Item(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// A mapped file truncated after it was mapped and before it is hashed (as another
    /// process would truncate it mid-read): reading past its new end used to raise SIGBUS and
    /// kill the process. It is now a failed `read` item naming the truncation, the process
    /// lives, and the same map dropped and made again works.
    #[test]
    fn file_truncated_while_mapped_is_a_failed_read_item() {
        let dir = tempfile::tempdir().unwrap();
        let mut datas = Vec::new();
        for i in 0..4 {
            let path = dir.path().join(format!("big{i}"));
            let f = std::fs::File::create(&path).unwrap();
            // 64 MiB, sparse but for a few written bytes: mapped, hashed by `hash_data`.
            f.set_len(64 << 20).unwrap();
            std::os::unix::fs::FileExt::write_at(&f, b"not all zeros", 5 << 20).unwrap();
            let data = Data::open(&path, MmapPolicy::Auto).unwrap();
            assert!(data.is_mapped());
            // Cut to 1 MiB (or to nothing): every later page faults.
            f.set_len(if i % 2 == 0 { 1 << 20 } else { 0 }).unwrap();
            datas.push((Location::file(path, 64 << 20), data));
        }
        // Four truncated maps hashed at once on the pool's threads.
        let got = items(|ctx| ctx.hash_items(datas));
        assert_eq!(got.len(), 4);
        for r in &got {
            let e = r.outcome.as_ref().expect_err("a failed item, not a record");
            assert_eq!(e.kind, FailKind::Read, "{e:?}");
            assert!(e.message.contains("shrank while it was read"), "{e:?}");
        }
        // An intact map of the same size afterwards is a record again.
        let path = dir.path().join("intact");
        std::fs::write(&path, vec![1u8; 64 << 20]).unwrap();
        let data = Data::open(&path, MmapPolicy::Auto).unwrap();
        let got = items(|ctx| ctx.hash_data(Location::file(path.clone(), 64 << 20), &data));
        assert!(got[0].outcome.is_ok(), "{:?}", got[0].outcome);
    }

    /// A large file read with read() (`--no-mmap`) is hashed as it streams, with the
    /// digests of the whole file; truncated after it was opened, it is a failed `read` item
    /// (it used to be buffered whole, and its prefix reported as a good record).
    #[test]
    fn streamed_file_is_hashed_whole_and_a_truncated_one_fails() {
        use crate::read::{Opened, STREAM_MIN_LEN};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let len = STREAM_MIN_LEN as usize + STREAM_STEP + 12345;
        let content: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let want = crate::hash::hash_bytes(config().algos, &content);
        let open = || match Data::open_input_streamed(&path, MmapPolicy::Never).unwrap() {
            Opened::Stream(s) => s,
            Opened::Data(_) => panic!("a large file read with read() is streamed"),
        };
        let head = content[..16].to_vec();
        let s = open();
        let got = items(|ctx| stream_file(ctx, path.clone(), s, &head));
        let d = got[0].outcome.as_ref().expect("a record");
        assert_eq!(d, &want);
        let s = open();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let got = items(|ctx| stream_file(ctx, path.clone(), s, &head));
        let e = got[0].outcome.as_ref().expect_err("a failed item");
        assert_eq!(e.kind, FailKind::Read);
        assert!(e.message.contains("shrank while it was read"), "{e:?}");
    }

    /// A ustar archive of `members` members of `size` bytes each (member i: byte i + 1, then
    /// zeros).
    fn tar_bytes(members: u8, size: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for i in 0..members {
            let mut h = [0u8; 512];
            let name = format!("m{i}");
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            let octal = format!("{size:011o}");
            h[124..135].copy_from_slice(octal.as_bytes());
            h[136..147].copy_from_slice(b"00000000000");
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&x| u32::from(x)).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            b.extend_from_slice(&h);
            let data_at = b.len();
            b.extend_from_slice(&vec![0u8; size as usize]);
            b[data_at] = i + 1;
        }
        b.extend_from_slice(&[0u8; 1024]);
        b
    }

    /// A large tar read with --no-mmap is walked as a stream; truncated while it is read, no
    /// member is a record: those read before the cut are held and fail with the archive.
    #[test]
    fn streamed_tar_truncated_while_read_fails_its_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, tar_bytes(9, 8 << 20)).unwrap();
        let opts = OpenOptions {
            mmap: MmapPolicy::Never,
            ..OpenOptions::default()
        };
        let Ok(Container::ArchiveStream(None, r)) = open_file(&path, &opts) else {
            panic!("a stream");
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(20 << 20)
            .unwrap();
        let got = items_with(md5(), |ctx| archive_streamed(ctx, path.clone(), None, r));
        assert!(!got.is_empty());
        assert!(
            got.iter().all(|r| r.outcome.is_err()),
            "no record after a cut"
        );
        let e = got.iter().find_map(|r| r.outcome.as_ref().err()).unwrap();
        assert_eq!(e.kind, FailKind::Read, "{e:?}");
        assert!(e.message.contains("shrank"), "{e:?}");
    }

    /// The members of a mapped tar truncated under the hasher: none read from past its new
    /// end is a record (of zeros), and the archive itself fails, naming the truncation.
    #[test]
    fn tar_truncated_while_mapped_fails_its_unread_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let b = tar_bytes(8, 1 << 20);
        std::fs::write(&path, &b).unwrap();
        let data = Data::open(&path, MmapPolicy::Auto).unwrap();
        assert!(data.is_mapped());
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(2 << 20).unwrap();
        let got = items(|ctx| archive_in_place(ctx, path.clone(), Format::Tar, &data));
        // The header walk itself reads zeros past the cut (an end of archive): the members it
        // found, read after the fault, fail; none past the cut is a record.
        for r in got.iter().filter(|r| r.loc.member.is_some()) {
            if r.outcome.is_ok() {
                assert!(r.loc.offset + r.loc.size <= 2 << 20, "{:?}", r.loc);
            }
        }
        let archive = got
            .iter()
            .find(|r| r.loc.member.is_none())
            .expect("archive");
        let e = archive.outcome.as_ref().expect_err("the archive fails");
        assert_eq!(e.kind, FailKind::Read);
        assert!(e.message.contains("shrank"), "{e:?}");
        assert!(archive.outcome.is_err());
    }
}
