//! Known videos in the index: each known video's vPDQ hash (the distinct PDQ hashes of its
//! frames, each with the best quality it was listed with), and one table of every distinct
//! frame hash with the videos holding it, searched by radius like the PDQ table
//! ([`HashRows`]: a linear scan or the multi-index tables).
//!
//! ```text
//! kind 20 VIDEOS         param 0
//!   u32 count V; V records of 16 bytes: u32 provenance group (the video's (list, label)),
//!   u32 name string, u32 first quality in VIDEO_QUALITY, u32 distinct frames F
//! kind 21 VIDEO_QUALITY  param 0
//!   the best quality (u8, 0-100) of each distinct frame of each video, video after video
//!   (a video's F bytes from its first)
//! kind 22 VPDQ           param 0
//!   n distinct frame hashes of 32 bytes (the bytes of the 64-hex-digit form), sorted; then
//!   (n+1) u32 starts of each hash's postings in VPDQ_POSTINGS, the last being P
//! kind 23 VPDQ_POSTINGS  param 0
//!   P postings of 8 bytes, hash after hash, by video: u32 video number, u32 the frame's
//!   best quality in that video
//! kind 24 VPDQ_MIH       param = table number: multi-index tables over the VPDQ hashes,
//!   laid out as the PDQ ones (`mih/mod.rs`)
//! kind 25 VIDEO_FRAMES   param 0 (version 6)
//!   the row in VPDQ (u32) of each distinct frame of each video, in VIDEO_QUALITY's order:
//!   what a candidate video is compared with, frame by frame
//! ```
//!
//! The four first sections are all present or all absent (version 5 files and later; version
//! 6 files also hold VIDEO_FRAMES, without which a search cannot be screened: see
//! `IndexMatcher::find_video`). Opening
//! checks their sizes against each other; [`Index::verify`] checks that the hashes are sorted
//! and every reference is in range. A search on a damaged table never reads out of bounds:
//! a bad reference reads as no posting or no video.

use std::ops::Range;

use super::format::{u32_at, Section};
use super::mih::Mih;
use super::{HashRows, Index, ListRefs};
use crate::perceptual::pdq::PdqHash;

pub(super) const KIND_VIDEOS: u32 = 20;
pub(super) const KIND_VIDEO_QUALITY: u32 = 21;
pub(super) const KIND_VPDQ: u32 = 22;
pub(super) const KIND_VPDQ_POSTINGS: u32 = 23;
pub(super) const KIND_VPDQ_MIH: u32 = 24;
pub(super) const KIND_VIDEO_FRAMES: u32 = 25;
/// Bytes of a VIDEOS record.
pub(super) const VIDEO_RECORD: usize = 16;
/// Bytes of a posting.
pub(super) const VPDQ_POSTING: usize = 8;
const HASH: usize = 32;

/// Where the video sections are in the file.
#[derive(Debug)]
pub(super) struct VideoTable {
    /// The VIDEOS records (after the count).
    records: Range<usize>,
    count: usize,
    quality: Range<usize>,
    hashes: Range<usize>,
    /// The n + 1 posting starts.
    starts: Range<usize>,
    rows: usize,
    postings: Range<usize>,
    mih: Option<Mih>,
    /// VIDEO_FRAMES (version 6 files).
    frames: Option<Range<usize>>,
}

/// One known video.
#[derive(Clone, Debug)]
pub struct KnownVideo<'a> {
    /// The name the list gave it (a file name, an id), else `LIST:LINE`.
    pub name: &'a str,
    /// The (list, label) pairs it was listed with.
    pub hits: ListRefs<'a>,
    /// The best quality of each of its distinct frames.
    pub qualities: &'a [u8],
}

impl KnownVideo<'_> {
    /// Its distinct frames of quality `min` or more: those a comparison counts.
    pub fn frames_at_least(&self, min: u8) -> usize {
        self.qualities.iter().filter(|&&q| q >= min).count()
    }
}

