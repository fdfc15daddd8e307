//! Matching an item against the compiled index: one exact lookup per computed digest (and
//! one probe of each Bloom filter of its algorithm), and for images a PDQ radius search (every
//! entry within the threshold) and a pHash and a dHash one (each within its own threshold),
//! each (list, label) found becoming one [`Hit`] that carries its list's role (and, from a
//! Bloom filter, the filter's false-positive rate).
//!
//! Videos are matched as python-threatexchange's vPDQ index matches them (see
//! [`IndexMatcher::find_video`]): every distinct frame of sufficient quality is searched in
//! the known videos' frame table in one batch, and each known video holding a frame found is
//! compared by the shares of both videos' distinct frames that found a partner. Each frame is
//! also searched in the PDQ table of known images.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::hash::Digests;
use crate::index::{ImgMatch, Index, PdqMatch};
use crate::model::{Hit, Role, VideoHit};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;
use crate::perceptual::{Drift, ImageHashes};
use crate::video::VpdqFrame;

/// Something that finds hits for an item's digests (the compiled index).
pub trait Matcher: Sync {
    /// Appends every hit of `digests` to `hits`.
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>);

    /// Appends every perceptual hit of an image to `hits`.
    fn find_image(&self, _image: &ImageHashes, _hits: &mut Vec<Hit>) {}

    /// Whether any perceptual hash searched for the image (its PDQ variants, with dihedral
    /// matching; its pHash; its dHash) lies within that hash's match threshold plus its
    /// `slack` bits of an entry: the screen for hashes that may be up to `slack` bits from
    /// the exact ones (a reduced-scale decode), whose images are then hashed again exactly.
    /// False for a matcher with no perceptual entries.
    fn near(&self, _image: &ImageHashes, _slack: &Drift) -> bool {
        false
    }

    /// Appends every hit of a video's vPDQ frames to `hits`: known videos it matches, and
    /// known images one of its frames is near.
    fn find_video(&self, _frames: &[VpdqFrame], _hits: &mut Vec<Hit>) {}

    /// The hits of each of `videos`, as [`Matcher::find_video`] finds them; an index searches
    /// their frames as one batch. `vigie match` calls this for a list's vPDQ queries.
    fn find_videos(&self, videos: &[&[VpdqFrame]]) -> Vec<Vec<Hit>> {
        videos
            .iter()
            .map(|v| {
                let mut hits = Vec::new();
                self.find_video(v, &mut hits);
                hits
            })
            .collect()
    }

    /// The perceptual hits of each of `images`, as [`Matcher::find_image`] finds them; an
    /// index searches them as one batch, so that its memory traffic is shared. The scan
    /// calls this, [`IMAGE_BATCH`] images at a time.
    fn find_images(&self, images: &[&ImageHashes]) -> Vec<Vec<Hit>> {
        images
            .iter()
            .map(|i| {
                let mut hits = Vec::new();
                self.find_image(i, &mut hits);
                hits
            })
            .collect()
    }
}

/// Images whose perceptual matching is batched (up to 8 PDQ queries each with dihedral
/// variants): a batch searches a multi-index table slice by slice once for all of them,
/// where one image at a time costs a random cache miss per probe.
pub const IMAGE_BATCH: usize = 1024;

impl Matcher for Index {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        for d in digests.iter() {
            if let Some(found) = self.lookup(d) {
                let hash = d.to_hex();
                hits.extend(found.map(|h| Hit {
                    algorithm: d.algo().name(),
                    hash: hash.clone(),
                    list: h.list.to_string(),
                    label: h.label.to_string(),
                    distance: 0,
                    matched_hash: None,
                    role: h.role,
                    fpr: None,
                    video: None,
                    timestamp: None,
                }));
            }
            self.bloom_lookup(d, |h| {
                hits.push(Hit {
                    algorithm: d.algo().name(),
                    hash: d.to_hex(),
                    list: h.list.to_string(),
                    label: h.label.to_string(),
                    distance: 0,
                    matched_hash: None,
                    role: h.role,
                    fpr: Some(h.fpr),
                    video: None,
                    timestamp: None,
                })
            });
        }
    }
}

/// The (list, label, role) triples of a PDQ (or pHash, dHash) entry.
type Owners = Vec<(String, String, Role)>;

/// An index with the settings of perceptual matching.
#[derive(Clone, Copy)]
pub struct IndexMatcher<'a> {
    /// The index.
    pub index: &'a Index,
    /// Largest PDQ Hamming distance that matches (inclusive).
    pub pdq_threshold: u32,
    /// Also search the 8 dihedral variants of each image (rotated and flipped copies).
    pub dihedral: bool,
    /// Largest pHash Hamming distance that matches (inclusive, 0..=64).
    pub phash_threshold: u32,
    /// Largest dHash Hamming distance that matches (inclusive, 0..=64).
    pub dhash_threshold: u32,
    /// How videos are compared.
    pub vpdq: VpdqRule,
}

/// When a video matches a known video: python-threatexchange's vPDQ comparison, each of its
/// settings a value (its defaults are [`VpdqRule::default`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqRule {
    /// Largest Hamming distance between two frames' PDQ hashes that pairs them (inclusive).
    pub distance: u32,
    /// Frames of lower PDQ quality are left out of the comparison, on both sides.
    pub quality: u8,
    /// Least share (percent) of the item's distinct frames that must find a partner.
    pub query_pct: f64,
    /// Least share (percent) of the known video's distinct frames that must find a partner.
    pub compared_pct: f64,
}

