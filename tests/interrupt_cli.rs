//! Interrupted runs (issue 16, case 16): SIGINT and SIGTERM end a run with what it read
//! written and marked incomplete, exit 130 / 143, no temporary file left and no older output
//! left looking current; `--summary-record` ends a JSON Lines stream with the summary, so a
//! reader tells a complete stream from a cut one. And the journal's refusals.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{code, jsonl, run, stderr, vigie, wait_within};
use serde_json::Value;

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn small_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let p = dir.join(format!("f{i}"));
            fs::write(&p, format!("file {i}\n")).unwrap();
            p
        })
        .collect()
}

/// A fifo opened read-write by the test: vigie reads paths from it and, once they are read,
/// waits for more that never come (its walker blocked in read()), as with a path list piped
/// from a producer that hangs.
fn endless_path_list(dir: &Path, paths: &[PathBuf]) -> (PathBuf, fs::File) {
    let fifo = dir.join("paths.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut w = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    for p in paths {
        writeln!(w, "{}", p.display()).unwrap();
    }
    (fifo, w)
}

/// SIGTERM while the run waits on its path list: it ends at once (the blocked walker does not
/// hold it), exit 143; `-o` and `--summary` hold what was read, marked incomplete, in place
/// of the older files; no temporary file is left beside them.
#[test]
fn sigterm_writes_what_was_read_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let given = small_files(dir.path(), 5);
    let (fifo, _writer) = endless_path_list(dir.path(), &given);
    let out = dir.path().join("out.jsonl");
    let sum = dir.path().join("sum.json");
    fs::write(&out, "an older run's records\n").unwrap();
    fs::write(&sum, "{\"items\": 99}\n").unwrap();
    let child = vigie()
        .args(["hash", "--summary-record", "--files-from"])
        .arg(&fifo)
        .arg("-o")
        .arg(&out)
        .arg("--summary")
        .arg(&sum)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "TERM");
    let o = wait_within(child, 20, "a run told to stop by SIGTERM");
    assert_eq!(code(&o), 143, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert!(err.contains("INCOMPLETE"), "{err}");

    let recs = jsonl(&fs::read(&out).unwrap());
    let (last, items) = recs.split_last().expect("records");
    assert_eq!(last["type"], "summary");
    assert_eq!(last["complete"], false);
    assert_eq!(last["items"].as_u64().unwrap() as usize, items.len());
    for r in items {
        let p = PathBuf::from(r["path"].as_str().unwrap());
        assert!(given.contains(&p), "{p:?}");
    }
    let summary: Value = serde_json::from_slice(&fs::read(&sum).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["items"], last["items"]);
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// SIGINT: exit 130, and a stream on stdout ends with the summary record saying it is
/// incomplete.
#[test]
fn sigint_ends_the_stream_with_an_incomplete_summary_record() {
    let dir = tempfile::tempdir().unwrap();
    let given = small_files(dir.path(), 3);
    let (fifo, _writer) = endless_path_list(dir.path(), &given);
    let child = vigie()
        .args(["hash", "-q", "--summary-record", "--files-from"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "INT");
    let o = wait_within(child, 20, "a run told to stop by SIGINT");
    assert_eq!(code(&o), 130, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    let last = recs.last().expect("a summary record");
    assert_eq!(last["type"], "summary");
    assert_eq!(last["complete"], false);
    assert_eq!(last["items"].as_u64().unwrap() as usize, recs.len() - 1);
}

/// A complete run's stream ends with a summary record saying so; a format that cannot hold
/// one refuses the flag.
#[test]
fn complete_stream_ends_with_its_summary_record() {
    let dir = tempfile::tempdir().unwrap();
    small_files(dir.path(), 4);
    let o = run([
        "hash".as_ref(),
        "-q".as_ref(),
        "--summary-record".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 5);
    let last = &recs[4];
    assert_eq!(last["type"], "summary");
    assert_eq!(last["complete"], true);
    assert_eq!(last["items"], 4);
    assert!(recs[..4].iter().all(|r| r.get("type").is_none()));

    let o = run([
        "hash".as_ref(),
        "--summary-record".as_ref(),
        "-f".as_ref(),
        "csv".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("JSON Lines"), "{}", stderr(&o));
}

/// A journal is never silently overwritten or resumed by another run; a completed run's
/// journal resumed reads nothing again and reports the same counts.
#[test]
fn journal_refusals_and_a_completed_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    small_files(&data, 6);
    let out = dir.path().join("out.jsonl");
    let journal = dir.path().join("run.journal");
    let sum = dir.path().join("sum.json");
    let args = |extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec!["hash".into(), data.clone().into()];
        a.extend(["-o".into(), out.clone().into(), "--journal".into()]);
        a.push(journal.clone().into());
        a.extend(["--summary".into(), sum.clone().into()]);
        a.extend(extra.iter().map(|s| s.into()));
        a
    };
    let first = run(args(&[]));
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let records = fs::read(&out).unwrap();
    assert_eq!(jsonl(&records).len(), 6);
    let summary: Value = serde_json::from_slice(&fs::read(&sum).unwrap()).unwrap();

    let again = run(args(&[]));
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("give --resume"),
        "{}",
        stderr(&again)
    );

    // Resumed once complete: nothing is read again, the output stays, the counts are the same.
    let resumed = run(args(&["--resume"]));
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    assert_eq!(fs::read(&out).unwrap(), records);
    let again: Value = serde_json::from_slice(&fs::read(&sum).unwrap()).unwrap();
    for k in ["items", "hashed", "failed", "bytes", "complete"] {
        assert_eq!(again[k], summary[k], "{k}");
    }

    // Another run (another format) is refused.
    let other = run(args(&["--resume", "--algo", "md5"]));
    assert_eq!(code(&other), 2);
    assert!(
        stderr(&other).contains("records another run"),
        "{}",
        stderr(&other)
    );

    // A journal needs its records in a file.
    let o = run([
        "hash".as_ref(),
        data.as_os_str(),
        "--journal".as_ref(),
        journal.as_os_str(),
    ]);
    assert_eq!(code(&o), 2);
}
