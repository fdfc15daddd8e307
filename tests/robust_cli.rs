//! Issue 16, "never silently wrong": exit statuses that never claim more than was done,
//! messages that cannot crash the run, outputs that never replace special files, output
//! paths checked before the scan, and every failed item named.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;

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

/// A small list to build indexes from.
fn small_list(dir: &Path) -> PathBuf {
    let list = dir.join("l.sha256");
    fs::write(&list, format!("{:064x}\n{:064x}\n", 1, 2)).unwrap();
    list
}

fn build_to(target: &Path, list: &Path) -> std::process::Output {
    run(argv!["index", "build", "-q", "-o", target, list])
}

#[test]
fn index_build_writes_dev_null_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let list = small_list(dir.path());
    let out = build_to(Path::new("/dev/null"), &list);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let t = fs::metadata("/dev/null").unwrap().file_type();
    assert!(t.is_char_device(), "/dev/null is still a device: {t:?}");
}

#[test]
fn index_build_never_replaces_a_device_node() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let list = small_list(dir.path());
    // A private null device (c 1 3), when this process may create one (root in most
    // containers): what `-o /dev/null` does, without risking the real one.
    let dev = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("mknod not permitted here: only /dev/null itself is checked");
        return;
    }
    let out = build_to(&dev, &list);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let t = fs::symlink_metadata(&dev).unwrap().file_type();
    assert!(t.is_char_device(), "the device node is still one: {t:?}");
}

#[test]
fn index_build_writes_a_fifo_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let list = small_list(dir.path());
    let fifo = dir.path().join("pipe");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let copy = dir.path().join("copy.vigie");
    let mut reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(fs::File::create(&copy).unwrap())
        .spawn()
        .unwrap();
    let out = build_to(&fifo, &list);
    let t = fs::symlink_metadata(&fifo).unwrap().file_type();
    if !t.is_fifo() {
        let _ = reader.kill();
    }
    let _ = reader.wait();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(t.is_fifo(), "the fifo is still one: {t:?}");
    // What went through the fifo is the index.
    let reference = dir.path().join("ref.vigie");
    assert_eq!(code(&build_to(&reference, &list)), 0);
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&reference).unwrap());
}

/// How many times `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn a_bad_summary_path_fails_before_the_scan() {
    let (dir, root, list) = many_files(10);
    let summary = dir.path().join("no-such-dir/s.json");
    let out = run(argv![
        "scan",
        "-q",
        "--all",
        "--summary",
        summary,
        "--list",
        list,
        root
    ]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing scanned: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(count(&err, &summary.display().to_string()), 1, "{err}");

    let output = dir.path().join("no-such-dir/o.jsonl");
    let out = run(argv!["scan", "-q", "-o", output, "--list", list, root]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert_eq!(count(&err, &output.display().to_string()), 1, "{err}");

    let index = dir.path().join("no-such-dir/x.vigie");
    let out = build_to(&index, &list);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert_eq!(count(&err, &index.display().to_string()), 1, "{err}");
    // Checked before any list is read: a list that would never end (a fifo nobody writes)
    // is not even opened.
    let fifo = dir.path().join("list.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let child = vigie()
        .args([
            os("index"),
            os("build"),
            os("-q"),
            os("-o"),
            index.as_os_str(),
        ])
        .arg(&fifo)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_within(
        child,
        20,
        "index build reading its lists before checking -o",
    );
    assert_eq!(code(&out), 2);
}

#[test]
fn a_missing_index_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("nope.vigie");
    let n = nope.display().to_string();
    let list = small_list(dir.path());
    for args in [
        vec![
            os("scan"),
            os("-q"),
            os("-i"),
            nope.as_os_str(),
            dir.path().as_os_str(),
        ],
        vec![
            os("match"),
            os("-q"),
            os("-i"),
            nope.as_os_str(),
            list.as_os_str(),
        ],
        vec![os("index"), os("info"), nope.as_os_str()],
    ] {
        let out = run(&args);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{err}");
        assert!(
            err.contains(&format!("cannot open index {n}: No such file or directory")),
            "{args:?}: {err}"
        );
        assert_eq!(count(&err, &n), 1, "{args:?}: {err}");
    }
}

/// A dump with one item the list holds and one path that does not exist.
fn matched_and_failed() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bin");
    fs::write(&bad, b"bad\n").unwrap();
    let list = dir.path().join("bad.sha256");
    let hashed = run(argv![
        "hash",
        "-q",
        "--format",
        "sha256sum",
        "-o",
        list,
        bad
    ]);
    assert_eq!(code(&hashed), 0, "{}", stderr(&hashed));
    let missing = dir.path().join("missing.bin");
    (dir, list, bad, missing)
}

#[test]
fn a_match_is_never_hidden_by_a_failure() {
    let (dir, list, bad, missing) = matched_and_failed();
    let summary = dir.path().join("s.json");
    let out = run(argv![
        "scan",
        "-q",
        "--summary",
        summary,
        "--list",
        list,
        bad,
        missing
    ]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "a match wins over a failure: {err}");
    assert_eq!(jsonl(&out.stdout).len(), 1);
    // Named on stderr even under -q, with its reason.
    let m = missing.display().to_string();
    assert!(err.contains(&format!("vigie: {m}: open: ")), "{err}");
    let s: serde_json::Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(
        (s["matched"].as_u64(), s["failed"].as_u64()),
        (Some(1), Some(1))
    );

    // The summary on stderr says both.
    let out = run(argv!["scan", "--list", list, bad, missing]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("1 matched") && err.contains("1 failed"),
        "{err}"
    );

    // --no-messages: not named, same status.
    let out = run(argv![
        "scan",
        "-q",
        "--no-messages",
        "--list",
        list,
        bad,
        missing
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");

    // Nothing matched and something failed: 2.
    let out = run(argv!["scan", "-q", "--list", list, missing]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn every_job_names_its_failed_items() {
    let (dir, list, bad, missing) = matched_and_failed();
    let m = missing.display().to_string();
    // hash, in JSON lines too (not only in the list formats).
    let out = run(argv!["hash", "-q", bad, missing]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        count(&stderr(&out), &format!("vigie: {m}: open: ")),
        1,
        "{}",
        stderr(&out)
    );
    let out = run(argv!["hash", "-q", "--no-messages", bad, missing]);
    assert_eq!((code(&out), stderr(&out).as_str()), (2, ""));

    // match: LIST:LINE, and a list that cannot be read.
    let index = dir.path().join("i.vigie");
    assert_eq!(code(&build_to(&index, &list)), 0);
    let queries = dir.path().join("q.sha256");
    fs::write(
        &queries,
        format!(
            "{}\nnot a hash\n",
            fs::read_to_string(&list).unwrap().trim()
        ),
    )
    .unwrap();
    let out = run(argv!["match", "-q", "-i", index, queries, missing]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let q = queries.display().to_string();
    assert!(err.contains(&format!("vigie: {q}:2: list: ")), "{err}");
    assert!(err.contains(&format!("vigie: {m}: open: ")), "{err}");
}
