//! vPDQ bit for bit: every hashed frame of the sample videos in `fixtures/video/` (number,
//! PDQ hash, quality, float32 timestamp) equals what the live reference (PyPI `vpdq` 0.2.5
//! built against the same FFmpeg libraries, run by `scripts/vpdq_reference.py`) printed, at one
//! hash a second and at every frame; and `vigie hash --algo vpdq` reports them from files,
//! directories and tar members, failing a broken video with its exact hashes kept.
#![cfg(feature = "video")]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{fixtures, jsonl, run, XorShift};
use vigie::video::{hash_video, VideoConfig, VideoFormat};

const VIDEOS: [&str; 3] = [
    "test-padded-dimensions.mp4",
    "doorknob-hd-no-bar.mp4",
    "pattern-sd-grey-bar.mp4",
];

/// One frame line: `frame,quality,hex,timestamp` (the timestamp as Python's repr of it).
type Lines = BTreeMap<String, Vec<String>>;

fn expected(seconds: u32) -> Lines {
    let path = fixtures()
        .join("video")
        .join(format!("expected-vpdq-s{seconds}.csv"));
    let text = std::fs::read_to_string(&path).expect("expected hashes");
    let mut out = Lines::new();
    for line in text.lines() {
        let (name, rest) = line.split_once(',').expect("NAME,...");
        out.entry(name.to_string())
            .or_default()
            .push(rest.to_string());
    }
    out
}

fn video(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("video").join(name)).expect("fixture video")
}

fn ours(name: &str, seconds: f64) -> Vec<String> {
    let cfg = VideoConfig {
        vpdq: true,
        seconds_per_hash: seconds,
        ..VideoConfig::default()
    };
    let v = hash_video(&video(name), &cfg)
        .expect("sniffs as a video")
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(v.format, VideoFormat::Mp4);
    v.frames
        .iter()
        .map(|f| {
            format!(
                "{},{},{},{:?}",
                f.frame,
                f.quality,
                f.hash.to_hex(),
                f64::from(f.timestamp)
            )
        })
        .collect()
}

fn compare(seconds: u32) {
    let want = expected(seconds);
    assert_eq!(want.len(), VIDEOS.len());
    let (mut total, mut equal) = (0, 0);
    for name in VIDEOS {
        let w = &want[name];
        let got = ours(name, f64::from(seconds));
        assert_eq!(got.len(), w.len(), "{name}: frames hashed");
        for (g, w) in got.iter().zip(w) {
            total += 1;
            if g == w {
                equal += 1;
            } else {
                eprintln!("{name}: ours {g}, reference {w}");
            }
        }
    }
    assert_eq!(
        equal, total,
        "frames equal to the reference's at {seconds} s"
    );
    assert!(total > 0);
}

#[test]
fn one_hash_a_second_equals_the_reference() {
    compare(1);
}

#[test]
fn every_frame_equals_the_reference() {
    compare(0);
}

