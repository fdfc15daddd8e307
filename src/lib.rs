//! vigie: find known content in large dumps, fast.
//!
//! The engine reads every item of its inputs (files, directory trees, tar archives, compressed
//! tars), hashes it in one pass with the selected algorithms, and looks every digest up in a
//! compiled, memory-mapped blocklist [`index`]. Every item gets exactly one verdict: matched,
//! clean or failed with a reason.
//!
//! Stages, one module each: [`source`] (where items come from) → [`hash`] (what they are
//! worth) → [`index`] / [`matcher`] (what they match) → [`report`] (what we say), wired by
//! [`pipeline`] and run as the command line's jobs by [`jobs`]. [`lists`] reads the hash lists
//! people exchange.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod hash;
pub mod index;
pub mod jobs;
pub mod lists;
pub mod matcher;
pub mod perceptual;
pub mod pipeline;
pub mod read;
pub mod report;
pub mod source;
