//! Issue 16, "never silently wrong": exit statuses that never claim more than was done,
//! messages that cannot crash the run, outputs that never replace special files, output
//! paths checked before the scan, and every failed item named.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::Stdio;

use common::*;

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A tree of `n` small files, and a list whose only hash matches none of them.
fn many_files(n: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    fs::create_dir_all(&root).unwrap();
    for i in 0..n {
        fs::write(root.join(format!("f{i:05}")), format!("item {i}\n")).unwrap();
    }
    let list = dir.path().join("none.sha256");
    fs::write(&list, format!("{}\n", "ab".repeat(32))).unwrap();
    (dir, root, list)
}

#[test]
fn closed_output_pipe_exits_2_quietly() {
    let (_dir, root, list) = many_files(3_000);
    let mut child = vigie()
        .args([os("scan"), os("-q"), os("--all"), os("--list")])
        .arg(&list)
        .arg(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("\"verdict\":\"clean\""), "{line}");
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(2),
        "a run cut by a closed pipe is not complete: {err}"
    );
    assert_eq!(err, "", "a closed pipe is not worth a message");
}

/// Spawns `vigie ARGS` with its stderr a pipe closed at once, and returns its exit code.
fn with_stderr_closed(args: &[&OsStr]) -> Option<i32> {
    let mut child = vigie()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    child.wait().unwrap().code()
}

#[test]
fn a_closed_stderr_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bad.sha256");
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&format!("{:064x}\nnot a hash {i}\n", i + 1));
    }
    fs::write(&list, text).unwrap();
    let index = dir.path().join("x.vigie");
    let code = with_stderr_closed(&[
        os("index"),
        os("build"),
        os("-o"),
        index.as_os_str(),
        list.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "malformed lines are reported, not fatal");
    assert!(index.is_file(), "the index is written");

    // An error message to a closed stderr: still the error's status.
    let nope = dir.path().join("nope.vigie");
    let code = with_stderr_closed(&[
        os("scan"),
        os("-q"),
        os("-i"),
        nope.as_os_str(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code, Some(2));
}