/// The `vpdq` strings python-threatexchange wrote for a video (its `threatexchange hash`
/// output, `fixtures/video/te-vpdq.txt`, one hash a second; `te-vpdq-s0.txt`, every frame of
/// `test-padded-dimensions.mp4`): found by the video's MD5, on the line before its signal.
fn signal(name: &str, every_frame: bool) -> Vec<String> {
    let file = if every_frame {
        "te-vpdq-s0.txt"
    } else {
        "te-vpdq.txt"
    };
    let text = std::fs::read_to_string(fixtures().join("video").join(file)).unwrap();
    let json = if every_frame {
        assert_eq!(name, "test-padded-dimensions.mp4");
        text.lines().next().unwrap().strip_prefix("vpdq ").unwrap()
    } else {
        let md5 = md5_of(&fixtures().join("video").join(name));
        let mut lines = text.lines();
        lines
            .position(|l| l == format!("video_md5 {md5}"))
            .unwrap_or_else(|| panic!("{name} is not in {file}"));
        lines.find_map(|l| l.strip_prefix("vpdq ")).unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn md5_of(path: &Path) -> String {
    let out = common::tool("md5sum", &[path.as_os_str()]);
    String::from_utf8(out).unwrap()[..32].to_string()
}

#[test]
fn hash_cli_reports_vpdq_for_files_directories_and_tar_members() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    for name in VIDEOS {
        std::fs::copy(fixtures().join("video").join(name), tree.join(name)).unwrap();
    }
    // Not a video: a text file gets no vpdq field, and no failure.
    std::fs::write(tree.join("notes.txt"), b"hello").unwrap();
    let tar = dir.path().join("videos.tar");
    common::tool(
        "tar",
        &[
            "-cf".as_ref(),
            tar.as_os_str(),
            "-C".as_ref(),
            tree.as_os_str(),
            ".".as_ref(),
        ],
    );
    let o = run([
        "hash".as_ref(),
        "--algo".as_ref(),
        "md5,vpdq".as_ref(),
        tree.as_os_str(),
        tar.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let recs = jsonl(&o.stdout);
    let mut seen = 0;
    for r in &recs {
        let name = r["member"]
            .as_str()
            .or(r["path"].as_str())
            .map(|p| p.rsplit('/').next().unwrap().to_string())
            .unwrap();
        if name == "notes.txt" {
            assert!(r.get("vpdq").is_none() && r.get("error").is_none(), "{r}");
            continue;
        }
        seen += 1;
        let got: Vec<String> = r["vpdq"]
            .as_array()
            .unwrap_or_else(|| panic!("no vpdq in {r}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, signal(&name, false), "{name}");
        assert_eq!(
            r["md5"].as_str().unwrap(),
            md5_of(&fixtures().join("video").join(&name))
        );
        assert!(r["frames"].as_u64().unwrap() > 0);
        assert!(r["duration_s"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(
        seen,
        2 * VIDEOS.len(),
        "each video as a file and as a tar member"
    );
}

#[test]
fn hash_cli_every_frame_and_duration() {
    let want = expected(0);
    let name = "test-padded-dimensions.mp4";
    let path = fixtures().join("video").join(name);
    let o = run([
        "hash".as_ref(),
        "--algo".as_ref(),
        "vpdq".as_ref(),
        "--vpdq-seconds-per-hash".as_ref(),
        "0".as_ref(),
        path.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let r = &jsonl(&o.stdout)[0];
    let got: Vec<String> = r["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, signal(name, true));
    assert_eq!(r["frames"].as_u64(), Some(want[name].len() as u64));
    // ffprobe: 150 frames at 30 fps, a 5 s container duration.
    assert_eq!(r["duration_s"].as_f64(), Some(5.0));
}

#[test]
fn a_broken_video_fails_as_video_with_its_exact_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = video("doorknob-hd-no-bar.mp4");
    // The first 4 KiB: the `ftyp` box and the start of the media data, no `moov`.
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..4096]).unwrap();
    // Garbage after a valid `ftyp`.
    let junk = dir.path().join("junk.mp4");
    let mut j = bytes[..32].to_vec();
    j.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&junk, &j).unwrap();
    let o = run([
        "hash".as_ref(),
        "--algo".as_ref(),
        "md5,vpdq".as_ref(),
        dir.path().as_os_str(),
    ]);
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 2, "{}", common::stderr(&o));
    for r in &recs {
        assert_eq!(r["error_kind"], "video", "{r}");
        assert!(!r["error"].as_str().unwrap().is_empty());
        assert!(r.get("vpdq").is_none());
        let p = Path::new(r["path"].as_str().unwrap());
        assert_eq!(r["md5"].as_str().unwrap(), md5_of(p), "exact hashes kept");
    }
    assert_ne!(
        o.status.code(),
        Some(0),
        "failed items make the run exit non-zero"
    );
}

#[test]
fn limits_fail_videos_before_decoding_them() {
    let path = fixtures().join("video").join("doorknob-hd-no-bar.mp4");
    for (flag, value, why) in [
        ("--video-max-pixels", "1000", "video too large"),
        ("--video-max-duration", "0.5", "video too long"),
        ("--video-max-frames", "10", "over 10 frames"),
    ] {
        let o = run([
            "hash".as_ref(),
            "--algo".as_ref(),
            "vpdq".as_ref(),
            flag.as_ref(),
            value.as_ref(),
            path.as_os_str(),
        ]);
        let r = &jsonl(&o.stdout)[0];
        assert_eq!(r["error_kind"], "video", "{flag}: {r}");
        assert!(r["error"].as_str().unwrap().contains(why), "{flag}: {r}");
    }
}

/// Mutated and truncated copies of a sample video: each is hashed or fails with a reason;
/// none panics, and none crashes the process (a fault in FFmpeg would end this test binary).
/// Mutation 282 gives a stream with no pixel format, on which swscale aborts the process (the
/// reference vpdq 0.2.5 crashes on it: "Assertion desc failed at
/// src/libswscale/swscale_internal.h:725"); vigie must fail it.
#[test]
fn mutated_videos_fail_cleanly() {
    let base = video("test-padded-dimensions.mp4");
    // The first frame hashed only: decoding (FFmpeg, optimised) is what is under test, and
    // PDQ in a debug build would make the test slow.
    let cfg = VideoConfig {
        vpdq: true,
        seconds_per_hash: 100.0,
        ..VideoConfig::default()
    };
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..300 {
        let mut v = base.clone();
        match i % 3 {
            // A few random bytes changed anywhere (the `ftyp` box kept, so it still sniffs).
            0 | 1 => {
                for _ in 0..1 + next() % 16 {
                    let at = 8 + (next() as usize) % (v.len() - 8);
                    v[at] = next() as u8;
                }
            }
            // Cut anywhere.
            _ => v.truncate(12 + (next() as usize) % (v.len() - 12)),
        }
        if std::env::var_os("VIGIE_TEST_TRACE").is_some() {
            eprintln!("mutation {i}");
        }
        match hash_video(&v, &cfg).expect("still sniffs as a video") {
            Ok(h) => {
                ok += 1;
                assert!(h.frames.iter().all(|f| f.quality <= 100));
            }
            Err(e) => {
                failed += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    eprintln!("mutated videos: {ok} hashed, {failed} failed with a reason");
    assert_eq!(ok + failed, 300);
    assert!(failed > 0, "truncations must fail some");
}

/// `test-padded-dimensions.mp4` followed by a `free` box (which the demuxer skips) making it
/// `size` bytes long: the same video, as large as wanted.
fn padded_video(size: usize) -> Vec<u8> {
    let mut v = video("test-padded-dimensions.mp4");
    let free = size - v.len();
    v.extend_from_slice(&u32::try_from(free).unwrap().to_be_bytes());
    v.extend_from_slice(b"free");
    v.resize(size, 0);
    v
}

/// The `vpdq` strings of a record, and its failure when it has none.
fn vpdq_of(r: &serde_json::Value) -> Result<Vec<String>, String> {
    match r["vpdq"].as_array() {
        Some(a) => Ok(a.iter().map(|s| s.as_str().unwrap().to_string()).collect()),
        None => Err(format!("{} {}", r["error_kind"], r["error"])),
    }
}

/// A video that cannot be decoded in place is read into memory to be decoded (up to
/// `--video-max-bytes`); past that bound it keeps its exact hashes and fails as a video not
/// decoded. Never silently unhashed: a tar member over the 16 MiB streaming limit of a
/// compressed tar, and a file of 64 MiB or more read with `--no-mmap`, used to get their exact
/// hashes only, with no vPDQ and no failure.
#[test]
fn streamed_videos_are_decoded_or_fail_as_not_decoded() {
    let want = signal("test-padded-dimensions.mp4", false);
    let dir = tempfile::tempdir().unwrap();
    // Over the 16 MiB a member of a compressed stream is buffered at.
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let member = tree.join("big.mp4");
    std::fs::write(&member, padded_video(17 << 20)).unwrap();
    let tgz = dir.path().join("big.tar.gz");
    common::tool(
        "tar",
        &[
            "-czf".as_ref(),
            tgz.as_os_str(),
            "-C".as_ref(),
            tree.as_os_str(),
            "big.mp4".as_ref(),
        ],
    );
    // At least the 64 MiB from which `--no-mmap` reads a file as a stream.
    let file = dir.path().join("big-file.mp4");
    std::fs::write(&file, padded_video(65 << 20)).unwrap();
    let hash = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["hash".as_ref(), "--algo".as_ref()];
        args.push("md5,vpdq".as_ref());
        args.push("--no-mmap".as_ref());
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(tgz.as_os_str());
        args.push(file.as_os_str());
        let o = run(args);
        let recs = jsonl(&o.stdout);
        assert_eq!(recs.len(), 2, "{}", common::stderr(&o));
        (o, recs)
    };
    let (o, recs) = hash(&[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    for r in &recs {
        assert_eq!(vpdq_of(r).as_ref(), Ok(&want), "{r}");
    }
    assert_eq!(recs[0]["md5"].as_str().unwrap(), md5_of(&member));
    assert_eq!(recs[1]["md5"].as_str().unwrap(), md5_of(&file));
    // Over the buffering bound: not decoded, said so, exact hashes kept.
    let (o, recs) = hash(&["--video-max-bytes", "1000000"]);
    assert_eq!(common::code(&o), 2, "failed items make the run exit 2");
    for r in &recs {
        assert_eq!(r["error_kind"], "video", "{r}");
        let why = r["error"].as_str().unwrap();
        assert!(
            why.contains("not decoded") && why.contains("1000000"),
            "{r}"
        );
        assert!(r.get("vpdq").is_none());
    }
    assert_eq!(recs[0]["md5"].as_str().unwrap(), md5_of(&member));
    assert_eq!(recs[1]["md5"].as_str().unwrap(), md5_of(&file));
}