impl VideoTable {
    /// Reads the video sections' layout (not their contents: see [`VideoTable::verify`]).
    pub(super) fn open(
        all: &[u8],
        sections: &[Section],
        version: u32,
    ) -> Result<Option<VideoTable>, String> {
        let find = |kind: u32, what: &str| -> Result<Option<Range<usize>>, String> {
            let mut it = sections.iter().filter(|s| s.kind == kind);
            match (it.next(), it.next()) {
                (None, _) => Ok(None),
                (Some(s), None) => Ok(Some(s.offset as usize..(s.offset + s.len) as usize)),
                _ => Err(format!("two {what} sections")),
            }
        };
        let parts = (
            find(KIND_VIDEOS, "videos")?,
            find(KIND_VIDEO_QUALITY, "video quality")?,
            find(KIND_VPDQ, "vPDQ")?,
            find(KIND_VPDQ_POSTINGS, "vPDQ postings")?,
        );
        let frames = find(KIND_VIDEO_FRAMES, "video frames")?;
        let mih_sections: Vec<(u32, Range<usize>)> = sections
            .iter()
            .filter(|s| s.kind == KIND_VPDQ_MIH)
            .map(|s| (s.param, s.offset as usize..(s.offset + s.len) as usize))
            .collect();
        let (videos, quality, vpdq, postings) = match parts {
            (None, None, None, None) if mih_sections.is_empty() && frames.is_none() => {
                return Ok(None)
            }
            (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
            _ => return Err("incomplete video sections".into()),
        };
        if version < 5 {
            return Err(format!("video sections in a version {version} file"));
        }
        match &frames {
            None if version >= 6 => return Err("no video frames section".into()),
            Some(_) if version < 6 => {
                return Err(format!("video frames section in a version {version} file"))
            }
            Some(f) if f.len() != 4 * quality.len() => {
                return Err(format!(
                    "video frames section: {} bytes for {} frames",
                    f.len(),
                    quality.len()
                ))
            }
            _ => {}
        }
        let count = u32_at(all, videos.start).ok_or("videos section: no count")? as usize;
        if videos.len() != 4 + count * VIDEO_RECORD {
            return Err(format!(
                "videos section: {} bytes for {count} videos",
                videos.len()
            ));
        }
        if vpdq.len() < 4 || (vpdq.len() - 4) % (HASH + 4) != 0 {
            return Err(format!("vPDQ section: {} bytes", vpdq.len()));
        }
        let rows = (vpdq.len() - 4) / (HASH + 4);
        let split = vpdq.start + rows * HASH;
        if postings.len() % VPDQ_POSTING != 0 {
            return Err(format!("vPDQ postings section: {} bytes", postings.len()));
        }
        let mih = if rows == 0 {
            if !mih_sections.is_empty() {
                return Err("vPDQ multi-index tables without frame hashes".into());
            }
            None
        } else {
            Mih::open(all, mih_sections, rows)?
        };
        Ok(Some(VideoTable {
            records: videos.start + 4..videos.end,
            count,
            quality,
            hashes: vpdq.start..split,
            starts: split..vpdq.end,
            rows,
            postings,
            mih,
            frames,
        }))
    }

    /// Checks what opening did not: hashes sorted and distinct, posting starts in order and
    /// ending at the last posting, every posting's video and quality in range, every video's
    /// name and qualities in range.
    pub(super) fn verify(&self, index: &Index) -> Result<(), String> {
        let all = index.data.bytes();
        let hashes = all
            .get(self.hashes.clone())
            .ok_or("vPDQ hashes out of the file")?;
        for (i, w) in hashes
            .chunks_exact(HASH)
            .collect::<Vec<_>>()
            .windows(2)
            .enumerate()
        {
            if w[0] >= w[1] {
                return Err(format!("vPDQ frame hashes {i} and {} out of order", i + 1));
            }
        }
        let posts = self.postings.len() / VPDQ_POSTING;
        let mut prev = 0usize;
        for r in 0..=self.rows {
            let s = u32_at(all, self.starts.start + 4 * r).unwrap_or(u32::MAX) as usize;
            if s < prev || (r == 0 && s != 0) || s > posts {
                return Err(format!("vPDQ postings of frame hash {r} out of order"));
            }
            prev = s;
        }
        if prev != posts {
            return Err("vPDQ posting starts do not end at the last posting".into());
        }
        for p in 0..posts {
            let at = self.postings.start + p * VPDQ_POSTING;
            let v = u32_at(all, at).unwrap_or(u32::MAX) as usize;
            let q = u32_at(all, at + 4).unwrap_or(u32::MAX);
            if v >= self.count || q > 100 {
                return Err(format!("vPDQ posting {p} out of range"));
            }
        }
        for v in 0..self.count {
            let at = self.records.start + v * VIDEO_RECORD;
            let name = u32_at(all, at + 4).unwrap_or(u32::MAX) as usize;
            let first = u32_at(all, at + 8).unwrap_or(u32::MAX) as usize;
            let n = u32_at(all, at + 12).unwrap_or(u32::MAX) as usize;
            if name >= index.strings.len()
                || first.checked_add(n).is_none_or(|e| e > self.quality.len())
            {
                return Err(format!("video {v} out of range"));
            }
        }
        if all
            .get(self.quality.clone())
            .is_some_and(|q| q.iter().any(|&q| q > 100))
        {
            return Err("video frame quality over 100".into());
        }
        if let Some(frames) = &self.frames {
            self.verify_frames(index, frames)?;
        }
        if let Some(m) = &self.mih {
            m.verify(all, hashes)?;
        }
        Ok(())
    }

    /// Every video's frame rows in range, each a row whose postings hold the video at the
    /// frame's quality: the frames of a video are what its postings say they are.
    fn verify_frames(&self, index: &Index, frames: &Range<usize>) -> Result<(), String> {
        for v in 0..self.count {
            let id = v as u32;
            let known = index.video(id).ok_or(format!("video {v} out of range"))?;
            let rows = self
                .frame_rows(index.data.bytes(), id)
                .ok_or(format!("video {v}: frames out of the file"))?;
            let mut n = 0usize;
            for (i, row) in rows.enumerate() {
                let q = known.qualities.get(i).copied();
                let held = row < self.rows
                    && index
                        .vpdq_postings(row)
                        .any(|(pv, pq)| pv == id && Some(pq) == q);
                if !held {
                    return Err(format!("video {v}: frame {i} is not in its postings"));
                }
                n += 1;
            }
            if n != known.qualities.len() {
                return Err(format!("video {v}: {n} frame rows"));
            }
        }
        if frames.len() != 4 * self.quality.len() {
            return Err("video frames section does not match the qualities".into());
        }
        Ok(())
    }

    /// The VPDQ rows of video `id`'s distinct frames (VIDEO_FRAMES), `None` without that
    /// section or when the video's record points out of it.
    fn frame_rows<'a>(&self, all: &'a [u8], id: u32) -> Option<impl Iterator<Item = usize> + 'a> {
        let frames = self.frames.as_ref()?;
        let at = self.records.start + id as usize * VIDEO_RECORD;
        let first = u32_at(all, at + 8)? as usize;
        let n = u32_at(all, at + 12)? as usize;
        let lo = frames.start.checked_add(first.checked_mul(4)?)?;
        let hi = lo.checked_add(n.checked_mul(4)?)?;
        if (id as usize) >= self.count || hi > frames.end {
            return None;
        }
        Some(
            all.get(lo..hi)?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize),
        )
    }
}