impl Default for VpdqRule {
    /// python-threatexchange's: distance 31, quality 50, 80 % of the item's frames, 0 % of the
    /// known video's (so a clip cut from a known video matches it).
    fn default() -> Self {
        VpdqRule {
            distance: 31,
            quality: 50,
            query_pct: 80.0,
            compared_pct: 0.0,
        }
    }
}

impl Matcher for IndexMatcher<'_> {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        self.index.find(digests, hits);
    }

    /// Searches the image's PDQ hash (and, with `dihedral`, its 7 other variants, in one pass
    /// over the table); an entry found through several variants is reported once, at its
    /// smallest distance. Then its pHash and its dHash.
    fn find_image(&self, image: &ImageHashes, hits: &mut Vec<Hit>) {
        if let Some(own) = image.pdq {
            self.find_pdq(&own, self.variants(image), hits);
        }
        for kind in ImgKind::ALL {
            if let Some(own) = image.img(kind) {
                hits.extend(self.find_img_many(kind, &[own]).into_iter().flatten());
            }
        }
    }

    fn near(&self, image: &ImageHashes, slack: &Drift) -> bool {
        let mut near = false;
        if self.index.pdq_len() > 0 {
            let radius = self.pdq_threshold.saturating_add(slack.pdq).min(256);
            self.index
                .pdq_search_many(self.variants(image), radius, |_, _| near = true);
        }
        for kind in ImgKind::ALL {
            if self.index.img_len(kind) == 0 {
                continue;
            }
            if let (false, Some(own)) = (near, image.img(kind)) {
                // A near-flat image's bits are rounding noise: never screened out.
                if image
                    .img_contrast
                    .is_some_and(|c| c < crate::perceptual::FAST_FLAT_CONTRAST)
                {
                    return true;
                }
                let radius = self.img_threshold(kind).saturating_add(slack.img(kind));
                self.index
                    .img_search_many(kind, &[own], radius.min(64), |_, _| near = true);
            }
        }
        near
    }

    /// Compares the video with every known video holding a frame near one of its frames, as
    /// python-threatexchange's vPDQ index does: its frames of quality below the rule's are
    /// left out, then one frame per distinct hash is kept (likewise for the known videos, at
    /// build); a known video matches when the share of the item's distinct frames within the
    /// rule's distance of one of its frames, and the share of its own distinct frames within
    /// that distance of one of the item's, reach the rule's percentages. A video with no
    /// frame of sufficient quality matches nothing. Each hit carries the largest distance
    /// between a matched frame and its nearest partner, and the time ranges of the item that
    /// matched. Each distinct frame is also searched among the known images' PDQ hashes
    /// (with the PDQ threshold): a `pdq` hit per image entry, at its smallest distance, with
    /// the time of the (first) frame at that distance.
    fn find_video(&self, frames: &[VpdqFrame], hits: &mut Vec<Hit>) {
        hits.extend(self.find_videos(&[frames]).into_iter().flatten());
    }

    /// All the videos' frames in one search of the known videos, then one of the images.
    fn find_videos(&self, videos: &[&[VpdqFrame]]) -> Vec<Vec<Hit>> {
        let rule = self.vpdq;
        let distinct: Vec<Distinct> = videos
            .iter()
            .map(|f| distinct_frames(f, rule.quality))
            .collect();
        let mut out = vec![Vec::new(); videos.len()];
        if self.index.video_count() > 0 {
            self.find_known_videos(videos, &distinct, &mut out);
        }
        if self.index.pdq_len() > 0 {
            self.frames_near_images(videos, &distinct, &mut out);
        }
        out
    }

    /// All the images' queries (each image's variants) in one search.
    fn find_images(&self, images: &[&ImageHashes]) -> Vec<Vec<Hit>> {
        let mut queries = Vec::new();
        let mut owner = Vec::new(); // the image of each query
        for (i, image) in images.iter().enumerate() {
            if image.pdq.is_some() {
                let v = self.variants(image);
                queries.extend_from_slice(v);
                owner.resize(owner.len() + v.len(), i);
            }
        }
        let mut all: Vec<Vec<Hit>> = self
            .best_of(&queries, images.len(), |q| owner[q])
            .into_iter()
            .zip(images)
            .map(|(b, image)| {
                let mut hits = Vec::new();
                if let Some(own) = &image.pdq {
                    push_hits(own, b, &mut hits);
                }
                hits
            })
            .collect();
        for kind in ImgKind::ALL {
            let (owner, queries): (Vec<usize>, Vec<ImgHash64>) = images
                .iter()
                .enumerate()
                .filter_map(|(i, image)| Some((i, image.img(kind)?)))
                .unzip();
            for (i, hits) in owner.into_iter().zip(self.find_img_many(kind, &queries)) {
                all[i].extend(hits);
            }
        }
        all
    }
}

/// Several indexes matched as one (`vigie scan --index A --index B`), each with the same
/// settings: an item's digests and perceptual hashes, computed once, are looked up in each
/// index in turn (perceptual searches run per index), and its hits are those of every index,
/// in the order the indexes were given. An allowlist of any index therefore applies to the
/// items of all: an item is known when some allowlist holds it and no blocklist does, whichever
/// index either is in.
#[derive(Clone)]
pub struct MultiMatcher<'a> {
    /// Each index with the matching settings.
    pub each: Vec<IndexMatcher<'a>>,
}

