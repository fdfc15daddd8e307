//! PDQ's downsampling: two passes of [horizontal, vertical] box blur (the reference's Jarosz
//! filter, window `ceil(side / 128)`), then point sampling at the 64x64 cell centres.
//!
//! The reference blurs whole float planes one 1-D filter at a time; this computes exactly its
//! values streaming row by row, with `LANES` rows at once in a transposed tile so that their
//! running sums are one vector operation each. The test at the bottom checks it against the
//! literal version, bit for bit.

use super::SIDE;

/// Rows hashed together by the horizontal blur: independent running sums hide the latency.
const LANES: usize = 8;

/// The blur's scratch, grown to the largest image seen: a ring of first-pass rows, a block of
/// second-pass rows, the sampled columns, and one running-sum row.
#[derive(Default)]
pub(super) struct Blur {
    ring1: Vec<f32>,
    ring2: Vec<f32>,
    narrow_a: Vec<f32>,
    narrow_b: Vec<f32>,
    sums: Vec<f32>,
    tiles: Tiles,
}

impl Blur {
    /// Two passes of [horizontal, vertical] box blur, then point sampling into `a64`.
    ///
    /// Exactly the reference's values, computed row-streaming: the first horizontal pass fills a
    /// ring of rows as the first vertical pass needs them, each vertical output row goes straight
    /// through the second horizontal pass, which keeps only the 64 sampled columns, and the
    /// second vertical pass runs on those columns alone. No full-size plane is stored; every
    /// running sum sees the same sequence of float operations as in the reference.
    pub(super) fn downsample(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
        a64: &mut [f32; SIDE * SIDE],
    ) {
        let (cols, rows) = (width, height);
        let win_h = window(cols);
        let win_v = window(rows);
        let col_idx: [usize; SIDE] = std::array::from_fn(|j| sample_index(j, cols));
        let row_idx: [usize; SIDE] = std::array::from_fn(|i| sample_index(i, rows));

        // Ring of first-pass rows: the vertical sum reads rows li..=ri (ri - li <= win_v) while
        // the horizontal pass may be up to LANES - 1 rows ahead. A multiple of LANES, so that a
        // block of LANES rows (which starts at a multiple of LANES) never wraps.
        let ring_rows = (win_v + LANES + 1).div_ceil(LANES) * LANES;
        resize(&mut self.ring1, ring_rows * cols);
        resize(&mut self.ring2, LANES * cols);
        resize(&mut self.narrow_a, rows * SIDE);
        resize(&mut self.narrow_b, rows * SIDE);
        resize(&mut self.sums, cols.max(SIDE));
        self.tiles.resize(cols);
        let ring1 = &mut self.ring1[..ring_rows * cols];
        let ring2 = &mut self.ring2[..LANES * cols];
        let narrow_a = &mut self.narrow_a[..rows * SIDE];
        let narrow_b = &mut self.narrow_b[..rows * SIDE];
        let sums = &mut self.sums[..cols];
        let tiles = &mut self.tiles;
        sums.fill(0.0);

        let tail_start = rows - rows % LANES;
        let mut h1_done = 0usize;
        let (p1, p2, p3, p4) = phases(rows, win_v);
        let mut count = 0usize;
        let (mut ri, mut li, mut o) = (0usize, 0usize, 0usize);
        for step in 0..p1 + p2 + p3 + p4 {
            let add = step < p1 + p2 + p3;
            let sub = step >= p1 + p2;
            if add {
                // First horizontal pass, up to row ri.
                while h1_done <= ri {
                    let slot = h1_done % ring_rows;
                    if rows - h1_done >= LANES {
                        let ins = row_array::<LANES>(&luma[h1_done * cols..], cols);
                        let outs = row_array_mut::<LANES>(&mut ring1[slot * cols..], cols);
                        hbox_full::<LANES>(ins, outs, win_h, tiles);
                        h1_done += LANES;
                    } else {
                        let ins = row_array::<1>(&luma[h1_done * cols..], cols);
                        let outs = row_array_mut::<1>(&mut ring1[slot * cols..], cols);
                        hbox_full::<1>(ins, outs, win_h, tiles);
                        h1_done += 1;
                    }
                }
            }
            match (add, sub) {
                (true, false) => count += 1,
                (false, true) => count -= 1,
                _ => {}
            }
            if step < p1 {
                let x = &ring1[(ri % ring_rows) * cols..][..cols];
                for (s, &x) in sums.iter_mut().zip(x) {
                    *s += x;
                }
                ri += 1;
                continue;
            }
            // First vertical pass, output row o, into ring2.
            let c = count as f32;
            let out = &mut ring2[(o % LANES) * cols..][..cols];
            match (add, sub) {
                (true, false) => {
                    let x = &ring1[(ri % ring_rows) * cols..][..cols];
                    for ((s, &x), out) in sums.iter_mut().zip(x).zip(out) {
                        *s += x;
                        *out = *s / c;
                    }
                }
                (true, true) => {
                    let x = &ring1[(ri % ring_rows) * cols..][..cols];
                    let y = &ring1[(li % ring_rows) * cols..][..cols];
                    for (((s, &x), &y), out) in sums.iter_mut().zip(x).zip(y).zip(out) {
                        *s += x;
                        *s -= y;
                        *out = *s / c;
                    }
                }
                _ => {
                    let y = &ring1[(li % ring_rows) * cols..][..cols];
                    for ((s, &y), out) in sums.iter_mut().zip(y).zip(out) {
                        *s -= y;
                        *out = *s / c;
                    }
                }
            }
            ri += usize::from(add);
            li += usize::from(sub);
            // Second horizontal pass, sampled columns only, LANES rows at a time.
            if o >= tail_start {
                let ins = row_array::<1>(&ring2[(o % LANES) * cols..], cols);
                let outs = row_array_mut::<1>(&mut narrow_a[o * SIDE..], SIDE);
                hbox_sampled::<1>(ins, &col_idx, outs, win_h, tiles);
            } else if o % LANES == LANES - 1 {
                let first = o + 1 - LANES;
                let ins = row_array::<LANES>(ring2, cols);
                let outs = row_array_mut::<LANES>(&mut narrow_a[first * SIDE..], SIDE);
                hbox_sampled::<LANES>(ins, &col_idx, outs, win_h, tiles);
            }
            o += 1;
        }
        // Second vertical pass on the sampled columns.
        box_cols(narrow_a, narrow_b, SIDE, win_v, &mut self.sums[..SIDE]);

        for (out_row, &r) in a64.chunks_exact_mut(SIDE).zip(&row_idx) {
            out_row.copy_from_slice(&narrow_b[r * SIDE..(r + 1) * SIDE]);
        }
    }
}

