//! Files that change while they are read (issue 16, point 8): a file truncated while vigie
//! hashes it is a failed `read` item, and the run goes on to its summary; it used to kill the
//! process with SIGBUS (exit 135: no record, no summary).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Is `path` mapped by process `pid` (a line of /proc/PID/maps ending with it)?
fn maps_file(pid: u32, path: &Path) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let want = path.to_str().unwrap();
    maps.lines().any(|l| l.ends_with(want))
}

/// A 4 GiB sparse file is truncated to nothing as soon as vigie has mapped it (seen in
/// /proc/PID/maps, polled every millisecond; hashing 4 GiB takes vigie seconds). No sleep
/// decides the outcome: truncated while mapped, the read faults and the guard fails the item;
/// had vigie finished first, the size check after hashing fails it all the same. Either way
/// the item is a failed `read` item naming the change, and the run ends with exit 2 and its
/// summary.
#[test]
fn file_truncated_while_hashed_is_a_failed_item_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(4 << 30).unwrap();
    let small = dir.path().join("small.txt");
    std::fs::write(&small, b"still hashed").unwrap();
    let child = vigie()
        .args(["hash", "--algo", "md5"])
        .arg(&big)
        .arg(&small)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(60) {
        if maps_file(child.id(), &big) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f.set_len(0).unwrap();
    let o = wait_within(child, 300, "vigie hash on a truncated file");
    eprintln!(
        "mapped when truncated: {seen}; {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "seen mapped: {seen}; {err}");
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let rec = recs
        .iter()
        .find(|r| r["path"] == big.to_str().unwrap())
        .expect("the big file's record");
    assert_eq!(rec["error_kind"], "read", "{rec:?}");
    assert!(
        rec.get("md5").is_none(),
        "no digest of a truncated file: {rec:?}"
    );
    let why = rec["error"].as_str().unwrap();
    assert!(
        why.contains("shrank") || why.contains("changed size"),
        "{why}"
    );
    assert!(err.contains(big.to_str().unwrap()), "{err}");
    assert!(err.contains("1 failed (read: 1)"), "summary: {err}");
    assert!(recs.iter().any(|r| r["md5"].is_string()), "{recs:?}");
}

/// Runs vigie to its end, polling its peak resident set (VmHWM in /proc/PID/status; it only
/// grows, and a buffer of the whole file would stay resident while it is hashed).
fn run_with_peak(args: &[&std::ffi::OsStr]) -> (std::process::Output, u64) {
    run_with_peak_fed(args, None)
}

/// [`run_with_peak`], with the file `input` written to vigie's standard input through a pipe.
fn run_with_peak_fed(
    args: &[&std::ffi::OsStr],
    input: Option<&Path>,
) -> (std::process::Output, u64) {
    let mut child = vigie()
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        let mut file = std::fs::File::open(input).unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut file, &mut stdin);
        });
    }
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let start = Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(300) {
        if let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb << 10);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (wait_within(child, 60, "vigie"), peak)
}

/// A 512 MiB file read with --no-mmap is hashed as it streams: vigie's peak resident set
/// stays far below the file's size (it used to read the file whole: 512 MiB more), and the
/// digests are those of the mapped read and of md5sum.
#[test]
fn no_mmap_on_a_large_file_keeps_memory_flat_and_agrees_with_mmap() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(512 << 20).unwrap();
    for (i, at) in [0u64, 77 << 20, (512 << 20) - 9].into_iter().enumerate() {
        std::os::unix::fs::FileExt::write_at(&f, format!("part{i}!!!").as_bytes(), at).unwrap();
    }
    drop(f);
    let md5 = String::from_utf8(tool("md5sum", &[big.as_os_str()])).unwrap();
    let md5 = md5.split_whitespace().next().unwrap().to_string();
    let mut recs = Vec::new();
    for no_mmap in [true, false] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["hash".as_ref(), "--algo".as_ref()];
        args.push("md5,sha1".as_ref());
        if no_mmap {
            args.push("--no-mmap".as_ref());
        }
        args.push(big.as_os_str());
        let (o, peak) = run_with_peak(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let r = jsonl(&o.stdout);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["md5"], md5.as_str(), "no-mmap {no_mmap}");
        if no_mmap {
            assert!(peak > 0, "VmHWM was read");
            assert!(peak < 200 << 20, "peak RSS {peak} bytes with --no-mmap");
        }
        recs.push(r.into_iter().next().unwrap());
    }
    assert_eq!(recs[0], recs[1]);
}

/// A tar over the streaming threshold read with --no-mmap is walked as a stream (not read
/// whole): the same records as when it is mapped.
#[test]
fn no_mmap_on_a_large_tar_walks_it_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let f = std::fs::File::create(src.join("large.bin")).unwrap();
    f.set_len(70 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&f, b"in the middle", 33 << 20).unwrap();
    for i in 0..5 {
        std::fs::write(src.join(format!("small{i}.txt")), format!("small {i}")).unwrap();
    }
    let tar = dir.path().join("t.tar");
    let o = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .output()
        .expect("tar must be installed");
    assert!(o.status.success());
    let mut runs = Vec::new();
    for no_mmap in [false, true] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["hash".as_ref(), "--algo".as_ref()];
        args.push("md5".as_ref());
        if no_mmap {
            args.push("--no-mmap".as_ref());
        }
        args.push(tar.as_os_str());
        let (o, _) = run_with_peak(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let mut r = jsonl(&o.stdout);
        r.sort_by_key(|r| r["member"].as_str().unwrap_or_default().to_string());
        assert_eq!(r.len(), 6, "{r:?}");
        runs.push(r);
    }
    assert_eq!(runs[0], runs[1]);
}

