//! Perceptual hashes: digests that stay close when an image is re-encoded, resized or lightly
//! edited, compared by Hamming distance rather than equality.
//!
//! [`decode`] turns image bytes into the 8-bit RGB pixels those hashes are computed from.
//!
//! [`pdq`] is Meta's PDQ (the hash exchanged by ThreatExchange and most industry hash-sharing
//! programmes), computed bit for bit as the reference C++ core computes it from a pixel buffer.

pub mod decode;
pub mod pdq;