/// Grows a scratch vector to at least `n` values (never shrinks it).
fn resize(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// The reference's Jarosz window for a side: `(old + 2·64 − 1) / (2·64)`, i.e. `ceil(old/128)`.
pub(super) fn window(old: usize) -> usize {
    old.div_ceil(2 * SIDE)
}

/// The reference's decimation index: `(int)((i + 0.5) · old / 64)`, in double.
pub(super) fn sample_index(i: usize, old: usize) -> usize {
    let x = ((i as f64 + 0.5) * old as f64 / SIDE as f64) as usize;
    x.min(old - 1)
}

/// The phases of the reference's running-sum box filter (`box1DFloat`) for window `w` over `n`
/// values: `(adds without output, growing outputs, steady outputs, shrinking outputs)`.
pub(super) fn phases(n: usize, w: usize) -> (usize, usize, usize, usize) {
    let half = (w + 2) / 2;
    (half - 1, w - half + 1, n - w, half - 1)
}

/// The count the reference divides the running sum by at output `k` of a `box1DFloat` of
/// window `w` over `n` values.
fn count_at(k: usize, n: usize, w: usize) -> usize {
    let (p1, p2, p3, _) = phases(n, w);
    if k < p2 {
        p1 + k + 1
    } else if k < p2 + p3 {
        w
    } else {
        w - (k - p2 - p3 + 1)
    }
}

/// The first `L` rows of length `len` of `buf`.
#[inline(always)]
fn row_array<const L: usize>(buf: &[f32], len: usize) -> [&[f32]; L] {
    let mut rows = buf.chunks_exact(len);
    std::array::from_fn(|_| rows.next().unwrap_or_default())
}

/// The first `L` rows of length `len` of `buf`, mutable.
#[inline(always)]
fn row_array_mut<const L: usize>(buf: &mut [f32], len: usize) -> [&mut [f32]; L] {
    let mut rows = buf.chunks_exact_mut(len);
    std::array::from_fn(|_| rows.next().unwrap_or_default())
}

/// Scratch for the horizontal passes: a block of rows transposed (column-major), and its
/// output.
#[derive(Default)]
struct Tiles {
    input: Vec<f32>,
    output: Vec<f32>,
}

impl Tiles {
    fn resize(&mut self, cols: usize) {
        resize(&mut self.input, cols * LANES);
        resize(&mut self.output, cols * LANES);
    }
}

/// Horizontal box filter (window `w`) of `L` rows at once, every output kept.
///
/// The rows go through a transposed tile, so that the `L` running sums and their divisions
/// are one vector operation each; every lane sees exactly the sequence of float operations
/// the reference applies to its row.
#[inline(always)]
fn hbox_full<const L: usize>(
    ins: [&[f32]; L],
    mut outs: [&mut [f32]; L],
    w: usize,
    tiles: &mut Tiles,
) {
    let cols = ins[0].len();
    let tin = &mut tiles.input[..cols * L];
    let tout = &mut tiles.output[..cols * L];
    transpose_in::<L>(&ins, tin);
    box_lanes::<L, true>(tin, tout, cols, w);
    transpose_out::<L>(tout, &mut outs);
}

/// Horizontal box filter (window `w`) of `L` rows at once, keeping only the columns `idx`
/// (so only those are divided): `outs[l][j]` is column `idx[j]` of row `l`.
#[inline(always)]
fn hbox_sampled<const L: usize>(
    ins: [&[f32]; L],
    idx: &[usize; SIDE],
    outs: [&mut [f32]; L],
    w: usize,
    tiles: &mut Tiles,
) {
    let cols = ins[0].len();
    let tin = &mut tiles.input[..cols * L];
    let tout = &mut tiles.output[..cols * L];
    transpose_in::<L>(&ins, tin);
    box_lanes::<L, false>(tin, tout, cols, w);
    // tout holds the running sums: divide the sampled ones only.
    for (l, dst) in outs.into_iter().enumerate() {
        for (d, &c) in dst.iter_mut().zip(idx.iter()) {
            *d = tout[c * L + l] / count_at(c, cols, w) as f32;
        }
    }
}

/// `tin[k*L + l] = rows[l][k]`. (Plain strided loops: measured faster here than 8x8 blocks.)
#[inline(always)]
fn transpose_in<const L: usize>(rows: &[&[f32]; L], tin: &mut [f32]) {
    for l in 0..L {
        for (t, &x) in tin.chunks_exact_mut(L).zip(rows[l]) {
            t[l] = x;
        }
    }
}

/// `rows[l][k] = tout[k*L + l]`, the inverse of [`transpose_in`].
#[inline(always)]
fn transpose_out<const L: usize>(tout: &[f32], rows: &mut [&mut [f32]; L]) {
    for l in 0..L {
        for (o, t) in rows[l].iter_mut().zip(tout.chunks_exact(L)) {
            *o = t[l];
        }
    }
}

/// The reference's running-sum box filter of `L` interleaved vectors (`tin[k*L + l]` is value
/// `k` of vector `l`), into `tout` in the same layout: the means, or with `DIVIDE == false`
/// the running sums before division.
#[inline(always)]
fn box_lanes<const L: usize, const DIVIDE: bool>(
    tin: &[f32],
    tout: &mut [f32],
    n: usize,
    w: usize,
) {
    let (p1, p2, p3, p4) = phases(n, w);
    let at = |k: usize| -> &[f32; L] { tin[k * L..(k + 1) * L].try_into().unwrap_or(&[0.0; L]) };
    let mut sum = [0f32; L];
    let mut count = 0usize;
    let (mut ri, mut li) = (0usize, 0usize);
    let mut outs = tout.chunks_exact_mut(L);
    for _ in 0..p1 {
        let x = at(ri);
        for l in 0..L {
            sum[l] += x[l];
        }
        ri += 1;
        count += 1;
    }
    for _ in 0..p2 {
        count += 1;
        let c = if DIVIDE { count as f32 } else { 1.0 };
        let x = at(ri);
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] += x[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        ri += 1;
    }
    let c = if DIVIDE { count as f32 } else { 1.0 };
    for _ in 0..p3 {
        let (x, y) = (at(ri), at(li));
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] += x[l];
            sum[l] -= y[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        ri += 1;
        li += 1;
    }
    for _ in 0..p4 {
        count -= 1;
        let c = if DIVIDE { count as f32 } else { 1.0 };
        let y = at(li);
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] -= y[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        li += 1;
    }
}

/// Vertical box filter of every column of `input` (rows of `cols` values) into `out`: the
/// running sums of all columns advance together, one row at a time.
fn box_cols(input: &[f32], out: &mut [f32], cols: usize, w: usize, sum: &mut [f32]) {
    let rows = input.len() / cols;
    let (p1, p2, p3, p4) = phases(rows, w);
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    sum.fill(0.0);
    let mut count = 0usize;
    let (mut ri, mut li) = (0usize, 0usize);
    let mut out_rows = out.chunks_exact_mut(cols);
    for _ in 0..p1 {
        for (s, &x) in sum.iter_mut().zip(row(ri)) {
            *s += x;
        }
        ri += 1;
        count += 1;
    }
    for _ in 0..p2 {
        count += 1;
        let c = count as f32;
        let o = out_rows.next().unwrap_or_default();
        for ((s, &x), o) in sum.iter_mut().zip(row(ri)).zip(o) {
            *s += x;
            *o = *s / c;
        }
        ri += 1;
    }
    let c = count as f32;
    for _ in 0..p3 {
        let o = out_rows.next().unwrap_or_default();
        for (((s, &x), &y), o) in sum.iter_mut().zip(row(ri)).zip(row(li)).zip(o) {
            *s += x;
            *s -= y;
            *o = *s / c;
        }
        ri += 1;
        li += 1;
    }
    for _ in 0..p4 {
        count -= 1;
        let c = count as f32;
        let o = out_rows.next().unwrap_or_default();
        for ((s, &y), o) in sum.iter_mut().zip(row(li)).zip(o) {
            *s -= y;
            *o = *s / c;
        }
        li += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_match_the_reference() {
        for (old, w) in [
            (512, 4),
            (1004, 8),
            (1600, 13),
            (256, 2),
            (64, 1),
            (5, 1),
            (4032, 32),
        ] {
            assert_eq!(window(old), w, "{old}");
        }
    }

    #[test]
    fn phases_cover_every_value() {
        for n in 1..40 {
            for w in 1..=n {
                let (p1, p2, p3, p4) = phases(n, w);
                assert_eq!(p1 + p2 + p3, n);
                assert_eq!(p2 + p3 + p4, n);
            }
        }
    }
}