impl MultiMatcher<'_> {
    /// The hit lists of each index for the same queries, concatenated query by query.
    fn joined(&self, mut per: impl FnMut(&IndexMatcher<'_>) -> Vec<Vec<Hit>>) -> Vec<Vec<Hit>> {
        let mut out: Option<Vec<Vec<Hit>>> = None;
        for m in &self.each {
            let got = per(m);
            match &mut out {
                None => out = Some(got),
                Some(all) => {
                    for (a, g) in all.iter_mut().zip(got) {
                        a.extend(g);
                    }
                }
            }
        }
        out.unwrap_or_default()
    }

    /// [`IndexMatcher::find_pdq_many`] over every index.
    pub fn find_pdq_many(&self, queries: &[PdqHash]) -> Vec<Vec<Hit>> {
        let mut out = self.joined(|m| m.find_pdq_many(queries));
        out.resize_with(queries.len(), Vec::new);
        out
    }

    /// [`IndexMatcher::find_img_many`] over every index.
    pub fn find_img_many(&self, kind: ImgKind, queries: &[ImgHash64]) -> Vec<Vec<Hit>> {
        let mut out = self.joined(|m| m.find_img_many(kind, queries));
        out.resize_with(queries.len(), Vec::new);
        out
    }

    /// The hash types some index holds entries of (see [`Index::holds`]).
    pub fn holds(&self) -> Vec<crate::lists::ListType> {
        let mut all: Vec<crate::lists::ListType> = Vec::new();
        for m in &self.each {
            for t in m.index.holds() {
                if !all.contains(&t) {
                    all.push(t);
                }
            }
        }
        all
    }

    /// [`Index::pdq_prefault`] on every index.
    pub fn pdq_prefault(&self) {
        self.each.iter().for_each(|m| m.index.pdq_prefault());
    }
}

impl Matcher for MultiMatcher<'_> {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        for m in &self.each {
            m.find(digests, hits);
        }
    }

    fn find_image(&self, image: &ImageHashes, hits: &mut Vec<Hit>) {
        for m in &self.each {
            m.find_image(image, hits);
        }
    }

    fn near(&self, image: &ImageHashes, slack: &Drift) -> bool {
        self.each.iter().any(|m| m.near(image, slack))
    }

    fn find_video(&self, frames: &[VpdqFrame], hits: &mut Vec<Hit>) {
        for m in &self.each {
            m.find_video(frames, hits);
        }
    }

    fn find_videos(&self, videos: &[&[VpdqFrame]]) -> Vec<Vec<Hit>> {
        let mut out = self.joined(|m| m.find_videos(videos));
        out.resize_with(videos.len(), Vec::new);
        out
    }

    fn find_images(&self, images: &[&ImageHashes]) -> Vec<Vec<Hit>> {
        let mut out = self.joined(|m| m.find_images(images));
        out.resize_with(images.len(), Vec::new);
        out
    }
}

/// A second to the millisecond, as vPDQ signals write timestamps.
fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// A known video compared with the item: for each of the item's distinct frames, the distance
/// to its nearest partner in the video (`u32::MAX`: none within the rule's distance), and how
/// many of the video's distinct frames found a partner among the item's.
struct Compared {
    nearest: Vec<u32>,
    partnered: usize,
}

impl Compared {
    /// The item's frames `ours` against a known video's `theirs` (both of sufficient
    /// quality), pairs within `distance`; `None` as soon as more than `misses` of ours have
    /// no partner (the video cannot pass the rule).
    fn of(ours: &[[u64; 4]], theirs: &[[u64; 4]], distance: u32, misses: usize) -> Option<Self> {
        let mut missed = 0;
        let nearest: Vec<u32> = ours
            .iter()
            .map(|q| {
                let d = theirs
                    .iter()
                    .map(|t| hamming(q, t))
                    .min()
                    .unwrap_or(u32::MAX);
                if d <= distance {
                    Some(d)
                } else {
                    missed += 1;
                    (missed <= misses).then_some(u32::MAX)
                }
            })
            .collect::<Option<_>>()?;
        let partnered = theirs
            .iter()
            .filter(|t| ours.iter().any(|q| hamming(q, t) <= distance))
            .count();
        Some(Compared { nearest, partnered })
    }
}

/// A video's distinct frame hashes (of sufficient quality), in the order of their first
/// frame, and the place of each in that list.
type Distinct = (Vec<PdqHash>, HashMap<PdqHash, usize>);

/// The distinct hashes of `frames` of quality `min` or more ([`Distinct`]).
fn distinct_frames(frames: &[VpdqFrame], min: u8) -> Distinct {
    let mut distinct: Vec<PdqHash> = Vec::new();
    let mut slot: HashMap<PdqHash, usize> = HashMap::new();
    for f in frames.iter().filter(|f| f.quality >= min) {
        slot.entry(f.hash).or_insert_with(|| {
            distinct.push(f.hash);
            distinct.len() - 1
        });
    }
    (distinct, slot)
}

/// `count` of `total` in percent, as python-threatexchange computes it (in floats).
fn pct(count: usize, total: usize) -> f64 {
    count as f64 * 100.0 / total as f64
}

