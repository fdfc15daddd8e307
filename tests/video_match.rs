//! Videos matched against known videos at the command line, on real data: the reference's
//! committed frame hashes of watermarked copies of a sample video (`fixtures/video/known/`)
//! are compiled into an index, the sample videos are scanned, and every verdict and
//! percentage equals python-threatexchange's comparison run by brute force on the frames
//! `vigie hash --algo vpdq` reports; the settings are flags; a frame near a known image is a
//! `pdq` hit with its time; `vigie match` takes vPDQ queries.
#![cfg(feature = "video")]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::{code, fixtures, jsonl, run};
use serde_json::Value;
use vigie::index::IndexBuilder;
use vigie::lists::ListHash;
use vigie::perceptual::pdq::PdqHash;
use vigie::video::VpdqFrame;

const KNOWN: [&str; 3] = [
    "pattern-sd-with-small-logo-bar",
    "pattern-sd-with-large-logo-bar",
    "doorknob-hd-no-bar",
];

/// A reference frame file: `frame,quality,hex,timestamp` lines.
fn frames_file(path: &Path) -> Vec<VpdqFrame> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            VpdqFrame {
                frame: f[0].parse().unwrap(),
                quality: f[1].parse().unwrap(),
                hash: PdqHash::from_hex(f[2]).unwrap(),
                timestamp: f[3].parse().unwrap(),
            }
        })
        .collect()
}

/// Frames of a vPDQ signal (`"hex,quality,timestamp"` strings).
fn signal_frames(v: &Value) -> Vec<VpdqFrame> {
    v.as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f: Vec<&str> = s.as_str().unwrap().split(',').collect();
            VpdqFrame {
                frame: i as u64,
                hash: PdqHash::from_hex(f[0]).unwrap(),
                quality: f[1].parse().unwrap(),
                timestamp: f[2].parse().unwrap(),
            }
        })
        .collect()
}

/// python-threatexchange's comparison by brute force: (query %, compared %); `None` when a
/// side has no frame of the quality, or no frame has a partner (python-threatexchange's
/// index, like vigie's, only compares videos that share a frame).
fn brute(q: &[VpdqFrame], k: &[VpdqFrame], quality: u8, distance: u32) -> Option<(f64, f64)> {
    let prep = |v: &[VpdqFrame]| {
        let mut seen = HashSet::new();
        v.iter()
            .filter(|f| f.quality >= quality)
            .filter(|f| seen.insert(f.hash))
            .map(|f| f.hash)
            .collect::<Vec<_>>()
    };
    let (q, k) = (prep(q), prep(k));
    if q.is_empty() || k.is_empty() {
        return None;
    }
    let near = |a: &PdqHash, b: &PdqHash| a.distance(b) <= distance;
    let qm = q.iter().filter(|a| k.iter().any(|b| near(a, b))).count();
    let km = k.iter().filter(|b| q.iter().any(|a| near(a, b))).count();
    (qm > 0).then(|| {
        (
            qm as f64 * 100.0 / q.len() as f64,
            km as f64 * 100.0 / k.len() as f64,
        )
    })
}

/// An index of the known videos, each under its name (and `image`, a PDQ hash, as a known
/// image when given).
fn index(dir: &Path, image: Option<PdqHash>) -> PathBuf {
    let mut b = IndexBuilder::new();
    for name in KNOWN {
        let frames = frames_file(&fixtures().join(format!("video/known/{name}.txt")));
        b.add_hashes(name, "propaganda", name, [ListHash::Vpdq(frames.into())])
            .unwrap();
    }
    if let Some(h) = image {
        b.add_hashes("stills", "propaganda", "stills", [ListHash::Pdq(h)])
            .unwrap();
    }
    let path = dir.join("known.vidx");
    b.write(&path).unwrap();
    path
}

