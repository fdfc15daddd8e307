//! `--files-from` lists that are not lists of paths: an over-long record is a failed item
//! and reading goes on; a binary stream (`/dev/zero`) ends the list with an error at once
//! instead of being buffered as one endless line.

mod common;

use std::process::Stdio;

use common::*;

#[test]
fn over_long_record_is_a_failed_item_between_good_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), b"hello\n").unwrap();
    std::fs::write(d.join("b.txt"), b"world\n").unwrap();
    let list = d.join("paths.txt");
    let mut text = format!("{}\n", d.join("a.txt").display()).into_bytes();
    text.extend(std::iter::repeat_n(b'x', 1 << 20));
    text.extend_from_slice(format!("\n{}\n", d.join("b.txt").display()).as_bytes());
    std::fs::write(&list, text).unwrap();
    let out = run([
        "hash".as_ref(),
        "-q".as_ref(),
        "--files-from".as_ref(),
        list.as_os_str(),
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 3, "{recs:?}");
    let failed: Vec<_> = recs.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(failed.len(), 1, "{recs:?}");
    assert_eq!(failed[0]["path"], format!("{}:2", list.display()));
    assert_eq!(failed[0]["error_kind"], "list");
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .contains("longer than 65536 bytes"));
    assert_eq!(
        recs.iter().filter(|r| r.get("md5").is_some()).count(),
        2,
        "{recs:?}"
    );
}

#[test]
fn dev_zero_ends_promptly_with_an_error() {
    // Under a 2 GiB address-space cap, so that a reader buffering the endless line fails
    // fast instead of taking the machine's memory.
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152; exec \"$0\" hash -q --files-from /dev/zero")
        .arg(env!("CARGO_BIN_EXE_vigie"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_within(child, 30, "vigie hash --files-from /dev/zero");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["path"], "/dev/zero");
    let err = recs[0]["error"].as_str().unwrap();
    assert!(err.contains("record 1 holds a NUL byte"), "{err}");
}
