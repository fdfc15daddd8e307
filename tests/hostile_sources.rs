//! Hostile and unusual sources (issue "Never silently wrong"): a block device named as an
//! input is read whole as dd and hashdeep read it (it used to be skipped as "special", 0 items,
//! exit 0); a fifo or an endless device given as the index is refused at once (it used to be
//! waited on, or read into memory without bound).

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// A loop device over a file, detached on drop.
struct Loop(PathBuf);

impl Loop {
    /// Attaches `image`; panics with how to skip when the machine cannot (not root, no loop
    /// devices): the test must not pass without reading a device.
    fn attach(image: &Path) -> Option<Loop> {
        if std::env::var_os("VIGIE_TEST_NO_LOOP").is_some() {
            eprintln!("VIGIE_TEST_NO_LOOP set: block device test not run");
            return None;
        }
        let o = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(image)
            .output()
            .expect("losetup (util-linux) must be installed");
        assert!(
            o.status.success(),
            "cannot attach a loop device ({}); run as root, or set VIGIE_TEST_NO_LOOP=1 to skip",
            String::from_utf8_lossy(&o.stderr)
        );
        let dev = String::from_utf8(o.stdout).unwrap().trim().to_string();
        Some(Loop(PathBuf::from(dev)))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

#[test]
fn named_block_device_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    // 5 MiB (mapped: over the 4 MiB read() threshold) of varied bytes.
    let bytes: Vec<u8> = (0..5u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&image, &bytes).unwrap();
    let Some(dev) = Loop::attach(&image) else {
        return;
    };
    let want_md5 = tool("md5sum", &[image.as_os_str()]);
    let want_md5 = String::from_utf8(want_md5).unwrap();
    let want_md5 = want_md5.split_whitespace().next().unwrap();
    for mmap in [true, false] {
        let mut args: Vec<OsString> = vec!["hash".into(), "-q".into(), "--algo".into()];
        args.push("md5,sha256".into());
        if !mmap {
            args.push("--no-mmap".into());
        }
        args.push(dev.0.clone().into());
        let o = run(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let recs = jsonl(&o.stdout);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0]["md5"], want_md5, "mmap {mmap}");
        assert_eq!(recs[0]["size"], bytes.len() as u64);
    }
    // Walked into, a device is still skipped (here: a directory holding a device node).
    let devdir = dir.path().join("devs");
    std::fs::create_dir(&devdir).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(&dev.0)
        .arg(devdir.join("node"))
        .status()
        .unwrap();
    assert!(status.success());
    let o = run([OsString::from("hash"), "-q".into(), devdir.into()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

/// Runs vigie with a deadline: an input that would be waited on or read forever fails the
/// test instead of hanging it.
fn run_within(args: &[OsString], secs: u64) -> std::process::Output {
    let child = vigie()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_within(child, secs, &format!("vigie {args:?}"))
}

#[test]
fn fifo_or_endless_device_as_index_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("index.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let item = dir.path().join("item.txt");
    std::fs::write(&item, b"hello\n").unwrap();
    for index in [PathBuf::from("/dev/zero"), fifo] {
        for cmd in ["scan", "match"] {
            let args: Vec<OsString> = vec![
                cmd.into(),
                "--index".into(),
                index.clone().into(),
                item.clone().into(),
            ];
            let o = run_within(&args, 20);
            assert_eq!(code(&o), 2, "{cmd} {}: {}", index.display(), stderr(&o));
            assert!(
                stderr(&o).contains("not a regular file"),
                "{cmd} {}: {}",
                index.display(),
                stderr(&o)
            );
        }
    }
}

/// A decoder that panics on an image (png 0.18 on a 4-byte palette) fails that item with the
/// panic's message as its error, and prints nothing else: no panic text, no backtrace, even
/// under RUST_BACKTRACE=1.
#[test]
fn contained_decoder_panic_is_only_the_items_error() {
    let png = fixtures().join("hostile/pal4.png");
    let o = vigie()
        .args(["hash", "-q", "--algo", "pdq,md5"])
        .arg(&png)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["error_kind"], "image");
    assert!(
        recs[0]["error"].as_str().unwrap().contains("out of range"),
        "{:?}",
        recs[0]
    );
    assert!(recs[0]["md5"].is_string(), "exact digests still computed");
    let err = stderr(&o);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("palette.rs"),
        "stderr: {err}"
    );
}
