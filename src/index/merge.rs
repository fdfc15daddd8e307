//! Merging indexes: every list of an open [`Index`] is put back into an [`IndexBuilder`], with
//! its entries, name, label, role, format, counts and source, read from the index's own
//! tables (exact digests, PDQ, pHash and dHash, known videos and their frames, Bloom filters),
//! so that `vigie index merge` never goes back to the source lists. The builder then sorts,
//! deduplicates and groups the entries of every index together as it does a build's: an
//! entry held by lists of two indexes belongs to both.

use std::path::{Path, PathBuf};

use super::{IndexBuilder, ListReport, Rec, VideoRec, IMG, PDQ};
use crate::index::format::{u32_at, ListRecord, IMG_LEN};
use crate::index::{Index, IndexError};
use crate::lists::bloom::BloomFile;
use crate::perceptual::imghash::ImgKind;
use crate::perceptual::pdq::PdqHash;

impl IndexBuilder {
    /// Adds every list of `index` (opened from `path`) with its entries, as they are in it.
    /// The index is verified first (every checksum and invariant): a damaged index is
    /// refused, not copied. With `qualify`, each list is named `STEM/NAME`, STEM being the
    /// index file's stem; otherwise a list whose name a list added before holds is refused
    /// ([`IndexError::DuplicateList`]): a hit would not say which of the two it is from.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] (and the other errors of [`Index::verify`]) for a damaged
    /// index, [`IndexError::DuplicateList`], [`IndexError::TooLarge`] beyond format limits.
    pub fn add_index(
        &mut self,
        index: &Index,
        path: &Path,
        qualify: bool,
    ) -> Result<Vec<ListReport>, IndexError> {
        index.verify()?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let names: Vec<String> = index
            .lists
            .iter()
            .map(|l| match qualify {
                true => format!("{stem}/{}", index.string(l.name)),
                false => index.string(l.name).to_string(),
            })
            .collect();
        for name in &names {
            if let Some(other) = self.origin_of(name) {
                return Err(IndexError::DuplicateList {
                    path: path.to_owned(),
                    other,
                    name: name.clone(),
                });
            }
        }
        if self.lists.len() + index.lists.len() >= u32::MAX as usize / 2 {
            return Err(IndexError::TooLarge("too many lists".into()));
        }
        // The lists, and the new list number of each old one.
        let first = self.lists.len() as u32;
        let mut reports = Vec::with_capacity(index.lists.len());
        let info = index.info();
        for ((meta, name), li) in index.lists.iter().zip(&names).zip(&info.lists) {
            let row = ListRecord {
                name: self.string(name),
                label: self.string(index.string(meta.label)),
                source: self.string(index.string(meta.source)),
                ..meta.clone()
            };
            self.lists.push(row);
            self.origins.insert(name.clone(), path.to_owned());
            reports.push(ListReport {
                name: name.clone(),
                label: li.label.clone(),
                path: li.source.clone(),
                format: meta.format,
                role: meta.role,
                entries: meta.entries,
                pdq: meta.pdq,
                videos: 0,
                phash: meta.img[0],
                dhash: meta.img[1],
                malformed: meta.malformed,
                problems: Vec::new(),
                notes: vec![format!("from index {}", path.display())],
                empty: false,
                source: meta.digest,
            });
        }
        // Provenance groups → the builder's pair ids, made once per group.
        let all = index.data.bytes();
        let mut groups = Groups {
            index,
            first,
            pairs: vec![None; index.group_count],
        };
        // Exact digests.
        for t in index.tables.iter().flatten() {
            let slot = usize::from(t.algo.id());
            for row in 0..t.rows {
                let at = t.recs.start + row * t.width;
                let Some(rec) = all.get(at..at + t.width) else {
                    continue;
                };
                let (digest, group) = rec.split_at(t.algo.len());
                let Some(g) = u32_at(group, 0) else { continue };
                for &p in groups.pairs(self, g) {
                    self.recs[slot].push(Rec::from_bytes(digest, p));
                }
            }
        }
        // PDQ, then pHash and dHash: hash columns with their groups.
        let columns =
            [(index.pdq.as_ref(), PDQ, 32usize)]
                .into_iter()
                .chain(ImgKind::ALL.into_iter().map(|k| {
                    (
                        index.img[usize::from(k.id())].as_ref(),
                        IMG + usize::from(k.id()),
                        IMG_LEN,
                    )
                }));
        for (table, slot, len) in columns {
            let Some(t) = table else { continue };
            for row in 0..t.rows {
                let at = t.hashes.start + row * len;
                let (Some(h), Some(g)) = (all.get(at..at + len), t.group(all, row)) else {
                    continue;
                };
                for &p in groups.pairs(self, g) {
                    let rec = if slot == PDQ {
                        let mut b = [0u8; 32];
                        b.copy_from_slice(h);
                        Rec::pdq(&PdqHash(b), p)
                    } else {
                        // Stored little-endian; the record's key is the value, big-endian.
                        let mut b = [0u8; 8];
                        b.copy_from_slice(h);
                        Rec::from_bytes(&u64::from_le_bytes(b).to_be_bytes(), p)
                    };
                    self.recs[slot].push(rec);
                }
            }
        }
        // Known videos, each with its distinct frames and their best qualities.
        let frames = video_frames(index);
        for (id, frames) in frames.into_iter().enumerate() {
            let id = id as u32;
            let (Some(v), Some(group)) = (index.video(id), index.video_group(id)) else {
                continue;
            };
            let name = self.string(v.name);
            for &p in groups.pairs(self, group) {
                self.videos.push(VideoRec {
                    tag: p,
                    name,
                    frames: frames.clone(),
                });
                let list = self.pairs[p as usize].0;
                if let Some(r) = list
                    .checked_sub(first)
                    .and_then(|i| reports.get_mut(i as usize))
                {
                    r.videos += 1;
                }
            }
        }
        // Bloom filters: their bits, shared with the index's map (not copied until written).
        for b in &index.blooms {
            let bits = index
                .data
                .slice(b.bits.clone())
                .ok_or_else(|| IndexError::Corrupt {
                    path: path.to_owned(),
                    reason: format!("bloom section of list {} out of the file", b.list),
                })?;
            let file = BloomFile::from_parts(path, b.params, bits);
            self.blooms.push((first + b.list as u32, b.key, file));
        }
        for r in &mut reports {
            r.empty = r.entries.total() == 0
                && r.pdq == 0
                && r.phash + r.dhash == 0
                && r.videos == 0
                && r.format != crate::lists::ListFormat::DcsoBloom;
        }
        Ok(reports)
    }

