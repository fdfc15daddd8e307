//! vPDQ signals in and out (issue 17, point 4), on what the real tools wrote: the
//! ThreatExchange signal lines and dataset CSV written by python-threatexchange
//! (`scripts/te_vpdq_roundtrip.sh`), and the vPDQ reference CLI's per-frame files, read into
//! the frames the live reference computes (`fixtures/video/expected-vpdq-s*.csv`); `vigie
//! index build` from each format counts its known videos; and `vigie hash --format te|te-csv`
//! writes exactly the signals python-threatexchange writes for the same videos, which vigie
//! reads back.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{code, fixtures, run, stderr};
use vigie::lists::{read_list, ListFormat, ListHash};
use vigie::video::VpdqFrame;

/// The fixture videos, in the order the round-trip script hashed them (sorted names).
const VIDEOS: [&str; 3] = [
    "doorknob-hd-no-bar.mp4",
    "pattern-sd-grey-bar.mp4",
    "test-padded-dimensions.mp4",
];

fn video_fixture(name: &str) -> PathBuf {
    fixtures().join("video").join(name)
}

/// The reference's frames per video: (frame, quality, hex, timestamp).
fn expected(seconds: u32) -> BTreeMap<String, Vec<(u64, u8, String, f32)>> {
    let text = std::fs::read_to_string(video_fixture(&format!("expected-vpdq-s{seconds}.csv")))
        .expect("expected hashes");
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        out.entry(f[0].to_string()).or_default().push((
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].to_string(),
            f[4].parse().unwrap(),
        ));
    }
    out
}

/// A known video read from a list: its name, its frames.
type Known = (Option<String>, Vec<VpdqFrame>);

/// The known videos of a list, in list order, with their names and the list's format.
fn videos(path: &Path) -> (ListFormat, Vec<Known>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let s = read_list(
        path,
        None,
        |e| {
            if let ListHash::Vpdq(f) = e.hash {
                let name = e.name.map(|n| String::from_utf8_lossy(&n).into_owned());
                out.push((name, f.into_vec()));
            }
        },
        |p| problems.push(p),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    (s.format, out)
}

/// Frames equal to the reference's: hash and quality exactly, the timestamp as closely as
/// the list writes it (`tolerance`, relative to max(1 s, t)), frame numbers when `numbered`.
fn assert_frames(
    what: &str,
    got: &[VpdqFrame],
    want: &[(u64, u8, String, f32)],
    tolerance: f32,
    numbered: bool,
) {
    assert_eq!(got.len(), want.len(), "{what}: frame count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.hash.to_hex(), w.2, "{what}: frame {i} hash");
        assert_eq!(g.quality, w.1, "{what}: frame {i} quality");
        assert!(
            (g.timestamp - w.3).abs() <= tolerance * w.3.max(1.0),
            "{what}: frame {i} timestamp {} vs {}",
            g.timestamp,
            w.3
        );
        assert_eq!(
            g.frame,
            if numbered { w.0 } else { i as u64 },
            "{what}: {i}"
        );
    }
}

#[test]
fn threatexchange_signal_lines_and_dataset_csv_read_into_the_reference_frames() {
    let want = expected(1);
    for (file, format) in [
        ("te-vpdq.txt", ListFormat::ThreatExchange),
        ("te-vpdq.csv", ListFormat::TeDataset),
    ] {
        let (f, got) = videos(&video_fixture(file));
        assert_eq!(f, format, "{file}");
        assert_eq!(got.len(), VIDEOS.len(), "{file}");
        let mut seen: Vec<&str> = Vec::new();
        for (name, frames) in &got {
            // Neither format names the video: the index names it LIST:LINE. (pytx's export
            // may order its rows otherwise: the video is told by its first frame.)
            assert_eq!(name, &None);
            let first = frames[0].hash.to_hex();
            let (video, w) = want.iter().find(|(_, w)| w[0].2 == first).unwrap();
            assert_frames(&format!("{file} {video}"), frames, w, 0.0, false);
            seen.push(video);
        }
        seen.sort_unstable();
        assert_eq!(seen, VIDEOS, "{file}");
    }
    // Every frame: pytx's timestamps keep three significant digits (0.0333, 4.97).
    let (_, got) = videos(&video_fixture("te-vpdq-s0.txt"));
    assert_eq!(got.len(), 1);
    let want = &expected(0)["test-padded-dimensions.mp4"];
    assert_frames("te-vpdq-s0.txt", &got[0].1, want, 0.005, false);
}

#[test]
fn reference_cli_frame_files_are_one_video_each_named_by_the_stem() {
    // test-padded-dimensions reproduces bit for bit on this FFmpeg (VPDQ_NOTES.md).
    let (f, got) = videos(&video_fixture("test-padded-dimensions.txt"));
    assert_eq!(f, ListFormat::VpdqFrames);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("test-padded-dimensions"));
    let want = &expected(0)["test-padded-dimensions.mp4"];
    assert_frames("frames file", &got[0].1, want, 0.0005, true);

    // doorknob's committed file came from another FFmpeg: same frames, other hashes.
    let (_, got) = videos(&video_fixture("doorknob-hd-no-bar.txt"));
    assert_eq!(got[0].0.as_deref(), Some("doorknob-hd-no-bar"));
    assert_eq!(got[0].1.len(), expected(0)["doorknob-hd-no-bar.mp4"].len());
}

