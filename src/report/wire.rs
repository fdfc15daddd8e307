//! The JSON and CSV record schema: stable field names, documented in the README.
//!
//! Paths and archive member names are bytes. When they are valid UTF-8 they are written as
//! plain strings (`path`, `member`). When they are not, the string field holds a lossy
//! rendering for humans (invalid bytes become U+FFFD) and `path_bytes` / `member_bytes` holds
//! the exact bytes in standard base64, so a reader can always recover the original name.

use base64::Engine as _;
use schemars::JsonSchema;
use serde::Serialize;

use crate::hash::{Algo, AlgoSet};
use crate::model::{os_bytes, ItemResult, Location, Verdict};
use crate::report::Summary;

/// The version of the JSON record schema, the `v` field of every JSON Lines record and of the
/// summary file (`docs/schema/`). It goes up when a field is removed or changes meaning; a
/// new optional field does not change it, so a reader ignores fields it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// A name as written in a record: its text and, when not UTF-8, its exact bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireName {
    /// UTF-8 text (lossy when `bytes_b64` is set).
    pub text: String,
    /// Standard base64 of the raw bytes, only for names that are not valid UTF-8.
    pub bytes_b64: Option<String>,
}

impl WireName {
    /// Encodes raw name bytes.
    pub fn new(raw: &[u8]) -> WireName {
        match std::str::from_utf8(raw) {
            Ok(s) => WireName {
                text: s.to_string(),
                bytes_b64: None,
            },
            Err(_) => WireName {
                text: String::from_utf8_lossy(raw).into_owned(),
                bytes_b64: Some(base64::engine::general_purpose::STANDARD.encode(raw)),
            },
        }
    }

    /// The exact bytes back from a record's text and optional base64 field.
    pub fn decode(text: &str, bytes_b64: Option<&str>) -> Option<Vec<u8>> {
        match bytes_b64 {
            Some(b) => base64::engine::general_purpose::STANDARD.decode(b).ok(),
            None => Some(text.as_bytes().to_vec()),
        }
    }
}

