//! `--shard I/N` for array jobs: every part together is exactly one unsharded scan, no item is
//! in two parts, a rerun of a part writes the same bytes, the index can come from an array
//! job's environment, and `-o DIR` writes `DIR/part-I-of-N.EXT`.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// A dump with a directory tree (shared out by entry), two tar shards, a path list whose
/// lines are shared out by position, a missing path and a corrupt tar (failed items, each
/// reported by one part only), and the example's known items.
fn dump() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    fs::create_dir_all(root.join("a/b")).unwrap();
    for i in 0..40 {
        fs::write(root.join(format!("a/f{i}.txt")), format!("file {i}\n")).unwrap();
    }
    fs::write(root.join("a/b/poster.txt"), item_a()).unwrap();
    fs::copy(fixtures().join("tar/pax.tar"), root.join("a/shard.tar")).unwrap();
    let corrupt = {
        let mut t = fs::read(fixtures().join("tar/ustar.tar")).unwrap();
        t.truncate(1024 + 100);
        t
    };
    fs::write(root.join("a/b/cut.tar"), corrupt).unwrap();
    let listed = dir.path().join("listed");
    fs::create_dir_all(&listed).unwrap();
    let mut lines = String::new();
    for i in 0..25 {
        let p = listed.join(format!("l{i}.bin"));
        fs::write(&p, format!("listed {i}\n")).unwrap();
        lines.push_str(&format!("{}\n", p.display()));
    }
    fs::copy(
        fixtures().join("example/dump/shard-0001.tar"),
        listed.join("example.tar"),
    )
    .unwrap();
    lines.push_str(&format!("{}\n", listed.join("example.tar").display()));
    lines.push_str(&format!("{}\n", listed.join("missing.bin").display()));
    let list = dir.path().join("paths.txt");
    fs::write(&list, lines).unwrap();
    let index = dir.path().join("ix.vigie");
    let out = run([
        OsString::from("index"),
        "build".into(),
        "-q".into(),
        "-o".into(),
        index.clone().into(),
        fixtures().join("example/lists/known-bad.sha256").into(),
        fixtures().join("example/lists/partner.md5").into(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    (dir, root, list, index)
}

/// The bytes of the example's item A (its sha256 is in known-bad.sha256).
fn item_a() -> Vec<u8> {
    fs::read(fixtures().join("example/dump/users/bob/re-upload of A.txt")).unwrap()
}

fn scan(index: &Path, root: &Path, list: &Path, extra: &[OsString]) -> std::process::Output {
    let mut args: Vec<OsString> = vec![
        "scan".into(),
        "-q".into(),
        "--all".into(),
        "-j".into(),
        "2".into(),
        "--index".into(),
        index.into(),
        root.into(),
        "--files-from".into(),
        list.into(),
    ];
    args.extend_from_slice(extra);
    run(args)
}

fn lines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn counted(ls: Vec<Vec<u8>>) -> BTreeMap<Vec<u8>, usize> {
    let mut m = BTreeMap::new();
    for l in ls {
        *m.entry(l).or_default() += 1;
    }
    m
}

#[test]
fn parts_add_up_to_one_scan_and_reruns_are_identical() {
    let (_dir, root, list, index) = dump();
    let whole = scan(&index, &root, &list, &[]);
    // A match and failures (the cut tar, the missing path): 1, a match wins over failures.
    assert_eq!(code(&whole), 1, "{}", stderr(&whole));
    let whole_lines = lines(&whole.stdout);
    assert!(whole_lines.len() > 60, "{}", whole_lines.len());
    assert!(whole_lines
        .iter()
        .any(|l| l.starts_with(br#"{"v":1,"verdict":"match""#)));
    for n in [1u64, 3, 7] {
        let mut union = Vec::new();
        for i in 0..n {
            let shard = OsString::from(format!("{i}/{n}"));
            let a = scan(&index, &root, &list, &["--shard".into(), shard.clone()]);
            let b = scan(&index, &root, &list, &["--shard".into(), shard]);
            assert!(code(&a) <= 2, "{}", stderr(&a));
            assert_eq!(a.stdout, b.stdout, "part {i}/{n} rerun differs");
            let ls = lines(&a.stdout);
            // In path order: (path, offset, member) never decreases.
            let keys: Vec<(String, u64, String)> = ls
                .iter()
                .map(|l| {
                    let r: serde_json::Value = serde_json::from_slice(l).unwrap();
                    (
                        r["path"].as_str().unwrap().to_string(),
                        r["offset"].as_u64().unwrap(),
                        r["member"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "part {i}/{n} is written in path order");
            if n > 1 {
                assert!(ls.len() < whole_lines.len(), "part {i}/{n} took everything");
            }
            union.extend(ls);
        }
        assert_eq!(
            counted(union),
            counted(whole_lines.clone()),
            "the {n} parts are not exactly the whole scan"
        );
    }
}

#[test]
fn index_from_array_job_environment_and_part_files() {
    let (dir, root, list, index) = dump();
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let explicit = scan(&index, &root, &list, &["--shard".into(), "2/3".into()]);
    // Each array system's variable gives the same part (Slurm's made 0-based by its min).
    let envs: [&[(&str, &str)]; 3] = [
        &[("JOB_COMPLETION_INDEX", "2")],
        &[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_MIN", "1")],
        &[("AWS_BATCH_JOB_ARRAY_INDEX", "2")],
    ];
    for env in envs {
        let mut c = vigie();
        c.args(["scan", "-q", "--all", "--shard", "3", "-o"])
            .arg(&out_dir)
            .arg("--index")
            .arg(&index)
            .arg(&root)
            .arg("--files-from")
            .arg(&list);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(code(&o) <= 2, "{env:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
        let part = fs::read(out_dir.join("part-2-of-3.jsonl")).unwrap();
        assert_eq!(part, explicit.stdout, "{env:?}");
        // Nothing else is left in the directory (the temporary file was renamed).
        assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 1);
    }
    // The Slurm example as sbatch would run task 2 of 1-3 (its output directory created).
    let slurm_out = dir.path().join("slurm/out");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_vigie")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let o = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/array-jobs/slurm-array.sh"))
        .arg(&list)
        .arg(&index)
        .arg(&slurm_out)
        .env("PATH", path)
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .env("SLURM_CPUS_PER_TASK", "2")
        .output()
        .unwrap();
    // The example scans only the manifest: the same part of it as --shard 2/3.
    let manifest_only = run([
        OsString::from("scan"),
        "-q".into(),
        "--shard".into(),
        "2/3".into(),
        "--index".into(),
        index.clone().into(),
        "--files-from".into(),
        list.clone().into(),
    ]);
    // Part 2 holds the missing path (unit 26 of 0..27) and no match: vigie's exit 2 fails the
    // task.
    assert_eq!(code(&manifest_only), 2, "{}", stderr(&manifest_only));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(
        fs::read(slurm_out.join("part-2-of-3.jsonl")).unwrap(),
        manifest_only.stdout
    );
    assert!(slurm_out.join("part-2-of-3.summary.json").is_file());

    let o = run(["scan", "--shard", "3", "--list"]
        .iter()
        .map(OsString::from)
        .chain([
            fixtures().join("example/lists/partner.md5").into(),
            root.clone().into(),
        ]));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("needs the task index"),
        "{}",
        stderr(&o)
    );
    for bad in ["3/3", "1/0", "x/2"] {
        let o = scan(&index, &root, &list, &["--shard".into(), bad.into()]);
        assert_eq!(code(&o), 2, "{bad}");
        assert!(stderr(&o).contains("--shard"), "{bad}: {}", stderr(&o));
    }
}
