//! How far a scan's screen reads a progressive JPEG: the marker walk behind
//! [`decode_screen_as`](super::decode::decode_screen_as)'s first-scans screen.
//!
//! Why this module exists: most of a progressive JPEG's decoding is in its refinement scans,
//! which a screen does not need (its luma to within a few bits is enough, see
//! [`FIRST_SCANS_MAX_AL`]). libjpeg, handed the bytes before a cut and an EOI, decodes those
//! scans alone; but then it never sees the rest of the file, and a file it would refuse
//! whole must not pass the screen. So [`first_scan_cut`] walks every segment of the file,
//! without decoding any entropy-coded data, through the checks libjpeg makes fatal, and
//! gives a cut only when all of them pass. Bounded by the data; no allocation. The decoder's
//! other look at the markers, whether a file is progressive at all ([`jpeg_is_progressive`],
//! for its memory budget), is here too.

use super::decode::{jpeg_fast_scale, SCREEN_MAX_SCALE};

/// Where a screen stops reading a progressive JPEG ([`first_scan_cut`]), and the scale it
/// decodes the scans before at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScanCut {
    /// The offset just past the last scan read.
    pub(crate) end: usize,
    /// 1/`scale` of the size: [`jpeg_fast_scale`]'s, 2 or 4 ([`SCREEN_MAX_SCALE`]).
    pub(crate) scale: u8,
}

/// The most precision a screen lets the luma's coefficients lack where it stops reading a
/// progressive JPEG ([`first_scan_cut`]): the successive-approximation shift `Al` of the
/// scans that brought them. libjpeg's progression (Pillow's `progressive=True`,
/// `jpegtran -progressive`) sends the DC at `Al = 1` and every AC term at `Al = 2` in its first
/// five scans, a fifth of the file, then refines them bit by bit.
///
/// Measured by `benches/fast_drift.sh --screen` on copies of its corpora made progressive by
/// `jpegtran -progressive` (the same coefficients, so the same exact hashes): the screen's
/// PDQ moved as far from the exact one as the whole file's screen (12 bits at most), see
/// [`FAST_PDQ_DRIFT`](super::FAST_PDQ_DRIFT).
pub(crate) const FIRST_SCANS_MAX_AL: u8 = 2;

/// For a luma screen of a progressive (SOF2, Huffman) JPEG that [`jpeg_fast_scale`] would
/// decode at reduced scale: where the scan after which every coefficient of its first
/// component (the luma, or the grey) is known to within [`FIRST_SCANS_MAX_AL`] bits ends, so
/// that decoding the bytes before it (closed by an EOI) entropy-decodes those scans alone;
/// the refinement scans that follow, most of a progressive file's decoding, are skipped.
///
/// Only the first scans are decoded, so the rest of the file is checked here, without
/// decoding: `None` (decode every scan) unless every segment is one libjpeg accepts without a
/// fatal error, each as libjpeg's marker reader and progressive decoder check it (DHT and
/// DQT contents, Huffman tables that a decoder can build, DRI, APPn/COM, and SOS with known
/// components, defined tables, a valid progression and an MCU libjpeg can hold), up to an
/// EOI. A file that a whole decode would refuse, or that is cut short, is decoded whole, so
/// the screen fails, or notes truncation, exactly where a full decode does.
pub(crate) fn first_scan_cut(bytes: &[u8]) -> Option<ScanCut> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut walk = Walk {
        comps: [(0, 0, 0); 4],
        ncomps: 0,
        dc_tables: [false; 4],
        ac_tables: [false; 4],
        q_tables: [false; 4],
        scale: 1,
        known: [None; 64],
        cut: None,
    };
    let mut i = 2; // after SOI
    loop {
        let (at, m) = marker_at(bytes, i)?;
        i = at;
        if m == 0xD9 {
            return walk.cut;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
        let seg = bytes.get(i + 4..(i + 2).checked_add(len)?)?;
        if len < 2 {
            return None;
        }
        i += 2 + len;
        match m {
            0xC2 => walk.frame(seg)?,
            0xC4 => walk.huffman_tables(seg)?,
            0xDB => walk.quant_tables(seg)?,
            0xDD if len != 4 => return None,
            0xDD | 0xE0..=0xEF | 0xFE => {}
            0xDA => {
                let scan = walk.scan(seg)?;
                i = entropy_end(bytes, i)?;
                walk.scanned(scan, i);
            }
            // Anything else (a second SOF, DNL, arithmetic coding, an unknown marker): decoded
            // whole, where libjpeg decides.
            _ => return None,
        }
    }
}

