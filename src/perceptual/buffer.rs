//! The pixel buffer every perceptual hasher reads: [`PixelBuffer`], a checked view of a decoded
//! image, and [`PixelError`], the one reason a buffer cannot be hashed.
//!
//! The size check lives here, once: a [`PixelBuffer`] exists only when its buffer holds exactly
//! `width × height` pixels of its layout, both sides nonzero, so the hashers' entry points
//! ([`PdqHasher::hash`](super::pdq::PdqHasher::hash),
//! [`ImgHasher::hash`](super::imghash::ImgHasher::hash)) take it without checking again.

/// The layout of a buffer's values, row-major, no padding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PixelData<'a> {
    /// Packed 8-bit RGB, 3 bytes a pixel.
    Rgb(&'a [u8]),
    /// 8-bit grey, 1 byte a pixel (its own luma).
    Grey(&'a [u8]),
    /// float32 luma, nominally 0..=255 (PDQ's input before its blur).
    Luma(&'a [f32]),
}

impl PixelData<'_> {
    /// The layout's name, as an error message gives it.
    pub fn layout(&self) -> &'static str {
        match self {
            PixelData::Rgb(_) => "8-bit RGB",
            PixelData::Grey(_) => "8-bit grey",
            PixelData::Luma(_) => "float32 luma",
        }
    }
}

/// A decoded image whose buffer length matches its size: see [`PixelBuffer::rgb`],
/// [`PixelBuffer::grey`], [`PixelBuffer::luma`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelBuffer<'a> {
    data: PixelData<'a>,
    width: usize,
    height: usize,
}

/// Why a buffer could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixelError {
    /// Width or height is zero.
    #[error("empty image ({width}x{height})")]
    Empty {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The buffer length is not width × height × channels (or that product overflows).
    #[error("buffer of {len} values for a {width}x{height} image with {channels} channel(s)")]
    BufferSize {
        /// Length of the buffer given.
        len: usize,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Values per pixel expected.
        channels: usize,
    },
    /// The hash is defined on other pixels than these (pHash and dHash read 8-bit values).
    #[error("{hash} is not computed from {layout} pixels")]
    Layout {
        /// The hash asked for.
        hash: &'static str,
        /// The layout given ([`PixelData::layout`]).
        layout: &'static str,
    },
}

impl<'a> PixelBuffer<'a> {
    /// Packed 8-bit RGB (3 bytes a pixel, row-major).
    ///
    /// # Errors
    /// [`PixelError::Empty`] or [`PixelError::BufferSize`].
    pub fn rgb(rgb: &'a [u8], width: usize, height: usize) -> Result<Self, PixelError> {
        check(rgb.len(), width, height, 3)?;
        Ok(PixelBuffer {
            data: PixelData::Rgb(rgb),
            width,
            height,
        })
    }

    /// 8-bit grey (1 byte a pixel, row-major).
    ///
    /// # Errors
    /// [`PixelError::Empty`] or [`PixelError::BufferSize`].
    pub fn grey(grey: &'a [u8], width: usize, height: usize) -> Result<Self, PixelError> {
        check(grey.len(), width, height, 1)?;
        Ok(PixelBuffer {
            data: PixelData::Grey(grey),
            width,
            height,
        })
    }

    /// float32 luma (1 value a pixel, row-major).
    ///
    /// # Errors
    /// [`PixelError::Empty`] or [`PixelError::BufferSize`].
    pub fn luma(luma: &'a [f32], width: usize, height: usize) -> Result<Self, PixelError> {
        check(luma.len(), width, height, 1)?;
        Ok(PixelBuffer {
            data: PixelData::Luma(luma),
            width,
            height,
        })
    }

    /// The values.
    pub fn data(&self) -> PixelData<'a> {
        self.data
    }

    /// Width in pixels (nonzero).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels (nonzero).
    pub fn height(&self) -> usize {
        self.height
    }
}

/// Checks that `len == width × height × channels` and that both sides are nonzero.
fn check(len: usize, width: usize, height: usize, channels: usize) -> Result<(), PixelError> {
    if width == 0 || height == 0 {
        return Err(PixelError::Empty { width, height });
    }
    match width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
    {
        Some(expected) if expected == len => Ok(()),
        _ => Err(PixelError::BufferSize {
            len,
            width,
            height,
            channels,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error cases are `pdq`'s `bad_sizes_are_errors_not_panics`; here, what a valid
    /// buffer gives back.
    #[test]
    fn a_valid_buffer_keeps_its_size_and_layout() {
        assert_eq!(
            PixelBuffer::rgb(&[0; 12], 2, 2),
            Ok(PixelBuffer {
                data: PixelData::Rgb(&[0; 12]),
                width: 2,
                height: 2
            })
        );
        let px = PixelBuffer::grey(&[7; 6], 3, 2).unwrap();
        assert_eq!((px.width(), px.height()), (3, 2));
        assert_eq!(px.data().layout(), "8-bit grey");
        assert_eq!(
            PixelBuffer::luma(&[0.0; 6], 2, 3).map(|px| px.data().layout()),
            Ok("float32 luma")
        );
    }
}
