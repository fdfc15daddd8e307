//! vigie: find known content in large dumps, fast.
//!
//! The engine reads every item of its inputs (files, directory trees, tar archives, compressed
//! tars, bytes in memory), hashes it in one pass with the selected algorithms, and looks every
//! digest up in a compiled, memory-mapped blocklist [`index`]. Every item gets exactly one
//! verdict: matched, clean or failed with a reason.
//!
//! Callers build one [`engine::Engine`] and hand it inputs ([`model::Input`]); items come
//! back as [`model::ItemResult`]s. Stages, one module each: [`source`] (where items come
//! from) → [`hash`] and [`perceptual`] (what they are worth) → [`index`] / [`matcher`] (what
//! they match) → [`report`] (what we say), all exchanging the types of [`model`]; the
//! engine wires them, and [`jobs`] runs the command line's jobs on it, with a [`journal`]
//! to resume them. [`lists`] reads the
//! hash lists people exchange.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod engine;
pub mod hash;
pub mod index;
pub mod jobs;
pub mod journal;
pub mod lists;
pub mod matcher;
pub mod model;
pub mod perceptual;
mod pipeline;
mod read;
pub mod report;
pub mod source;
#[cfg(test)]
mod testing;
pub mod version;
pub mod video;
