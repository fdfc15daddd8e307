//! Archives: tar members found by header and hashed in place (ustar, GNU long names, pax),
//! compressed tars streamed, broken archives failing cleanly while the run goes on.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::*;
use serde_json::Value;

fn member_bytes(rec: &Value) -> Vec<u8> {
    match rec.get("member_bytes").and_then(Value::as_str) {
        Some(b) => vigie::report::wire::WireName::decode("", Some(b)).unwrap(),
        None => rec["member"].as_str().unwrap().as_bytes().to_vec(),
    }
}

/// member name → (md5, sha256).
type Members = BTreeMap<Vec<u8>, (String, String)>;

/// The members of `recs` that were read: name → (md5, sha256).
fn members_of(recs: &[Value]) -> Members {
    recs.iter()
        .filter(|r| r.get("error").is_none())
        .map(|r| {
            let digest = |algo: &str| r[algo].as_str().unwrap().to_string();
            (member_bytes(r), (digest("md5"), digest("sha256")))
        })
        .collect()
}

/// Members hashed by vigie, its records and its exit code.
fn vigie_members(archive: &Path) -> (Members, Vec<Value>, i32) {
    let (recs, status, _) = hash_md5_sha256(argv![archive]);
    (members_of(&recs), recs, status)
}

/// `tar FLAGS ARCHIVE -C DIR .`: an archive of what `dir` holds, made by GNU tar.
fn tar_of(flags: &str, archive: &Path, dir: &Path) {
    let args = [
        os(flags),
        archive.as_os_str(),
        os("-C"),
        dir.as_os_str(),
        os("."),
    ];
    tool("tar", &args);
}

/// member name → (md5, sha256) from GNU tar extracting and md5sum/sha256sum hashing.
fn reference_members(archive: &Path) -> Members {
    let dir = tempfile::tempdir().unwrap();
    tool(
        "tar",
        &[
            os("-xf"),
            archive.as_os_str(),
            os("-C"),
            dir.path().as_os_str(),
        ],
    );
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let name = e
                    .path()
                    .strip_prefix(dir.path())
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
                let md5 = tool("md5sum", &[os("-z"), e.path().as_os_str()]);
                let sha = tool("sha256sum", &[os("-z"), e.path().as_os_str()]);
                out.insert(
                    name,
                    (
                        String::from_utf8_lossy(&md5[..32]).into_owned(),
                        String::from_utf8_lossy(&sha[..64]).into_owned(),
                    ),
                );
            }
        }
    }
    out
}

#[test]
fn tar_members_equal_extracted_files_hashed_by_coreutils() {
    for name in ["ustar.tar", "gnu.tar", "pax.tar", "v7.tar"] {
        let path = fixtures().join("tar").join(name);
        let (ours, recs, rc) = vigie_members(&path);
        assert_eq!(rc, 0, "{name}");
        let mut theirs = reference_members(&path);
        // Hard links extract as regular files; vigie skips them (their bytes are another
        // member's) and counts them as skipped links.
        theirs.remove(b"d/hard".as_slice());
        assert_eq!(ours, theirs, "{name}");
        // Offsets point at the member's bytes inside the archive.
        let bytes = fs::read(&path).unwrap();
        for r in &recs {
            let (off, size) = (
                r["offset"].as_u64().unwrap() as usize,
                r["size"].as_u64().unwrap() as usize,
            );
            let d = vigie::hash::hash_bytes("md5".parse().unwrap(), &bytes[off..off + size]);
            assert_eq!(
                d.iter().next().unwrap().to_hex(),
                r["md5"].as_str().unwrap()
            );
        }
    }
}

#[test]
fn long_names_and_non_utf8_members_are_exact() {
    let (ours, recs, _) = vigie_members(&fixtures().join("tar/pax.tar"));
    let long: &[u8] = b"d/a_fairly_long_directory_name_for_testing_the_ustar_prefix_split/and_a_long_file_name_too_so_the_total_exceeds_one_hundred.bin";
    assert!(ours.contains_key(long));
    assert!(ours.contains_key(b"d/caf\xe9.bin".as_slice()));
    assert!(ours.contains_key(b"d/new\nline".as_slice()));
    let cafe = recs
        .iter()
        .find(|r| member_bytes(r) == b"d/caf\xe9.bin")
        .unwrap();
    assert_eq!(cafe["member_bytes"], "ZC9jYWbpLmJpbg==");
    let (gnu, _, _) = vigie_members(&fixtures().join("tar/gnu.tar"));
    assert!(gnu.contains_key(long));
}

#[test]
fn compressed_tars_stream_to_the_same_members() {
    let (plain, _, _) = vigie_members(&fixtures().join("tar/pax.tar"));
    for name in ["pax.tar.gz", "pax.tar.zst"] {
        let (ours, recs, rc) = vigie_members(&fixtures().join("tar").join(name));
        assert_eq!(rc, 0);
        assert_eq!(ours, plain, "{name}");
        assert!(recs
            .iter()
            .all(|r| r["path"].as_str().unwrap().ends_with(name)));
    }
}