/// The vPDQ frames `vigie hash` reports for each fixture video, by file name.
fn hashed() -> Vec<(String, Vec<VpdqFrame>)> {
    let dir = fixtures().join("video");
    let out = run([
        "hash".as_ref(),
        "--algo".as_ref(),
        "md5,vpdq".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(code(&out), 0);
    let mut v: Vec<(String, Vec<VpdqFrame>)> = jsonl(&out.stdout)
        .iter()
        .filter(|r| r.get("vpdq").is_some())
        .map(|r| {
            let path = r["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            (name.into_owned(), signal_frames(&r["vpdq"]))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(v.len(), 3);
    v
}

/// (video file, known video, query %, compared %) of every vpdq hit of a scan's records.
fn vpdq_hits(records: &[Value]) -> Vec<(String, String, f64, f64)> {
    let mut v: Vec<_> = records
        .iter()
        .filter(|r| r["algorithm"] == "vpdq")
        .map(|r| {
            let path = r["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                r["matched_video"].as_str().unwrap().to_string(),
                r["query_match_pct"].as_f64().unwrap(),
                r["compared_match_pct"].as_f64().unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

/// Equal verdicts, the percentages to 1e-9 (serde_json's float parsing, used here to read
/// the records, is not always correctly rounded; vigie writes the shortest exact form).
fn assert_same(got: &[(String, String, f64, f64)], want: &[(String, String, f64, f64)]) {
    let key = |v: &[(String, String, f64, f64)]| -> Vec<(String, String)> {
        v.iter().map(|x| (x.0.clone(), x.1.clone())).collect()
    };
    assert_eq!(key(got), key(want), "{got:?} {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.2 - w.2).abs() < 1e-9 && (g.3 - w.3).abs() < 1e-9,
            "{g:?} {w:?}"
        );
    }
}

/// What brute force says a scan with these settings must report.
fn expected(
    hashed: &[(String, Vec<VpdqFrame>)],
    query_pct: f64,
    compared_pct: f64,
) -> Vec<(String, String, f64, f64)> {
    let mut want = Vec::new();
    for (file, q) in hashed {
        for name in KNOWN {
            let k = frames_file(&fixtures().join(format!("video/known/{name}.txt")));
            if let Some((a, b)) = brute(q, &k, 50, 31) {
                if a >= query_pct && b >= compared_pct {
                    want.push((file.clone(), format!("{name}:1"), a, b));
                }
            }
        }
    }
    want
}

#[test]
fn scanned_videos_match_known_videos_as_brute_force_says() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(tmp.path(), None);
    let hashed = hashed();
    let dir = fixtures().join("video");
    let scan = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["scan".as_ref(), "-i".as_ref()];
        args.push(idx.as_os_str());
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(dir.as_os_str());
        run(args)
    };
    // Defaults: 80 % of the scanned video's frames, 0 % of the known video's.
    let out = scan(&[]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let records = jsonl(&out.stdout);
    let got = vpdq_hits(&records);
    assert_same(&got, &expected(&hashed, 80.0, 0.0));
    // The watermarked copy (small logo) is found, the one under a large logo is not; the
    // doorknob video matches its own known copy (a different FFmpeg build's hashes).
    let pairs: Vec<(&str, &str)> = got.iter().map(|g| (g.0.as_str(), g.1.as_str())).collect();
    assert!(pairs.contains(&(
        "pattern-sd-grey-bar.mp4",
        "pattern-sd-with-small-logo-bar:1"
    )));
    assert!(!pairs
        .iter()
        .any(|p| p.1.starts_with("pattern-sd-with-large")));
    assert!(pairs.contains(&("doorknob-hd-no-bar.mp4", "doorknob-hd-no-bar:1")));
    let hit = records
        .iter()
        .find(|r| r["matched_video"] == "pattern-sd-with-small-logo-bar:1")
        .unwrap();
    assert_eq!(hit["verdict"], "match");
    assert_eq!(
        (hit["list"].as_str(), hit["label"].as_str()),
        (Some("pattern-sd-with-small-logo-bar"), Some("propaganda"))
    );
    assert!(hit["distance"].as_u64().unwrap() <= 31);
    assert!(hit.get("hash").is_none());
    // One run of matching frames over the whole clip.
    let seg = hit["segments"].as_array().unwrap();
    assert_eq!(seg.len(), 1, "{seg:?}");
    assert_eq!(seg[0][0].as_f64(), Some(0.0));
    assert!(seg[0][1].as_f64().unwrap() >= 5.0, "{seg:?}");

    // The vpdq README's convention (80 % both ways: nothing here), then 12 % of the known
    // video (the small logo only), then any shared frame (both): the flags reach the
    // comparison.
    for (q, c, n) in [(80.0, 80.0, 0), (0.0, 12.0, 1), (0.0, 0.0, 2)] {
        let (qs, cs) = (q.to_string(), c.to_string());
        let out = scan(&["--vpdq-query-pct", &qs, "--vpdq-compared-pct", &cs]);
        let got = vpdq_hits(&jsonl(&out.stdout));
        assert_same(&got, &expected(&hashed, q, c));
        assert_eq!(got.len(), n, "{q} {c}: {got:?}");
    }
}

#[test]
fn a_frame_near_a_known_image_is_a_pdq_hit_with_its_time() {
    let tmp = tempfile::tempdir().unwrap();
    let hashed = hashed();
    let (_, door) = hashed.iter().find(|h| h.0.starts_with("doorknob")).unwrap();
    // A still of the doorknob video's second hashed frame, a few bits off.
    let mut still = door[1].hash;
    still.0[0] ^= 0b0110_0001;
    let idx = index(tmp.path(), Some(still));
    let video = fixtures().join("video/doorknob-hd-no-bar.mp4");
    let out = run([
        "scan".as_ref(),
        "-i".as_ref(),
        idx.as_os_str(),
        video.as_os_str(),
    ]);
    assert_eq!(code(&out), 1);
    let records = jsonl(&out.stdout);
    let pdq: Vec<&Value> = records.iter().filter(|r| r["algorithm"] == "pdq").collect();
    assert_eq!(pdq.len(), 1, "{records:?}");
    assert_eq!(pdq[0]["list"], "stills");
    assert_eq!(pdq[0]["matched_hash"], still.to_hex());
    assert_eq!(pdq[0]["hash"], door[1].hash.to_hex());
    assert_eq!(pdq[0]["distance"], 3);
    assert_eq!(
        pdq[0]["timestamp"].as_f64(),
        Some(f64::from(door[1].timestamp))
    );
}
