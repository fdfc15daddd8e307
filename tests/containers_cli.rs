//! Containers vigie does not open are never reported clean (issue 18): a RAR, or any
//! container met as a tar member, is a failed `unsupported` item naming its format, with its
//! own exact digests (an exact hit on the container still counts). Zip archives are opened:
//! their members are items, and what cannot be read in them (a method, encryption, a bad CRC,
//! a bomb) is a failed item. A gzip, zstd, xz or bzip2 stream holding no tar is decompressed:
//! its content is an item, reported only when the stream's checks verified it. Fixtures:
//! `fixtures/containers/` (`scripts/make_container_fixtures.sh`). 7z: `tests/sevenz_cli.rs`.
mod common;

use std::ffi::OsString;
use std::fs;

use common::*;
use serde_json::Value;

/// Each format vigie cannot open is a failed `unsupported` item naming it, whose digests are
/// the file's own (as coreutils compute them); the run exits 2. These were clean records.
#[test]
fn unopened_containers_are_failed_unsupported_items_with_their_own_digests() {
    let cases = [
        ("v4.rar", "RAR archive: not opened"),
        ("v5.rar", "RAR 5 archive: not opened"),
    ];
    for (name, why) in cases {
        let path = container(name);
        let (recs, status, err) = hash_md5_sha256(argv![path]);
        assert_eq!(recs.len(), 1, "{name}: {recs:?}");
        let r = &recs[0];
        assert_eq!(r["error_kind"], "unsupported", "{name}: {r}");
        let msg = r["error"].as_str().unwrap();
        assert!(msg.starts_with(why), "{name}: {msg}");
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_of(&path), "{name}");
        assert_eq!(status, 2, "{name}: {err}");
        assert!(err.contains("unsupported"), "{name}: {err}");
    }
}

/// A copy named like a text file is still recognised (by content, never by name), and
/// `--no-archives` (every file one item, by request) reports it as a plain record.
#[test]
fn recognised_by_content_and_no_archives_opts_out() {
    let dir = tempfile::tempdir().unwrap();
    let disguised = dir.path().join("notes.txt");
    fs::copy(container("v5.rar"), &disguised).unwrap();
    let (recs, status, _) = hash_md5_sha256(argv![disguised]);
    assert_eq!(recs[0]["error_kind"], "unsupported");
    assert_eq!(status, 2);
    let (recs, status, err) = hash_md5_sha256(argv!["--no-archives", disguised]);
    assert!(recs[0].get("error").is_none(), "{:?}", recs[0]);
    assert_eq!(status, 0, "{err}");
    // Text that merely starts like a bzip2 header is no container.
    let text = dir.path().join("bzh.txt");
    fs::write(&text, "BZh9 is how a bzip2 stream starts\n").unwrap();
    let (recs, status, _) = hash_md5_sha256(argv![text]);
    assert!(recs[0].get("error").is_none(), "{:?}", recs[0]);
    assert_eq!(status, 0);
}

