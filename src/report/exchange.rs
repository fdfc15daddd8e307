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

/// ThreatExchange dataset CSV rows of one item: `pdq` for an image with a PDQ hash, `vpdq`
/// for a video with hashed frames ([`vpdq_signal`], CSV-quoted), and `video_md5` /
/// `video_sha256` for its MD5 / SHA-256 when computed (python-threatexchange's only signal
/// types for digests of file bytes). Category `INVESTIGATION_SEED`, the opinion
/// pytx gives signals loaded from a local list; no tags.
pub fn te_csv_rows(r: &ItemResult) -> Vec<u8> {
    let mut out = Vec::new();
    let mut row = |kind: &str, value: &str| {
        out.extend_from_slice(
            format!("{kind},{value},{TE_COLLAB},INVESTIGATION_SEED,\r\n").as_bytes(),
        );
    };
    if let Some(p) = r.image.as_ref().and_then(|i| i.pdq) {
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
        out.push_str(&format!(
            "\"{},{},{}\"",
            f.hash.to_hex(),
            f.quality,
            py_format_3(f64::from(f.timestamp))
        ));
    }
    out.push(']');
    out
}

/// Python's `format(x, ".3")` of a finite float: three significant digits, like `g` but a
/// fixed-point result keeps at least one digit after the point, and the exponent form starts
/// one power of ten earlier: when the exponent is below -4 or at least 2 (`1e+02`, two
/// exponent digits at least).
fn py_format_3(x: f64) -> String {
    const P: i32 = 3;
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust rounds to the nearest (ties to even on the exact binary value), as Python does.
    let sci = format!("{:.*e}", (P - 1) as usize, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() && x != 0.0 {
        "-"
    } else {
        ""
    };
    if (-4..P - 1).contains(&exp) {
        let (int, frac) = if exp >= 0 {
            let k = (exp + 1) as usize;
            (digits[..k].to_string(), digits[k..].to_string())
        } else {
            ("0".to_string(), "0".repeat((-exp - 1) as usize) + &digits)
        };
        let frac = frac.trim_end_matches('0');
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let rest = digits[1..].trim_end_matches('0');
        let point = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{point}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perceptual::pdq::PdqHash;

    /// Python 3.11's `format(float(numpy.float32(t)), ".3")`; the function also agreed with
    /// Python on 239,045 float32 timestamps (every 7th frame to 40,000 at common frame rates,
    /// and random ones) when it was written.
    #[test]
    fn timestamps_are_formatted_as_python_does() {
        let cases: [(f32, &str); 14] = [
            (0.0, "0.0"),
            (1.0 / 30.0, "0.0333"),
            (2.0 / 30.0, "0.0667"),
            (1.0, "1.0"),
            (12.0, "12.0"),
            (99.94, "99.9"),
            (99.96, "1e+02"),
            (100.2, "1e+02"),
            (123.4, "1.23e+02"),
            (1.125, "1.12"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3599.0, "3.6e+03"),
            (0.233_566_67, "0.234"),
        ];
        for (t, want) in cases {
            assert_eq!(py_format_3(f64::from(t)), want, "{t}");
        }
    }

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
