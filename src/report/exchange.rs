//! Records in the exchange formats other tools read: Project VIC VICS 2.0 Media JSON, the
//! ThreatExchange dataset CSV (python-threatexchange / HMA), and NSRL RDS 2.x
//! `NSRLFile.txt` rows. `vigie hash --format vics|te-csv|nsrl` writes them; vigie's own list
//! readers read them back.

use serde::Serialize;
use serde_json::json;

use crate::hash::Algo;
use crate::model::os_bytes;
use crate::model::ItemResult;
use crate::video::VpdqFrame;

/// The OData context of a VICS 2.0 Media file.
pub const VICS_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media";

/// What goes before the first VICS Media record.
pub fn vics_head() -> Vec<u8> {
    format!("{{\"@odata.context\":{},\"value\":[", json!(VICS_CONTEXT)).into_bytes()
}

/// What closes a VICS file.
pub const VICS_TAIL: &[u8] = b"\n]}\n";

/// The last component of a `/`-separated name.
fn base_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b'/') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// The item's own name (archive member, else the file): its last path component.
fn file_name(r: &ItemResult) -> Vec<u8> {
    match &r.loc.member {
        Some(m) => base_name(m).to_vec(),
        None => base_name(&os_bytes(r.loc.path.as_os_str())).to_vec(),
    }
}

/// A VICS 2.0 Media object, fields in the order Project VIC exports show them.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct VicsMedia {
    /// Record number in the file, from 1.
    #[serde(rename = "MediaID")]
    pub media_id: u64,
    /// Always null: vigie hashes, it does not categorise.
    pub category: Option<u32>,
    /// Upper-case hex MD5.
    #[serde(rename = "MD5")]
    pub md5: String,
    /// Upper-case hex SHA-1, when computed.
    #[serde(rename = "SHA1", skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// Size in bytes.
    pub media_size: u64,
    /// SHA-256 and PDQ, when computed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternative_hashes: Vec<VicsHash>,
    /// The occurrence: the item's name and path.
    pub media_files: [VicsFile; 1],
}

/// One entry of a VICS `AlternativeHashes` array.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct VicsHash {
    /// `SHA256` or `PDQ`.
    pub hash_name: &'static str,
    /// The hash in hex.
    pub hash_value: String,
}

/// One entry of a VICS `MediaFiles` array.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct VicsFile {
    /// Upper-case hex MD5.
    #[serde(rename = "MD5")]
    pub md5: String,
    /// The base name.
    pub file_name: String,
    /// The whole path (archive path `/` member).
    pub file_path: String,
}

/// The VICS 2.0 Media object of an item hashed with at least MD5, or `None` when the item
/// has no MD5 (failed). SHA-256 and PDQ go to `AlternativeHashes`. JSON strings are UTF-8,
/// so a name that is not is written lossily (U+FFFD).
pub fn vics_media(r: &ItemResult, media_id: u64) -> Option<VicsMedia> {
    let d = r.outcome.as_ref().ok()?;
    let upper = |a: Algo| d.get(a).map(|x| x.to_hex().to_uppercase());
    let md5 = upper(Algo::Md5)?;
    let mut alternative_hashes = Vec::new();
    if let Some(s) = upper(Algo::Sha256) {
        alternative_hashes.push(VicsHash {
            hash_name: "SHA256",
            hash_value: s,
        });
    }
    if let Some(p) = r.image.as_ref().and_then(|i| i.pdq) {
        alternative_hashes.push(VicsHash {
            hash_name: "PDQ",
            hash_value: p.to_string(),
        });
    }
    Some(VicsMedia {
        media_id,
        category: None,
        md5: md5.clone(),
        sha1: upper(Algo::Sha1),
        media_size: r.loc.size,
        alternative_hashes,
        media_files: [VicsFile {
            md5,
            file_name: String::from_utf8_lossy(&file_name(r)).into_owned(),
            file_path: String::from_utf8_lossy(&r.loc.display_bytes()).into_owned(),
        }],
    })
}

/// The header of a ThreatExchange dataset CSV, as `threatexchange dataset -P --csv` prints it.
pub const TE_CSV_HEADER: &[u8] = b"signal_type,signal_str,collab,category,tags\r\n";

/// The collaboration name vigie's dataset rows carry.
pub const TE_COLLAB: &str = "vigie";