/// What the walk of [`first_scan_cut`] knows so far.
struct Walk {
    /// Frame components: (id, blocks per MCU, quantisation table), from SOF2.
    comps: [(u8, u8, u8); 4],
    ncomps: usize,
    dc_tables: [bool; 4],
    ac_tables: [bool; 4],
    q_tables: [bool; 4],
    /// The screen's scale, from the frame's size.
    scale: u8,
    /// The first component's coefficients' precision so far: the `Al` of the last scan that
    /// brought each, `None` before any.
    known: [Option<u8>; 64],
    cut: Option<ScanCut>,
}

/// One scan's header, as [`Walk::scanned`] needs it.
struct Scan {
    /// The scan holds the first component.
    first: bool,
    ss: u8,
    se: u8,
    al: u8,
}

impl Walk {
    /// SOF2: a second frame header is fatal to libjpeg; so is one with no component. `None`
    /// also for a JPEG the screen decodes in full (scale 1), which has nothing to cut.
    fn frame(&mut self, seg: &[u8]) -> Option<()> {
        let n = usize::from(*seg.get(5)?);
        if self.ncomps != 0 || !(1..=4).contains(&n) || seg.len() != 6 + 3 * n {
            return None;
        }
        for (k, c) in self.comps.iter_mut().take(n).enumerate() {
            let (hv, q) = (seg[7 + 3 * k], seg[8 + 3 * k]);
            *c = (seg[6 + 3 * k], (hv >> 4) * (hv & 15), q);
            if q > 3 {
                return None;
            }
        }
        self.ncomps = n;
        let (h, w) = (
            u16::from_be_bytes([seg[1], seg[2]]),
            u16::from_be_bytes([seg[3], seg[4]]),
        );
        self.scale = jpeg_fast_scale(u32::from(w), u32::from(h)).min(SCREEN_MAX_SCALE);
        (self.scale > 1).then_some(())
    }

    /// DHT: what libjpeg's marker reader refuses (more than 256 symbols, a bad class or
    /// index, a length left over), and what `jpeg_make_d_derived_tbl` refuses: an over-full
    /// code (the all-ones code of a length is reserved), and a DC symbol over 15.
    fn huffman_tables(&mut self, seg: &[u8]) -> Option<()> {
        let mut t = seg;
        while t.len() > 16 {
            let class_id = t[0];
            let counts = &t[1..17];
            let count: usize = counts.iter().map(|&c| usize::from(c)).sum();
            if count > 256 {
                return None;
            }
            let values = t.get(17..17 + count)?;
            let (table, id) = match class_id {
                0..=3 => (&mut self.dc_tables, class_id),
                0x10..=0x13 => (&mut self.ac_tables, class_id - 0x10),
                _ => return None,
            };
            let mut code = 0u32;
            let first = counts.iter().position(|&c| c != 0)?;
            let last = counts.iter().rposition(|&c| c != 0)?;
            for (l, &c) in counts.iter().enumerate().take(last + 1).skip(first) {
                code += u32::from(c);
                if code >= 1 << (l + 1) {
                    return None;
                }
                code <<= 1;
            }
            if class_id < 0x10 && values.iter().any(|&v| v > 15) {
                return None;
            }
            table[usize::from(id)] = true;
            t = &t[17 + count..];
        }
        t.is_empty().then_some(())
    }

    /// DQT: 8- or 16-bit tables 0–3, whole. (A zero in a table makes libjpeg divide by zero
    /// only in its encoder; a decoder multiplies, so any value is accepted.)
    fn quant_tables(&mut self, seg: &[u8]) -> Option<()> {
        let mut t = seg;
        while let Some(&pq_tq) = t.first() {
            let size = match pq_tq >> 4 {
                0 => 64,
                1 => 128,
                _ => return None,
            };
            let id = usize::from(pq_tq & 15);
            if id > 3 {
                return None;
            }
            t = t.get(1 + size..)?;
            self.q_tables[id] = true;
        }
        Some(())
    }