/// Containers met as members are opened in turn (issue 18 point 3): in `nested.tar`, the
/// zip's members and the gzip's content are items whose `member` is the chain
/// (`inner.zip/c.txt`) with a `members` array, their digests those `unzip -p` and `gzip -dc`
/// give; each container member keeps its own record (its own digests), and so does the 7z,
/// whose members are read too (`7z x` gives the same digests).
#[test]
fn containers_inside_a_tar_are_opened_in_turn() {
    let (recs, status, _) = hash_md5_sha256(argv![container("nested.tar")]);
    assert!(member(&recs, "a.txt").get("error").is_none());
    for (m, file) in [("inner.zip", "deflated.zip"), ("inner.gz", "c.txt.gz")] {
        let r = member(&recs, m);
        assert!(r.get("error").is_none(), "{r}");
        assert!(r.get("members").is_none(), "{r}");
        assert_eq!(
            r["sha256"].as_str().unwrap(),
            sha256_of(&container(file)),
            "{m}"
        );
    }
    let want = expected();
    for (_, m, md5, sha) in want.iter().filter(|w| w.0 == "deflated.zip") {
        let r = member(&recs, &format!("inner.zip/{m}"));
        assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{m}");
        assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{m}");
        assert_eq!(r["members"], serde_json::json!(["inner.zip", m]), "{r}");
    }
    let gz = member(&recs, "inner.gz/inner");
    assert_eq!(gz["md5"], "b569103bf315f7cb66385fda4ec47de9");
    let seven = member(&recs, "inner.7z");
    assert!(seven.get("error").is_none(), "{seven}");
    assert_eq!(
        seven["sha256"].as_str().unwrap(),
        sha256_of(&container("archive.7z"))
    );
    for (_, m, md5, _) in want.iter().filter(|w| w.0 == "archive.7z") {
        assert_eq!(
            member(&recs, &format!("inner.7z/{m}"))["md5"].as_str(),
            Some(md5.as_str())
        );
    }
    // The tar's items: its 4 members, the zip's 4, the gzip's content, the 7z's 2.
    assert_eq!(recs.len(), 11, "{recs:?}");
    assert_eq!(status, 0);
}

/// Two levels down: a zip holding a `.tar.gz` and an `.xz`; each inner member's digests equal
/// those of `unzip -p | tar -xzO` / `unzip -p | xz -dc` + coreutils (EXPECTED.tsv), its
/// `members` the chain. `--max-depth 0` opens no member: each nested container is a failed
/// `limit` member with its own digests.
#[test]
fn a_tar_gz_inside_a_zip_is_read_to_its_members() {
    let path = container("outer.zip");
    let (recs, status, err) = hash_md5_sha256(argv![path]);
    assert_eq!(status, 0, "{err}");
    for (_, m, md5, sha) in expected().iter().filter(|w| w.0 == "outer.zip") {
        let r = member(&recs, m);
        assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{m}");
        assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{m}");
        let chain: Vec<&str> = m.splitn(2, '/').collect();
        assert_eq!(r["members"], serde_json::json!(chain), "{r}");
    }
    // 2 containers, 3 members inside them, the zip itself.
    assert_eq!(recs.len(), 6, "{recs:?}");
    let (recs, status, _) = hash_md5_sha256(argv!["--max-depth", "0", path]);
    assert_eq!(status, 2);
    assert_eq!(recs.len(), 3, "{recs:?}");
    for m in ["inner.tar.gz", "inner.xz"] {
        let r = member(&recs, m);
        assert_eq!(r["error_kind"], "limit", "{r}");
        assert!(
            r["error"].as_str().unwrap().contains("--max-depth 0"),
            "{r}"
        );
        assert!(r.get("sha256").is_some(), "{r}");
    }
}

/// A recursive bomb in 42.zip's shape made by zip (16 KiB: zips of zips of zips of 64 MiB of
/// zeros, 256 GiB in all) stops at the limit: what is past the budget of the outermost nested
/// container (--max-ratio times its size) is a failed `limit` item, decided from the declared
/// sizes, so the run is fast and nothing near 64 MiB is ever decoded.
#[test]
fn a_recursive_zip_bomb_stops_at_the_limit() {
    let start = std::time::Instant::now();
    let (recs, status, _) = hash_md5_sha256(argv![container("bomb42.zip")]);
    assert_eq!(status, 2);
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    let limits: Vec<_> = recs.iter().filter(|r| r["error_kind"] == "limit").collect();
    assert!(!limits.is_empty());
    assert!(limits.iter().all(|r| r["error"]
        .as_str()
        .unwrap()
        .contains("nested containers expand past")));
    // No record of the zeros: every one is over the budget.
    assert!(recs
        .iter()
        .filter(|r| r["member"].as_str().is_some_and(|m| m.ends_with("/zeros")))
        .all(|r| r["error_kind"] == "limit"));
    // Every record is a member chain of the bomb, or the bomb itself.
    assert!(recs
        .iter()
        .all(|r| r.get("error").is_none() || r["error_kind"] == "limit"));
}