/// The fewest of `n` frames that reach `query_pct` percent (at least 1: a video sharing no
/// frame is never found), `None` when not even all of them do.
fn least_matched(n: usize, query_pct: f64) -> Option<usize> {
    (1..=n).find(|&m| pct(m, n) >= query_pct)
}

/// A PDQ hash as four words, for [`hamming`].
fn words(h: &PdqHash) -> [u64; 4] {
    crate::index::pdq_words(&h.0)
}

/// Bits that differ between two hashes as [`words`] gives them.
fn hamming(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Entry → (smallest distance, its (list, label, role) triples), for one item.
type Best = BTreeMap<PdqHash, (u32, Owners)>;

impl IndexMatcher<'_> {
    /// The match threshold of a 64-bit image hash kind.
    pub fn img_threshold(&self, kind: ImgKind) -> u32 {
        match kind {
            ImgKind::Phash => self.phash_threshold,
            ImgKind::Dhash => self.dhash_threshold,
        }
    }

    /// The hits of each of `queries` (hashes of kind `kind`: images' own, or the lines of a
    /// partner's list), searched as one batch: one hit per (entry, list, label) within the
    /// kind's threshold, entries in hash order.
    pub fn find_img_many(&self, kind: ImgKind, queries: &[ImgHash64]) -> Vec<Vec<Hit>> {
        let mut best: Vec<BTreeMap<ImgHash64, (u32, Owners)>> =
            vec![BTreeMap::new(); queries.len()];
        if self.index.img_len(kind) > 0 && !queries.is_empty() {
            let threshold = self.img_threshold(kind).min(64);
            self.index
                .img_search_many(kind, queries, threshold, |q, m: ImgMatch<'_>| {
                    best[q].entry(m.hash).or_insert_with(|| {
                        (
                            m.distance,
                            m.hits
                                .clone()
                                .map(|h| (h.list.to_string(), h.label.to_string(), h.role))
                                .collect(),
                        )
                    });
                });
        }
        best.into_iter()
            .zip(queries)
            .map(|(b, q)| {
                let hash = q.to_hex();
                let mut hits = Vec::new();
                for (entry, (distance, pairs)) in b {
                    let found = (entry.to_hex(), distance, None);
                    owner_hits(kind.name(), &hash, found, pairs, &mut hits);
                }
                hits
            })
            .collect()
    }

    /// The PDQ hashes searched for an image (with a PDQ hash): its 8 dihedral variants, or
    /// its own hash alone.
    fn variants<'i>(&self, image: &'i ImageHashes) -> &'i [PdqHash] {
        match (self.dihedral, &image.pdq_dihedral, &image.pdq) {
            (true, Some(all), _) => &all[..],
            (_, _, Some(own)) => std::slice::from_ref(own),
            _ => &[],
        }
    }

    /// The `vpdq` hits of each of `videos` (see [`Matcher::find_video`]), into `out`:
    /// `distinct` are each video's distinct frames of sufficient quality.
    ///
    /// A known video matches when at least `need` of the item's `n` distinct frames find a
    /// partner in it, so it holds a partner of at least one frame of any `n - need + 1` of
    /// them: only those are searched (all the videos' in one batch), and each known video
    /// found is then compared with all of the item's frames, frame by frame
    /// ([`Compared::of`]). The verdicts are those of a search of every frame
    /// ([`IndexMatcher::known_videos_by_search`], which an index without its frame table
    /// still takes), at a fifth of the searches with the default 80 %. `need` is 1 when
    /// `query_pct` is 0: every frame is searched.
    fn find_known_videos(
        &self,
        videos: &[&[VpdqFrame]],
        distinct: &[Distinct],
        out: &mut [Vec<Hit>],
    ) {
        if !self.index.has_video_frames() {
            for ((frames, (distinct, slot)), hits) in videos.iter().zip(distinct).zip(out) {
                if !distinct.is_empty() {
                    let found = self.known_videos_by_search(distinct);
                    self.report_videos(found, frames, slot, hits);
                }
            }
            return;
        }
        let rule = self.vpdq;
        let mut picked: Vec<PdqHash> = Vec::new();
        let mut owner: Vec<usize> = Vec::new(); // the video of each frame searched
        let mut needs: Vec<Option<usize>> = Vec::with_capacity(videos.len());
        for (v, (frames, _)) in distinct.iter().enumerate() {
            let need = least_matched(frames.len(), rule.query_pct);
            if let Some(need) = need {
                // Any k frames will do: spread evenly over the video.
                let k = frames.len() - need + 1;
                picked.extend((0..k).map(|i| frames[i * frames.len() / k]));
                owner.resize(owner.len() + k, v);
            }
            needs.push(need);
        }
        let mut ids: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); videos.len()];
        self.index
            .vpdq_search_many(&picked, rule.distance, |q, row, _| {
                ids[owner[q]].extend(
                    self.index
                        .vpdq_postings(row)
                        .filter(|&(_, q)| q >= rule.quality)
                        .map(|(v, _)| v),
                );
            });
        for (v, ids) in ids.into_iter().enumerate() {
            let (Some(need), (frames, slot)) = (needs[v], &distinct[v]) else {
                continue;
            };
            let ours: Vec<[u64; 4]> = frames.iter().map(words).collect();
            let misses = frames.len() - need;
            let found = ids.into_iter().filter_map(|id| {
                let theirs: Vec<[u64; 4]> = self
                    .index
                    .video_frames(id)?
                    .iter()
                    .filter(|(_, q)| *q >= rule.quality)
                    .map(|(h, _)| words(h))
                    .collect();
                Some((id, Compared::of(&ours, &theirs, rule.distance, misses)?))
            });
            self.report_videos(found, videos[v], slot, &mut out[v]);
        }
    }

    /// The `pdq` hits of each of `videos`' distinct frames among the known images, into
    /// `out`, all the frames in one search: a hit per image entry, at its smallest distance,
    /// with the time of the (first) frame at that distance.
    fn frames_near_images(
        &self,
        videos: &[&[VpdqFrame]],
        distinct: &[Distinct],
        out: &mut [Vec<Hit>],
    ) {
        let rule = self.vpdq;
        let mut queries: Vec<PdqHash> = Vec::new();
        let mut owner: Vec<usize> = Vec::new(); // the video of each query
        let mut first: Vec<f64> = Vec::new(); // the time of each query's first frame
        for (v, (frames, (hashes, slot))) in videos.iter().zip(distinct).enumerate() {
            let base = queries.len();
            queries.extend_from_slice(hashes);
            owner.resize(queries.len(), v);
            first.resize(queries.len(), f64::NAN);
            for f in frames.iter().filter(|f| f.quality >= rule.quality) {
                let t = &mut first[base + slot[&f.hash]];
                if t.is_nan() {
                    *t = f64::from(f.timestamp);
                }
            }
        }
        // Per video, entry → (distance, time of the frame, the frame's hash), the smallest
        // distance first, then the earliest frame.
        let mut best: Vec<BTreeMap<PdqHash, (u32, f64, PdqHash, Owners)>> =
            vec![BTreeMap::new(); videos.len()];
        self.index
            .pdq_search_many(&queries, self.pdq_threshold, |q, m| {
                let (d, t) = (m.distance, first[q]);
                let e = best[owner[q]].entry(m.hash).or_insert_with(|| {
                    let owners = m
                        .hits
                        .clone()
                        .map(|h| (h.list.to_string(), h.label.to_string(), h.role))
                        .collect();
                    (u32::MAX, f64::INFINITY, queries[q], owners)
                });
                if (d, t) < (e.0, e.1) {
                    (e.0, e.1, e.2) = (d, t, queries[q]);
                }
            });
        for (best, hits) in best.into_iter().zip(out) {
            for (entry, (distance, t, own, owners)) in best {
                let found = (entry.to_hex(), distance, Some(round_ms(t)));
                owner_hits("pdq", &own.to_hex(), found, owners, hits);
            }
        }
    }

    /// Every known video sharing a frame with the item, found by searching each of its
    /// `distinct` frames: the simple path, for indexes without a frame table (format version
    /// 5), and what the screened one is tested against.
    fn known_videos_by_search(&self, distinct: &[PdqHash]) -> BTreeMap<u32, Compared> {
        let rule = self.vpdq;
        let mut cands: BTreeMap<u32, (Vec<u32>, HashSet<usize>)> = BTreeMap::new();
        self.index
            .vpdq_search_many(distinct, rule.distance, |q, row, d| {
                for (video, quality) in self.index.vpdq_postings(row) {
                    if quality < rule.quality {
                        continue;
                    }
                    let c = cands
                        .entry(video)
                        .or_insert_with(|| (vec![u32::MAX; distinct.len()], HashSet::new()));
                    c.0[q] = c.0[q].min(d);
                    c.1.insert(row);
                }
            });
        cands
            .into_iter()
            .map(|(id, (nearest, rows))| {
                let partnered = rows.len();
                (id, Compared { nearest, partnered })
            })
            .collect()
    }

    /// One `vpdq` hit per (list, label) of each compared known video that passes the rule.
    fn report_videos(
        &self,
        compared: impl IntoIterator<Item = (u32, Compared)>,
        frames: &[VpdqFrame],
        slot: &HashMap<PdqHash, usize>,
        hits: &mut Vec<Hit>,
    ) {
        let rule = self.vpdq;
        for (id, c) in compared {
            let Some(known) = self.index.video(id) else {
                continue;
            };
            let known_frames = known.frames_at_least(rule.quality);
            if known_frames == 0 {
                continue;
            }
            let matched = c.nearest.iter().filter(|&&d| d != u32::MAX).count();
            // As python-threatexchange computes them (count * 100 / total, in floats).
            let query_pct = pct(matched, c.nearest.len());
            let compared_pct = pct(c.partnered, known_frames);
            if query_pct < rule.query_pct || compared_pct < rule.compared_pct {
                continue;
            }
            let distance = c
                .nearest
                .iter()
                .filter(|&&d| d != u32::MAX)
                .max()
                .copied()
                .unwrap_or(0);
            let segments = segments(frames, rule.quality, |h| {
                slot.get(h).is_some_and(|&i| c.nearest[i] != u32::MAX)
            });
            let video = VideoHit {
                name: known.name.to_string(),
                query_match_pct: query_pct,
                compared_match_pct: compared_pct,
                segments,
            };
            hits.extend(known.hits.map(|h| Hit {
                algorithm: "vpdq",
                hash: String::new(),
                list: h.list.to_string(),
                label: h.label.to_string(),
                distance,
                matched_hash: None,
                role: h.role,
                fpr: None,
                video: Some(Box::new(video.clone())),
                timestamp: None,
            }));
        }
    }

    /// Searches `queries` as one batch, each counted for the item `item(query)` (of `items`):
    /// the entries found for each item, each once, at its smallest distance.
    fn best_of(
        &self,
        queries: &[PdqHash],
        items: usize,
        item: impl Fn(usize) -> usize,
    ) -> Vec<Best> {
        let mut best: Vec<Best> = vec![Best::new(); items];
        if self.index.pdq_len() > 0 && !queries.is_empty() {
            self.index
                .pdq_search_many(queries, self.pdq_threshold, |q, m| {
                    keep(&mut best[item(q)], &m)
                });
        }
        best
    }

    /// Appends a hit for every entry within the threshold of any of `queries` (variants of
    /// `own`, which the hits report as `hash`), each entry once, at its smallest distance.
    pub fn find_pdq(&self, own: &PdqHash, queries: &[PdqHash], hits: &mut Vec<Hit>) {
        if let Some(best) = self.best_of(queries, 1, |_| 0).pop() {
            push_hits(own, best, hits);
        }
    }

    /// The hits of each of `queries` (independent hashes, e.g. the PDQ lines of a partner's
    /// list), searched as one batch so that the index can share its memory traffic.
    pub fn find_pdq_many(&self, queries: &[PdqHash]) -> Vec<Vec<Hit>> {
        self.best_of(queries, queries.len(), |q| q)
            .into_iter()
            .zip(queries)
            .map(|(b, q)| {
                let mut hits = Vec::new();
                push_hits(q, b, &mut hits);
                hits
            })
            .collect()
    }
}