#[test]
fn truncated_tar_fails_the_cut_member_and_keeps_the_rest() {
    let src = fs::read(fixtures().join("tar/ustar.tar")).unwrap();
    let (full, recs, _) = vigie_members(&fixtures().join("tar/ustar.tar"));
    // Cut inside the data of the member that ends last.
    let last = recs
        .iter()
        .max_by_key(|r| r["offset"].as_u64().unwrap())
        .unwrap();
    let cut = (last["offset"].as_u64().unwrap() + last["size"].as_u64().unwrap() / 2) as usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tar");
    fs::write(&path, &src[..cut]).unwrap();
    let (out, s) = run_with_summary(dir.path(), argv!["hash", "-q", path]);
    assert_eq!(code(&out), 2);
    let got = jsonl(&out.stdout);
    let failed: Vec<&Value> = got.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(failed.len(), 1, "{got:?}");
    assert_eq!(failed[0]["error_kind"], "archive");
    assert_eq!(member_bytes(failed[0]), member_bytes(last));
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("runs past end of archive"),
        "{}",
        failed[0]
    );
    assert_eq!(
        got.len() - 1,
        full.len() - 1,
        "every other member is still hashed"
    );
    assert_eq!(s["items"].as_u64(), Some(got.len() as u64));
    assert_eq!(s["failed_by_reason"]["archive"], 1);

    // Cut inside a header: the header is reported, not a member.
    let cut_header = (recs
        .iter()
        .map(|r| r["offset"].as_u64().unwrap())
        .min()
        .unwrap()
        - 512
        + 100) as usize;
    fs::write(&path, &src[..cut_header]).unwrap();
    let out = run(argv!["hash", "-q", path]);
    assert_eq!(code(&out), 2);
    let got = jsonl(&out.stdout);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["error_kind"], "archive");
}

#[test]
fn truncated_gzip_tar_fails_cleanly() {
    let src = fs::read(fixtures().join("tar/pax.tar.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tar.gz");
    fs::write(&path, &src[..src.len() * 2 / 3]).unwrap();
    let out = run(argv!["hash", "-q", path]);
    assert_eq!(code(&out), 2);
    let got = jsonl(&out.stdout);
    // The member cut short fails, and so does every member read before it: the stream ends
    // before its CRC, so none of their bytes is verified (they used to be reported as good).
    assert!(got.len() > 1, "{got:?}");
    for r in &got {
        assert!(
            ["decompress", "archive"].contains(&r["error_kind"].as_str().unwrap_or("")),
            "{r}"
        );
        assert!(r.get("md5").is_none(), "{r}");
    }
}

#[test]
fn sparse_members_fail_as_unsupported_and_links_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let tars = [
        fixtures().join("tar/sparse.gnu.tar"),
        fixtures().join("tar/gnu.tar"),
    ];
    let (out, s) = run_with_summary(dir.path(), argv!["hash", "-q", tars[0], tars[1]]);
    assert_eq!(code(&out), 2);
    assert_eq!(s["failed_by_reason"]["unsupported"], 1);
    assert_eq!(s["skipped"]["link"], 2);
    assert_eq!(
        s["items"].as_u64().unwrap(),
        s["hashed"].as_u64().unwrap() + s["failed"].as_u64().unwrap()
    );
}

#[test]
fn no_archives_hashes_the_tar_itself() {
    let path = fixtures().join("tar/pax.tar");
    let out = run(argv![
        "hash",
        "-q",
        "--no-archives",
        "--algo",
        "sha256",
        path,
    ]);
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["sha256"], sha256_of(&path));
}

#[test]
fn large_member_of_a_compressed_tar_is_hashed_as_it_streams() {
    // 20 MiB is above the 16 MiB buffering limit: that member is hashed while it streams.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i / 4096) as u8).collect();
    fs::write(src.join("big.bin"), &big).unwrap();
    fs::write(src.join("small.txt"), b"small\n").unwrap();
    let archive = dir.path().join("a.tgz");
    tar_of("-czf", &archive, &src);
    let out = run(argv!["hash", "-q", "--algo", "sha256", archive]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let big_rec = member(&recs, "./big.bin");
    assert_eq!(big_rec["sha256"], sha256_of(&src.join("big.bin")));
    assert_eq!(big_rec["size"], 20 << 20);
    let small = member(&recs, "./small.txt");
    assert_eq!(small["sha256"], sha256_of(&src.join("small.txt")));
}

#[test]
fn mapped_and_read_tars_give_the_same_members() {
    // Large enough (> 4 MiB) to be memory-mapped; many members so that several batches run
    // in parallel and release their pages.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..600u32 {
        let len = 1000 + (i as usize * 7919) % 20_000;
        let content: Vec<u8> = (0..len).map(|j| (j as u32 * 31 + i * 7) as u8).collect();
        fs::write(src.join(format!("m{i:04}.bin")), content).unwrap();
    }
    let archive = dir.path().join("big.tar");
    tar_of("-cf", &archive, &src);
    assert!(fs::metadata(&archive).unwrap().len() > 4 << 20);
    let (mapped, _, rc) = vigie_members(&archive);
    assert_eq!(rc, 0);
    assert_eq!(mapped.len(), 600);
    let out = run(argv![
        "hash",
        "-q",
        "--no-mmap",
        "--algo",
        "md5,sha256",
        archive,
    ]);
    let read = members_of(&jsonl(&out.stdout));
    assert_eq!(mapped, read);
    let mut reference = reference_members(&archive);
    let reference: Members = std::mem::take(&mut reference)
        .into_iter()
        .map(|(k, v)| ([b"./".as_slice(), &k].concat(), v))
        .collect();
    assert_eq!(mapped, reference);
}
