//! The engine object every caller stands on: the command line, the Python wheel, a Spark
//! task or an array job all build one [`Engine`] and hand it batches of inputs.
//!
//! An engine is built once from an [`EngineBuilder`] (options with defaults) and owns what is
//! costly to set up: the opened index (an `Arc`, so several engines and threads share one
//! map), the rayon thread pool, and through the pool's threads their per-thread scratch
//! (decode buffers, hashers, search regions), which therefore survives from one call to the
//! next. It never prints: progress goes through the [`Progress`] trait ([`NoProgress`] is
//! silent) and every item's outcome comes back as a [`crate::model::Event`].
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use vigie::engine::Engine;
//! use vigie::index::Index;
//! use vigie::model::Input;
//!
//! let index = Arc::new(Index::open("blocklist.vigie".as_ref())?);
//! let engine = Engine::builder().index(index).threads(2).build()?;
//! for item in engine.scan_items(vec![Input::Path("dump/".into())])? {
//!     println!("{} {}", item.verdict().name(), item.loc);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::hash::AlgoSet;
use crate::index::Index;
use crate::matcher::{IndexMatcher, Matcher, MultiMatcher, VpdqRule};
use crate::model::{Event, Input, ItemResult, Location};
use crate::perceptual::decode::{DecodeLimits, DecodeOptions, Pixels};
use crate::perceptual::imghash::{ImgKind, IMG_MATCH_THRESHOLD};
use crate::perceptual::letterbox::Unletterbox;
use crate::perceptual::pdq::{MATCH_THRESHOLD, MIN_QUALITY};
use crate::perceptual::PerceptualConfig;
use crate::pipeline::{self, PipelineConfig};
use crate::read::MmapPolicy;
use crate::source::{FileFilter, Limits, OpenOptions, Shard, WalkOptions};
use crate::video::{VideoConfig, VideoLimits};

/// Where a scan reports its progress: called from the worker threads, so each call must be
/// cheap (an atomic add). [`NoProgress`] ignores both.
pub trait Progress: Sync {
    /// One item is finished.
    fn item_done(&self) {}
    /// `n` more bytes were hashed (a large item reports its bytes as it goes).
    fn bytes_read(&self, _n: u64) {}
    /// An item's verdict, as the caller receives it (after [`Progress::item_done`]; called by
    /// the jobs of [`crate::jobs`], which see every item).
    fn item_verdict(&self, _verdict: crate::model::Verdict) {}
}

/// What a resumed run leaves out: what an earlier run delivered (see
/// [`ScanControl::skip`]).
pub trait Skip: Sync {
    /// Whether every item of the input at `path` was delivered: it is not opened again.
    fn input_done(&self, path: &Path) -> bool;
    /// Whether the item at `loc` was delivered: it is neither hashed nor delivered again.
    fn item_done(&self, loc: &Location) -> bool;
}

/// How a caller steers a scan beyond its inputs (see [`Engine::scan_with`]).
#[derive(Clone, Copy, Default)]
pub struct ScanControl<'a> {
    /// Only this part of the inputs (see [`Shard`]).
    pub shard: Option<Shard>,
    /// Set it (from a signal handler, another thread) to stop the scan: no new item is
    /// started, an item being hashed is left at its next step (never delivered half-read),
    /// and what was finished is delivered before the scan returns `Ok`. The caller then knows
    /// the scan is incomplete.
    pub stop: Option<&'a AtomicBool>,
    /// What an earlier run delivered, to leave out (a resumed run).
    pub skip: Option<&'a dyn Skip>,
    /// Send [`Event::InputDone`] after the last item of each input, for a journal that
    /// records whole inputs as done.
    pub inputs_done: bool,
}

/// The silent [`Progress`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The thread pool could not be started.
    #[error("cannot start the thread pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// A PDQ threshold over 256 bits.
    #[error("PDQ threshold {0} is over 256 (a PDQ hash has 256 bits)")]
    PdqThreshold(u32),
    /// A pHash or dHash threshold over 64 bits.
    #[error("{0} threshold {1} is over 64 (a {0} has 64 bits)")]
    ImgThreshold(&'static str, u32),
    /// A PDQ quality minimum over 100.
    #[error("PDQ minimum quality {0} is over 100")]
    PdqQuality(u8),
    /// A vPDQ seconds-per-hash that is negative or not finite.
    #[error("vPDQ seconds per hash {0} is not a finite number >= 0")]
    SecondsPerHash(f64),
    /// A vPDQ comparison setting out of range.
    #[error("vPDQ {0}")]
    VpdqRule(String),
    /// An index failed its checksums (see [`EngineBuilder::verify_index`]), or two indexes
    /// hold lists of the same name ([`crate::index::IndexError::DuplicateList`]).
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
}

