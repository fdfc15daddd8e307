//! `scan --list` takes the per-list options of `index build`: `--name`, `--label`, `--type`
//! and `--list-format` apply to the next `--list` or `--allow`.

mod common;
use common::{code, jsonl, run};

#[test]
fn per_list_options_name_label_and_type_the_next_list() {
    let o = run([
        "scan",
        "-q",
        "--name",
        "partner-feed",
        "--label",
        "pf",
        "--list",
        "fixtures/example/lists/partner.md5",
        "--list",
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 1, "{o:?}");
    let hits = jsonl(&o.stdout);
    let md5 = hits.iter().find(|h| h["algorithm"] == "md5").unwrap();
    assert_eq!(
        (md5["list"].as_str(), md5["label"].as_str()),
        (Some("partner-feed"), Some("pf"))
    );
    // The second list keeps its defaults.
    let sha = hits.iter().find(|h| h["algorithm"] == "sha256").unwrap();
    assert_eq!(sha["list"], "known-bad");

    // --type and --list-format as index build takes them: a bare 64-hex list read as PDQ
    // holds no SHA-256, so the tar member's digest no longer matches it.
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bare.txt");
    std::fs::copy("fixtures/example/lists/known-bad.sha256", &list).unwrap();
    let plain = run([
        "scan",
        "-q",
        "--list",
        list.to_str().unwrap(),
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&plain), 1);
    let o = run([
        "scan",
        "-q",
        "--type",
        "pdq",
        "--list-format",
        "coreutils",
        "--list",
        list.to_str().unwrap(),
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 0, "{o:?}");
    assert!(jsonl(&o.stdout).is_empty());

    // An option not followed by a list, and options with --index, are refused.
    let o = run([
        "scan",
        "--list",
        "fixtures/example/lists/partner.md5",
        "--name",
        "x",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--name"));
    let o = run([
        "scan",
        "-i",
        "x.vigie",
        "--label",
        "l",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
}