/// Location fields shared by every record.
#[derive(Serialize, JsonSchema, Debug)]
#[schemars(deny_unknown_fields)]
pub struct WireLocation {
    /// The file on disk.
    pub path: String,
    /// Its exact bytes (base64) when not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// The archive member, absent for plain files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Its exact bytes (base64) when not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_bytes: Option<String>,
    /// Inside nested containers, the chain of member names, outermost first (lossy UTF-8;
    /// `member_bytes` holds the joined bytes when they are not UTF-8); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// Byte offset of the data in the file (decompressed stream for compressed archives).
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl WireLocation {
    /// Encodes a location.
    pub fn new(loc: &Location) -> WireLocation {
        let p = WireName::new(&os_bytes(loc.path.as_os_str()));
        let m = loc.member.as_deref().map(WireName::new);
        WireLocation {
            path: p.text,
            path_bytes: p.bytes_b64,
            member_bytes: m.as_ref().and_then(|m| m.bytes_b64.clone()),
            member: m.map(|m| m.text),
            members: (!loc.chain.is_empty()).then(|| {
                loc.chain
                    .iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect()
            }),
            offset: loc.offset,
            size: loc.size,
        }
    }

    fn csv_fields(&self) -> [String; 6] {
        [
            self.path.clone(),
            self.path_bytes.clone().unwrap_or_default(),
            self.member.clone().unwrap_or_default(),
            self.member_bytes.clone().unwrap_or_default(),
            self.offset.to_string(),
            self.size.to_string(),
        ]
    }
}

/// One `vigie hash` record.
#[derive(Serialize, JsonSchema, Debug)]
#[schemars(deny_unknown_fields)]
pub struct HashRecord {
    /// The record schema's version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// Where.
    #[serde(flatten)]
    pub loc: WireLocation,
    /// MD5, lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// SHA-1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// XXH3-128 as `xxhsum -H2` prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xxh3_128: Option<String>,
    /// PDQ of an image, 64 hex digits as the reference prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality, 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// The 8 dihedral PDQ hashes (orig, rot90, rot180, rot270, flipx, flipy, flipplus1,
    /// flipminus1), with `--pdq-dihedral`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<Vec<String>>,
    /// pHash of an image (64 bits, 16 hex digits, MSB-first as Python ImageHash prints it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// dHash of an image (same encoding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhash: Option<String>,
    /// vPDQ of a video as python-threatexchange serializes it: one `pdq_hex,quality,timestamp`
    /// string a hashed frame (timestamp in seconds, 3 decimals), in frame order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpdq: Option<Vec<String>>,
    /// A video's duration in seconds (the container's, else frames / frame rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Frames decoded from a video (all of them; `vpdq` holds the hashed ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// With `--unletterbox`: what was cut from the image before it was hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim: Option<WireTrim>,
    /// Failure category when the item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Failure reason when the item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The letterbox bars cut off an image before hashing (`--unletterbox`), in pixels, and the
/// size hashed: `{"top":T,"bottom":B,"left":L,"right":R,"width":W,"height":H}`.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct WireTrim {
    /// Rows cut from the top.
    pub top: u32,
    /// Rows cut from the bottom.
    pub bottom: u32,
    /// Columns cut from the left.
    pub left: u32,
    /// Columns cut from the right.
    pub right: u32,
    /// Width hashed.
    pub width: u32,
    /// Height hashed.
    pub height: u32,
}

/// The item's digest of algorithm `a` in hex, if it was computed.
fn digest_hex(r: &ItemResult, a: Algo) -> Option<String> {
    r.outcome
        .as_ref()
        .ok()
        .and_then(|d| d.get(a))
        .map(|d| d.to_hex())
}

impl HashRecord {
    /// The record of one item.
    pub fn new(r: &ItemResult) -> HashRecord {
        let get = |a| digest_hex(r, a);
        HashRecord {
            v: SCHEMA_VERSION,
            loc: WireLocation::new(&r.loc),
            md5: get(Algo::Md5),
            sha1: get(Algo::Sha1),
            sha256: get(Algo::Sha256),
            xxh3_128: get(Algo::Xxh3_128),
            pdq: r.image.as_ref().and_then(|i| i.pdq).map(|h| h.to_hex()),
            pdq_quality: r.image.as_ref().and_then(|i| i.pdq_quality),
            pdq_dihedral: r
                .image
                .as_ref()
                .and_then(|i| i.pdq_dihedral.as_ref())
                .map(|d| d.iter().map(|h| h.to_hex()).collect()),
            phash: r.image.as_ref().and_then(|i| i.phash).map(|h| h.to_hex()),
            dhash: r.image.as_ref().and_then(|i| i.dhash).map(|h| h.to_hex()),
            vpdq: r
                .video
                .as_ref()
                .map(|v| v.frames.iter().map(|f| f.to_signal()).collect()),
            duration_s: r
                .video
                .as_ref()
                .map(|v| (v.duration_s * 1000.0).round() / 1000.0),
            frames: r.video.as_ref().map(|v| v.frames_decoded),
            trim: r.image.as_ref().and_then(|i| i.trim).map(|t| WireTrim {
                top: t.top,
                bottom: t.bottom,
                left: t.left,
                right: t.right,
                width: t.width,
                height: t.height,
            }),
            error_kind: r.failure().map(|f| f.kind.name()),
            error: r.failure().map(|f| f.message.clone()),
        }
    }
}

/// The CSV row of one `vigie hash` item: location, one column per algorithm, `pdq`,
/// `pdq_quality`, `phash` and `dhash` when `perceptual` (empty for what was not computed),
/// error.
pub fn csv_hash_row(r: &ItemResult, algos: AlgoSet, perceptual: bool) -> Vec<String> {
    let mut row: Vec<String> = WireLocation::new(&r.loc).csv_fields().into();
    for a in algos.iter() {
        row.push(digest_hex(r, a).unwrap_or_default());
    }
    if perceptual {
        let img = r.image.as_ref();
        row.push(
            img.and_then(|i| i.pdq)
                .map(|h| h.to_hex())
                .unwrap_or_default(),
        );
        row.push(
            img.and_then(|i| i.pdq_quality)
                .map(|q| q.to_string())
                .unwrap_or_default(),
        );
        row.push(
            img.and_then(|i| i.phash)
                .map(|h| h.to_hex())
                .unwrap_or_default(),
        );
        row.push(
            img.and_then(|i| i.dhash)
                .map(|h| h.to_hex())
                .unwrap_or_default(),
        );
    }
    row.push(
        r.failure()
            .map(|f| f.kind.name().to_string())
            .unwrap_or_default(),
    );
    row.push(r.failure().map(|f| f.message.clone()).unwrap_or_default());
    row
}

/// Every digest computed for an item, carried by each of its `vigie scan` records (a `hashes`
/// object in JSON Lines, the last columns in CSV), so that a hit comes with its evidence in
/// one pass. Perceptual hashes are given only when they are the reference's (full decode):
/// a hash of a reduced-scale decode, which only screened the image, is left out.
#[derive(Serialize, JsonSchema, Debug, Default, Clone, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct Evidence {
    /// MD5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// SHA-1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// XXH3-128.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xxh3_128: Option<String>,
    /// PDQ, as the reference computes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// pHash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// dHash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhash: Option<String>,
}