/// Records a match, keeping each entry's smallest distance.
fn keep(best: &mut Best, m: &PdqMatch<'_>) {
    let slot = best.entry(m.hash).or_insert_with(|| {
        (
            u32::MAX,
            m.hits
                .clone()
                .map(|h| (h.list.to_string(), h.label.to_string(), h.role))
                .collect(),
        )
    });
    slot.0 = slot.0.min(m.distance);
}

/// The time ranges of `frames` (in frame order) where they match: each run of consecutive
/// frames of quality `min` or more whose hash `matches`, as [first frame's time, last
/// frame's time], in seconds to the millisecond. Frames under `min` take no part: they
/// neither extend nor break a run.
fn segments(frames: &[VpdqFrame], min: u8, matches: impl Fn(&PdqHash) -> bool) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    let mut open = false;
    for f in frames.iter().filter(|f| f.quality >= min) {
        let t = round_ms(f64::from(f.timestamp));
        match (matches(&f.hash), open) {
            (true, true) => {
                if let Some(last) = out.last_mut() {
                    last[1] = t;
                }
            }
            (true, false) => {
                out.push([t, t]);
                open = true;
            }
            (false, _) => open = false,
        }
    }
    out
}

/// One hit per (entry, list, label), reported with `own` as the item's hash.
fn push_hits(own: &PdqHash, best: Best, hits: &mut Vec<Hit>) {
    let hash = own.to_hex();
    for (entry, (distance, pairs)) in best {
        owner_hits("pdq", &hash, (entry.to_hex(), distance, None), pairs, hits);
    }
}

