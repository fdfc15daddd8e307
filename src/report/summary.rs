//! The run summary: every item read is counted exactly once as matched, known, probable,
//! clean or failed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::model::{Event, ItemResult, Verdict};

/// Counts gathered while consuming events.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Items read (each exactly once).
    pub items: u64,
    /// Bytes of items hashed.
    pub bytes: u64,
    /// Items with at least one blocklist hit.
    pub matched: u64,
    /// Items with an allowlist hit and no blocklist hit.
    pub known: u64,
    /// Items with only Bloom filter hits.
    pub probable: u64,
    /// Items hashed with no hit.
    pub clean: u64,
    /// Items that failed.
    pub failed: u64,
    /// Failed items by reason key.
    pub failed_by_reason: BTreeMap<Cow<'static, str>, u64>,
    /// Things skipped on purpose by reason key (not items).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Hit records (an item may hit several lists or algorithms), of matched, known and
    /// probable items.
    pub hits: u64,
    /// Items hashed perceptually (images).
    pub images: u64,
    /// Images whose PDQ quality was under the minimum: not matched on PDQ.
    pub low_quality: u64,
}

impl Tally {
    /// Counts one event.
    pub fn add(&mut self, ev: &Event) {
        match ev {
            Event::Skipped(why) => *self.skipped.entry(why).or_default() += 1,
            Event::Item(r) => self.add_item(r),
            Event::InputDone(_) => {}
        }
    }

    /// Counts one item.
    pub fn add_item(&mut self, r: &ItemResult) {
        self.items += 1;
        if r.outcome.is_ok() {
            self.bytes += r.loc.size;
        }
        if r.image.is_some() {
            self.images += 1;
        }
        if r.low_quality {
            self.low_quality += 1;
        }
        match r.verdict() {
            Verdict::Failed => {
                self.failed += 1;
                if let Some(f) = r.failure() {
                    *self
                        .failed_by_reason
                        .entry(Cow::Borrowed(f.kind.name()))
                        .or_default() += 1;
                }
            }
            Verdict::Clean => self.clean += 1,
            Verdict::Match => {
                self.matched += 1;
                self.hits += r.hits.len() as u64;
            }
            Verdict::Known => {
                self.known += 1;
                self.hits += r.hits.len() as u64;
            }
            Verdict::Probable => {
                self.probable += 1;
                self.hits += r.hits.len() as u64;
            }
        }
    }

    /// The summary after `elapsed`.
    pub fn summary(&self, elapsed: Duration, scan: bool) -> Summary {
        let secs = elapsed.as_secs_f64();
        let rate = |x: f64| if secs > 0.0 { x / secs } else { 0.0 };
        Summary {
            complete: true,
            items: self.items,
            bytes: self.bytes,
            matched: scan.then_some(self.matched),
            known: scan.then_some(self.known),
            probable: scan.then_some(self.probable),
            clean: scan.then_some(self.clean),
            hashed: (!scan).then_some(self.clean + self.matched + self.known + self.probable),
            failed: self.failed,
            failed_by_reason: self
                .failed_by_reason
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            skipped: self
                .skipped
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            hits: scan.then_some(self.hits),
            images: (self.images > 0).then_some(self.images),
            low_quality: (scan && self.images > 0).then_some(self.low_quality),
            pdq_left_out: None,
            elapsed_s: secs,
            items_per_s: rate(self.items as f64),
            mb_per_s: rate(self.bytes as f64 / 1e6),
        }
    }
}

/// The summary printed on stderr and written by `--summary FILE`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// False when the run stopped before reading everything (a signal, a closed output
    /// pipe): the counts are then of what was read.
    pub complete: bool,
    /// Items read.
    pub items: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Items with at least one blocklist hit (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
    /// Items an allowlist knows and no blocklist holds (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<u64>,
    /// Items only Bloom filters hit: probably known, not certain (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probable: Option<u64>,
    /// Items with no hit (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean: Option<u64>,
    /// Items hashed (hash only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashed: Option<u64>,
    /// Items that failed.
    pub failed: u64,
    /// Failed items by reason.
    pub failed_by_reason: BTreeMap<String, u64>,
    /// Entries skipped on purpose (symlinks not followed, special files, links inside
    /// archives); not items.
    pub skipped: BTreeMap<String, u64>,
    /// Hit records written (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
    /// Images hashed perceptually (when perceptual hashing was on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<u64>,
    /// Images under the PDQ quality minimum, not matched on PDQ (scan only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_quality: Option<u64>,
    /// PDQ hashes of quality under the minimum left out of a shared list (`hash --format
    /// te|te-csv`, as `threatexchange hash` leaves them out; `--keep-low-quality` keeps
    /// them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_left_out: Option<u64>,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Items per second.
    pub items_per_s: f64,
    /// Megabytes (10^6 bytes) per second.
    pub mb_per_s: f64,
}

fn join(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items, {:.1} MB in {:.2} s",
            self.items,
            self.bytes as f64 / 1e6,
            self.elapsed_s
        )?;
        if let (Some(m), Some(c)) = (self.matched, self.clean) {
            write!(f, ": {m} matched")?;
            if let Some(k) = self.known.filter(|&k| k > 0) {
                write!(f, ", {k} known")?;
            }
            if let Some(p) = self.probable.filter(|&p| p > 0) {
                write!(f, ", {p} probable")?;
            }
            write!(f, ", {c} clean")?;
        } else if let Some(h) = self.hashed {
            write!(f, ": {h} hashed")?;
        }
        write!(f, ", {} failed", self.failed)?;
        if !self.failed_by_reason.is_empty() {
            write!(f, " ({})", join(&self.failed_by_reason))?;
        }
        if !self.skipped.is_empty() {
            write!(f, "; skipped {}", join(&self.skipped))?;
        }
        if let Some(images) = self.images {
            write!(f, "; {images} images")?;
            if let Some(low) = self.low_quality.filter(|n| *n > 0) {
                write!(
                    f,
                    " ({low} under the PDQ quality minimum, not matched on PDQ)"
                )?;
            }
        }
        if let Some(n) = self.pdq_left_out.filter(|&n| n > 0) {
            write!(
                f,
                "; {n} PDQ hashes under quality 50 left out (--keep-low-quality keeps them)"
            )?;
        }
        let digits = if self.items_per_s < 100.0 { 1 } else { 0 };
        write!(
            f,
            "; {:.*} items/s, {:.1} MB/s",
            digits, self.items_per_s, self.mb_per_s
        )?;
        if !self.complete {
            write!(f, "; INCOMPLETE: stopped before every item was read")?;
        }
        Ok(())
    }
}
