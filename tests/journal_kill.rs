//! The kill test (issue 16, case 17): a journaled scan of a 20,000-item dump (a directory of
//! files, a tar read in place, a tar.gz read as a stream) is cut at random points by
//! `kill -9` or SIGTERM and resumed with `--resume` until it completes; every such chain of
//! runs must leave exactly the records and counts of one uninterrupted run: no item twice,
//! none lost.
//!
//! `VIGIE_KILL_POINTS` sets the number of kills (default 200), `VIGIE_KILL_SEED` the seed
//! (printed, to replay a failure).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{code, run, stderr, vigie, XorShift};
use serde_json::Value;

/// Items in the dump: files in the tree, members of the tar, members of the tar.gz.
const TREE: usize = 2_000;
const TAR: usize = 16_000;
const TGZ: usize = 2_000;
/// Kills in one chain before it is let run to its end.
const KILLS_PER_CHAIN: usize = 10;

fn content(i: usize) -> String {
    // Sizes vary (1 to ~1 KiB) so that tar members span one to three blocks.
    format!("item {i} {}\n", "x".repeat(i * 7919 % 1000))
}

/// Writes the dump under `dir`: tree/ (TREE files), big.tar (TAR members), small.tar.gz
/// (TGZ members); returns the dump's path and a list blocklisting every 13th item.
fn make_dump(dir: &Path) -> (PathBuf, PathBuf) {
    let dump = dir.join("dump");
    let tree = dump.join("tree");
    for i in 0..TREE {
        let d = tree.join(format!("d{}", i % 20));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("f{i}")), content(i)).unwrap();
    }
    for (name, first, n, flag) in [
        ("big.tar", TREE, TAR, "-cf"),
        ("small.tar.gz", TREE + TAR, TGZ, "-czf"),
    ] {
        let src = dir.join(format!("src-{name}"));
        fs::create_dir_all(&src).unwrap();
        for i in first..first + n {
            fs::write(src.join(format!("m{i}")), content(i)).unwrap();
        }
        let ok = Command::new("tar")
            .arg(flag)
            .arg(dump.join(name))
            .arg("-C")
            .arg(&src)
            .arg(".")
            .status()
            .unwrap();
        assert!(ok.success());
        fs::remove_dir_all(&src).unwrap();
    }
    let list = dir.join("bad.md5");
    let mut text = String::new();
    for i in (0..TREE + TAR + TGZ).step_by(13) {
        let digest = md5_hex(content(i).as_bytes());
        text.push_str(&format!("{digest}  item{i}\n"));
    }
    fs::write(&list, text).unwrap();
    (dump, list)
}

fn md5_hex(b: &[u8]) -> String {
    let d = vigie::hash::hash_bytes("md5".parse().unwrap(), b);
    d.get(vigie::hash::Algo::Md5).unwrap().to_hex()
}

/// Records as sorted lines (the order of records is the order items finished).
fn sorted_lines(p: &Path) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = fs::read(p)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    lines.sort();
    lines
}

/// The counts of a summary file that must not depend on how the run was cut.
fn counts(p: &Path) -> BTreeMap<String, Value> {
    let v: Value = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
    [
        "complete",
        "items",
        "bytes",
        "matched",
        "clean",
        "failed",
        "hits",
        "skipped",
        "failed_by_reason",
    ]
    .iter()
    .map(|k| (k.to_string(), v[*k].clone()))
    .collect()
}

#[test]
fn killed_and_resumed_runs_equal_one_uninterrupted_run() {
    let points: usize = std::env::var("VIGIE_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("VIGIE_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill test: {points} points, VIGIE_KILL_SEED={seed}");
    let mut rng = XorShift(seed);

    let dir = tempfile::tempdir().unwrap();
    let (dump, list) = make_dump(dir.path());
    let index = dir.path().join("bad.vigie");
    let o = run([
        "index".as_ref(),
        "build".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        index.as_os_str(),
        list.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let scan = |out: &Path, sum: &Path, journal: Option<&Path>| {
        let mut c = vigie();
        c.args(["scan", "-q", "--all", "-j", "2", "-i"])
            .arg(&index)
            .arg(&dump)
            .arg("-o")
            .arg(out)
            .arg("--summary")
            .arg(sum)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(j) = journal {
            c.arg("--journal").arg(j).arg("--resume");
        }
        c
    };

    let (ref_out, ref_sum) = (dir.path().join("ref.jsonl"), dir.path().join("ref.json"));
    let start = Instant::now();
    let o = scan(&ref_out, &ref_sum, None).output().unwrap();
    let whole = start.elapsed();
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let expected = sorted_lines(&ref_out);
    let expected_counts = counts(&ref_sum);
    assert_eq!(expected.len(), TREE + TAR + TGZ);
    assert_eq!(expected_counts["matched"], (TREE + TAR + TGZ).div_ceil(13));

    // Kills land anywhere from the start-up to well past the middle of an uninterrupted run.
    let window = (whole.as_millis() as u64).max(100);
    let (out, sum, journal) = (
        dir.path().join("out.jsonl"),
        dir.path().join("out.json"),
        dir.path().join("out.journal"),
    );
    let mut done = 0;
    let mut chain = 0;
    while done < points {
        chain += 1;
        for p in [&out, &sum, &journal] {
            let _ = fs::remove_file(p);
        }
        let mut kills = 0;
        loop {
            let mut child = scan(&out, &sum, Some(&journal)).spawn().unwrap();
            let last = kills == KILLS_PER_CHAIN || done == points;
            if !last {
                let delay = 10 + rng.below(window * 3 / 4);
                std::thread::sleep(Duration::from_millis(delay));
                let sig = if rng.below(2) == 0 { "-KILL" } else { "-TERM" };
                let _ = Command::new("kill")
                    .args([sig, &child.id().to_string()])
                    .status();
                kills += 1;
                done += 1;
            }
            let status = child.wait().unwrap();
            match status.code() {
                Some(1) => break, // complete: something matched
                Some(143) | None => continue,
                other => {
                    let mut err = String::new();
                    use std::io::Read;
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    panic!("chain {chain}: resumed run ended with {other:?}: {err}");
                }
            }
        }
        let got = sorted_lines(&out);
        assert_eq!(
            got.len(),
            expected.len(),
            "chain {chain} (seed {seed}): {} records, {} expected",
            got.len(),
            expected.len()
        );
        assert!(
            got == expected,
            "chain {chain} (seed {seed}): records differ"
        );
        assert_eq!(counts(&sum), expected_counts, "chain {chain} (seed {seed})");
    }
    eprintln!(
        "kill test: {done} kills over {chain} chains, every one equal to the uninterrupted run"
    );
}
