//! Issue 20, points 2 and 4, end to end: compressed lists read as they are (found by content,
//! never by name) by `index build`, `scan --list` and `match`, a truncated one an error naming
//! it; the layouts peers really write read with no flag (HMA v1's `pdq.csv`, the older
//! `collab,signal_type,...` dataset CSV, `threatexchange dataset -P`'s default print, StopNCII
//! records with a feedback value python-threatexchange does not know); `vigie match --format
//! / --type` per list as `index build`; an unreadable list beside good ones left out, named,
//! counted, and the build's status 2, unless `--strict`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn list(name: &str) -> PathBuf {
    fixtures().join("lists").join(name)
}

fn testfiles() -> PathBuf {
    fixtures().join("samples/testfiles")
}

/// Copies a fixture list into `dir` under another name.
fn copy_as(dir: &Path, fixture: &str, name: &str) -> PathBuf {
    let to = dir.join(name);
    fs::copy(list(fixture), &to).unwrap();
    to
}

fn assert_no_panic(o: &std::process::Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(code(o), 101, "{err}");
}

/// The test files a scan reports, relative to `testfiles/`.
fn hits(out: &[u8]) -> BTreeSet<String> {
    let prefix = format!("{}/", testfiles().display());
    jsonl(out)
        .iter()
        .map(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .strip_prefix(&prefix)
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `index build --dry-run --json` of `lists`: (exit code, the JSON report, stderr).
fn dry_run(lists: Vec<std::ffi::OsString>) -> (i32, Value, String) {
    let mut args = argv!["index", "build", "--dry-run", "--json"];
    args.extend(lists);
    let o = run(&args);
    assert_no_panic(&o);
    let doc = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (code(&o), doc, stderr(&o))
}

/// Entries (exact digests plus PDQ hashes) of the list named `name` in a dry run's report.
fn entries_of(doc: &Value, name: &str) -> u64 {
    let l = doc["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no list {name} in {doc}"));
    let exact: u64 = l["entries"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    exact + l["pdq"].as_u64().unwrap()
}

// ---- point 2: compressed lists ----

#[test]
fn compressed_lists_are_read_by_content_in_build_scan_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Names that say nothing of the compression: it is found by the magic bytes.
    let gz = copy_as(d, "SHA256SUMS.gz", "sums.txt");
    let zst = copy_as(d, "dataset_export.from-cli.csv.zst", "export.csv");
    let xz = copy_as(d, "hma.simple.HASH_PDQ.te.xz", "hma.simple.HASH_PDQ.te.xz");
    let idx = d.join("c.vigie");
    let o = run(argv!["index", "build", "-o", idx, gz, zst, xz]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    for kind in ["gzip", "zstd", "xz"] {
        assert!(err.contains(&format!("note: {kind}-compressed")), "{err}");
    }
    assert!(err.contains("coreutils format") && err.contains("te-csv format"));
    // The same entries as the lists decompressed.
    let (_, packed, _) = dry_run(argv![gz, zst, xz]);
    let (_, plain, _) = dry_run(argv![
        list("SHA256SUMS"),
        list("dataset_export.from-cli.csv"),
        list("hma.simple.HASH_PDQ.te")
    ]);
    assert_eq!(
        entries_of(&packed, "sums"),
        entries_of(&plain, "SHA256SUMS")
    );
    assert_eq!(entries_of(&packed, "sums"), 5);
    assert_eq!(
        entries_of(&packed, "export"),
        entries_of(&plain, "dataset_export.from-cli")
    );
    assert_eq!(entries_of(&packed, "hma.simple.HASH_PDQ.te"), 1);

    // scan --list with the gzip list finds every test file it names.
    let o = run(argv!["scan", "-q", "--list", gz, testfiles()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        hits(&o.stdout).len(),
        5,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // match: the zstd export's hashes are found in the index.
    let o = run(argv!["match", "-q", "-i", idx, zst]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // Every query line (after the header) is matched.
    let lines: BTreeSet<String> = jsonl(&o.stdout)
        .iter()
        .map(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(lines, ["2", "3", "4"].map(String::from).into());
}

#[test]
fn truncated_compressed_list_is_an_error_naming_it_never_a_short_list() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = list("SHA256SUMS");
    for fixture in [
        "SHA256SUMS.gz",
        "dataset_export.from-cli.csv.zst",
        "hma.simple.HASH_PDQ.te.xz",
    ] {
        let bytes = fs::read(list(fixture)).unwrap();
        let cut = d.join(format!("cut-{fixture}"));
        fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
        let name = cut.display().to_string();

        let (status, doc, err) = dry_run(argv![good, cut]);
        assert_eq!(status, 2, "{fixture}: {err}");
        assert!(err.contains(&format!("{name}: truncated")), "{err}");
        assert_eq!(doc["failed"][0]["path"], name.as_str(), "{doc}");

        let o = run(argv!["scan", "-q", "--list", cut, testfiles()]);
        assert_no_panic(&o);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains(&name), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    // match: the truncated list is a failure named on stderr, status 2.
    let idx = d.join("i.vigie");
    let o = run(argv!["index", "build", "-q", "-o", idx, good]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cut = d.join("cut-SHA256SUMS.gz");
    let o = run(argv!["match", "-q", "-i", idx, cut]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("truncated gzip stream"),
        "{}",
        stderr(&o)
    );
}

// ---- point 4: the layouts peers really write ----

#[test]
fn peer_layouts_read_with_no_flag() {
    let names = [
        ("pdq.csv", "pdq", 2),
        ("video_md5.csv", "video_md5", 1),
        ("photo_md5.csv", "photo_md5", 1),
        (
            "dataset_export.collab-first.csv",
            "dataset_export.collab-first",
            3,
        ),
        ("dataset_print.from-cli.txt", "dataset_print.from-cli", 3),
        (
            "dataset_print_one_collab.from-cli.txt",
            "dataset_print_one_collab.from-cli",
            3,
        ),
    ];
    let paths: Vec<PathBuf> = names.iter().map(|(f, ..)| list(f)).collect();
    let (status, doc, err) = dry_run(paths.iter().map(|p| p.into()).collect());
    assert_eq!(status, 0, "{err}");
    assert!(!err.contains("malformed lines: 1"), "{err}");
    for (_, name, n) in names {
        assert_eq!(entries_of(&doc, name), n, "{name}: {err}");
    }
    // The exact digests among them find their files.
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("p.vigie");
    let mut build = argv!["index", "build", "-q", "-o", idx];
    build.extend(paths.iter().map(|p| p.into()));
    assert_eq!(code(&run(&build)), 0);
    let o = run(argv!["scan", "-q", "-i", idx, testfiles()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let found = hits(&o.stdout);
    for f in ["notes with space.txt", "sub/shapes.png"] {
        assert!(found.contains(f), "{f}: {found:?}");
    }
}

#[test]
fn stopncii_record_with_unknown_feedback_is_skipped_as_pytx_does() {
    let l = list("stopncii_unknown_feedback.json");
    let (status, doc, err) = dry_run(argv![l]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(entries_of(&doc, "stopncii_unknown_feedback"), 1);
    assert!(err.contains("malformed lines: 1"), "{err}");
    assert!(err.contains("feedbackValue \"Escalated\""), "{err}");
    assert!(err.contains("record skipped"), "{err}");
}

#[test]
fn match_takes_format_and_type_per_list_as_index_build() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let idx = d.join("m.vigie");
    let o = run(argv![
        "index",
        "build",
        "-q",
        "-o",
        idx,
        list("dataset_export.from-cli.csv")
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A legacy state file under a name that names no type: --format and --type say it.
    let state = copy_as(d, "simple.HASH_PDQ.te", "state.csv");
    // Bare 64-hex lines: sha256 unless declared pdq.
    let bare = d.join("bare.txt");
    fs::write(
        &bare,
        "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9\n",
    )
    .unwrap();
    let o = run(argv![
        "match",
        "-q",
        "-i",
        idx,
        "--format",
        "te-legacy",
        "--type",
        "pdq",
        state,
        "--type",
        "pdq",
        bare
    ]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    let paths: BTreeSet<&str> = recs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert!(paths.iter().any(|p| p.ends_with("state.csv:1")), "{recs:?}");
    assert!(paths.iter().any(|p| p.ends_with("bare.txt:1")), "{recs:?}");
    assert!(recs.iter().all(|r| r["algorithm"] == "pdq"));
    // --format csv is still the output format, wherever it stands.
    let o = run(argv![
        "match", "-q", "-i", idx, "--type", "pdq", bare, "-f", "csv"
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"verdict,path,"));
    // Without them the state file cannot be read (its name gives no type) and the bare
    // line is a sha256 the index does not hold.
    let o = run(argv!["match", "-q", "-i", idx, state]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--type"), "{}", stderr(&o));
    // A per-list option must be followed by a list; a bad value says what is accepted.
    let o = run(argv!["match", "-i", idx, bare, "--type", "pdq"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("is not followed by a list"),
        "{}",
        stderr(&o)
    );
    let o = run(argv!["match", "-i", idx, "--format", "bogus", bare]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("te-csv"), "{}", stderr(&o));
}

#[test]
fn an_unreadable_list_beside_good_ones_fails_alone_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing.txt");
    // HMA v1 sample list of a type vigie does not match: an error naming --type.
    let url_md5 = d.join("url_md5.csv");
    fs::write(
        &url_md5,
        "d41d8cd98f00b204e9800998ecf8427e,3085044528211555,2020-07-31T20:23:47+0000,x\n",
    )
    .unwrap();
    let good = list("SHA256SUMS");
    let pdq = list("pdq.csv");
    let idx = d.join("b.vigie");
    let o = run(argv![
        "index", "build", "-o", idx, good, missing, url_md5, pdq
    ]);
    assert_no_panic(&o);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(idx.exists(), "the good lists are built: {err}");
    assert!(err.contains(&format!("{}: ", missing.display())), "{err}");
    assert!(err.contains(&format!("{}: ", url_md5.display())), "{err}");
    assert!(err.contains("2 lists failed"), "{err}");
    let o = run(argv!["index", "info", idx]);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(
        info.contains("SHA256SUMS") && info.contains("pdq"),
        "{info}"
    );
    assert!(
        !info.contains("missing") && !info.contains("url_md5"),
        "{info}"
    );
    // Scanning with it finds what the good lists name.
    let o = run(argv!["scan", "-q", "-i", idx, testfiles()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(hits(&o.stdout).len(), 5);

    // The report counts them.
    let (status, doc, _) = dry_run(argv![good, missing, url_md5]);
    assert_eq!(status, 2);
    assert_eq!(doc["failed"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["lists"].as_array().unwrap().len(), 1, "{doc}");

    // --strict stops at the first one, and writes nothing.
    let strict = d.join("s.vigie");
    let o = run(argv![
        "index", "build", "--strict", "-o", strict, good, missing, pdq
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(!strict.exists());
    assert!(stderr(&o).contains(&missing.display().to_string()));
    assert!(!stderr(&o).contains("pdq.csv"), "{}", stderr(&o));

    // Only unreadable lists: nothing to build.
    let o = run(argv!["index", "build", "-o", strict, missing]);
    assert_eq!(code(&o), 2);
    assert!(!strict.exists());
    assert!(
        stderr(&o).contains("no list could be read"),
        "{}",
        stderr(&o)
    );
}
