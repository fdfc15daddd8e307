//! `--include`, `--exclude`, `--min-size`, `--max-size`: files left out are skipped and
//! counted by reason in the summary, never opened; archive members are not filtered.

mod common;
use common::{code, jsonl, run};
use std::path::Path;

/// A tree: a.jpg (10 B), b.log (20 B), sub/c.jpg (3000 B), sub/cache/d.bin (5 B), and a tar
/// holding x.log.
fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/cache")).unwrap();
    std::fs::write(root.join("a.jpg"), vec![1u8; 10]).unwrap();
    std::fs::write(root.join("b.log"), vec![2u8; 20]).unwrap();
    std::fs::write(root.join("sub/c.jpg"), vec![3u8; 3000]).unwrap();
    std::fs::write(root.join("sub/cache/d.bin"), vec![4u8; 5]).unwrap();
    std::fs::copy(
        "fixtures/example/dump/shard-0001.tar",
        root.join("shard.tar"),
    )
    .unwrap();
}

/// Runs `vigie hash` with `flags` over the tree: (the records' names, the summary).
fn hash(root: &Path, flags: &[&str]) -> (Vec<String>, serde_json::Value) {
    let summary = root.parent().unwrap().join("summary.json");
    let mut args = vec!["hash", "-q", "--summary", summary.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push(root.to_str().unwrap());
    let o = run(&args);
    assert_eq!(code(&o), 0, "{o:?}");
    let mut names: Vec<String> = jsonl(&o.stdout)
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            let rel = p
                .strip_prefix(root.to_str().unwrap())
                .unwrap()
                .trim_start_matches('/');
            match r["member"].as_str() {
                Some(m) => format!("{rel}:{m}"),
                None => rel.to_string(),
            }
        })
        .collect();
    names.sort();
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    (names, s)
}

#[test]
fn globs_and_sizes_skip_files_and_count_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    tree(&root);
    let (all, s) = hash(&root, &[]);
    assert!(all.contains(&"b.log".to_string()));
    let members = all.iter().filter(|n| n.starts_with("shard.tar:")).count();
    assert!(members > 0);
    // The tar's records: its members (and its own, if it has one).
    let tar = all.iter().filter(|n| n.starts_with("shard.tar")).count();
    assert!(s["skipped"].as_object().unwrap().is_empty());

    let (names, s) = hash(&root, &["--include", "*.jpg"]);
    assert_eq!(names, ["a.jpg", "sub/c.jpg"]);
    assert_eq!(s["skipped"]["excluded"], 3);

    // Name globs and whole-path globs; --exclude wins over --include.
    let cache = format!("{}/**/cache/*", root.display());
    let (names, s) = hash(
        &root,
        &[
            "--exclude",
            "*.log",
            "--exclude",
            &cache,
            "--exclude",
            "*.tar",
        ],
    );
    assert_eq!(names, ["a.jpg", "sub/c.jpg"]);
    assert_eq!(s["skipped"]["excluded"], 3);
    let (names, _) = hash(&root, &["--include", "*.jpg", "--exclude", "c.*"]);
    assert_eq!(names, ["a.jpg"]);

    // Sizes, with suffixes; a tar's members are not filtered, only the tar itself.
    let (names, s) = hash(&root, &["--min-size", "1K", "--exclude", "*.log"]);
    assert!(names.contains(&"sub/c.jpg".to_string()));
    assert_eq!(
        names.iter().filter(|n| n.starts_with("shard.tar")).count(),
        tar
    );
    assert!(!names.contains(&"a.jpg".to_string()));
    assert_eq!(s["skipped"]["size"], 2);
    assert_eq!(s["skipped"]["excluded"], 1);
    let (names, s) = hash(&root, &["--max-size", "20"]);
    assert_eq!(names, ["a.jpg", "b.log", "sub/cache/d.bin"]);
    assert_eq!(s["skipped"]["size"], 2);
}

#[test]
fn bad_globs_and_sizes_are_refused_before_reading() {
    for (flag, value, says) in [
        ("--include", "a[", "bad glob"),
        ("--min-size", "10Q", "not a size"),
        ("--max-size", "lots", "not a size"),
        ("--max-size", "99999999999T", "too large"),
    ] {
        let o = run(["hash", flag, value, "fixtures/example/dump"]);
        assert_eq!(code(&o), 2, "{flag} {value}");
        assert!(o.stdout.is_empty());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}