/// `vigie index build` of `lists` (with `args` before them), then the known videos its
/// `index info` counts.
fn indexed_videos(args: &[&str], lists: &[&str]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("v.vigie");
    let mut cmd: Vec<std::ffi::OsString> = vec!["index".into(), "build".into(), "--strict".into()];
    cmd.extend(args.iter().map(Into::into));
    cmd.push("-o".into());
    cmd.push(idx.clone().into());
    cmd.extend(lists.iter().map(|l| video_fixture(l).into()));
    let o = run(&cmd);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run([
        std::ffi::OsStr::new("index"),
        "info".as_ref(),
        idx.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("videos (vpdq)"))
        .unwrap_or_else(|| panic!("no videos line in {text}"));
    line.split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn index_build_from_each_vpdq_list_format_counts_its_known_videos() {
    assert_eq!(indexed_videos(&[], &["te-vpdq.txt"]), 3);
    assert_eq!(indexed_videos(&[], &["te-vpdq.csv"]), 3);
    assert_eq!(indexed_videos(&[], &["te-vpdq-s0.txt"]), 1);
    assert_eq!(
        indexed_videos(
            &[],
            &["test-padded-dimensions.txt", "doorknob-hd-no-bar.txt"]
        ),
        2
    );
    assert_eq!(
        indexed_videos(
            &["--format", "vpdq-frames", "--type", "vpdq"],
            &["test-padded-dimensions.txt"]
        ),
        1
    );
}

#[test]
fn a_malformed_vpdq_signal_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bad.txt");
    let good = std::fs::read_to_string(video_fixture("te-vpdq.txt")).unwrap();
    let good = good.lines().find(|l| l.starts_with("vpdq ")).unwrap();
    std::fs::write(
        &list,
        format!("{good}\nvpdq []\n{}\n", good.replacen(",100,", ",101,", 1)),
    )
    .unwrap();
    let idx = dir.path().join("v.vigie");
    let o = run([
        "index".as_ref(),
        "build".as_ref(),
        "-o".as_ref(),
        idx.as_os_str(),
        list.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad.txt:2: vpdq signal [] holds no frame"),
        "{err}"
    );
    assert!(err.contains("bad.txt:3: vpdq frame 1 of"), "{err}");
    assert!(err.contains("videos (vpdq): 1"), "{err}");
}

/// `vigie hash --algo ALGOS --format FORMAT [extra] VIDEOS`, its stdout.
#[cfg(feature = "video")]
fn hash(algos: &str, format: &str, extra: &[&str], videos: &[&str]) -> String {
    let mut args: Vec<std::ffi::OsString> =
        vec!["hash".into(), "-q".into(), "--algo".into(), algos.into()];
    args.extend(["--format".into(), format.into()]);
    args.extend(extra.iter().map(Into::into));
    args.extend(videos.iter().map(|v| video_fixture(v).into()));
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// The `vpdq` signals of signal lines, sorted.
fn te_signals(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("vpdq "))
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[cfg(feature = "video")]
#[test]
fn te_writer_writes_what_threatexchange_writes_and_reads_back() {
    let ours = hash("vpdq", "te", &[], &VIDEOS);
    let theirs = std::fs::read_to_string(video_fixture("te-vpdq.txt")).unwrap();
    assert_eq!(te_signals(&ours), te_signals(&theirs));
    assert_eq!(ours.lines().count(), VIDEOS.len(), "{ours}");

    // Read back by vigie: the reference's frames.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.te");
    std::fs::write(&path, &ours).unwrap();
    let (format, got) = videos(&path);
    assert_eq!(format, ListFormat::ThreatExchange);
    let want = expected(1);
    let mut matched = 0;
    for (_, frames) in &got {
        let first = frames[0].hash.to_hex();
        let (name, w) = want.iter().find(|(_, w)| w[0].2 == first).unwrap();
        assert_frames(name, frames, w, 0.0, false);
        matched += 1;
    }
    assert_eq!(matched, VIDEOS.len());

    // Every frame, with timestamps such as 0.0333.
    let ours = hash(
        "vpdq",
        "te",
        &["--vpdq-seconds-per-hash", "0"],
        &["test-padded-dimensions.mp4"],
    );
    let theirs = std::fs::read_to_string(video_fixture("te-vpdq-s0.txt")).unwrap();
    assert_eq!(ours, theirs);
}

#[cfg(feature = "video")]
#[test]
fn te_csv_writer_writes_what_threatexchange_exports_and_reads_back() {
    let ours = hash("md5,vpdq", "te-csv", &[], &VIDEOS);
    let rows = |text: &str, kind: &str| {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let mut v: Vec<String> = r
            .records()
            .map(|r| r.unwrap())
            .filter(|r| &r[0] == kind)
            .map(|r| r[1].to_string())
            .collect();
        v.sort();
        v
    };
    let theirs = std::fs::read_to_string(video_fixture("te-vpdq.csv")).unwrap();
    assert!(ours.starts_with("signal_type,signal_str,collab,category,tags\r\n"));
    assert_eq!(rows(&ours, "vpdq"), rows(&theirs, "vpdq"));
    assert_eq!(rows(&ours, "video_md5"), rows(&theirs, "video_md5"));
    assert_eq!(rows(&ours, "vpdq").len(), VIDEOS.len());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.csv");
    std::fs::write(&path, &ours).unwrap();
    let (format, got) = videos(&path);
    assert_eq!(format, ListFormat::TeDataset);
    assert_eq!(got.len(), VIDEOS.len());
    let want = expected(1);
    for (_, frames) in &got {
        let first = frames[0].hash.to_hex();
        let (name, w) = want.iter().find(|(_, w)| w[0].2 == first).unwrap();
        assert_frames(name, frames, w, 0.0, false);
    }
}
