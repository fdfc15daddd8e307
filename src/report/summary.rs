//! The run summary: every item read is counted exactly once as matched, known, probable,
//! clean or failed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
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
            custody: None,
        }
    }
}

/// The summary printed on stderr and written by `--summary FILE`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[schemars(deny_unknown_fields)]
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
    /// Who made the report, with what, and when (`--summary FILE` and the JSONL summary
    /// record; set by the command line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<Custody>,
}

/// Chain of custody of a run: the build that made it, the command, when, and against which
/// indexes (each with the lists it was built from), so that a report can be defended later.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Default)]
#[schemars(deny_unknown_fields)]
pub struct Custody {
    /// vigie's version.
    pub vigie: String,
    /// The git commit it was built from (`unknown` outside git).
    pub commit: String,
    /// Features built in: `video`, `jpeg-simd`.
    pub features: Vec<String>,
    /// The command line, as given.
    pub command: Vec<String>,
    /// When the run started and finished, UTC, RFC 3339 to the second.
    pub started_utc: String,
    /// See `started_utc`.
    pub finished_utc: String,
    /// The indexes matched against (scan and match), in the order given; lists given with
    /// `scan --list`/`--allow` are one more, compiled in memory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexCustody>,
}

/// The index of a run, as it was opened.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Default)]
#[schemars(deny_unknown_fields)]
pub struct IndexCustody {
    /// Its path, as given.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The SHA-256 of its bytes, as `sha256sum` prints it.
    pub sha256: String,
    /// Its format version.
    pub format_version: u32,
    /// The trusted key its signature was verified with (`--trusted-key`), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_with_key: Option<String>,
    /// The lists it was built from, in build order.
    pub lists: Vec<ListCustody>,
}

/// One list of an index, as it was read when the index was built.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Default)]
#[schemars(deny_unknown_fields)]
pub struct ListCustody {
    /// Its name (what hits report).
    pub name: String,
    /// Its file, as given to the build.
    pub path: String,
    /// Bytes of the file as read at build time (before any decompression); absent when the
    /// index does not say (format version 6 or older, a list given in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The SHA-256 of those bytes, as `sha256sum` prints it; absent likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `t` as UTC, RFC 3339 to the second (`2026-12-06T02:58:00Z`).
pub fn utc(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar), by 400-year
    // eras of 146,097 days counted from 0000-03-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
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

#[cfg(test)]
mod tests {
    use super::utc;
    use std::time::{Duration, UNIX_EPOCH};

    /// Against `date -u -d @T`: the epoch, leap days (a century divisible by 400 and a
    /// plain one), a year's last second, a century that is not a leap year.
    #[test]
    fn utc_dates_are_those_date_prints() {
        for (t, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (68_169_600, "1972-02-29T00:00:00Z"),
            (1_767_225_599, "2025-12-31T23:59:59Z"),
            (1_798_675_200, "2026-12-31T00:00:00Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"),
        ] {
            assert_eq!(utc(UNIX_EPOCH + Duration::from_secs(t)), want, "{t}");
        }
    }
}