/// An exact hit on a container itself counts (a 7z, whose members are clean); an unopened
/// container without a hit (a RAR) is counted by the summary as failed, by reason
/// `unsupported`.
#[test]
fn a_hit_on_the_container_itself_is_a_match_and_the_summary_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let seven = container("archive.7z");
    let index = sha256_index(dir.path(), &format!("{}  archive.7z\n", sha256_of(&seven)));
    let rar = container("v4.rar");
    let (out, s) = run_with_summary(
        dir.path(),
        argv!["scan", "-q", "--index", index, seven, rar],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let hit = recs
        .iter()
        .find(|r| r["verdict"] == "match")
        .expect("the 7z's own hit");
    assert!(hit["path"].as_str().unwrap().ends_with("archive.7z"));
    assert_eq!(s["matched"], 1, "{s}");
    assert_eq!(s["failed"], 1, "{s}");
    assert_eq!(s["clean"], 2, "the 7z's two members: {s}");
    assert_eq!(s["failed_by_reason"]["unsupported"], 1, "{s}");
}

/// archive → member → (md5, sha256), from `unzip -p` + coreutils (EXPECTED.tsv).
fn expected() -> Vec<(String, String, String, String)> {
    fs::read_to_string(container("EXPECTED.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect()
}

/// Zip members (stored, deflated, ZIP64, a data descriptor, a self-extractor's stub before
/// the zip) are items whose digests equal `unzip -p` + md5sum/sha256sum; a stored member's
/// offset points at its bytes in the file. These zips were one clean opaque item.
#[test]
fn zip_members_are_items_with_the_digests_unzip_gives() {
    let want = expected();
    for z in [
        "stored.zip",
        "deflated.zip",
        "zip64.zip",
        "descriptor.zip",
        "sfx.zip",
    ] {
        let path = container(z);
        let (recs, status, err) = hash_md5_sha256(argv![path]);
        assert_eq!(status, 0, "{z}: {err}");
        let members: Vec<_> = want.iter().filter(|w| w.0 == z).collect();
        assert!(!members.is_empty());
        // The members, and the zip's own record (its digests, as coreutils give them).
        assert_eq!(recs.len(), members.len() + 1, "{z}: {recs:?}");
        let own = recs.iter().find(|r| r.get("member").is_none()).unwrap();
        assert_eq!(own["sha256"].as_str().unwrap(), sha256_of(&path), "{z}");
        for (_, m, md5, sha) in members {
            let r = member(&recs, m);
            assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{z}/{m}");
            assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{z}/{m}");
        }
    }
    // Stored: the member's bytes are at its offset in the file.
    let path = container("stored.zip");
    let bytes = fs::read(&path).unwrap();
    let (recs, _, _) = hash_md5_sha256(argv![path]);
    for r in recs.iter().filter(|r| r.get("member").is_some()) {
        let (off, size) = (r["offset"].as_u64().unwrap(), r["size"].as_u64().unwrap());
        let m = r["member"].as_str().unwrap();
        let extracted = tool("unzip", &[os("-p"), path.as_os_str(), os(m)]);
        assert_eq!(
            &bytes[off as usize..(off + size) as usize],
            &extracted[..],
            "{m}"
        );
    }
}

/// An image inside a zip is hashed perceptually as the same image on disk is, stored or
/// deflated.
#[test]
fn images_inside_a_zip_are_hashed_perceptually() {
    let photo = fixtures().join("images/rgb.jpg");
    let out = run(argv!["hash", "-q", "--algo", "pdq,md5", photo,]);
    let want = jsonl(&out.stdout)[0]["pdq"].clone();
    assert!(want.is_string(), "{want}");
    for z in ["stored.zip", "deflated.zip"] {
        let out = run(argv!["hash", "-q", "--algo", "pdq,md5", container(z),]);
        let recs = jsonl(&out.stdout);
        assert_eq!(member(&recs, "dir/photo.jpg")["pdq"], want, "{z}");
    }
}

/// What a zip holds that vigie does not read is a failed item naming the member, never
/// clean: a method it does not decode (`unsupported`), an encrypted member (`encrypted`), a
/// CRC-32 that does not verify (no digest reported), a local header that disagrees with the
/// central directory (`archive`), bombs (`limit`, fast); the other members are read.
#[test]
fn zip_members_not_read_are_failed_items_naming_them() {
    let fails = |z: &str| {
        let (recs, status, err) = hash_md5_sha256(argv![container(z)]);
        assert_eq!(status, 2, "{z}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        recs
    };
    let r = fails("ppmd.zip");
    let c = member(&r, "c.txt");
    assert_eq!(c["error_kind"], "unsupported");
    assert!(
        c["error"].as_str().unwrap().contains("ppmd (method 98)"),
        "{c}"
    );
    assert!(member(&r, "a.txt").get("md5").is_some());

    let r = fails("encrypted.zip");
    assert_eq!(r.len(), 3, "two members, the zip itself");
    for m in ["a.txt", "c.txt"] {
        let rec = member(&r, m);
        assert_eq!(rec["error_kind"], "encrypted", "{rec}");
        assert!(rec["error"].as_str().unwrap().contains(m), "{rec}");
        assert!(rec.get("md5").is_none());
    }

    let r = fails("badcrc.zip");
    let a = member(&r, "a.txt");
    assert_eq!(a["error_kind"], "decompress", "{a}");
    assert!(a["error"].as_str().unwrap().contains("CRC-32"), "{a}");
    assert!(
        a.get("md5").is_none(),
        "no digest that was not verified: {a}"
    );
    assert!(member(&r, "c.txt").get("md5").is_some());

    let r = fails("mismatch.zip");
    let a = member(&r, "a.txt");
    assert_eq!(a["error_kind"], "archive", "{a}");
    assert!(a["error"].as_str().unwrap().contains("disagree"), "{a}");
    assert!(member(&r, "b.bin").get("md5").is_some());

    let start = std::time::Instant::now();
    let r = fails("huge.zip");
    assert_eq!(member(&r, "huge")["error_kind"], "limit");
    let r = fails("overlap.zip");
    let limited = r.iter().filter(|x| x["error_kind"] == "limit").count();
    assert!(limited >= 30, "{limited} of {}", r.len());
    assert!(start.elapsed().as_secs() < 20, "bombs are stopped fast");
}

/// Truncated zips and garbage where a central directory should be never panic: each is a
/// failed item, and the run goes on to the next input.
#[test]
fn truncated_and_garbage_zips_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let z = fs::read(container("deflated.zip")).unwrap();
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let mut paths = vec![container("truncated.zip")];
    for (i, cut) in [10, 100, cd, cd + 20, z.len() - 23].into_iter().enumerate() {
        let p = dir.path().join(format!("cut{i}.zip"));
        fs::write(&p, &z[..cut]).unwrap();
        paths.push(p);
    }
    // The central directory overwritten with garbage, the end record kept.
    let mut g = z.clone();
    for (i, b) in g[cd..z.len() - 22].iter_mut().enumerate() {
        *b = (i * 37 % 251) as u8;
    }
    let p = dir.path().join("garbage.zip");
    fs::write(&p, &g).unwrap();
    paths.push(p);
    let ok = container("stored.zip");
    paths.push(ok.clone());
    let (recs, status, err) = hash_md5_sha256(paths.iter().map(OsString::from).collect());
    assert_eq!(status, 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for p in &paths[..paths.len() - 1] {
        let name = p.to_str().unwrap();
        assert!(
            recs.iter()
                .any(|r| r["path"] == name && r.get("error").is_some()),
            "{name} must be a failed item: {recs:?}"
        );
    }
    let good = recs.iter().filter(|r| r["path"] == ok.to_str().unwrap());
    assert_eq!(good.filter(|r| r.get("md5").is_some()).count(), 5);
}

/// (member, md5) of each record, sorted.
fn members_md5(recs: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<_> = recs
        .iter()
        .map(|r| {
            (
                r["member"].as_str().unwrap_or("").to_string(),
                r["md5"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// `-` reads content from standard input (issue 18 point 6): a tar or a `.tar.gz` streamed
/// member by member with the digests the same file gives, an image hashed perceptually as on
/// disk, anything else one item named `-`, and a container it cannot open there `unsupported`.
#[test]
fn dash_reads_content_from_stdin() {
    for name in ["example/dump/shard-0001.tar", "tar/pax.tar.gz"] {
        let path = fixtures().join(name);
        let (file, _, _) = hash_md5_sha256(argv![path]);
        let (piped, status) = hash_stdin(&["--algo", "md5"], &fs::read(&path).unwrap());
        assert!(piped.len() > 1, "{name}: {piped:?}");
        assert!(piped.iter().all(|r| r["path"] == "-"), "{name}");
        assert_eq!(members_md5(&piped), members_md5(&file), "{name}");
        assert_eq!(status, 0, "{name}");
    }
    let photo = fixtures().join("images/rgb.jpg");
    let out = run(argv!["hash", "--algo", "pdq,md5", photo]);
    let file = jsonl(&out.stdout);
    let (piped, status) = hash_stdin(&["--algo", "pdq,md5"], &fs::read(&photo).unwrap());
    assert_eq!(piped.len(), 1);
    assert_eq!(piped[0]["path"], "-");
    assert_eq!(piped[0]["pdq"], file[0]["pdq"]);
    assert_eq!(piped[0]["md5"], file[0]["md5"]);
    assert_eq!(status, 0);
    let (piped, status) = hash_stdin(&["--algo", "md5"], b"hello world\n");
    assert_eq!(piped[0]["md5"], "6f5902ac237024bdd0c176cb93063dc4");
    assert_eq!(piped[0]["size"], 12);
    assert_eq!(status, 0);
    let (piped, status) = hash_stdin(&[], &fs::read(container("v4.rar")).unwrap());
    assert_eq!(piped[0]["error_kind"], "unsupported");
    assert_eq!(status, 2);
    // A compressed stream piped in: its content is member `-` (no name: `gzip -n`), or the
    // name its gzip header keeps; then the stream's own record.
    for (file, inner) in [
        ("c.txt.gz", "-"),
        ("c.txt.xz", "-"),
        ("renamed.gz", "c.txt"),
    ] {
        let (piped, status) = hash_stdin(&["--algo", "md5"], &fs::read(container(file)).unwrap());
        assert_eq!(status, 0, "{file}");
        assert_eq!(piped.len(), 2, "{file}: {piped:?}");
        assert_eq!(piped[0]["member"], inner, "{file}");
        assert_eq!(
            piped[0]["md5"], "b569103bf315f7cb66385fda4ec47de9",
            "{file}"
        );
        assert!(piped[1].get("member").is_none());
        assert_eq!(
            piped[1]["size"],
            fs::metadata(container(file)).unwrap().len()
        );
    }
    // Standard input is read once.
    let out = run(argv!["hash", "-", "--files-from", "-"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("only once"), "{}", stderr(&out));
}

/// A single compressed stream holding no tar (`.gz`, `.xz`, `.bz2`, `.zst`; issue 18 point 4)
/// is decompressed: its content is a member named by the gzip header (FNAME) or by the file
/// less its extension, with the digests the tool's own `-dc` gives (EXPECTED.tsv), then the
/// file's own record with its coreutils digests. Several gzip members are one content, as
/// `gzip -dc` gives it. These were failed `unsupported` items.
#[test]
fn single_compressed_streams_are_decompressed_with_the_digests_the_tools_give() {
    let want = expected();
    for file in [
        "c.txt.gz",
        "c.txt.xz",
        "c.txt.bz2",
        "c.txt.zst",
        "renamed.gz",
        "two.gz",
    ] {
        let path = container(file);
        let (recs, status, err) = hash_md5_sha256(argv![path]);
        assert_eq!(status, 0, "{file}: {err}");
        assert_eq!(recs.len(), 2, "{file}: {recs:?}");
        let (_, m, md5, sha) = want.iter().find(|w| w.0 == file).expect(file);
        let inner = member(&recs, m);
        assert_eq!(inner["md5"].as_str(), Some(md5.as_str()), "{file}");
        assert_eq!(inner["sha256"].as_str(), Some(sha.as_str()), "{file}");
        assert_eq!(inner["offset"], 0);
        let own = recs.iter().find(|r| r.get("member").is_none()).unwrap();
        assert_eq!(own["sha256"].as_str().unwrap(), sha256_of(&path), "{file}");
        assert!(own.get("error").is_none(), "{own}");
    }
    // A tar inside xz or bzip2 is walked member by member, as inside gzip or zstd.
    for file in ["ac.tar.xz", "ac.tar.bz2"] {
        let (recs, status, err) = hash_md5_sha256(argv![container(file)]);
        assert_eq!(status, 0, "{file}: {err}");
        let names: Vec<_> = recs.iter().map(|r| r["member"].clone()).collect();
        assert_eq!(names, ["a.txt", "c.txt"], "{file}");
        assert_eq!(
            member(&recs, "c.txt")["md5"],
            "b569103bf315f7cb66385fda4ec47de9"
        );
    }
}

/// A stream whose own check fails (gzip CRC-32, zstd content checksum, bzip2 block CRC) or
/// that is cut short (xz) gives no digest of its content: the inner item fails
/// (`decompress`), the file keeps its own record, and the run exits 2.
#[test]
fn a_compressed_stream_that_does_not_verify_gives_no_digest_of_its_content() {
    for (file, why) in [
        ("badcrc.gz", "checksum"),
        ("badsum.zst", "checksum"),
        ("cut.xz", "eof"),
        ("badcrc.bz2", "invalid data"),
    ] {
        let path = container(file);
        let (recs, status, err) = hash_md5_sha256(argv![path]);
        assert_eq!(status, 2, "{file}: {err}");
        assert_eq!(recs.len(), 2, "{file}: {recs:?}");
        let inner = recs.iter().find(|r| r.get("member").is_some()).unwrap();
        assert_eq!(inner["error_kind"], "decompress", "{file}: {inner}");
        assert!(
            inner.get("md5").is_none() && inner.get("sha256").is_none(),
            "{inner}"
        );
        let msg = inner["error"].as_str().unwrap();
        assert!(msg.contains(why), "{file}: {msg}");
        let own = recs.iter().find(|r| r.get("member").is_none()).unwrap();
        assert_eq!(own["sha256"].as_str().unwrap(), sha256_of(&path), "{file}");
    }
}

/// A stream that expands past --max-expanded stops there: a failed `limit` item, no digest,
/// and the file's own record; --no-archives hashes the file alone.
#[test]
fn a_compressed_stream_past_the_limit_is_a_failed_limit_item() {
    let path = container("c.txt.gz");
    let (recs, status, _) = hash_md5_sha256(argv!["--max-expanded", "19999", path]);
    assert_eq!(status, 2);
    let inner = member(&recs, "c.txt");
    assert_eq!(inner["error_kind"], "limit", "{inner}");
    assert!(inner["error"].as_str().unwrap().contains("--max-expanded"));
    assert!(inner.get("sha256").is_none());
    let (recs, status, _) = hash_md5_sha256(argv!["--max-expanded", "20000", path]);
    assert_eq!(status, 0);
    assert_eq!(member(&recs, "c.txt")["size"], 20000);
    let (recs, status, _) = hash_md5_sha256(argv!["--no-archives", path]);
    assert_eq!((recs.len(), status), (1, 0));
}