impl VideoTable {
    /// Where the distinct frame hashes start in the file.
    pub(super) fn hashes_start(&self) -> usize {
        self.hashes.start
    }
}

impl Index {
    /// The provenance group of known video `id` (its (list, label)), `None` out of range.
    pub(super) fn video_group(&self, id: u32) -> Option<u32> {
        let t = self.videos.as_ref()?;
        if id as usize >= t.count {
            return None;
        }
        u32_at(
            self.data.bytes(),
            t.records.start + id as usize * VIDEO_RECORD,
        )
    }

    /// Known videos in the index.
    pub fn video_count(&self) -> usize {
        self.videos.as_ref().map_or(0, |t| t.count)
    }

    /// Distinct frame hashes over all known videos.
    pub fn vpdq_frame_count(&self) -> usize {
        self.videos.as_ref().map_or(0, |t| t.rows)
    }

    /// Known video number `id`, `None` out of range (or damaged).
    pub fn video(&self, id: u32) -> Option<KnownVideo<'_>> {
        let t = self.videos.as_ref()?;
        let id = id as usize;
        if id >= t.count {
            return None;
        }
        let all = self.data.bytes();
        let at = t.records.start + id * VIDEO_RECORD;
        let group = u32_at(all, at)?;
        let name = u32_at(all, at + 4)?;
        let first = u32_at(all, at + 8)? as usize;
        let n = u32_at(all, at + 12)? as usize;
        let q = t.quality.start.checked_add(first)?;
        let qualities = all.get(q..q.checked_add(n)?.min(t.quality.end))?;
        Some(KnownVideo {
            name: self.string(name),
            hits: self.hits(all, group),
            qualities,
        })
    }

    /// Finds every known frame hash within Hamming distance `threshold` of each of
    /// `queries`, calling `out(query, row, distance)` for each (`row` numbers the distinct
    /// frame hashes, for [`Index::vpdq_postings`]), each row at most once per query, in no
    /// particular order. Exact, by the multi-index tables or a linear scan, as
    /// [`Index::pdq_search_many`].
    pub fn vpdq_search_many(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        out: impl FnMut(usize, usize, u32),
    ) {
        let Some(t) = &self.videos else { return };
        let all = self.data.bytes();
        let Some(hashes) = all.get(t.hashes.clone()) else {
            return;
        };
        let rows = HashRows {
            all,
            hashes,
            rows: t.rows,
            mih: t.mih.as_ref(),
        };
        rows.search(queries, threshold, None, out);
    }

    /// Whether the index lists each known video's frames (format version 6 on), which
    /// [`Index::video_frames`] needs.
    pub fn has_video_frames(&self) -> bool {
        self.videos.as_ref().is_some_and(|t| t.frames.is_some())
    }

    /// Known video `id`'s distinct frames: (its hash, its best quality in the video), in no
    /// particular order. `None` out of range, in an index without the frame table (see
    /// [`Index::has_video_frames`]), or damaged; a damaged row is left out.
    pub fn video_frames(&self, id: u32) -> Option<Vec<(PdqHash, u8)>> {
        let t = self.videos.as_ref()?;
        let all = self.data.bytes();
        let known = self.video(id)?;
        let rows = t.frame_rows(all, id)?;
        Some(
            rows.zip(known.qualities)
                .filter_map(|(row, &q)| {
                    let at = t.hashes.start.checked_add(row.checked_mul(HASH)?)?;
                    let bytes = all.get(at..at + HASH).filter(|_| row < t.rows)?;
                    let mut h = [0u8; HASH];
                    h.copy_from_slice(bytes);
                    Some((PdqHash(h), q))
                })
                .collect(),
        )
    }

    /// The videos holding distinct frame hash `row`: (video number, the frame's best quality
    /// in that video). Empty out of range.
    pub fn vpdq_postings(&self, row: usize) -> impl Iterator<Item = (u32, u8)> + '_ {
        let all = self.data.bytes();
        let range = self
            .videos
            .as_ref()
            .filter(|t| row < t.rows)
            .and_then(|t| {
                let s = u32_at(all, t.starts.start + 4 * row)? as usize;
                let e = u32_at(all, t.starts.start + 4 * (row + 1))? as usize;
                let lo = t.postings.start.checked_add(s.checked_mul(VPDQ_POSTING)?)?;
                let hi = t.postings.start.checked_add(e.checked_mul(VPDQ_POSTING)?)?;
                (lo <= hi && hi <= t.postings.end).then_some(lo..hi)
            })
            .unwrap_or(0..0);
        all[range].chunks_exact(VPDQ_POSTING).map(|p| {
            let v = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            (v, p[4].min(100))
        })
    }
}