    /// The index a list of this name came from (or, for a list read from a file, that file).
    fn origin_of(&self, name: &str) -> Option<PathBuf> {
        if let Some(p) = self.origins.get(name) {
            return Some(p.clone());
        }
        let id = *self.string_ids.get(name)?;
        self.lists
            .iter()
            .find(|l| l.name == id)
            .map(|l| PathBuf::from(&self.strings[l.source as usize]))
    }
}

/// The builder's pair ids of each provenance group of an index being merged, made the first
/// time the group is met.
struct Groups<'i> {
    index: &'i Index,
    /// The builder's number of the index's first list.
    first: u32,
    /// By group number.
    pairs: Vec<Option<Box<[u32]>>>,
}

impl Groups<'_> {
    /// The pair ids of group `g` (none for a group out of range: a verified index has none).
    fn pairs(&mut self, b: &mut IndexBuilder, g: u32) -> &[u32] {
        let Some(slot) = self.pairs.get_mut(g as usize) else {
            return &[];
        };
        let (index, first) = (self.index, self.first);
        slot.get_or_insert_with(|| {
            let refs = index.hits(index.data.bytes(), g);
            refs.pairs
                .chunks_exact(8)
                .filter_map(|p| {
                    let list = first.checked_add(u32_at(p, 0)?)?;
                    let label = index.strings.get(u32_at(p, 4)? as usize)?;
                    let name = b.lists.get(list as usize)?.name;
                    let label = b.string(label);
                    Some(b.pair_of(list, name, label))
                })
                .collect()
        })
    }
}

/// Each known video's distinct frames as the builder keeps them (hash words and best quality,
/// sorted by hash): from the frame table (format version 6 on), else from the postings of
/// every distinct frame hash (version 5).
fn video_frames(index: &Index) -> Vec<Vec<([u64; 4], u8)>> {
    let n = index.video_count();
    let mut out: Vec<Vec<([u64; 4], u8)>> = vec![Vec::new(); n];
    if index.has_video_frames() {
        for (id, frames) in out.iter_mut().enumerate() {
            if let Some(f) = index.video_frames(id as u32) {
                *frames = f.iter().map(|(h, q)| (Rec::pdq(h, 0).key, *q)).collect();
            }
        }
    } else if let Some(t) = &index.videos {
        let all = index.data.bytes();
        for row in 0..index.vpdq_frame_count() {
            let at = t.hashes_start() + row * 32;
            let Some(h) = all.get(at..at + 32) else {
                continue;
            };
            let mut b = [0u8; 32];
            b.copy_from_slice(h);
            let key = Rec::pdq(&PdqHash(b), 0).key;
            for (v, q) in index.vpdq_postings(row) {
                if let Some(f) = out.get_mut(v as usize) {
                    f.push((key, q));
                }
            }
        }
    }
    for f in &mut out {
        f.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        f.dedup_by_key(|x| x.0);
    }
    out
}