/// A gzip-compressed tar over the streaming threshold read with --no-mmap is decoded from
/// the file as a stream (its first block peeked, then the file rewound): the same records as
/// when it is mapped.
#[test]
fn no_mmap_on_a_large_compressed_tar_decodes_it_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    // 66 MiB that gzip cannot shrink below the 64 MiB threshold (xorshift bytes).
    let noise = XorShift(0x9E37_79B9_7F4A_7C15).bytes(66 << 20, |w| w as u8);
    std::fs::write(src.join("noise.bin"), &noise).unwrap();
    std::fs::write(src.join("small.txt"), b"small").unwrap();
    let tar = dir.path().join("t.tar");
    let o = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .arg(".")
        .output()
        .expect("tar must be installed");
    assert!(o.status.success());
    let o = std::process::Command::new("gzip")
        .args(["-1", "-n"])
        .arg(&tar)
        .output()
        .expect("gzip must be installed");
    assert!(o.status.success());
    let tgz = dir.path().join("t.tar.gz");
    assert!(std::fs::metadata(&tgz).unwrap().len() >= 64 << 20);
    let mut runs = Vec::new();
    for no_mmap in [false, true] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["hash".as_ref(), "--algo".as_ref()];
        args.push("md5".as_ref());
        if no_mmap {
            args.push("--no-mmap".as_ref());
        }
        args.push(tgz.as_os_str());
        let (o, _) = run_with_peak(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let mut r = jsonl(&o.stdout);
        r.sort_by_key(|r| r["member"].as_str().unwrap_or_default().to_string());
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r.iter().all(|r| r["member"].is_string()), "{r:?}");
        runs.push(r);
    }
    assert_eq!(runs[0], runs[1]);
}

/// A zip over the streaming threshold read with --no-mmap (256 MiB stored by `zip -0`, 21 MiB
/// of text deflated by `zip -9`, a small member) is read at positions, its central directory
/// from its end and each member from its range: the same records as when it is mapped, with
/// a flat resident set; piped on standard input, it is spooled to a temporary file and read
/// the same way (the records' path `-`). Both used to hash the zip as one item, its members
/// unread (`unsupported`). Mapped, the resident set stays under 200 MiB too.
#[test]
fn a_large_zip_read_with_no_mmap_or_from_stdin_is_opened_with_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let f = std::fs::File::create(src.join("zeros.bin")).unwrap();
    f.set_len(256 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&f, b"in the middle", 100 << 20).unwrap();
    drop(f);
    let text: String = (0..800_000)
        .map(|i| format!("line {i:07} of a text\n"))
        .collect();
    std::fs::write(src.join("text.txt"), text).unwrap();
    std::fs::write(src.join("a.txt"), "hello world\n").unwrap();
    let zip = dir.path().join("big.zip");
    for (level, files) in [
        ("-0", &["zeros.bin"][..]),
        ("-9", &["text.txt", "a.txt"][..]),
    ] {
        let o = std::process::Command::new("zip")
            .args(["-q", level])
            .arg(&zip)
            .args(files)
            .current_dir(&src)
            .output()
            .expect("zip must be installed");
        assert!(o.status.success(), "{o:?}");
    }
    let zip_len = std::fs::metadata(&zip).unwrap().len();
    assert!(zip_len > 256 << 20);
    let sorted = |o: &std::process::Output| {
        let mut r = jsonl(&o.stdout);
        r.sort_by_key(|r| r["member"].as_str().unwrap_or_default().to_string());
        r
    };
    let md5 = |member: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("unzip -p '{}' {member} | md5sum", zip.display()))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..32].to_string()
    };
    let args = |no_mmap: bool, input: &'static str| -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = vec!["hash".into(), "--algo".into(), "md5".into()];
        if no_mmap {
            a.push("--no-mmap".into());
        }
        a.push(if input == "-" {
            "-".into()
        } else {
            zip.clone().into()
        });
        a
    };
    let as_refs = |a: &[std::ffi::OsString]| -> Vec<std::ffi::OsString> { a.to_vec() };
    let run_it = |a: Vec<std::ffi::OsString>, input: Option<&Path>| {
        let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        run_with_peak_fed(&refs, input)
    };
    let (mapped, peak) = run_it(as_refs(&args(false, "file")), None);
    assert_eq!(code(&mapped), 0, "{}", stderr(&mapped));
    // Mapped, the stored member's pages are released behind its CRC-32 check and its hashing
    // (they stayed resident whole: 300 MB).
    assert!(peak < 200 << 20, "mapped: peak RSS {peak} bytes");
    let mapped = sorted(&mapped);
    assert_eq!(mapped.len(), 4, "{mapped:?}");
    for m in ["zeros.bin", "text.txt", "a.txt"] {
        let r = mapped.iter().find(|r| r["member"] == m).unwrap();
        assert_eq!(r["md5"], md5(m).as_str(), "{m}");
    }
    for (input, feed) in [("file", None), ("-", Some(zip.as_path()))] {
        let (o, peak) = run_it(args(true, input), feed);
        assert_eq!(code(&o), 0, "{input}: {}", stderr(&o));
        let mut r = sorted(&o);
        if input == "-" {
            for rec in &mut r {
                assert_eq!(rec["path"], "-");
                rec["path"] = mapped[0]["path"].clone();
            }
        }
        assert_eq!(r, mapped, "{input}");
        assert!(peak > 0, "VmHWM was read");
        assert!(
            peak < 160 << 20,
            "{input}: peak RSS {peak} bytes with --no-mmap"
        );
    }
}