impl Evidence {
    /// The digests of `r`.
    pub fn of(r: &ItemResult) -> Evidence {
        let get = |a| digest_hex(r, a);
        let exact = r.image.as_ref().filter(|i| i.decode_scale == 1);
        Evidence {
            md5: get(Algo::Md5),
            sha1: get(Algo::Sha1),
            sha256: get(Algo::Sha256),
            xxh3_128: get(Algo::Xxh3_128),
            pdq: exact.and_then(|i| i.pdq).map(|h| h.to_hex()),
            pdq_quality: exact.and_then(|i| i.pdq_quality),
            phash: exact.and_then(|i| i.phash).map(|h| h.to_hex()),
            dhash: exact.and_then(|i| i.dhash).map(|h| h.to_hex()),
        }
    }

    /// True when nothing was computed (a failed item).
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }

    fn csv_fields(&self) -> [String; 8] {
        [
            self.md5.clone().unwrap_or_default(),
            self.sha1.clone().unwrap_or_default(),
            self.sha256.clone().unwrap_or_default(),
            self.xxh3_128.clone().unwrap_or_default(),
            self.pdq.clone().unwrap_or_default(),
            self.pdq_quality.map(|q| q.to_string()).unwrap_or_default(),
            self.phash.clone().unwrap_or_default(),
            self.dhash.clone().unwrap_or_default(),
        ]
    }
}

/// Column names of `vigie scan --format csv`.
pub const SCAN_CSV_HEADER: [&str; 30] = [
    "verdict",
    "path",
    "path_bytes",
    "member",
    "member_bytes",
    "offset",
    "size",
    "algorithm",
    "hash",
    "list",
    "label",
    "distance",
    "error_kind",
    "error",
    "matched_hash",
    "role",
    "fpr",
    "md5",
    "sha1",
    "sha256",
    "xxh3_128",
    "pdq",
    "pdq_quality",
    "phash",
    "dhash",
    "matched_video",
    "query_match_pct",
    "compared_match_pct",
    "segments",
    "timestamp",
];