/// One perceptual hit per (list, label, role) of an entry found: `found` is the entry's hash,
/// its distance, and (for a video frame) the frame's time.
fn owner_hits(
    algorithm: &'static str,
    hash: &str,
    found: (String, u32, Option<f64>),
    owners: Owners,
    hits: &mut Vec<Hit>,
) {
    let (matched, distance, timestamp) = found;
    hits.extend(owners.into_iter().map(|(list, label, role)| Hit {
        algorithm,
        hash: hash.to_string(),
        list,
        label,
        distance,
        matched_hash: Some(matched.clone()),
        role,
        fpr: None,
        video: None,
        timestamp,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::{flip_bits, random_pdq};
    use crate::index::{IndexBuilder, PdqSearch};
    use crate::lists::ListHash;
    use crate::perceptual::{hash_image, PerceptualConfig};
    use crate::testing::XorShift;
    use crate::video::VpdqFrame;

    /// python-threatexchange's vPDQ comparison of two videos, by brute force (quality
    /// filter, then one frame per hash, then every pair of frames compared): (query %,
    /// compared %), `None` when either side has no frame left.
    fn brute(q: &[VpdqFrame], k: &[VpdqFrame], rule: &VpdqRule) -> Option<(f64, f64)> {
        let prep = |v: &[VpdqFrame]| {
            let mut seen = std::collections::HashSet::new();
            v.iter()
                .filter(|f| f.quality >= rule.quality)
                .filter(|f| seen.insert(f.hash))
                .map(|f| f.hash)
                .collect::<Vec<_>>()
        };
        let (q, k) = (prep(q), prep(k));
        if q.is_empty() || k.is_empty() {
            return None;
        }
        let near = |a: &PdqHash, b: &PdqHash| a.distance(b) <= rule.distance;
        let qm = q.iter().filter(|a| k.iter().any(|b| near(a, b))).count();
        let km = k.iter().filter(|b| q.iter().any(|a| near(a, b))).count();
        Some((
            qm as f64 * 100.0 / q.len() as f64,
            km as f64 * 100.0 / k.len() as f64,
        ))
    }

    /// A generated video: `n` frames walking from a random start, a few bits per frame, a
    /// new scene every 15 frames; some frames of low quality.
    fn walk(rng: &mut XorShift, n: usize) -> Vec<VpdqFrame> {
        let mut h = random_pdq(rng);
        (0..n)
            .map(|i| {
                h = if i % 15 == 0 {
                    random_pdq(rng)
                } else {
                    let k = (rng.next() % 6) as usize;
                    flip_bits(rng, &h, k)
                };
                VpdqFrame {
                    frame: i as u64,
                    hash: h,
                    quality: if rng.next().is_multiple_of(10) {
                        30
                    } else {
                        100
                    },
                    timestamp: i as f32,
                }
            })
            .collect()
    }

    /// A copy of `v` as a re-encode would leave it: every frame a few bits off (some past
    /// the distance), optionally cut to frames `from..to`.
    fn copy_of(
        rng: &mut XorShift,
        v: &[VpdqFrame],
        from: usize,
        to: usize,
        bits: u64,
    ) -> Vec<VpdqFrame> {
        v[from..to]
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let k = (rng.next() % bits) as usize;
                VpdqFrame {
                    frame: i as u64,
                    hash: flip_bits(rng, &f.hash, k),
                    quality: f.quality,
                    timestamp: i as f32,
                }
            })
            .collect()
    }

    /// Every verdict and percentage of the index's vPDQ matching equals the reference
    /// comparison run by brute force against every known video, under the default rule and
    /// others (the vpdq README's symmetric 80/80, a tight distance, a high quality bar), with
    /// the frame table searched by a linear scan and by multi-index tables.
    #[test]
    fn videos_match_as_the_reference_compares_them_by_brute_force() {
        let mut rng = XorShift(0x5EED_71DE0);
        let known: Vec<Vec<VpdqFrame>> = (0..60).map(|_| walk(&mut rng, 30)).collect();
        let mut queries: Vec<Vec<VpdqFrame>> = Vec::new();
        for (i, v) in known.iter().enumerate().take(36) {
            let (from, to) = match i % 4 {
                0 => (0, v.len()),
                1 => (5, 25),
                2 => (10, 12),
                _ => (0, 27),
            };
            queries.push(copy_of(&mut rng, v, from, to, [4, 24, 40][i % 3]));
        }
        queries.extend((0..20).map(|_| walk(&mut rng, 20)));
        // A video with no frame of sufficient quality, and a video spliced from two.
        let mut dark = walk(&mut rng, 10);
        dark.iter_mut().for_each(|f| f.quality = 10);
        queries.push(dark);
        let mut spliced = copy_of(&mut rng, &known[7], 0, 20, 4);
        spliced.extend(copy_of(&mut rng, &known[8], 0, 20, 4));
        queries.push(spliced);
        let rules = [
            VpdqRule::default(),
            VpdqRule {
                query_pct: 80.0,
                compared_pct: 80.0,
                ..VpdqRule::default()
            },
            VpdqRule {
                distance: 8,
                query_pct: 40.0,
                ..VpdqRule::default()
            },
            VpdqRule {
                quality: 100,
                query_pct: 50.0,
                compared_pct: 10.0,
                ..VpdqRule::default()
            },
            // Every frame searched; then every frame needed.
            VpdqRule {
                query_pct: 0.0,
                compared_pct: 30.0,
                ..VpdqRule::default()
            },
            VpdqRule {
                query_pct: 100.0,
                ..VpdqRule::default()
            },
        ];
        // The brute-force verdicts, per rule and query: (known video, query %, compared %).
        let want: Vec<Vec<Vec<(String, f64, f64)>>> = rules
            .iter()
            .map(|rule| {
                queries
                    .iter()
                    .map(|q| {
                        known
                            .iter()
                            .enumerate()
                            .filter_map(|(ki, k)| {
                                let (a, b) = brute(q, k, rule)?;
                                (a >= rule.query_pct && b >= rule.compared_pct)
                                    .then(|| (format!("known:{}", ki + 1), a, b))
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // A version 5 file (no frame table) is matched by searching every frame.
        for (search, v5) in [
            (PdqSearch::Linear, false),
            (PdqSearch::Tables(16), false),
            (PdqSearch::Tables(16), true),
        ] {
            let mut b = IndexBuilder::new();
            b.set_pdq_search(search);
            if v5 {
                b.set_no_video_frames();
            }
            let list = known.iter().map(|v| ListHash::Vpdq(v.clone().into()));
            b.add_hashes("known", "lab", "gen", list).unwrap();
            let index = b.into_index().unwrap();
            index.verify().unwrap();
            assert_eq!(index.has_video_frames(), !v5);
            let mut matched = 0;
            for (ri, rule) in rules.into_iter().enumerate() {
                let m = IndexMatcher {
                    index: &index,
                    pdq_threshold: 31,
                    dihedral: false,
                    vpdq: rule,
                    phash_threshold: 10,
                    dhash_threshold: 10,
                };
                for (qi, q) in queries.iter().enumerate() {
                    let mut hits = Vec::new();
                    m.find_video(q, &mut hits);
                    let got: Vec<(String, f64, f64)> = hits
                        .iter()
                        .map(|h| {
                            let v = h.video.as_ref().unwrap();
                            (v.name.clone(), v.query_match_pct, v.compared_match_pct)
                        })
                        .collect();
                    assert_eq!(got, want[ri][qi], "{search:?} {rule:?} query {qi}");
                    matched += got.len();
                    // The screened search reports what a search of every frame reports.
                    let (distinct, slot) = distinct_frames(q, rule.quality);
                    let mut all = Vec::new();
                    let found = m.known_videos_by_search(&distinct);
                    m.report_videos(found, q, &slot, &mut all);
                    assert_eq!(hits, all, "{search:?} {rule:?} query {qi}");
                }
            }
            // The corpus exercises both verdicts under every rule.
            assert!(matched > 60, "{search:?}: {matched} matches");
        }
    }

    /// Segments are the runs of matching frames (frames under the quality bar neither extend
    /// nor break them), and a frame near a known image is a `pdq` hit with its time.
    #[test]
    fn segments_and_frames_near_known_images() {
        let mut rng = XorShift(0xF4A3E5);
        let known = walk(&mut rng, 20);
        let mut q: Vec<VpdqFrame> = Vec::new();
        // 0-4 copy frames 0-4, 5-9 are new, 10-14 copy frames 10-14; frame 12 is dark.
        for (i, k) in known.iter().enumerate().take(15) {
            let hash = if (5..10).contains(&i) {
                random_pdq(&mut rng)
            } else {
                k.hash
            };
            q.push(VpdqFrame {
                frame: i as u64,
                hash,
                quality: if i == 12 { 5 } else { 100 },
                timestamp: i as f32 * 0.5,
            });
        }
        let image = flip_bits(&mut rng, &q[7].hash, 9);
        let mut b = IndexBuilder::new();
        b.add_hashes("vids", "lab", "gen", [ListHash::Vpdq(known.into())])
            .unwrap();
        b.add_hashes("pics", "lab", "gen", [ListHash::Pdq(image)])
            .unwrap();
        let index = b.into_index().unwrap();
        let m = IndexMatcher {
            index: &index,
            pdq_threshold: 31,
            dihedral: false,
            vpdq: VpdqRule {
                query_pct: 50.0,
                ..VpdqRule::default()
            },
            phash_threshold: 10,
            dhash_threshold: 10,
        };
        let mut hits = Vec::new();
        m.find_video(&q, &mut hits);
        let v = hits.iter().find(|h| h.algorithm == "vpdq").unwrap();
        let v = v.video.as_ref().unwrap();
        assert_eq!(v.segments, vec![[0.0, 2.0], [5.0, 7.0]]);
        let p = hits.iter().find(|h| h.algorithm == "pdq").unwrap();
        assert_eq!((p.list.as_str(), p.distance), ("pics", 9));
        assert_eq!(p.timestamp, Some(3.5));
        assert_eq!(p.hash, q[7].hash.to_hex());
    }

    /// The batched search of many images (as a scan does it) finds exactly what one search
    /// per image finds, with and without the dihedral variants, through the multi-index
    /// tables and through the linear scan.
    #[test]
    fn images_batched_equal_one_by_one() {
        let cfg = PerceptualConfig {
            pdq: true,
            dihedral: true,
            ..PerceptualConfig::default()
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".rgb"))
            .collect();
        paths.sort();
        let images: Vec<ImageHashes> = paths
            .iter()
            .filter_map(|p| hash_image(&std::fs::read(p).unwrap(), &cfg)?.ok())
            .filter(|i| i.pdq.is_some())
            .collect();
        assert!(images.len() >= 10, "{} fixture images", images.len());
        // Entries: random hashes, and near copies of the images' own hashes and of some of
        // their rotated or flipped variants (found only with the variants).
        let mut rng = XorShift(0x1A6E_5BA7_C4ED);
        let mut entries: Vec<PdqHash> = (0..20_000).map(|_| random_pdq(&mut rng)).collect();
        for (k, image) in images.iter().enumerate() {
            let v = image.pdq_dihedral.as_ref().unwrap();
            entries.push(flip_bits(&mut rng, &v[0], k % 25));
            entries.push(flip_bits(&mut rng, &v[1 + k % 7], 3 + k % 20));
        }
        for search in [PdqSearch::Tables(16), PdqSearch::Linear] {
            let mut builder = IndexBuilder::new();
            builder.set_pdq_search(search);
            let list = entries.iter().map(|h| ListHash::Pdq(*h));
            builder.add_hashes("l", "lab", "gen", list).unwrap();
            let index = builder.into_index().unwrap();
            for dihedral in [false, true] {
                let m = IndexMatcher {
                    index: &index,
                    pdq_threshold: 31,
                    dihedral,
                    vpdq: VpdqRule::default(),
                    phash_threshold: 10,
                    dhash_threshold: 10,
                };
                // Enough images for the batched multi-index search (8 queries each).
                let many: Vec<&ImageHashes> = images.iter().cycle().take(40).collect();
                let batched = m.find_images(&many);
                let mut total = 0;
                for (image, got) in many.iter().zip(&batched) {
                    let mut want = Vec::new();
                    m.find_image(image, &mut want);
                    assert_eq!(got, &want, "{search:?} dihedral {dihedral}");
                    total += want.len();
                }
                assert!(
                    total >= many.len(),
                    "{search:?} dihedral {dihedral}: {total}"
                );
            }
        }
    }
}