    /// SOS: what libjpeg's marker reader and progressive decoder (`jdphuff.c`'s start_pass)
    /// make fatal: a bad length or component count, an unknown or repeated component, an
    /// undefined quantisation or Huffman table the scan needs, a bad progression, an
    /// interleaved MCU of more than 10 blocks (`D_MAX_BLOCKS_IN_MCU`).
    fn scan(&self, seg: &[u8]) -> Option<Scan> {
        let n = usize::from(*seg.first()?);
        if self.ncomps == 0 || !(1..=4).contains(&n) || seg.len() != 4 + 2 * n {
            return None;
        }
        let (ss, se, ah, al) = (
            seg[1 + 2 * n],
            seg[2 + 2 * n],
            seg[3 + 2 * n] >> 4,
            seg[3 + 2 * n] & 15,
        );
        let dc = ss == 0;
        let bad_band = if dc {
            se != 0
        } else {
            ss > se || se > 63 || n != 1
        };
        if bad_band || (ah != 0 && al + 1 != ah) || al > 13 {
            return None;
        }
        let mut seen = [false; 4];
        let mut first = false;
        let mut blocks = 0u32;
        for k in 0..n {
            let (id, tables) = (seg[1 + 2 * k], seg[2 + 2 * k]);
            let c = self.comps[..self.ncomps].iter().position(|c| c.0 == id)?;
            if std::mem::replace(&mut seen[c], true) || !self.q_tables[usize::from(self.comps[c].2)]
            {
                return None;
            }
            blocks += u32::from(self.comps[c].1);
            // A DC first scan needs its DC table, an AC scan its AC table; a refinement of the
            // DC reads raw bits.
            let (dct, act) = (usize::from(tables >> 4), usize::from(tables & 15));
            let defined = if dc {
                ah != 0 || self.dc_tables.get(dct) == Some(&true)
            } else {
                self.ac_tables.get(act) == Some(&true)
            };
            if !defined {
                return None;
            }
            first |= c == 0;
        }
        if n > 1 && blocks > 10 {
            return None;
        }
        Some(Scan { first, ss, se, al })
    }

    /// Notes what a scan that ended at `end` brought; the cut is the end of the first scan
    /// after which the first component is known to within [`FIRST_SCANS_MAX_AL`] bits.
    fn scanned(&mut self, scan: Scan, end: usize) {
        if !scan.first {
            return;
        }
        self.known[usize::from(scan.ss)..=usize::from(scan.se)].fill(Some(scan.al));
        if self.cut.is_none()
            && self
                .known
                .iter()
                .all(|a| a.is_some_and(|a| a <= FIRST_SCANS_MAX_AL))
        {
            self.cut = Some(ScanCut {
                end,
                scale: self.scale,
            });
        }
    }
}

/// The marker at `i` (after any number of 0xFF fill bytes): its position and code.
fn marker_at(bytes: &[u8], mut i: usize) -> Option<(usize, u8)> {
    while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
        i += 1;
    }
    match (bytes.get(i), bytes.get(i + 1)) {
        (Some(&0xFF), Some(&m)) => Some((i, m)),
        _ => None,
    }
}

/// Walks the JPEG marker segments up to the first SOF (bounded by the data, no allocation) and
/// tells whether it is a progressive one (SOF2, SOF6, SOF10, SOF14).
pub(crate) fn jpeg_is_progressive(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        let Some((at, m)) = marker_at(bytes, i) else {
            return false;
        };
        i = at;
        match m {
            0xC2 | 0xC6 | 0xCA | 0xCE => return true,
            0xC0..=0xCF if !matches!(m, 0xC4 | 0xC8 | 0xCC) => return false,
            0xDA | 0xD9 => return false,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let (Some(&hi), Some(&lo)) = (bytes.get(i + 2), bytes.get(i + 3)) else {
                    return false;
                };
                i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
}

/// The end of the entropy-coded data that starts at `from`: the next marker other than a
/// stuffed 0xFF00 or an RSTn.
fn entropy_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    loop {
        j += memchr::memchr(0xFF, bytes.get(j..)?)?;
        match bytes.get(j + 1)? {
            0x00 | 0xD0..=0xD7 => j += 2,
            _ => return Some(j),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressive_detection() {
        assert!(!jpeg_is_progressive(b"\xFF\xD8"));
        assert!(!jpeg_is_progressive(
            b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xC0\x00\x11"
        ));
        assert!(jpeg_is_progressive(
            b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xFF\xC2\x00\x11"
        ));
        // DHT (C4) is not a SOF; a length running past the end stops the walk.
        assert!(jpeg_is_progressive(b"\xFF\xD8\xFF\xC4\x00\x02\xFF\xC2"));
        assert!(!jpeg_is_progressive(b"\xFF\xD8\xFF\xE1\xFF\xFF\xFF\xC2"));
    }
}