/// The options of an [`Engine`], each with a default; see each setter.
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    indexes: Vec<Arc<Index>>,
    algos: Option<AlgoSet>,
    pdq: bool,
    phash: bool,
    dhash: bool,
    dihedral: bool,
    exif_orient: bool,
    unletterbox: Option<Unletterbox>,
    pixels: Pixels,
    limits: DecodeLimits,
    decode_memory: Option<u64>,
    fast_decode: Option<bool>,
    pdq_threshold: u32,
    phash_threshold: u32,
    dhash_threshold: u32,
    pdq_min_quality: u8,
    threads: usize,
    mmap: bool,
    archives: bool,
    container_records: bool,
    archive_limits: Limits,
    follow: bool,
    filter: FileFilter,
    verify_index: bool,
    video: VideoConfig,
    vpdq_rule: VpdqRule,
    flag_low_quality: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            indexes: Vec::new(),
            algos: None,
            pdq: false,
            phash: false,
            dhash: false,
            dihedral: false,
            exif_orient: false,
            unletterbox: None,
            pixels: Pixels::Viewer,
            limits: DecodeLimits::default(),
            decode_memory: None,
            fast_decode: None,
            pdq_threshold: MATCH_THRESHOLD,
            phash_threshold: IMG_MATCH_THRESHOLD,
            dhash_threshold: IMG_MATCH_THRESHOLD,
            pdq_min_quality: MIN_QUALITY,
            threads: 0,
            mmap: true,
            archives: true,
            container_records: true,
            archive_limits: Limits::default(),
            follow: false,
            filter: FileFilter::default(),
            verify_index: true,
            video: VideoConfig::default(),
            vpdq_rule: VpdqRule::default(),
            flag_low_quality: false,
        }
    }
}

impl EngineBuilder {
    /// An index to match against; called again, one more (every item is matched against
    /// each, in the order given, its hashes computed once). Without one the engine only
    /// hashes (every item is `clean` or `failed`).
    pub fn index(mut self, index: Arc<Index>) -> Self {
        self.indexes.push(index);
        self
    }

    /// Exact algorithms to compute. With indexes: computed on top of the indexes' own (which
    /// are always computed); without: exactly these. Default: the indexes', or md5, sha1 and
    /// sha256 without an index.
    pub fn algos(mut self, algos: AlgoSet) -> Self {
        self.algos = Some(algos);
        self
    }

    /// Hash images with PDQ. On by default when the index holds PDQ entries.
    pub fn pdq(mut self, on: bool) -> Self {
        self.pdq = on;
        self
    }

    /// Hash images with pHash (64 bits, Python ImageHash's). On by default when the index
    /// holds pHash entries.
    pub fn phash(mut self, on: bool) -> Self {
        self.phash = on;
        self
    }

    /// Hash images with dHash (64 bits, Python ImageHash's). On by default when the index
    /// holds dHash entries.
    pub fn dhash(mut self, on: bool) -> Self {
        self.dhash = on;
        self
    }

    /// Also compute the 8 dihedral PDQ hashes and match rotated and flipped copies. Off by
    /// default.
    pub fn pdq_dihedral(mut self, on: bool) -> Self {
        self.dihedral = on;
        self
    }

    /// Apply the EXIF orientation before hashing (the reference PDQ does not). Off by default.
    pub fn exif_orient(mut self, on: bool) -> Self {
        self.exif_orient = on;
        self
    }

    /// Cut letterbox bars (uniform black, or also white, rows and columns at the edges) off
    /// each image before hashing it, so that a letterboxed copy hashes like the original
    /// (see [`crate::perceptual::letterbox`]). `Some(Unletterbox::default())` is
    /// python-threatexchange's `--photo-preprocess unletterbox`. Off (`None`) by default.
    pub fn unletterbox(mut self, u: Option<Unletterbox>) -> Self {
        self.unletterbox = u;
        self
    }