/// ThreatExchange dataset CSV rows of one item: `pdq` for an image with a PDQ hash (unless
/// flagged [`ItemResult::low_quality`]: `threatexchange hash` leaves those out), `vpdq` for a
/// video with hashed frames ([`vpdq_signal`], CSV-quoted), and `video_md5` / `video_sha256`
/// for its MD5 / SHA-256 when computed (python-threatexchange's only signal types for digests
/// of file bytes). Category `INVESTIGATION_SEED`, the opinion
/// pytx gives signals loaded from a local list; no tags.
pub fn te_csv_rows(r: &ItemResult) -> Vec<u8> {
    let mut out = Vec::new();
    let mut row = |kind: &str, value: &str| {
        out.extend_from_slice(
            format!("{kind},{value},{TE_COLLAB},INVESTIGATION_SEED,\r\n").as_bytes(),
        );
    };
    if let Some(p) = r
        .image
        .as_ref()
        .and_then(|i| i.pdq)
        .filter(|_| !r.low_quality)
    {
        row("pdq", &p.to_string());
    }
    if let Some(v) = vpdq_signal_of(r) {
        row("vpdq", &format!("\"{}\"", v.replace('"', "\"\"")));
    }
    if let Ok(d) = &r.outcome {
        if let Some(x) = d.get(Algo::Md5) {
            row("video_md5", &x.to_hex());
        }
        if let Some(x) = d.get(Algo::Sha256) {
            row("video_sha256", &x.to_hex());
        }
    }
    out
}

/// The NSRL RDS 2.0 `NSRLFile.txt` header line.
pub const NSRL_HEADER: &[u8] =
    b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n";

/// One `NSRLFile.txt` row (RDS 2.0 layout, CRLF) for an item hashed with SHA-1 and MD5, or
/// `None`. Digests are upper-case like NIST's; `FileName` is the item's base name, bytes
/// kept as they are (quotes doubled; a CR or LF, which the line format cannot hold, becomes
/// `?`); `CRC32` is empty (vigie does not compute it), the
/// product and OS codes are 0 and empty (vigie knows no NSRL product).
pub fn nsrl_row(r: &ItemResult) -> Option<Vec<u8>> {
    let d = r.outcome.as_ref().ok()?;
    let (sha1, md5) = (d.get(Algo::Sha1)?, d.get(Algo::Md5)?);
    let mut line = format!(
        "\"{}\",\"{}\",\"\",\"",
        sha1.to_hex().to_uppercase(),
        md5.to_hex().to_uppercase()
    )
    .into_bytes();
    for b in file_name(r) {
        match b {
            b'"' => line.extend_from_slice(b"\"\""),
            b'\r' | b'\n' => line.push(b'?'),
            _ => line.push(b),
        }
    }
    line.extend_from_slice(format!("\",{},0,\"\",\"\"\r\n", r.loc.size).as_bytes());
    Some(line)
}

/// The `vpdq` signal of an item: its video's hashed frames ([`vpdq_signal`]), if it has any.
pub fn vpdq_signal_of(r: &ItemResult) -> Option<String> {
    let v = r.video.as_ref().filter(|v| !v.frames.is_empty())?;
    Some(vpdq_signal(&v.frames))
}

/// A video's vPDQ signal string exactly as python-threatexchange writes it (`vpdq_to_json`:
/// `json.dumps` of `str(VpdqCompactFeature)`): a JSON array, `", "` between items, of
/// `"pdq_hex,quality,timestamp"` strings, the timestamp formatted by Python's
/// `f"{timestamp:.3}"` (three significant digits: `0.0`, `0.0333`, `12.0`, `1.23e+02`).
pub fn vpdq_signal(frames: &[VpdqFrame]) -> String {
    let mut out = String::from("[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(&f.to_signal());
        out.push('"');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perceptual::pdq::PdqHash;

    #[test]
    fn vpdq_signal_is_pytx_json() {
        let h = |c: char| PdqHash::from_hex(&c.to_string().repeat(64)).unwrap();
        let frames = [
            VpdqFrame {
                frame: 0,
                hash: h('a'),
                quality: 100,
                timestamp: 0.0,
            },
            VpdqFrame {
                frame: 1,
                hash: h('0'),
                quality: 7,
                timestamp: 1.0 / 30.0,
            },
        ];
        let a = "a".repeat(64);
        let z = "0".repeat(64);
        assert_eq!(
            vpdq_signal(&frames),
            format!("[\"{a},100,0.0\", \"{z},7,0.0333\"]")
        );
        assert_eq!(vpdq_signal(&[]), "[]");
    }
}