/// One `vigie scan` record: a hit, or with `--all` a clean or failed item.
#[derive(Serialize, JsonSchema, Debug)]
#[schemars(deny_unknown_fields)]
pub struct ScanRecord {
    /// The record schema's version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// The item's verdict: `match`, `known`, `probable` (one record per hit), `clean` or
    /// `failed`.
    #[schemars(extend("enum" = ["match", "known", "probable", "clean", "failed"]))]
    pub verdict: &'static str,
    /// Where.
    #[serde(flatten)]
    pub loc: WireLocation,
    /// The algorithm that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<&'static str>,
    /// The item's hash for that algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The list the entry came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// The entry's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Hamming distance (0 for exact hashes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// For perceptual hits, the list entry's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_hash: Option<String>,
    /// The role of the hit's list: `block` or `allow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["block", "allow"]))]
    pub role: Option<&'static str>,
    /// For a hit in a Bloom filter (probable, not certain): the filter's false-positive rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fpr: Option<f64>,
    /// For a `vpdq` hit: the known video's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_video: Option<String>,
    /// For a `vpdq` hit: the share (percent) of the item's distinct frames that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_match_pct: Option<f64>,
    /// For a `vpdq` hit: the share (percent) of the known video's distinct frames that
    /// matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_match_pct: Option<f64>,
    /// For a `vpdq` hit: the item's time ranges that matched, `[[start_s, end_s], ...]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<[f64; 2]>>,
    /// For a `pdq` hit of a video frame: the frame's time in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// Failure category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Failure reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every digest computed for the item (absent when none was: a failed item).
    #[serde(skip_serializing_if = "Evidence::is_empty", default)]
    pub hashes: Evidence,
}

impl ScanRecord {
    /// The records of one item: one per hit (every hit of the item, each record carrying the
    /// item's verdict, so a match also lists its allowlist hits); with `all`, one for a clean
    /// or failed item.
    pub fn for_item(r: &ItemResult, all: bool) -> Vec<ScanRecord> {
        let evidence = Evidence::of(r);
        let base = |verdict| ScanRecord {
            v: SCHEMA_VERSION,
            verdict,
            loc: WireLocation::new(&r.loc),
            algorithm: None,
            hash: None,
            list: None,
            label: None,
            distance: None,
            matched_hash: None,
            role: None,
            fpr: None,
            matched_video: None,
            query_match_pct: None,
            compared_match_pct: None,
            segments: None,
            timestamp: None,
            error_kind: None,
            error: None,
            hashes: evidence.clone(),
        };
        match r.verdict() {
            Verdict::Failed if all => {
                let f = r.failure();
                vec![ScanRecord {
                    error_kind: f.map(|f| f.kind.name()),
                    error: f.map(|f| f.message.clone()),
                    ..base("failed")
                }]
            }
            Verdict::Clean if all => vec![base("clean")],
            Verdict::Failed | Verdict::Clean => Vec::new(),
            v @ (Verdict::Match | Verdict::Known | Verdict::Probable) => r
                .hits
                .iter()
                .map(|h| ScanRecord {
                    algorithm: Some(h.algorithm),
                    // A vpdq hit has no one hash of the item: its frames matched.
                    hash: (!h.hash.is_empty()).then(|| h.hash.clone()),
                    list: Some(h.list.clone()),
                    label: Some(h.label.clone()),
                    distance: Some(h.distance),
                    matched_hash: h.matched_hash.clone(),
                    role: Some(h.role.name()),
                    fpr: h.fpr,
                    matched_video: h.video.as_ref().map(|v| v.name.clone()),
                    query_match_pct: h.video.as_ref().map(|v| v.query_match_pct),
                    compared_match_pct: h.video.as_ref().map(|v| v.compared_match_pct),
                    segments: h.video.as_ref().map(|v| v.segments.clone()),
                    timestamp: h.timestamp,
                    ..base(v.name())
                })
                .collect(),
        }
    }

    /// The record as a CSV row in [`SCAN_CSV_HEADER`] order.
    pub fn csv_row(&self) -> Vec<String> {
        let [path, path_bytes, member, member_bytes, offset, size] = self.loc.csv_fields();
        let mut row = vec![
            self.verdict.to_string(),
            path,
            path_bytes,
            member,
            member_bytes,
            offset,
            size,
            self.algorithm.unwrap_or_default().to_string(),
            self.hash.clone().unwrap_or_default(),
            self.list.clone().unwrap_or_default(),
            self.label.clone().unwrap_or_default(),
            self.distance.map(|d| d.to_string()).unwrap_or_default(),
            self.error_kind.unwrap_or_default().to_string(),
            self.error.clone().unwrap_or_default(),
            self.matched_hash.clone().unwrap_or_default(),
            self.role.unwrap_or_default().to_string(),
            self.fpr.map(|f| format!("{f:e}")).unwrap_or_default(),
        ];
        row.extend(self.hashes.csv_fields());
        let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
        row.extend([
            self.matched_video.clone().unwrap_or_default(),
            num(self.query_match_pct),
            num(self.compared_match_pct),
            self.segments
                .as_ref()
                .map(|s| serde_json::to_string(s).unwrap_or_default())
                .unwrap_or_default(),
            num(self.timestamp),
        ]);
        row
    }
}