    /// Whose pixels to hash where decoders disagree on purpose (16-bit grey, CMYK, palette
    /// indices: see [`Pixels`]). `Pixels::ThreatExchange` gives the PDQ hashes that
    /// python-threatexchange and HMA compute, so those their banks hold. Default:
    /// `Pixels::Viewer`.
    pub fn pixels(mut self, p: Pixels) -> Self {
        self.pixels = p;
        self
    }

    /// Limits on decoding one image (pixels, bytes allocated).
    pub fn decode_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The bytes of pixel buffers all threads together may hold while decoding images (one
    /// budget for the process, see [`crate::perceptual::decode::set_decode_memory`]; default
    /// 1 GiB). Set when the engine is built.
    pub fn decode_memory(mut self, bytes: u64) -> Self {
        self.decode_memory = Some(bytes);
        self
    }

    /// Decode large JPEGs at reduced scale (several times faster; PDQ moves a few bits).
    /// Default: on when matching against an index, off when only hashing (hashes written
    /// for sharing should be the reference's).
    pub fn fast_decode(mut self, on: bool) -> Self {
        self.fast_decode = Some(on);
        self
    }

    /// Hash videos with vPDQ (a PDQ hash per selected frame, as Meta's reference). Off by
    /// default. Without the `video` cargo feature, videos then fail as not decoded.
    pub fn vpdq(mut self, on: bool) -> Self {
        self.video.vpdq = on;
        self
    }

    /// Seconds between the video frames hashed by vPDQ (the reference's `secondsPerHash`);
    /// 0 hashes every frame. Default 1. Negative or not finite: the engine fails to build.
    pub fn vpdq_seconds_per_hash(mut self, seconds: f64) -> Self {
        self.video.seconds_per_hash = seconds;
        self
    }

    /// Limits on decoding one video (duration, frames, frame size).
    pub fn video_limits(mut self, limits: VideoLimits) -> Self {
        self.video.limits = limits;
        self
    }

    /// When a video matches a known video (distance between frames, quality, and the shares
    /// of both videos' frames that must match). Default: python-threatexchange's
    /// ([`VpdqRule::default`]).
    pub fn vpdq_rule(mut self, rule: VpdqRule) -> Self {
        self.vpdq_rule = rule;
        self
    }

    /// Largest PDQ Hamming distance that counts as a match, 0–256. Default 31.
    pub fn pdq_threshold(mut self, bits: u32) -> Self {
        self.pdq_threshold = bits;
        self
    }

    /// Largest pHash Hamming distance that counts as a match, 0–64. Default 10
    /// ([`IMG_MATCH_THRESHOLD`]).
    pub fn phash_threshold(mut self, bits: u32) -> Self {
        self.phash_threshold = bits;
        self
    }

    /// Largest dHash Hamming distance that counts as a match, 0–64. Default 10
    /// ([`IMG_MATCH_THRESHOLD`]).
    pub fn dhash_threshold(mut self, bits: u32) -> Self {
        self.dhash_threshold = bits;
        self
    }

    /// Images of PDQ quality below this (0–100) are not matched on PDQ (pHash and dHash still
    /// are). Default 50.
    pub fn pdq_min_quality(mut self, q: u8) -> Self {
        self.pdq_min_quality = q;
        self
    }

    /// Worker threads; 0 (the default) for one per core.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Memory-map large inputs (the default); false reads every file with read().
    pub fn mmap(mut self, on: bool) -> Self {
        self.mmap = on;
        self
    }

    /// Open archives and compressed streams, found by content (the default): the members of
    /// tars, zips and compressed tars, the content of single compressed streams, and the
    /// containers met as members, in turn; report the containers vigie cannot open (7z, RAR)
    /// as failed `unsupported` items with their own digests. False hashes every file as one
    /// item and flags nothing.
    pub fn archives(mut self, on: bool) -> Self {
        self.archives = on;
        self
    }

    /// Give an opened zip or compressed stream a record of its own (its digests, after its
    /// content's; the default), so that a list of whole files still matches it. False
    /// reports only what is inside: half the hashing of a dump of zips. A tar never has one.
    pub fn container_records(mut self, on: bool) -> Self {
        self.container_records = on;
        self
    }

    /// Bounds on what opening containers may cost (nesting, expanded bytes, members,
    /// expansion ratio): see [`Limits`]. What is over a bound is a failed `limit` item.
    pub fn archive_limits(mut self, limits: Limits) -> Self {
        self.archive_limits = limits;
        self
    }

    /// Follow symbolic links met while walking directories. Off by default (they are
    /// skipped and counted); paths given as inputs are always followed.
    pub fn follow_links(mut self, on: bool) -> Self {
        self.follow = on;
        self
    }

    /// Which files on disk to read ([`FileFilter`]: globs and sizes); the others are skipped
    /// and counted. Default: every file.
    pub fn filter(mut self, filter: FileFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Check every checksum of the index before the engine answers anything (the default;
    /// once per opened index, in parallel): a damaged table would turn listed items clean.
    /// False skips it, for whoever verified the file otherwise.
    pub fn verify_index(mut self, on: bool) -> Self {
        self.verify_index = on;
        self
    }

    /// Flag images whose PDQ quality is under the minimum ([`ItemResult::low_quality`])
    /// even without an index (with one they always are): `vigie hash --format te` leaves
    /// their PDQ hashes out, as `threatexchange hash` does. Off by default.
    ///
    /// [`ItemResult::low_quality`]: crate::model::ItemResult::low_quality
    pub fn flag_low_quality(mut self, on: bool) -> Self {
        self.flag_low_quality = on;
        self
    }

    /// Starts the engine: checks the options, starts its thread pool and verifies the
    /// index's checksums (unless told not to).
    ///
    /// # Errors
    /// An option out of range, a thread pool that cannot start, an index that fails its
    /// checksums, two indexes holding lists of the same name.
    pub fn build(self) -> Result<Engine, EngineError> {
        if self.pdq_threshold > 256 {
            return Err(EngineError::PdqThreshold(self.pdq_threshold));
        }
        if !(self.video.seconds_per_hash >= 0.0 && self.video.seconds_per_hash.is_finite()) {
            return Err(EngineError::SecondsPerHash(self.video.seconds_per_hash));
        }
        if self.pdq_min_quality > 100 {
            return Err(EngineError::PdqQuality(self.pdq_min_quality));
        }
        let rule = self.vpdq_rule;
        let pct = |p: f64| (0.0..=100.0).contains(&p);
        if rule.distance > 256 {
            return Err(EngineError::VpdqRule(format!(
                "distance {} is over 256",
                rule.distance
            )));
        }
        if rule.quality > 100 {
            return Err(EngineError::VpdqRule(format!(
                "quality {} is over 100",
                rule.quality
            )));
        }
        if !pct(rule.query_pct) || !pct(rule.compared_pct) {
            return Err(EngineError::VpdqRule(format!(
                "match percentages {} and {} must be between 0 and 100",
                rule.query_pct, rule.compared_pct
            )));
        }
        for (name, t) in [
            ("pHash", self.phash_threshold),
            ("dHash", self.dhash_threshold),
        ] {
            if t > 64 {
                return Err(EngineError::ImgThreshold(name, t));
            }
        }
        let indexes = self.indexes;
        let refs: Vec<&Index> = indexes.iter().map(|i| &**i).collect();
        crate::index::check_distinct_lists(&refs)?;
        let any = |f: &dyn Fn(&Index) -> bool| indexes.iter().any(|i| f(i));
        let algos = match (indexes.is_empty(), self.algos) {
            (false, extra) => indexes
                .iter()
                .fold(extra.unwrap_or(AlgoSet::EMPTY), |a, i| a.union(i.algos())),
            (true, Some(a)) => a,
            (true, None) => AlgoSet::list_default(),
        };
        let matching = !indexes.is_empty();
        let pdq = self.pdq || any(&|i| i.pdq_len() > 0);
        let perceptual = PerceptualConfig {
            pdq,
            dihedral: pdq && self.dihedral,
            phash: self.phash || any(&|i| i.img_len(ImgKind::Phash) > 0),
            dhash: self.dhash || any(&|i| i.img_len(ImgKind::Dhash) > 0),
            decode: DecodeOptions {
                limits: self.limits,
                exif_orient: self.exif_orient,
                fast: self.fast_decode.unwrap_or(matching),
                pixels: self.pixels,
            },
            min_quality: self.pdq_min_quality,
            unletterbox: self.unletterbox,
            // A scan's fast decode is a screen (src/pipeline.rs `verified`): luma only.
            // `hash --fast-decode` keeps Pillow's draft pixels.
            luma_screen: matching,
        };
        // Videos are hashed whenever the index can match a frame: known videos, or images.
        let mut video = self.video;
        video.vpdq |= any(&|i| i.video_count() > 0 || i.pdq_len() > 0);
        if let Some(bytes) = self.decode_memory {
            crate::perceptual::decode::set_decode_memory(bytes);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("vigie-worker-{i}"))
            .build()?;
        if self.verify_index {
            for index in &indexes {
                pool.install(|| index.verify_checksums())?;
            }
        }
        Ok(Engine {
            cfg: PipelineConfig {
                walk: WalkOptions {
                    follow: self.follow,
                    threads: self.threads,
                    shard: None,
                    filter: self.filter.clone(),
                },
                open: OpenOptions {
                    mmap: if self.mmap {
                        MmapPolicy::Auto
                    } else {
                        MmapPolicy::Never
                    },
                    archives: self.archives,
                    limits: self.archive_limits,
                    container_records: self.container_records,
                },
                algos,
                perceptual,
                check_quality: matching || self.flag_low_quality,
                video,
            },
            indexes,
            pool,
            pdq_threshold: self.pdq_threshold,
            vpdq_rule: rule,
            phash_threshold: self.phash_threshold,
            dhash_threshold: self.dhash_threshold,
        })
    }
}

/// A started engine: reusable across calls and shareable across threads (`Send + Sync`).
pub struct Engine {
    cfg: PipelineConfig,
    indexes: Vec<Arc<Index>>,
    pool: rayon::ThreadPool,
    pdq_threshold: u32,
    vpdq_rule: VpdqRule,
    phash_threshold: u32,
    dhash_threshold: u32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("indexes", &self.indexes.len())
            .field("threads", &self.pool.current_num_threads())
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl Engine {
    /// The options, with their defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The (first) index matched against, if any.
    pub fn index(&self) -> Option<&Arc<Index>> {
        self.indexes.first()
    }

    /// Every index matched against, in the order given.
    pub fn indexes(&self) -> &[Arc<Index>] {
        &self.indexes
    }

    /// The exact algorithms computed on every item.
    pub fn algos(&self) -> AlgoSet {
        self.cfg.algos
    }

    /// The perceptual hashes computed on images, and how they are decoded.
    pub fn perceptual(&self) -> &PerceptualConfig {
        &self.cfg.perceptual
    }

    /// Whether and how videos are hashed.
    pub fn video(&self) -> &VideoConfig {
        &self.cfg.video
    }

    /// Which files on disk are read.
    pub fn file_filter(&self) -> &FileFilter {
        &self.cfg.walk.filter
    }

    /// How files are opened: archives or not, their limits, containers' own records.
    pub fn open_options(&self) -> &OpenOptions {
        &self.cfg.open
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// The indexes with this engine's matching settings, if there is an index.
    pub fn matcher(&self) -> Option<MultiMatcher<'_>> {
        let each: Vec<IndexMatcher<'_>> = self
            .indexes
            .iter()
            .map(|index| IndexMatcher {
                index,
                pdq_threshold: self.pdq_threshold,
                dihedral: self.cfg.perceptual.dihedral,
                vpdq: self.vpdq_rule,
                phash_threshold: self.phash_threshold,
                dhash_threshold: self.dhash_threshold,
            })
            .collect();
        (!each.is_empty()).then_some(MultiMatcher { each })
    }

    /// Runs `f` on the engine's thread pool (the jobs' own parallel work, e.g. `match`).
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Reads, hashes and matches every item of `inputs` (only part `shard` of them when
    /// given: see [`Shard`]), calling `consume` on this thread with every event, in the order
    /// items finish.
    ///
    /// # Threading
    /// The items are read on the engine's pool; one more thread walks the inputs. `consume`
    /// runs on the caller's thread, which also searches images perceptually in batches.
    /// Several scans may run on one engine at once (they share its pool).
    ///
    /// # Errors
    /// The first error `consume` returns (the scan then stops early). A failed item is an
    /// event, never an error.
    pub fn scan(
        &self,
        inputs: Vec<Input>,
        shard: Option<Shard>,
        progress: &dyn Progress,
        consume: impl FnMut(Event) -> io::Result<()>,
    ) -> io::Result<()> {
        let ctl = ScanControl {
            shard,
            ..ScanControl::default()
        };
        self.scan_with(inputs, &ctl, progress, consume)
    }

    /// [`Engine::scan`] steered by `ctl`: a shard, a stop flag, what a resumed run leaves
    /// out, input ends for a journal.
    ///
    /// # Errors
    /// As [`Engine::scan`]. A stop is not an error: the caller set the flag and knows.
    pub fn scan_with(
        &self,
        inputs: Vec<Input>,
        ctl: &ScanControl<'_>,
        progress: &dyn Progress,
        consume: impl FnMut(Event) -> io::Result<()>,
    ) -> io::Result<()> {
        let matcher = self.matcher();
        let matcher = matcher.as_ref().map(|m| m as &dyn Matcher);
        let run = |cfg: &PipelineConfig| {
            pipeline::run(cfg, inputs, &self.pool, matcher, progress, ctl, consume)
        };
        match ctl.shard {
            None => run(&self.cfg),
            Some(s) => {
                let mut cfg = self.cfg.clone();
                cfg.walk.shard = Some(s);
                run(&cfg)
            }
        }
    }

    /// [`Engine::scan`] collecting every item (skipped links and special files are not
    /// items).
    ///
    /// # Errors
    /// None today (kept for symmetry with [`Engine::scan`]: a failed item is a result).
    pub fn scan_items(&self, inputs: Vec<Input>) -> io::Result<Vec<ItemResult>> {
        let mut items = Vec::new();
        self.scan(inputs, None, &NoProgress, |ev| {
            if let Event::Item(r) = ev {
                items.push(*r);
            }
            Ok(())
        })?;
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexBuilder;
    use crate::lists::ListHash;
    use crate::model::Verdict;

    const SHARD: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/example/dump/shard-0001.tar"
    );
    const POSTER: &[u8] = b"uploads/2025/11/a-very-long-directory-name-for-a-re-upload-that-needs-a-gnu-long-name-or-a-pax-header/poster.txt";

    /// One engine serves several calls (its pool and index are kept), bytes are read as
    /// files are (a tar's members are items), and every item is accounted for.
    #[test]
    fn reused_across_calls_with_bytes_and_tars() {
        let tar = std::fs::read(SHARD).unwrap();
        // The example shard's poster is the blocklisted item; its bytes are also given alone.
        let poster = {
            let items = Engine::builder()
                .build()
                .unwrap()
                .scan_items(vec![Input::Path(SHARD.into())])
                .unwrap();
            let r = items
                .iter()
                .find(|r| r.loc.member.as_deref() == Some(POSTER));
            let r = r.expect("the poster member").loc.clone();
            tar[r.offset as usize..(r.offset + r.size) as usize].to_vec()
        };
        let sha = crate::hash::hash_bytes("sha256".parse().unwrap(), &poster);
        let mut b = IndexBuilder::new();
        b.add_hashes(
            "bad",
            "test",
            "mem",
            sha.iter().cloned().map(ListHash::Exact),
        )
        .unwrap();
        let engine = Engine::builder()
            .index(Arc::new(b.into_index().unwrap()))
            .threads(2)
            .build()
            .unwrap();
        assert_eq!(engine.threads(), 2);
        for _ in 0..3 {
            let mut got = engine
                .scan_items(vec![
                    Input::Bytes {
                        name: "shard.tar".into(),
                        bytes: tar.clone().into(),
                    },
                    Input::Bytes {
                        name: "plain".into(),
                        bytes: poster.clone().into(),
                    },
                ])
                .unwrap();
            got.sort_by_key(|r| r.loc.display_bytes());
            let seen: Vec<(Vec<u8>, Verdict)> = got
                .iter()
                .map(|r| (r.loc.display_bytes(), r.verdict()))
                .collect();
            let poster_in_tar = [b"shard.tar/", POSTER].concat();
            assert_eq!(
                seen,
                [
                    (b"plain".to_vec(), Verdict::Match),
                    (poster_in_tar, Verdict::Match),
                    (
                        b"shard.tar/uploads/2025/11/list.txt".to_vec(),
                        Verdict::Clean
                    ),
                ]
            );
        }
    }

    /// Two indexes: the algorithms of both are computed once, each item's hits are those of
    /// both, an allowlist of one makes an item of the other's blocklist known; two lists of
    /// the same name are refused.
    #[test]
    fn several_indexes_match_as_one() {
        let bytes = |s: &str| Input::Bytes {
            name: s.into(),
            bytes: s.as_bytes().to_vec().into(),
        };
        let digest = |algo: &str, s: &str| {
            crate::hash::hash_bytes(algo.parse().unwrap(), s.as_bytes())
                .iter()
                .cloned()
                .map(ListHash::Exact)
                .collect::<Vec<_>>()
        };
        let mut a = IndexBuilder::new();
        a.add_hashes(
            "a-block",
            "a",
            "mem",
            digest("md5", "both")
                .into_iter()
                .chain(digest("md5", "allowed")),
        )
        .unwrap();
        let a = Arc::new(a.into_index().unwrap());
        let mut b = IndexBuilder::new();
        b.add_hashes("b-block", "b", "mem", digest("sha256", "both"))
            .unwrap();
        let b = Arc::new(b.into_index().unwrap());
        // An allowlist in a third index: a Bloom-free way is a list read from a file.
        let dir = tempfile::tempdir().unwrap();
        let allow = dir.path().join("allow.sha1");
        let line = |s: &str| {
            let d = crate::hash::hash_bytes("sha1".parse().unwrap(), s.as_bytes());
            format!("{}\n", d.iter().next().unwrap().to_hex())
        };
        std::fs::write(&allow, line("allowed") + &line("known")).unwrap();
        let mut c = IndexBuilder::new();
        let mut spec = crate::index::ListSpec::new(&allow);
        spec.role = Some(crate::model::Role::Allow);
        c.add_list(&spec, true).unwrap();
        let c = Arc::new(c.into_index().unwrap());
        let engine = Engine::builder()
            .index(a.clone())
            .index(b.clone())
            .index(c)
            .build()
            .unwrap();
        assert_eq!(engine.indexes().len(), 3);
        assert_eq!(engine.algos(), "md5,sha1,sha256".parse().unwrap());
        let mut got = engine
            .scan_items(vec![
                bytes("both"),
                bytes("allowed"),
                bytes("known"),
                bytes("neither"),
            ])
            .unwrap();
        got.sort_by_key(|r| r.loc.display_bytes());
        let seen: Vec<(String, Verdict, Vec<&str>)> = got
            .iter()
            .map(|r| {
                let lists = r.hits.iter().map(|h| h.list.as_str()).collect();
                (r.loc.to_string(), r.verdict(), lists)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("allowed".into(), Verdict::Match, vec!["a-block", "allow"]),
                ("both".into(), Verdict::Match, vec!["a-block", "b-block"]),
                ("known".into(), Verdict::Known, vec!["allow"]),
                ("neither".into(), Verdict::Clean, vec![]),
            ]
        );
        let e = Engine::builder()
            .index(a.clone())
            .index(a)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("a list named \"a-block\""), "{e}");
    }

    #[test]
    fn out_of_range_options_are_refused() {
        assert!(matches!(
            Engine::builder().pdq_threshold(257).build(),
            Err(EngineError::PdqThreshold(257))
        ));
        assert!(matches!(
            Engine::builder().pdq_min_quality(101).build(),
            Err(EngineError::PdqQuality(101))
        ));
    }

    /// Without an index the engine hashes with the default algorithms, exact decode.
    #[test]
    fn hashing_engine_defaults() {
        let e = Engine::builder().build().unwrap();
        assert_eq!(e.algos(), AlgoSet::list_default());
        assert!(!e.perceptual().decode.fast);
        assert!(e.matcher().is_none());
        let got = e
            .scan_items(vec![Input::Bytes {
                name: "x".into(),
                bytes: b"abc".to_vec().into(),
            }])
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].verdict(), Verdict::Clean);
    }
}
