//! Unletterboxing: the uniform bars a re-upload gains (a photo pasted into a 16:9 frame, a
//! screenshot of a video player) are cut off before hashing, so the copy hashes like the
//! original.
//!
//! # Algorithm
//! A row is a border row when every pixel of it is near black (each of R, G and B at most
//! [`Unletterbox::threshold`]), or, with [`Unletterbox::white`], every pixel of it is near
//! white (each channel at least `255 - threshold`). Rows are counted from the top down and
//! from the bottom up until the first row that is not a border; then columns from the left
//! and from the right, over the rows that are kept. The image left between is hashed.
//!
//! With black bars only (the default), this is python-threatexchange's `--photo-preprocess
//! unletterbox` (its `detect_*_border` functions on Pillow's RGB pixels, `--black-threshold`
//! 15 by default): the rows a black bar leaves are all black, so counting columns over all
//! rows or over the kept rows gives the same answer. Two differences, both on purpose:
//! * an image that is border from top to bottom (all black) is hashed whole; the peer's crop
//!   box is then empty and Pillow refuses it;
//! * the peer saves the cropped image in the original format before hashing it, so a JPEG
//!   is encoded once more (Pillow's quality 75) and its PDQ moves a few bits; vigie hashes the
//!   cropped pixels themselves. PNG crops are lossless, and both hash the same pixels.
//!
//! # Cost
//! One pass over the border rows and columns plus the first row or column that is not a
//! border (a photo without bars costs four rows and columns), and one in-place move of the
//! kept rows when something was cut. No allocation.

/// How to find letterbox bars. The default is python-threatexchange's: black bars, each
/// channel at most 15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unletterbox {
    /// The most a channel of a black pixel may be (and the least, from 255, of a white one).
    pub threshold: u8,
    /// Cut near-white bars too (python-threatexchange cuts black ones only).
    pub white: bool,
}

impl Default for Unletterbox {
    fn default() -> Self {
        Unletterbox {
            threshold: DEFAULT_THRESHOLD,
            white: false,
        }
    }
}

/// python-threatexchange's `--black-threshold` default.
pub const DEFAULT_THRESHOLD: u8 = 15;

/// What was cut from each side of an image, in pixels, and the size of what is left (the
/// size hashed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trim {
    /// Rows cut from the top.
    pub top: u32,
    /// Rows cut from the bottom.
    pub bottom: u32,
    /// Columns cut from the left.
    pub left: u32,
    /// Columns cut from the right.
    pub right: u32,
    /// Width left.
    pub width: u32,
    /// Height left.
    pub height: u32,
}

impl Trim {
    /// True when nothing was cut.
    pub fn is_none(&self) -> bool {
        self.top == 0 && self.bottom == 0 && self.left == 0 && self.right == 0
    }
}

impl Unletterbox {
    /// Whether the pixels of one row or column are all black, or all white (with `white`):
    /// a line half black and half white is no border.
    fn is_border_line<'a>(&self, mut pixels: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
        let t = self.threshold;
        let black = |p: &[u8]| p[0] <= t && p[1] <= t && p[2] <= t;
        let white = |p: &[u8]| p[0] >= 255 - t && p[1] >= 255 - t && p[2] >= 255 - t;
        pixels.clone().all(black) || (self.white && pixels.all(white))
    }

    /// Finds the bars of the `w`×`h` RGB image `rgb` (row-major, 3 bytes a pixel, at least
    /// `w * h * 3` bytes). An image that is all border is left whole.
    pub fn find(&self, rgb: &[u8], w: usize, h: usize) -> Trim {
        let whole = Trim {
            width: w as u32,
            height: h as u32,
            ..Trim::default()
        };
        if w == 0 || h == 0 || rgb.len() < w * h * 3 {
            return whole;
        }
        let row = |y: usize| rgb[y * w * 3..(y + 1) * w * 3].chunks_exact(3);
        let Some(top) = (0..h).find(|&y| !self.is_border_line(row(y))) else {
            return whole;
        };
        // A row that is not a border exists, so this finds one (at `top` at the latest).
        let last = (top..h)
            .rev()
            .find(|&y| !self.is_border_line(row(y)))
            .unwrap_or(top);
        let col = |x: usize| {
            (top..=last).map(move |y| {
                let i = (y * w + x) * 3;
                &rgb[i..i + 3]
            })
        };
        // Every column may still be a bar when white ones are cut too (black on the left,
        // white on the right): then no column is cut.
        let (left, right_col) = match (0..w).find(|&x| !self.is_border_line(col(x))) {
            Some(left) => {
                let right = (left..w)
                    .rev()
                    .find(|&x| !self.is_border_line(col(x)))
                    .unwrap_or(left);
                (left, right)
            }
            None => (0, w - 1),
        };
        Trim {
            top: top as u32,
            bottom: (h - 1 - last) as u32,
            left: left as u32,
            right: (w - 1 - right_col) as u32,
            width: (right_col + 1 - left) as u32,
            height: (last + 1 - top) as u32,
        }
    }
}

