//! A damaged index (issue "Never silently wrong"): one flipped bit in an index's md5 table
//! turned a blocklisted file clean, since only `index info --verify` checked the section
//! checksums. Now every scan and match checks them before its first answer.

mod common;

use std::ffi::OsString;

use common::*;

#[test]
fn flipped_bit_in_a_table_is_refused_before_any_answer() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("ix.vigie");
    let o = run([
        OsString::from("index"),
        "build".into(),
        "-q".into(),
        "-o".into(),
        index.clone().into(),
        fixtures().join("example/lists/partner.md5").into(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let item = fixtures().join("example/dump/users/bob/re-upload of A.txt");
    let scan = |extra: &[&str]| {
        let mut args: Vec<OsString> = vec!["scan".into(), "-q".into(), "--index".into()];
        args.push(index.clone().into());
        args.extend(extra.iter().map(OsString::from));
        args.push(item.clone().into());
        run(args)
    };
    let good = scan(&[]);
    assert_eq!(code(&good), 1, "the item is listed: {}", stderr(&good));
    // Flip one bit of the listed md5 where the index stores it.
    let mut bytes = std::fs::read(&index).unwrap();
    let md5 = hex::decode("294466d69c1e5d19b0856e6adf0fad1b").unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == &md5[..])
        .expect("the digest is in the index");
    bytes[at + 15] ^= 1;
    std::fs::write(&index, &bytes).unwrap();
    let bad = scan(&[]);
    assert_eq!(code(&bad), 2, "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("checksum mismatch"),
        "{}",
        stderr(&bad)
    );
    assert!(bad.stdout.is_empty());
    let m = run([
        OsString::from("match"),
        "--index".into(),
        index.clone().into(),
        fixtures().join("example/lists/partner.md5").into(),
    ]);
    assert_eq!(code(&m), 2, "{}", stderr(&m));
    assert!(stderr(&m).contains("checksum mismatch"), "{}", stderr(&m));
    // Opting out gives the wrong answer the check exists to prevent: clean.
    let unchecked = scan(&["--no-verify-index", "--all"]);
    assert_eq!(code(&unchecked), 0, "{}", stderr(&unchecked));
    assert!(String::from_utf8_lossy(&unchecked.stdout).contains(r#""verdict":"clean""#));
}
