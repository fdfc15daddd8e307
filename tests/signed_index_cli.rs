//! Signed indexes: `vigie index sign` writes a minisign signature that the minisign tool
//! verifies, vigie accepts minisign's own signatures, and under `--trusted-key` an index that
//! was swapped or edited (checksums recomputed: a valid index) is refused before anything is
//! matched. Needs the minisign tool (Debian package, installed by scripts/test.sh).

mod common;
use common::{code, jsonl, run};
use std::path::Path;
use std::process::{Command, Stdio};

fn minisign(args: &[&str], stdin: &str, dir: &Path) -> std::process::Output {
    let mut c = Command::new("minisign")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("minisign (Debian package minisign; scripts/test.sh installs it)");
    use std::io::Write;
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn build(dir: &Path, name: &str, list: &str) -> String {
    let idx = dir.join(name);
    let o = run(["index", "build", "-q", "-o", idx.to_str().unwrap(), list]);
    assert_eq!(code(&o), 0, "{o:?}");
    idx.to_str().unwrap().to_string()
}

/// `vigie scan --trusted-key KEY -i INDEX` on the example dump.
fn scan(idx: &str, key: &str) -> std::process::Output {
    run([
        "scan",
        "-q",
        "--trusted-key",
        key,
        "-i",
        idx,
        "fixtures/example/dump",
    ])
}

#[test]
fn signatures_interoperate_with_minisign_and_swaps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An unencrypted key and a password-protected one, made by minisign.
    let o = minisign(&["-G", "-W", "-p", "plain.pub", "-s", "plain.key"], "", d);
    assert!(o.status.success(), "{o:?}");
    let o = minisign(
        &["-G", "-p", "pw.pub", "-s", "pw.key"],
        "secret\nsecret\n",
        d,
    );
    assert!(o.status.success(), "{o:?}");
    std::fs::write(d.join("pw.txt"), "secret\n").unwrap();
    let plain_pub = d.join("plain.pub").to_str().unwrap().to_string();
    let pw_pub = d.join("pw.pub").to_str().unwrap().to_string();

    // vigie signs; minisign verifies; vigie accepts and matches.
    let idx = build(d, "known.vigie", "fixtures/example/lists/known-bad.sha256");
    let o = run([
        "index",
        "sign",
        "--key",
        d.join("plain.key").to_str().unwrap(),
        &idx,
    ]);
    assert_eq!(code(&o), 0, "{o:?}");
    let v = minisign(&["-V", "-m", "known.vigie", "-p", "plain.pub"], "", d);
    assert!(v.status.success(), "{v:?}");
    assert!(String::from_utf8_lossy(&v.stdout).contains("vigie index known.vigie"));
    let o = scan(&idx, &plain_pub);
    assert_eq!(code(&o), 1, "{o:?}");
    assert!(!jsonl(&o.stdout).is_empty());
    // The key given as its base64 line, as minisign -P takes it.
    let b64 = std::fs::read_to_string(&plain_pub).unwrap();
    let b64 = b64.lines().nth(1).unwrap().trim().to_string();
    assert_eq!(code(&scan(&idx, &b64)), 1);

    // A password-protected key: vigie needs the password; minisign's own signature is
    // accepted by vigie.
    let o = run([
        "index",
        "sign",
        "--key",
        d.join("pw.key").to_str().unwrap(),
        &idx,
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("password"));
    let o = run([
        "index",
        "sign",
        "--key",
        d.join("pw.key").to_str().unwrap(),
        "--password-file",
        d.join("pw.txt").to_str().unwrap(),
        &idx,
    ]);
    assert_eq!(code(&o), 0, "{o:?}");
    assert_eq!(code(&scan(&idx, &pw_pub)), 1);
    let other = build(d, "other.vigie", "fixtures/example/lists/known-bad.sha256");
    let s = minisign(&["-S", "-s", "pw.key", "-m", "other.vigie"], "secret\n", d);
    assert!(s.status.success(), "{s:?}");
    assert_eq!(code(&scan(&other, &pw_pub)), 1);

    // The attack: the signed file swapped for another valid index (here, one listing
    // nothing the dump holds), its signature kept. Unchecked, the dump looks clean.
    let swap = build(d, "swap.vigie", "fixtures/example/lists/partner.md5");
    std::fs::copy(&swap, &idx).unwrap();
    let o = run(["scan", "-q", "-i", &idx, "fixtures/example/dump"]);
    assert!(code(&o) <= 1, "{o:?}");
    for key in [&pw_pub, &plain_pub] {
        let o = scan(&idx, key);
        assert_eq!(code(&o), 2, "{o:?}");
        assert!(o.stdout.is_empty(), "records written by a refused index");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("refused"), "{err}");
    }
    // Another key's signature, no signature, and --trusted-key without an index.
    assert_eq!(code(&scan(&other, &plain_pub)), 2);
    let unsigned = build(
        d,
        "unsigned.vigie",
        "fixtures/example/lists/known-bad.sha256",
    );
    let o = scan(&unsigned, &plain_pub);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unsigned.vigie.minisig"));
    let o = run([
        "scan",
        "--trusted-key",
        &plain_pub,
        "--list",
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    // match and index info check it too.
    let o = run(["index", "info", "--trusted-key", &plain_pub, &other]);
    assert_eq!(code(&o), 2);
    let o = run([
        "match",
        "--trusted-key",
        &pw_pub,
        "-i",
        &idx,
        "fixtures/example/lists/partner.md5",
    ]);
    assert_eq!(code(&o), 2);
}