/// Cuts `trim` out of the `w`×`h` RGB image in `rgb`, in place (rows move forward, the buffer
/// is truncated): `rgb` then holds the `trim.width`×`trim.height` image.
pub fn crop_in_place(rgb: &mut Vec<u8>, w: usize, trim: &Trim) {
    if trim.is_none() {
        return;
    }
    let (nw, nh) = (trim.width as usize, trim.height as usize);
    let (left, top) = (trim.left as usize, trim.top as usize);
    for y in 0..nh {
        let src = ((top + y) * w + left) * 3;
        rgb.copy_within(src..src + nw * 3, y * nw * 3);
    }
    rgb.truncate(nw * nh * 3);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w`×`h` image of `bg` with the rectangle `x0..x1`×`y0..y1` filled by a pattern.
    fn framed(w: usize, h: usize, bg: u8, x0: usize, x1: usize, y0: usize, y1: usize) -> Vec<u8> {
        let mut v = vec![bg; w * h * 3];
        for y in y0..y1 {
            for x in x0..x1 {
                let i = (y * w + x) * 3;
                v[i..i + 3].copy_from_slice(&[(x * 37 % 200 + 30) as u8, (y * 11) as u8, 128]);
            }
        }
        v
    }

    #[test]
    fn black_bars_are_cut() {
        let img = framed(10, 8, 0, 2, 9, 1, 6);
        let t = Unletterbox::default().find(&img, 10, 8);
        assert_eq!(
            t,
            Trim {
                top: 1,
                bottom: 2,
                left: 2,
                right: 1,
                width: 7,
                height: 5
            }
        );
        let mut v = img.clone();
        crop_in_place(&mut v, 10, &t);
        assert_eq!(v.len(), 7 * 5 * 3);
        assert_eq!(&v[..3], &img[(10 + 2) * 3..(10 + 2) * 3 + 3]);
        let last = (5 * 10 + 8) * 3;
        assert_eq!(&v[v.len() - 3..], &img[last..last + 3]);
    }

    #[test]
    fn threshold_and_white() {
        // Bars of 15 are black at the default threshold, of 16 are not.
        let img = framed(6, 6, 15, 1, 5, 1, 5);
        assert_eq!(Unletterbox::default().find(&img, 6, 6).width, 4);
        let img = framed(6, 6, 16, 1, 5, 1, 5);
        assert!(Unletterbox::default().find(&img, 6, 6).is_none());
        // White bars only with `white`.
        let img = framed(6, 6, 250, 2, 6, 0, 6);
        assert!(Unletterbox::default().find(&img, 6, 6).is_none());
        let white = Unletterbox {
            white: true,
            ..Unletterbox::default()
        };
        let t = white.find(&img, 6, 6);
        assert_eq!((t.left, t.right, t.width, t.height), (2, 0, 4, 6));
    }

    #[test]
    fn mixed_lines_are_no_border() {
        // A row half black, half white is kept even when both colours are bars.
        let mut img = framed(4, 3, 0, 0, 4, 1, 3);
        img[6..12].copy_from_slice(&[255; 6]);
        let white = Unletterbox {
            white: true,
            ..Unletterbox::default()
        };
        assert_eq!(white.find(&img, 4, 3).top, 0);
        // Black columns on the left, white on the right: every column is a bar of one
        // colour, no row is; nothing is cut rather than all but one column.
        let mut img = vec![0u8; 4 * 2 * 3];
        for y in 0..2 {
            img[(y * 4 + 2) * 3..(y * 4 + 4) * 3].fill(255);
        }
        assert!(white.find(&img, 4, 2).is_none());
    }

    #[test]
    fn all_border_is_left_whole() {
        let img = vec![0u8; 5 * 4 * 3];
        let t = Unletterbox::default().find(&img, 5, 4);
        assert!(t.is_none());
        assert_eq!((t.width, t.height), (5, 4));
        // Too short a buffer, or an empty image: nothing cut, no panic.
        assert!(Unletterbox::default().find(&img[..10], 5, 4).is_none());
        assert!(Unletterbox::default().find(&[], 0, 0).is_none());
    }

    #[test]
    fn one_pixel_left() {
        let img = framed(5, 5, 0, 2, 3, 4, 5);
        let t = Unletterbox::default().find(&img, 5, 5);
        assert_eq!((t.top, t.bottom, t.left, t.right), (4, 0, 2, 2));
        let mut v = img;
        crop_in_place(&mut v, 5, &t);
        assert_eq!(v.len(), 3);
    }
}