/// What `--summary FILE` holds: the summary, with the schema version.
#[derive(Serialize, JsonSchema, Debug)]
#[schemars(deny_unknown_fields)]
pub struct SummaryFile<'a> {
    /// The record schema's version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// The counts, rates and custody.
    #[serde(flatten)]
    pub summary: &'a Summary,
}

impl SummaryFile<'_> {
    /// The summary file of `summary`.
    pub fn new(summary: &Summary) -> SummaryFile<'_> {
        SummaryFile {
            v: SCHEMA_VERSION,
            summary,
        }
    }
}

/// The record type of a summary record: always `summary`.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RecordType {
    /// The run's summary.
    Summary,
}

/// The last JSON Lines record with `--summary-record`: `{"type":"summary","v":1,...}`, the
/// summary's fields beside them, so that a reader tells a complete stream from a cut one.
#[derive(Serialize, JsonSchema, Debug)]
#[schemars(deny_unknown_fields)]
pub struct SummaryRecord<'a> {
    /// `summary`.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// The record schema's version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// The counts, rates and custody.
    #[serde(flatten)]
    pub summary: &'a Summary,
}

impl SummaryRecord<'_> {
    /// The summary record of `summary`.
    pub fn new(summary: &Summary) -> SummaryRecord<'_> {
        SummaryRecord {
            kind: RecordType::Summary,
            v: SCHEMA_VERSION,
            summary,
        }
    }
}

/// The JSON Schemas (draft 2020-12) of what vigie writes, by file name under `docs/schema/`:
/// `vigie hash` and `vigie scan` JSON Lines records, the summary record and the summary file.
/// Generated from the types above; a test keeps the checked-in files equal to them.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn of<T: JsonSchema>() -> serde_json::Value {
        let mut v = schemars::schema_for!(T).to_value();
        no_null(&mut v);
        v
    }
    // An absent field is left out, never written as null: `"type": ["string", "null"]`, as
    // schemars describes an Option, becomes `"type": "string"`, and `"anyOf": [{"$ref": R},
    // {"type": "null"}]` becomes `"$ref": R`.
    fn no_null(v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(types)) = map.get_mut("type") {
                    types.retain(|t| t != "null");
                    if types.len() == 1 {
                        let t = types.pop().unwrap_or_default();
                        map.insert("type".into(), t);
                    }
                }
                if let Some(Value::Array(alts)) = map.get_mut("anyOf") {
                    alts.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                    if let [Value::Object(only)] = alts.as_slice() {
                        let only = only.clone();
                        map.remove("anyOf");
                        map.extend(only);
                    }
                }
                map.values_mut().for_each(no_null);
            }
            Value::Array(items) => items.iter_mut().for_each(no_null),
            _ => {}
        }
    }
    vec![
        ("hash-record.schema.json", of::<HashRecord>()),
        ("scan-record.schema.json", of::<ScanRecord>()),
        ("summary-record.schema.json", of::<SummaryRecord<'static>>()),
        ("summary.schema.json", of::<SummaryFile<'static>>()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_names_round_trip() {
        let raw = b"caf\xe9\nname";
        let w = WireName::new(raw);
        assert_eq!(w.text, "caf\u{fffd}\nname");
        assert_eq!(
            WireName::decode(&w.text, w.bytes_b64.as_deref()).unwrap(),
            raw
        );
        let ok = WireName::new("café".as_bytes());
        assert!(ok.bytes_b64.is_none());
        assert_eq!(WireName::decode(&ok.text, None).unwrap(), "café".as_bytes());
    }
}
