//! [`Index::verify`]: every section checksum, then every invariant a checksum cannot vouch
//! for (sorted distinct rows, buckets consistent with them, provenance references in range,
//! the multi-index and video tables).

use super::exact::Table;
use super::exact::{fingerprint, place, prefix};
use super::format::{u32_at, u64_at, BUCKET, IMG_LEN, PDQ_LEN, SLOTS};
use super::{Index, IndexError};
use crate::perceptual::imghash::ImgKind;

impl Index {
    /// Checks every section's checksum (xxh3-64, the header's own was checked by
    /// [`Index::open`]), the sections in parallel on the current rayon pool: a flipped bit in a
    /// table would otherwise turn a listed item clean. Computed once per opened index; later
    /// calls give the first answer. Reads the whole file.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] naming a section whose checksum does not match.
    pub fn verify_checksums(&self) -> Result<(), IndexError> {
        let found = self.checksums.get_or_init(|| {
            use rayon::prelude::*;
            let b = self.data.bytes();
            self.sections
                .par_iter()
                .enumerate()
                .find_map_first(|(i, s)| {
                    let bytes = &b[s.offset as usize..(s.offset + s.len) as usize];
                    (xxhash_rust::xxh3::xxh3_64(bytes) != s.checksum)
                        .then(|| format!("section {i} (kind {}) checksum mismatch", s.kind))
                })
        });
        match found {
            None => Ok(()),
            Some(reason) => Err(IndexError::Corrupt {
                path: self.path.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// Checks every section checksum and every invariant of the tables (sorted distinct
    /// digests and PDQ hashes, directory consistent with them, provenance references in
    /// range). Reads the whole file.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] naming the first failed check.
    pub fn verify(&self) -> Result<(), IndexError> {
        // (Checksums first, then the invariants a checksum cannot vouch for.)
        self.verify_checksums()?;
        let corrupt = |reason: String| IndexError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        self.verify_provenance().map_err(corrupt)?;
        for t in self.tables.iter().flatten() {
            self.verify_exact(t).map_err(corrupt)?;
        }
        self.verify_pdq().map_err(corrupt)?;
        self.verify_img().map_err(corrupt)?;
        if let Some(t) = &self.videos {
            t.verify(self).map_err(corrupt)?;
        }
        Ok(())
    }

    /// The provenance groups: their starts in order from 0 to the pair count, every pair's
    /// list and label in range.
    fn verify_provenance(&self) -> Result<(), String> {
        let b = self.data.bytes();
        // Provenance groups.
        let mut prev = 0u32;
        for g in 0..=self.group_count {
            let s = u32_at(b, self.groups.start + g * 4).unwrap_or(u32::MAX);
            if s < prev || (g == 0 && s != 0) {
                return Err(format!("provenance group {g} out of order"));
            }
            prev = s;
        }
        let npairs = self.pairs.len() / 8;
        if prev as usize != npairs {
            return Err("provenance groups do not end at the last pair".into());
        }
        for p in 0..npairs {
            let at = self.pairs.start + p * 8;
            let list = u32_at(b, at).unwrap_or(u32::MAX) as usize;
            let label = u32_at(b, at + 4).unwrap_or(u32::MAX) as usize;
            if list >= self.lists.len() || label >= self.strings.len() {
                return Err(format!("provenance pair {p} out of range"));
            }
        }
        Ok(())
    }

    /// The exact-digest table `t`: sorted distinct digests with groups in range, and each
    /// bucket the run of rows whose bucket it is, with their fingerprints.
    fn verify_exact(&self, t: &Table) -> Result<(), String> {
        let b = self.data.bytes();
        let klen = t.algo.len();
        let recs = &b[t.recs.clone()];
        let mut prev: Option<&[u8]> = None;
        for (row, r) in recs.chunks_exact(t.width).enumerate() {
            let (key, g) = r.split_at(klen);
            if prev.is_some_and(|p| p >= key) {
                return Err(format!("{} row {row} out of order", t.algo));
            }
            prev = Some(key);
            if u32_at(g, 0).is_none_or(|g| g as usize >= self.group_count) {
                return Err(format!("{} row {row}: bad provenance group", t.algo));
            }
        }
        // Bucket i must hold the run of rows whose bucket is i, right after the rows of
        // bucket i - 1, and the fingerprints of its first rows.
        let mut next = 0usize;
        for i in 0..t.buckets {
            let at = t.bkts.start + i * BUCKET;
            let head = u64_at(b, at).unwrap_or(u64::MAX);
            let first = (head & 0xFFFF_FFFF) as usize;
            let count = (head >> 32) as usize;
            if first != next {
                return Err(format!(
                    "{} bucket {i} starts at row {first}, expected {next}",
                    t.algo
                ));
            }
            let Some(end) = first.checked_add(count).filter(|&e| e <= t.rows) else {
                return Err(format!("{} bucket {i} ends beyond the records", t.algo));
            };
            for row in first..end {
                let key = &recs[row * t.width..row * t.width + klen];
                if place(prefix(key), t.buckets).0 != i {
                    return Err(format!("{} row {row} is not in bucket {i}", t.algo));
                }
            }
            for j in 0..SLOTS {
                let want = if j < count {
                    let row = first + j;
                    fingerprint(&recs[row * t.width..row * t.width + klen])
                } else {
                    0
                };
                if u64_at(b, at + 8 + 8 * j) != Some(want) {
                    return Err(format!("{} bucket {i} fingerprint {j} is wrong", t.algo));
                }
            }
            next = end;
        }
        if next != t.rows {
            return Err(format!(
                "{} buckets end at row {next}, not {}",
                t.algo, t.rows
            ));
        }
        Ok(())
    }

    /// The PDQ table: sorted distinct hashes, groups in range; then its multi-index tables.
    fn verify_pdq(&self) -> Result<(), String> {
        let b = self.data.bytes();
        if let Some(t) = &self.pdq {
            let hashes = &b[t.hashes.clone()];
            let mut prev: Option<&[u8]> = None;
            for (row, h) in hashes.chunks_exact(PDQ_LEN).enumerate() {
                if prev.is_some_and(|p| p >= h) {
                    return Err(format!("pdq row {row} out of order"));
                }
                prev = Some(h);
                let g = t.group(b, row);
                if g.is_none_or(|g| g as usize >= self.group_count) {
                    return Err(format!("pdq row {row}: bad provenance group"));
                }
            }
            if let Some(mih) = &self.mih {
                mih.verify(b, hashes)?;
            }
        }
        Ok(())
    }

    /// The pHash and dHash tables: sorted distinct values, groups in range.
    fn verify_img(&self) -> Result<(), String> {
        let b = self.data.bytes();
        for (k, t) in ImgKind::ALL.into_iter().zip(&self.img) {
            let Some(t) = t else { continue };
            let mut prev: Option<u64> = None;
            for row in 0..t.rows {
                let h = u64_at(b, t.hashes.start + row * IMG_LEN).unwrap_or(0);
                if prev.is_some_and(|p| p >= h) {
                    return Err(format!("{k} row {row} out of order"));
                }
                prev = Some(h);
                let g = t.group(b, row);
                if g.is_none_or(|g| g as usize >= self.group_count) {
                    return Err(format!("{k} row {row}: bad provenance group"));
                }
            }
        }
        Ok(())
    }
}
