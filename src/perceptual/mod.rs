//! Perceptual hashes: digests that stay close when an image is re-encoded, resized or lightly
//! edited, compared by Hamming distance rather than equality.
//!
//! [`pdq`] is Meta's PDQ (the hash exchanged by ThreatExchange and most industry hash-sharing
//! programmes), computed bit for bit as the reference C++ core computes it from a pixel buffer.
//! [`imghash`] is the 64-bit pHash and dHash of Python ImageHash, from the same RGB pixels.

pub mod imghash;
pub mod pdq;
