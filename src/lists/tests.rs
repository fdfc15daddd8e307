//! Tests of the list readers: every format variant on inline strings, and the real samples in
//! `fixtures/lists/` checked against the values of the shared samples' `MANIFEST.json`.

use super::*;

/// An entry with its name copied out of the reader's buffer.
type Owned = (Digest, u64, Option<Vec<u8>>);

fn run_bytes(
    input: &[u8],
    declared: Option<Algo>,
) -> Result<(ListSummary, Vec<Owned>, Vec<ListProblem>), ListError> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let s = read_list_from(
        input,
        Path::new("test.txt"),
        declared.map(ListType::Exact),
        |e| {
            entries.push((
                *e.hash.as_exact().expect("exact"),
                e.line,
                e.name.map(|n| n.into_owned()),
            ))
        },
        |p| problems.push(p),
    )?;
    Ok((s, entries, problems))
}

fn run(input: &str, declared: Option<Algo>) -> (ListSummary, Vec<Owned>, Vec<ListProblem>) {
    run_bytes(input.as_bytes(), declared).unwrap()
}

fn d(algo: Algo, hex: &str) -> Digest {
    Digest::from_hex(algo, hex).unwrap()
}

// From MANIFEST.json (shared/formats/samples).
const HELLO_MD5: &str = "6f5902ac237024bdd0c176cb93063dc4";
const HELLO_SHA1: &str = "22596363b3de40b06f981fb85d82312e8c0ed511";
const HELLO_SHA256: &str = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
const HELLO_XXH128: &str = "eefac9d87100cd1336b2e733a5484425";
const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const NOTES_SHA256: &str = "0c26bf8f56328dc7f1869cd3c5db6eee2c20146f446a697541f23648e34070c7";
const PNG_MD5: &str = "78124686e52170aef77cfeb451d7f4da";
const PNG_SHA1: &str = "897d63b951a526861322444596847e0888ec6fe9";
const PNG_SHA256: &str = "9c4eacf662732326b1383431f770c54afb2698e6149771a3871124723f53a107";
const JPG_MD5: &str = "1c6c68b5dc1a6a555984b60a65c0fbf2";
const JPG_XXH128: &str = "0e36eb6f845c5bb471a7608934a8d9af";

// ---- plain ----

#[test]
fn plain_all_lengths_comments_blank_crlf_whitespace() {
    let input = format!(
        "# a comment\n\n  {HELLO_MD5}  \r\n{HELLO_SHA1}\n\t{}\n   # indented comment\n\
         {EMPTY_MD5} # inline comment\n\r\n",
        HELLO_SHA256.to_uppercase()
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Plain);
    assert!(!s.nul_terminated);
    assert_eq!(s.lines, 8);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(
        e,
        vec![
            (d(Algo::Md5, HELLO_MD5), 3, None),
            (d(Algo::Sha1, HELLO_SHA1), 4, None),
            (d(Algo::Sha256, HELLO_SHA256), 5, None),
            (d(Algo::Md5, EMPTY_MD5), 7, None),
        ]
    );
}

#[test]
fn plain_malformed_lines_are_reported_with_line_numbers() {
    let input = format!(
        "{HELLO_MD5}\nzz5902ac237024bdd0c176cb93063dc4\n6f59\n{HELLO_MD5} extra\n{HELLO_SHA1}\n"
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Plain);
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].1, 5);
    let lines: Vec<u64> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert!(p[0].reason.contains("not a hexadecimal"), "{}", p[0].reason);
    assert!(p[1].reason.contains("4 hex digits"), "{}", p[1].reason);
    assert!(
        p[2].reason.contains("text after the hash"),
        "{}",
        p[2].reason
    );
}

#[test]
fn plain_declared_algo_overrides_length_and_checks_it() {
    let input = format!("{HELLO_XXH128}\n{HELLO_SHA1}\n");
    let (_, e, p) = run(&input, Some(Algo::Xxh3_128));
    assert_eq!(e, vec![(d(Algo::Xxh3_128, HELLO_XXH128), 1, None)]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 2);
    assert!(p[0].reason.contains("xxh3_128 has 32"), "{}", p[0].reason);
}

#[test]
fn empty_and_comment_only_lists() {
    let (s, e, p) = run("", None);
    assert_eq!(
        (s.format, e.len(), p.len(), s.lines),
        (ListFormat::Plain, 0, 0, 0)
    );
    let (s, e, p) = run("# nothing\n\n", None);
    assert_eq!(
        (s.format, e.len(), p.len(), s.lines),
        (ListFormat::Plain, 0, 0, 2)
    );
}

#[test]
fn bom_is_ignored_and_utf16_is_refused() {
    let input = format!("\u{feff}{HELLO_MD5}\n");
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Plain);
    assert_eq!(e.len(), 1);
    assert!(p.is_empty());
    let err = run_bytes(b"\xFF\xFE6\x00f\x00", None).unwrap_err();
    assert!(matches!(err, ListError::Format { .. }));
    assert!(err.to_string().contains("UTF-16"), "{err}");
}

// ---- coreutils ----

#[test]
fn coreutils_text_binary_and_bare() {
    let input = format!(
        "{HELLO_MD5}  hello.txt\n{EMPTY_MD5} *empty.dat\n{PNG_MD5}  name with  two spaces \n\
         {JPG_MD5}  \n"
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(
        e,
        vec![
            (d(Algo::Md5, HELLO_MD5), 1, Some(b"hello.txt".to_vec())),
            (d(Algo::Md5, EMPTY_MD5), 2, Some(b"empty.dat".to_vec())),
            (
                d(Algo::Md5, PNG_MD5),
                3,
                Some(b"name with  two spaces ".to_vec())
            ),
            (d(Algo::Md5, JPG_MD5), 4, None),
        ]
    );
}

#[test]
fn coreutils_escaped_names() {
    let input = format!(
        "\\{HELLO_SHA256}  back\\\\slash.txt\n\\{HELLO_SHA256}  new\\nline.txt\n\
         \\{HELLO_SHA256}  carriage\\rreturn.txt\r\n{HELLO_SHA256}  raw\\name\n\
         \\{HELLO_SHA256}  bad\\tescape\n\\{HELLO_SHA256}  trailing\\\n"
    );
    let (_, e, p) = run(&input, None);
    let names: Vec<Vec<u8>> = e.iter().map(|x| x.2.clone().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            b"back\\slash.txt".to_vec(),
            b"new\nline.txt".to_vec(),
            b"carriage\rreturn.txt".to_vec(),
            // Without the leading backslash the name is raw.
            b"raw\\name".to_vec(),
        ]
    );
    assert!(e.iter().all(|x| x.0 == d(Algo::Sha256, HELLO_SHA256)));
    assert_eq!(p.iter().map(|p| p.line).collect::<Vec<_>>(), vec![5, 6]);
    assert!(p[0].reason.contains("invalid escape"), "{}", p[0].reason);
    assert!(p[1].reason.contains("lone backslash"), "{}", p[1].reason);
}

#[test]
fn coreutils_bsd_tags() {
    let input = format!(
        "MD5 (a) = {HELLO_MD5}\nSHA1 (b (1)) = {HELLO_SHA1}\nSHA256 (x) = y) = {HELLO_SHA256}\n\
         XXH128 (h) = {HELLO_XXH128}\n\\SHA256 (new\\nline) = {HELLO_SHA256}\n\
         XXH3 (e) = 2d06800538d394c2\nBLAKE2b (f) = {HELLO_SHA256}\nSHA256 (g) = {HELLO_MD5}\n\
         SHA256 (no equals) {HELLO_SHA256}\n"
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert_eq!(
        e,
        vec![
            (d(Algo::Md5, HELLO_MD5), 1, Some(b"a".to_vec())),
            (d(Algo::Sha1, HELLO_SHA1), 2, Some(b"b (1)".to_vec())),
            (d(Algo::Sha256, HELLO_SHA256), 3, Some(b"x) = y".to_vec())),
            (d(Algo::Xxh3_128, HELLO_XXH128), 4, Some(b"h".to_vec())),
            (
                d(Algo::Sha256, HELLO_SHA256),
                5,
                Some(b"new\nline".to_vec())
            ),
        ]
    );
    assert_eq!(
        p.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![6, 7, 8, 9]
    );
    assert!(p[0].reason.contains("64-bit XXH3"), "{}", p[0].reason);
    assert!(
        p[1].reason.contains("unsupported algorithm tag"),
        "{}",
        p[1].reason
    );
    assert!(
        p[2].reason.contains("32 hex digits where sha256"),
        "{}",
        p[2].reason
    );
    assert!(p[3].reason.contains("without ') = '"), "{}", p[3].reason);
}

#[test]
fn coreutils_tag_conflicting_with_declared_algo_is_a_problem() {
    let input = format!("SHA256 (a) = {HELLO_SHA256}\nXXH128 (b) = {HELLO_XXH128}\n");
    let (_, e, p) = run(&input, Some(Algo::Xxh3_128));
    assert_eq!(
        e,
        vec![(d(Algo::Xxh3_128, HELLO_XXH128), 2, Some(b"b".to_vec()))]
    );
    assert_eq!(p.len(), 1);
    assert!(
        p[0].reason.contains("says sha256 but xxh3_128"),
        "{}",
        p[0].reason
    );
}

#[test]
fn coreutils_nul_terminated_records() {
    let input = format!(
        "{HELLO_SHA256}  new\nline\\n.txt\0\n{NOTES_SHA256}  notes with space.txt\0bogus\0"
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert!(s.nul_terminated);
    assert_eq!(
        e,
        vec![
            // -z never escapes: the name is taken as it is, line feed and backslash included.
            (
                d(Algo::Sha256, HELLO_SHA256),
                1,
                Some(b"new\nline\\n.txt".to_vec())
            ),
            // A line feed between records (e.g. `printf '\n'` after `sha256sum -z`) is skipped.
            (
                d(Algo::Sha256, NOTES_SHA256),
                2,
                Some(b"notes with space.txt".to_vec())
            ),
        ]
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 3);
}

#[test]
fn md5deep_size_column() {
    let input = format!("         0  {EMPTY_MD5}  ./empty.dat\n        12  {HELLO_MD5}  ./hello.txt\n   x  {PNG_MD5}  y\n");
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert_eq!(
        e,
        vec![
            (d(Algo::Md5, EMPTY_MD5), 1, Some(b"./empty.dat".to_vec())),
            (d(Algo::Md5, HELLO_MD5), 2, Some(b"./hello.txt".to_vec())),
        ]
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 3);
}

#[test]
fn coreutils_malformed_lines() {
    let input = format!(
        "{HELLO_MD5}  ok\nnot-a-hash  name\n{}  short\n{HELLO_MD5}0  odd\n",
        &HELLO_MD5[..30]
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert_eq!(e.len(), 1);
    assert_eq!(p.iter().map(|p| p.line).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert!(p[1].reason.contains("30 hex digits"), "{}", p[1].reason);
    assert!(p[2].reason.contains("33 hex digits"), "{}", p[2].reason);
}

#[test]
fn non_utf8_names_are_kept_as_bytes() {
    let mut input = format!("{HELLO_MD5}  caf").into_bytes();
    input.extend_from_slice(b"\xE9.txt\n");
    let (_, e, p) = run_bytes(&input, None).unwrap();
    assert!(p.is_empty());
    assert_eq!(e[0].2.as_deref(), Some(&b"caf\xE9.txt"[..]));
}

// ---- hashdeep ----

const HD_HEADER: &str = "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /x\n## $ hashdeep -r .\n## \n";

#[test]
fn hashdeep_columns_and_commas_in_names() {
    let input = format!(
        "{HD_HEADER}12,{HELLO_MD5},{HELLO_SHA256},./a,b,c.txt\n0,{EMPTY_MD5},{EMPTY_SHA256},./empty\r\n"
    );
    let (s, e, p) = run(&input, None);
    assert_eq!(s.format, ListFormat::Hashdeep);
    assert!(p.is_empty(), "{p:?}");
    assert!(s.notes.is_empty());
    assert_eq!(
        e,
        vec![
            (d(Algo::Md5, HELLO_MD5), 6, Some(b"./a,b,c.txt".to_vec())),
            (
                d(Algo::Sha256, HELLO_SHA256),
                6,
                Some(b"./a,b,c.txt".to_vec())
            ),
            (d(Algo::Md5, EMPTY_MD5), 7, Some(b"./empty".to_vec())),
            (d(Algo::Sha256, EMPTY_SHA256), 7, Some(b"./empty".to_vec())),
        ]
    );
}

#[test]
fn hashdeep_spellings_and_unknown_columns_noted_once() {
    let tiger = "0".repeat(48);
    let input = format!(
        "%%%% HASHDEEP-1.0\n%%%% size,sha-1,tiger,sha-256,whirlpool,filename\n\
         12,{HELLO_SHA1},{tiger},{HELLO_SHA256},{},h\n0,{EMPTY_SHA1},{tiger},{EMPTY_SHA256},{},e\n",
        "0".repeat(128),
        "0".repeat(128)
    );
    let (s, e, p) = run(&input, None);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
    assert!(s.notes[0].contains("tiger"));
    assert!(s.notes[1].contains("whirlpool"));
    assert_eq!(
        e.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![
            d(Algo::Sha1, HELLO_SHA1),
            d(Algo::Sha256, HELLO_SHA256),
            d(Algo::Sha1, EMPTY_SHA1),
            d(Algo::Sha256, EMPTY_SHA256),
        ]
    );
}

#[test]
fn hashdeep_malformed_lines() {
    let input = format!(
        "{HD_HEADER}12,{HELLO_MD5},{HELLO_SHA256},./new\nline.txt\nx,{HELLO_MD5},{HELLO_SHA256},n\n\
         5,{HELLO_MD5},zz,n2\n5,,{HELLO_SHA256},n3\n"
    );
    let (_, e, p) = run(&input, None);
    // Line 6 is good, line 7 is the broken rest of a name with a newline.
    assert_eq!(
        p.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![7, 8, 9, 10]
    );
    assert!(
        p[0].reason.contains("1 fields where the header names 4"),
        "{}",
        p[0].reason
    );
    assert!(p[1].reason.contains("size"), "{}", p[1].reason);
    assert!(p[2].reason.starts_with("sha256 column"), "{}", p[2].reason);
    assert!(
        p[3].reason.starts_with("md5 column: empty"),
        "{}",
        p[3].reason
    );
    // Good columns of a partly bad line are still read.
    assert_eq!(
        e.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        vec![
            (d(Algo::Md5, HELLO_MD5), 6),
            (d(Algo::Sha256, HELLO_SHA256), 6),
            (d(Algo::Md5, HELLO_MD5), 9),
            (d(Algo::Sha256, HELLO_SHA256), 10),
        ]
    );
}

#[test]
fn hashdeep_declared_algo_selects_a_column() {
    let input = format!("{HD_HEADER}12,{HELLO_MD5},{HELLO_SHA256},h\n");
    let (_, e, p) = run(&input, Some(Algo::Sha256));
    assert!(p.is_empty());
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, d(Algo::Sha256, HELLO_SHA256));
    let err = run_bytes(input.as_bytes(), Some(Algo::Sha1)).unwrap_err();
    assert!(err.to_string().contains("no sha1 column"), "{err}");
}

#[test]
fn hashdeep_bad_headers_are_errors() {
    for bad in [
        "%%%% HASHDEEP-1.0\n%%%% md5,filename\n",
        "%%%% HASHDEEP-1.0\n%%%% size,md5\n",
        "%%%% HASHDEEP-2.0\n%%%% size,md5,filename\n",
        "%%%% HASHDEEP-1.0\n## nothing else\n",
    ] {
        let err = run_bytes(bad.as_bytes(), None).unwrap_err();
        assert!(matches!(err, ListError::Format { .. }), "{bad:?}: {err}");
        assert!(err.to_string().starts_with("test.txt: "), "{err}");
    }
}

#[test]
fn hashdeep_concatenated_files_switch_columns() {
    let input = format!(
        "{HD_HEADER}12,{HELLO_MD5},{HELLO_SHA256},h\n%%%% HASHDEEP-1.0\n%%%% size,sha1,filename\n12,{HELLO_SHA1},h\n"
    );
    let (_, e, p) = run(&input, None);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(e.len(), 3);
    assert_eq!(e[2].0, d(Algo::Sha1, HELLO_SHA1));
}

#[test]
fn io_error_names_the_path() {
    let err = read_list(
        Path::new("/nonexistent/vigie/list.txt"),
        None,
        |_| {},
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ListError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/vigie/list.txt"));
}

#[test]
fn format_names_round_trip() {
    for f in ListFormat::ALL {
        assert_eq!(ListFormat::from_name(f.name()), Some(f));
        assert_eq!(serde_json::to_value(f).unwrap(), f.name());
    }
    assert_eq!(ListFormat::from_name("csv"), None);
}

// ---- real samples ----

fn fixture(name: &str, declared: Option<Algo>) -> (ListSummary, Vec<Owned>, Vec<ListProblem>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lists")
        .join(name);
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let s = read_list(
        &path,
        declared.map(ListType::Exact),
        |e| {
            entries.push((
                *e.hash.as_exact().expect("exact"),
                e.line,
                e.name.map(|n| n.into_owned()),
            ))
        },
        |p| problems.push(p),
    )
    .unwrap();
    (s, entries, problems)
}

fn find<'a>(e: &'a [Owned], name: &[u8]) -> Vec<&'a Digest> {
    e.iter()
        .filter(|x| x.2.as_deref() == Some(name))
        .map(|x| &x.0)
        .collect()
}

#[test]
fn sample_coreutils_lists() {
    for (file, algo, hello, png) in [
        ("MD5SUMS", Algo::Md5, HELLO_MD5, PNG_MD5),
        ("SHA1SUMS.binary-mode", Algo::Sha1, HELLO_SHA1, PNG_SHA1),
        ("SHA256SUMS", Algo::Sha256, HELLO_SHA256, PNG_SHA256),
        ("SHA256SUMS.bsd-tag", Algo::Sha256, HELLO_SHA256, PNG_SHA256),
    ] {
        let (s, e, p) = fixture(file, None);
        assert_eq!(s.format, ListFormat::Coreutils, "{file}");
        assert!(p.is_empty(), "{file}: {p:?}");
        assert_eq!(e.len(), 5, "{file}");
        assert_eq!(find(&e, b"hello.txt"), vec![&d(algo, hello)], "{file}");
        assert_eq!(find(&e, b"sub/shapes.png"), vec![&d(algo, png)], "{file}");
    }
}

#[test]
fn sample_xxh128_needs_declaring() {
    // Without a declaration 32 hex digits read as md5: the caller must say xxh3_128.
    let (_, e, p) = fixture("XXH128SUMS", Some(Algo::Xxh3_128));
    assert!(p.is_empty());
    assert_eq!(e.len(), 5);
    assert_eq!(
        find(&e, b"hello.txt"),
        vec![&d(Algo::Xxh3_128, HELLO_XXH128)]
    );
    assert_eq!(
        find(&e, b"sub/shapes_resized.jpg"),
        vec![&d(Algo::Xxh3_128, JPG_XXH128)]
    );
}

#[test]
fn sample_xxh3_64_lines_are_all_reported() {
    let (s, e, p) = fixture("XXH3SUMS.bsd-tag", None);
    assert_eq!(s.format, ListFormat::Coreutils);
    assert!(e.is_empty());
    assert_eq!(
        p.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[test]
fn sample_escaped_names() {
    let (_, e, p) = fixture("SHA256SUMS.escaped-names", None);
    assert!(p.is_empty(), "{p:?}");
    let want = d(Algo::Sha256, HELLO_SHA256);
    for n in [
        &b"back\\slash.txt"[..],
        b"new\nline.txt",
        b"carriage\rreturn.txt",
        b"plain.txt",
    ] {
        assert_eq!(find(&e, n), vec![&want], "{}", String::from_utf8_lossy(n));
    }
    let (_, e, p) = fixture("SHA256SUMS.escaped-names.bsd-tag", None);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(find(&e, b"back\\slash.txt"), vec![&want]);
    assert_eq!(find(&e, b"new\nline.txt"), vec![&want]);
    let (_, e, p) = fixture("MD5SUMS.escaped-names", None);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(find(&e, b"new\nline.txt"), vec![&d(Algo::Md5, HELLO_MD5)]);
}

#[test]
fn sample_nul_terminated() {
    let (s, e, p) = fixture("SHA256SUMS.nul-terminated", None);
    assert!(s.nul_terminated);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(find(&e, b"hello.txt"), vec![&d(Algo::Sha256, HELLO_SHA256)]);
    assert_eq!(
        find(&e, b"notes with space.txt"),
        vec![&d(Algo::Sha256, NOTES_SHA256)]
    );
    assert_eq!(e.len(), 2);
}

#[test]
fn sample_hashdeep() {
    let (s, e, p) = fixture("known-3algs.hashdeep.txt", None);
    assert_eq!(s.format, ListFormat::Hashdeep);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(e.len(), 15);
    assert_eq!(
        find(&e, b"./sub/shapes.png"),
        vec![
            &d(Algo::Md5, PNG_MD5),
            &d(Algo::Sha1, PNG_SHA1),
            &d(Algo::Sha256, PNG_SHA256)
        ]
    );
    assert_eq!(
        find(&e, b"./empty.dat"),
        vec![
            &d(Algo::Md5, EMPTY_MD5),
            &d(Algo::Sha1, EMPTY_SHA1),
            &d(Algo::Sha256, EMPTY_SHA256)
        ]
    );
    let (_, e, p) = fixture("known-with-missing.hashdeep.txt", None);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(e.len(), 12);
    assert_eq!(e[0].1, 6);
}

#[test]
fn sample_md5deep() {
    for file in ["md5deep-plain.txt", "md5deep-size.txt"] {
        let (s, e, p) = fixture(file, None);
        assert_eq!(s.format, ListFormat::Coreutils, "{file}");
        assert!(p.is_empty(), "{file}: {p:?}");
        assert_eq!(e.len(), 5);
        assert_eq!(find(&e, b"./hello.txt"), vec![&d(Algo::Md5, HELLO_MD5)]);
        assert_eq!(
            find(&e, b"./sub/shapes_resized.jpg"),
            vec![&d(Algo::Md5, JPG_MD5)]
        );
    }
}

#[test]
fn sample_b3sums_are_indistinguishable_from_sha256() {
    // BLAKE3 digests have sha256's length: the content cannot tell them apart, so they read as
    // sha256 unless the caller says otherwise. This documents the limitation.
    let (_, e, p) = fixture("B3SUMS", None);
    assert!(p.is_empty());
    assert!(e.iter().all(|x| x.0.algo() == Algo::Sha256));
}

// ---- PDQ and ThreatExchange ----

// From MANIFEST.json: sub/shapes.png, sub/shapes_resized.jpg, notes with space.txt.
const PNG_PDQ: &str = "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9";
const JPG_PDQ: &str = "d5a954a5519d699a962d518d9665ba706e52be7261866d96bb58ab521a7914ad";
const NOTES_MD5: &str = "b72331c9c7e946a2a2191cdacd015263";

/// An entry of any type, with its label.
type Any = (ListHash, u64, Option<String>);

fn run_any(
    input: &[u8],
    declared: Option<ListType>,
) -> Result<(ListSummary, Vec<Any>, Vec<ListProblem>), ListError> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let s = read_list_from(
        input,
        Path::new("test.txt"),
        declared,
        |e| entries.push((e.hash, e.line, e.label.map(|l| l.into_owned()))),
        |p| problems.push(p),
    )?;
    Ok((s, entries, problems))
}

fn fixture_any(
    name: &str,
    declared: Option<ListType>,
) -> (ListSummary, Vec<Any>, Vec<ListProblem>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lists")
        .join(name);
    run_any(&std::fs::read(path).unwrap(), declared).unwrap()
}

fn pdq(hex: &str) -> ListHash {
    ListHash::Pdq(PdqHash::from_hex(hex).unwrap())
}

fn exact(algo: Algo, hex: &str) -> ListHash {
    ListHash::Exact(d(algo, hex))
}

#[test]
fn te_signal_samples() {
    for name in [
        "file_api_signals.txt",
        "dataset_print_signals_only.from-cli.txt",
    ] {
        let (s, e, p) = fixture_any(name, None);
        assert_eq!(s.format, ListFormat::ThreatExchange, "{name}");
        assert!(p.is_empty(), "{name}: {p:?}");
        assert_eq!(
            e,
            vec![
                (pdq(PNG_PDQ), 1, None),
                (pdq(JPG_PDQ), 2, None),
                (exact(Algo::Md5, NOTES_MD5), 3, None),
            ],
            "{name}"
        );
    }
    let (s, e, p) = fixture_any("hash_output.from-cli.txt", None);
    assert_eq!(s.format, ListFormat::ThreatExchange);
    assert!(p.is_empty());
    assert_eq!(e, vec![(pdq(PNG_PDQ), 1, None), (pdq(JPG_PDQ), 2, None)]);
}

#[test]
fn te_dataset_csv_samples() {
    let (s, e, p) = fixture_any("dataset_export.csv", None);
    assert_eq!(s.format, ListFormat::TeDataset);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(
        e,
        vec![
            (pdq(PNG_PDQ), 2, Some("POSITIVE_CLASS".into())),
            (pdq(JPG_PDQ), 3, Some("NEGATIVE_CLASS".into())),
            (
                exact(Algo::Md5, NOTES_MD5),
                4,
                Some("INVESTIGATION_SEED".into())
            ),
        ]
    );
    let (s, e, p) = fixture_any("dataset_export.from-cli.csv", None);
    assert_eq!(s.format, ListFormat::TeDataset);
    assert!(p.is_empty(), "{p:?}");
    let seed = Some("INVESTIGATION_SEED".to_string());
    assert_eq!(
        e,
        vec![
            (exact(Algo::Md5, NOTES_MD5), 2, seed.clone()),
            (pdq(PNG_PDQ), 3, seed.clone()),
            (pdq(JPG_PDQ), 4, seed),
        ]
    );
}

#[test]
fn te_declared_type_filters_and_unknown_types_are_problems() {
    let input = format!(
        "pdq {PNG_PDQ}\nvideo_md5 {NOTES_MD5}\nurl https://example.com/\n\
         vpdq [\"{PNG_PDQ},100,0.0\"]\nvideo_sha256 {HELLO_SHA256}\nsha1 {HELLO_SHA1}\n\
         pdq {HELLO_MD5}\npdq\n# comment\n\n"
    );
    let (s, e, p) = run_any(input.as_bytes(), None).unwrap();
    assert_eq!(s.format, ListFormat::ThreatExchange);
    assert_eq!(
        e,
        vec![
            (pdq(PNG_PDQ), 1, None),
            (exact(Algo::Md5, NOTES_MD5), 2, None),
            (
                ListHash::Vpdq(Box::new([crate::video::VpdqFrame {
                    frame: 0,
                    hash: PdqHash::from_hex(PNG_PDQ).unwrap(),
                    quality: 100,
                    timestamp: 0.0
                }])),
                4,
                None
            ),
            (exact(Algo::Sha256, HELLO_SHA256), 5, None),
            (exact(Algo::Sha1, HELLO_SHA1), 6, None),
        ]
    );
    let lines: Vec<u64> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 7, 8], "{p:?}");
    assert!(p[0].reason.contains("'url'"), "{}", p[0].reason);

    // Declared pdq: the md5 line is a problem, not an entry.
    let (_, e, p) = run_any(input.as_bytes(), Some(ListType::Pdq)).unwrap();
    assert_eq!(e, vec![(pdq(PNG_PDQ), 1, None)]);
    assert!(p
        .iter()
        .any(|p| p.line == 2 && p.reason.contains("pdq was declared")));
    assert!(p
        .iter()
        .any(|p| p.line == 4 && p.reason.contains("says vpdq but pdq was declared")));
}

#[test]
fn te_csv_quoted_fields_and_missing_category() {
    let input = format!(
        "signal_type,signal_str,collab\r\npdq,{PNG_PDQ},\"A, B\"\r\n\"pdq\",\"{JPG_PDQ}\",x\r\n\
         url,http://x,y\r\npdq\r\n"
    );
    let (s, e, p) = run_any(input.as_bytes(), None).unwrap();
    assert_eq!(s.format, ListFormat::TeDataset);
    assert_eq!(e, vec![(pdq(PNG_PDQ), 2, None), (pdq(JPG_PDQ), 3, None)]);
    assert_eq!(p.iter().map(|p| p.line).collect::<Vec<_>>(), vec![4, 5]);
    // A header without the two columns is a format error.
    assert!(matches!(
        run_any(b"signal_type,signal_strx\npdq,00\n", None),
        Err(ListError::Format { .. })
    ));
}

/// A quoted field may hold line feeds (and blank lines): the record goes on over the next
/// lines and is numbered by its first (split_csv, before the csv crate, cut it at the line end).
#[test]
fn csv_quoted_newline_spans_lines() {
    let input = format!(
        "signal_type,signal_str,collab,category,tags\n\
         video_md5,{HELLO_MD5},c,\"POSITIVE\n\nCLASS\",\"a\r\nb\"\n\
         video_md5,{EMPTY_MD5},c,,\n"
    );
    let mut labels = Vec::new();
    let mut problems = Vec::new();
    let s = read_list_from(
        input.as_bytes(),
        Path::new("t.csv"),
        None,
        |e| labels.push((e.line, e.label.map(Cow::into_owned))),
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(s.format, ListFormat::TeDataset);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.lines, 6);
    assert_eq!(
        labels,
        vec![(2, Some("POSITIVE\n\nCLASS".to_owned())), (6, None)]
    );
    // A legacy ThreatExchange label, quoted over two lines, and a quote left open at the end:
    // read to the end of the input, as one record.
    let input = format!(
        "{HELLO_MD5},1,2024-05-01T00:00:00Z,\"a\nb\"\n{EMPTY_MD5},2,2024-05-01T00:00:00Z,\"open\n"
    );
    let mut labels = Vec::new();
    read_list_from_as(
        input.as_bytes(),
        Path::new("simple.HASH_MD5.te"),
        None,
        Some(ListFormat::TeLegacy),
        |e| labels.push((e.line, e.label.map(Cow::into_owned))),
        |p| panic!("{p:?}"),
    )
    .unwrap();
    assert_eq!(
        labels,
        vec![(1, Some("a\nb".to_owned())), (3, Some("open".to_owned()))]
    );
}

#[test]
fn plain_64_hex_is_sha256_unless_declared_pdq() {
    let input = format!("{PNG_PDQ}\n{JPG_PDQ}\n");
    let (s, e, p) = run_any(input.as_bytes(), None).unwrap();
    assert_eq!(s.format, ListFormat::Plain);
    assert!(p.is_empty());
    assert_eq!(
        e,
        vec![
            (exact(Algo::Sha256, PNG_PDQ), 1, None),
            (exact(Algo::Sha256, JPG_PDQ), 2, None)
        ]
    );
    let (_, e, p) = run_any(input.as_bytes(), Some(ListType::Pdq)).unwrap();
    assert!(p.is_empty());
    assert_eq!(e, vec![(pdq(PNG_PDQ), 1, None), (pdq(JPG_PDQ), 2, None)]);
    // Declared pdq: a 32-hex line is a problem; coreutils lines with names read as PDQ too.
    let input = format!("{HELLO_MD5}\n");
    let (_, e, p) = run_any(input.as_bytes(), Some(ListType::Pdq)).unwrap();
    assert!(e.is_empty());
    assert_eq!(p.len(), 1);
    let input = format!("{PNG_PDQ}  shapes.png\n");
    let (s, e, _) = run_any(input.as_bytes(), Some(ListType::Pdq)).unwrap();
    assert_eq!(s.format, ListFormat::Coreutils);
    assert_eq!(e, vec![(pdq(PNG_PDQ), 1, None)]);
    // A tag that says sha256 conflicts with a pdq declaration.
    let input = format!("SHA256 (x) = {PNG_PDQ}\n");
    let (_, e, p) = run_any(input.as_bytes(), Some(ListType::Pdq)).unwrap();
    assert!(e.is_empty());
    assert_eq!(p.len(), 1);
}

#[test]
fn list_type_parses() {
    assert_eq!("pdq".parse::<ListType>(), Ok(ListType::Pdq));
    assert_eq!("PDQ".parse::<ListType>(), Ok(ListType::Pdq));
    assert_eq!(
        "sha256".parse::<ListType>(),
        Ok(ListType::Exact(Algo::Sha256))
    );
    assert!("tlsh".parse::<ListType>().is_err());
    assert_eq!(ListType::Pdq.to_string(), "pdq");
}

// ---- exchange formats: the shared samples, every digest checked against MANIFEST.json ----

/// One entry with everything copied out of the reader's buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Full {
    hash: ListHash,
    line: u64,
    name: Option<Vec<u8>>,
    label: Option<String>,
    quality: Option<u8>,
}

/// An entry copied out of the reader's buffers.
fn full(e: ListEntry<'_>) -> Full {
    Full {
        hash: e.hash,
        line: e.line,
        name: e.name.map(|n| n.into_owned()),
        label: e.label.map(|l| l.into_owned()),
        quality: e.quality,
    }
}

fn read_full(
    path: &Path,
    declared: Option<ListType>,
) -> (ListSummary, Vec<Full>, Vec<ListProblem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let s = read_list(
        path,
        declared,
        |e| entries.push(full(e)),
        |p| problems.push(p),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (s, entries, problems)
}

fn fixture_path(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir)
        .join(name)
}

/// `fixtures/samples/MANIFEST.json`, a copy of the shared samples' ground truth.
fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read(fixture_path("samples", "MANIFEST.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// The test file (its MANIFEST path) whose digest or PDQ this is, and the kind of hash.
fn manifest_file(m: &[serde_json::Value], h: &ListHash) -> Option<(String, String)> {
    let (key, hex) = match h {
        ListHash::Exact(d) => (d.algo().name().to_string(), d.to_hex()),
        ListHash::Pdq(p) => ("pdq".to_string(), p.to_string()),
        ListHash::Img(k, h) => (k.name().to_string(), h.to_hex()),
        ListHash::Vpdq(_) => return None,
    };
    m.iter()
        .find(|r| r.get(&key).and_then(|v| v.as_str()) == Some(hex.as_str()))
        .map(|r| (r["path"].as_str().unwrap().to_string(), key))
}

/// Reads a fixture list, checks that it has the expected format, no problem, and that every
/// entry is a MANIFEST digest; returns (file, hash kind) per entry, sorted, and the entries.
fn sample(
    name: &str,
    format: ListFormat,
    declared: Option<ListType>,
) -> (Vec<(String, String)>, Vec<Full>, ListSummary) {
    let m = manifest();
    let (s, entries, problems) = read_full(&fixture_path("lists", name), declared);
    assert_eq!(s.format, format, "{name}");
    assert!(problems.is_empty(), "{name}: {problems:?}");
    let mut files: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            manifest_file(&m, &e.hash)
                .unwrap_or_else(|| panic!("{name}: {:?} is in no MANIFEST record", e.hash))
        })
        .collect();
    files.sort();
    (files, entries, s)
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(f, k)| (f.to_string(), k.to_string()))
        .collect();
    v.sort();
    v
}

const ALL_FILES: [&str; 5] = [
    "empty.dat",
    "hello.txt",
    "notes with space.txt",
    "sub/shapes.png",
    "sub/shapes_resized.jpg",
];

#[test]
fn nsrl_rds2_sample_with_comma_and_latin1_names() {
    let (files, entries, s) = sample("NSRLFile.txt", ListFormat::Nsrl, None);
    let mut want = Vec::new();
    for f in ALL_FILES.iter().chain(["hello.txt"].iter()) {
        want.push((*f, "sha1"));
        want.push((*f, "md5"));
    }
    assert_eq!(files, expect(&want));
    assert_eq!(s.lines, 7);
    let names: Vec<&[u8]> = entries.iter().filter_map(|e| e.name.as_deref()).collect();
    assert!(names.contains(&&b"hello, again.txt"[..]));
    // The vendor's Latin-1 byte is kept as it is.
    assert!(names.contains(&&b"caf\xe9.jpg"[..]));
    assert!(s.notes.iter().any(|n| n.contains("CRC32")), "{:?}", s.notes);
    // Both digests of a row carry its line number.
    assert_eq!(entries[0].line, 2);
    assert_eq!(entries[1].line, 2);
}

#[test]
fn nsrl_rds2_layout_1_5_is_read_from_its_header() {
    let (files, _, _) = sample("NSRLFile-format1.5.txt", ListFormat::Nsrl, None);
    assert_eq!(
        files,
        expect(&[
            ("empty.dat", "md5"),
            ("empty.dat", "sha1"),
            ("hello.txt", "md5"),
            ("hello.txt", "sha1")
        ])
    );
    let (files, _, _) = sample(
        "NSRLFile-format1.5.txt",
        ListFormat::Nsrl,
        Some(ListType::Exact(Algo::Md5)),
    );
    assert_eq!(files, expect(&[("empty.dat", "md5"), ("hello.txt", "md5")]));
}

#[test]
fn nsrl_rds2_malformed_rows_and_declared_types() {
    let text = "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n\
                \"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\",\"D41D8CD98F00B204E9800998ECF8427E\",\"00000000\",\"a\",0,1,\"1\",\"\"\r\n\
                \"XX\",\"D41D8CD98F00B204E9800998ECF8427E\",\"00000000\",\"b\",0,1,\"1\",\"\"\r\n\
                \"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\",\"short row\"\r\n";
    let mut n = 0;
    let mut problems = Vec::new();
    let s = read_list_from(
        text.as_bytes(),
        Path::new("NSRLFile.txt"),
        None,
        |_| n += 1,
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(s.format, ListFormat::Nsrl);
    // Row 3: MD5 read, SHA-1 reported; row 4: wrong field count.
    assert_eq!(n, 3);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].line, 3);
    assert!(
        problems[0].reason.starts_with("sha1 column"),
        "{problems:?}"
    );
    assert_eq!(problems[1].line, 4);
    assert!(problems[1].reason.contains("2 fields"), "{problems:?}");
    let err = read_list_from(
        text.as_bytes(),
        Path::new("NSRLFile.txt"),
        Some(ListType::Pdq),
        |_| {},
        |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("NSRL lists hold no pdq"), "{err}");
}

#[test]
fn nsrl_rdsv3_full_and_minimal_shapes() {
    for (db, shape) in [
        ("RDS_sample_full.db", "full"),
        ("RDS_sample_minimal.db", "minimal"),
    ] {
        let (files, entries, s) = sample(db, ListFormat::Rdsv3, None);
        let mut want = Vec::new();
        for f in ALL_FILES.iter().chain(["hello.txt"].iter()) {
            for k in ["md5", "sha1", "sha256"] {
                want.push((*f, k));
            }
        }
        assert_eq!(files, expect(&want), "{db}");
        assert_eq!(s.lines, 6, "{db}");
        assert!(
            s.notes.contains(&format!("RDSv3 {shape} shape")),
            "{:?}",
            s.notes
        );
        assert!(entries
            .iter()
            .any(|e| e.name.as_deref() == Some(&b"hello, again.txt"[..])));
        let (files, _, _) = sample(db, ListFormat::Rdsv3, Some(ListType::Exact(Algo::Sha256)));
        assert_eq!(files.len(), 6);
        assert!(files.iter().all(|(_, k)| k == "sha256"));
    }
}

#[test]
fn nsrl_rdsv3_cannot_be_streamed_and_truncated_db_is_an_error() {
    let db = std::fs::read(fixture_path("lists", "RDS_sample_minimal.db")).unwrap();
    let err = read_list_from(&db[..], Path::new("x.db"), None, |_| {}, |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("must be read from a file"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    for cut in [100, 4096, db.len() / 2, db.len() - 4096] {
        let p = dir.path().join("cut.db");
        std::fs::write(&p, &db[..cut]).unwrap();
        let err = read_list(&p, None, |_| {}, |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(&p.display().to_string()), "{msg}");
        assert!(msg.contains("SQLite"), "{msg}");
    }
    // An SQLite database that is not an RDS.
    let p = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let err = read_list(&p, None, |_| {}, |_| {}).unwrap_err();
    assert!(err.to_string().contains("not an NSRL RDSv3"), "{err}");
}

#[test]
fn vics_2_0_media_with_categories_and_pdq() {
    let (files, entries, s) = sample("vics-2.0-media.json", ListFormat::Vics, None);
    assert_eq!(
        files,
        expect(&[
            ("hello.txt", "md5"),
            ("hello.txt", "sha1"),
            ("sub/shapes.png", "md5"),
            ("sub/shapes.png", "pdq"),
            ("sub/shapes.png", "sha1"),
            ("sub/shapes_resized.jpg", "md5"),
            ("sub/shapes_resized.jpg", "sha1"),
        ])
    );
    assert_eq!(s.lines, 3);
    let label_of = |hex: &str| {
        entries
            .iter()
            .find(|e| match &e.hash {
                ListHash::Exact(d) => d.to_hex() == hex,
                ListHash::Pdq(p) => p.to_string() == hex,
                ListHash::Img(_, h) => h.to_hex() == hex,
                ListHash::Vpdq(_) => false,
            })
            .map(|e| (e.label.clone(), e.name.clone(), e.line))
            .unwrap()
    };
    assert_eq!(
        label_of(PNG_MD5),
        (Some("category 0".into()), Some(b"shapes.png".to_vec()), 4)
    );
    assert_eq!(label_of(JPG_MD5).0.as_deref(), Some("category 4"));
    assert_eq!(label_of(HELLO_MD5).0, None, "Category null: no label");
    assert!(
        s.notes.iter().any(|n| n.contains("PhotoDNA")),
        "{:?}",
        s.notes
    );
    // Declared sha1: only the SHA1 of each Media.
    let (files, _, _) = sample(
        "vics-2.0-media.json",
        ListFormat::Vics,
        Some(ListType::Exact(Algo::Sha1)),
    );
    assert_eq!(files.len(), 3);
}

#[test]
fn vics_1_3_cases_are_streamed_into_their_media() {
    let (files, entries, _) = sample("vics-1.3-cases.json", ListFormat::Vics, None);
    assert_eq!(
        files,
        expect(&[
            ("notes with space.txt", "md5"),
            ("notes with space.txt", "sha1"),
            ("sub/shapes.png", "md5"),
            ("sub/shapes.png", "sha1"),
        ])
    );
    assert!(entries
        .iter()
        .all(|e| e.label.as_deref() == Some("category 0")));
}

/// Runs the reader on JSON text.
fn run_json(text: &[u8]) -> Result<(ListSummary, Vec<Full>, Vec<ListProblem>), ListError> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let s = read_list_from(
        text,
        Path::new("list.json"),
        None,
        |e| entries.push(full(e)),
        |p| problems.push(p),
    )?;
    Ok((s, entries, problems))
}

#[test]
fn vics_cut_mid_record_keeps_earlier_records_and_reports_the_line() {
    let text = std::fs::read(fixture_path("lists", "vics-2.0-media.json")).unwrap();
    // Cut inside the second Media (its MD5 value).
    let cut = memchr::memmem::find(&text, JPG_MD5.to_uppercase().as_bytes()).unwrap() + 10;
    let (s, entries, problems) = run_json(&text[..cut]).unwrap();
    assert_eq!(s.format, ListFormat::Vics);
    // The first Media is whole: md5, sha1, pdq.
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let line = 1 + text[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(problems[0].line, line);
    assert!(problems[0].reason.contains("truncated"), "{problems:?}");
    // Every cut point: no panic, a problem unless the cut leaves a whole document.
    for cut in 1..text.len() {
        let r = run_json(&text[..cut]);
        if let Ok((_, _, p)) = r {
            assert!(!p.is_empty() || cut >= text.len() - 2, "cut {cut}");
        }
    }
}

#[test]
fn json_limits_bound_strings_records_and_nesting() {
    // A 20 MB string inside a record: reported, not kept whole.
    let mut big = br#"{"@odata.context": "x#Media", "value": [{"MD5": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'A', 20 << 20));
    big.extend_from_slice(br#""}]}"#);
    let (_, e, p) = run_json(&big).unwrap();
    assert!(e.is_empty());
    assert!(p[0].reason.contains("longer than"), "{p:?}");
    // Deep nesting in the envelope and inside a record: an error, no stack overflow.
    let mut deep = br#"{"odata.metadata": "x#Media", "other": "#.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    let (_, _, p) = run_json(&deep).unwrap();
    assert!(p[0].reason.contains("nested deeper"), "{p:?}");
    let mut deep = br#"{"odata.metadata": "x#Media", "value": [{"a": "#.to_vec();
    for _ in 0..100_000 {
        deep.extend_from_slice(br#"{"a":"#);
    }
    let (_, _, p) = run_json(&deep).unwrap();
    assert!(p[0].reason.contains("nested deeper"), "{p:?}");
    // Not JSON of a known list.
    let err = run_json(br#"{"foo": 1}"#).unwrap_err();
    assert!(err.to_string().contains("not a VICS export"), "{err}");
    // A byte order mark before the JSON.
    let (s, e, _) = run_json(
        b"\xEF\xBB\xBF{\"hashRecords\": [{\"signalType\": \"VideoMD5\", \"hashValue\": \"b72331c9c7e946a2a2191cdacd015263\"}]}",
    )
    .unwrap();
    assert_eq!((s.format, e.len()), (ListFormat::StopNcii, 1));
    // A VICS envelope without its record array.
    let err = run_json(br#"{"odata.metadata": "x#Media", "value": {"MD5": "x"}}"#).unwrap_err();
    assert!(err.to_string().contains("no \"value\" array"), "{err}");
    // Escapes are decoded; a record without a hash is a problem.
    let (_, e, p) = run_json(
        br#"{"odata.metadata": "x#Media", "value": [
            {"MD5": "6F5902AC237024BDD0C176CB93063DC4", "MediaFiles": [{"FileName": "caf\u00e9 \"q\".txt"}]},
            {"MediaID": 2}
        ]}"#,
    )
    .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name.as_deref(), Some("café \"q\".txt".as_bytes()));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 3);
    assert!(p[0].reason.contains("without an MD5"), "{p:?}");
}

/// A VICS export whose record 2 (of 3) is `bad`: records 1 and 3 carry HELLO's and the
/// JPG's MD5.
fn vics_around(bad: &[u8]) -> Vec<u8> {
    let mut v =
        format!("{{\"odata.metadata\": \"x#Media\", \"value\": [\n{{\"MD5\": \"{HELLO_MD5}\"}},\n")
            .into_bytes();
    v.extend_from_slice(bad);
    v.extend_from_slice(format!(",\n{{\"MD5\": \"{JPG_MD5}\"}}\n]}}\n").as_bytes());
    v
}

#[test]
fn json_record_over_a_limit_is_skipped_and_reading_goes_on() {
    let nest = |n: usize, field: &str| {
        let mut r = format!("{{\"MediaID\": 2, \"{field}\": ").into_bytes();
        r.extend(std::iter::repeat_n(b'[', n));
        r.extend_from_slice(b"1");
        r.extend(std::iter::repeat_n(b']', n));
        r.extend_from_slice(b"}");
        r
    };
    let mut big = br#"{"MD5": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'A', 20 << 20));
    big.extend_from_slice(br#""}"#);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // 101 levels in a field the reader keeps, and in one it skips.
        (nest(101, "MD5"), "nested deeper than 64 levels"),
        (nest(101, "Comments"), "nested deeper than 64 levels"),
        // A million levels: skipped without recursion.
        (
            nest(1_000_000, "AlternativeHashes"),
            "nested deeper than 64 levels",
        ),
        // A 20 MiB string.
        (big, "longer than"),
    ];
    for (bad, why) in cases {
        let (_, e, p) = run_json(&vics_around(&bad)).unwrap();
        let hashes: Vec<_> = e.iter().map(|e| e.hash.clone()).collect();
        assert_eq!(
            hashes,
            vec![exact(Algo::Md5, HELLO_MD5), exact(Algo::Md5, JPG_MD5)],
            "{why}: {p:?}"
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 3, "{p:?}");
        assert!(p[0].reason.contains(why), "{p:?}");
        assert!(p[0].reason.contains("record 2"), "{p:?}");
    }
}

#[test]
fn tcap_page_skips_tombstones_and_labels_ideology() {
    let (files, entries, s) = sample("tcap_hash_list_page.json", ListFormat::Tcap, None);
    assert_eq!(files, expect(&[("sub/shapes.png", "pdq")]));
    assert_eq!(entries[0].label.as_deref(), Some("far-right"));
    assert_eq!(s.lines, 2);
    assert!(
        s.notes.iter().any(|n| n.contains("1 deleted")),
        "{:?}",
        s.notes
    );
    // Live MD5 rows are read; algorithms vigie does not match are problems.
    let (_, e, p) = run_json(
        br#"{"count": 2, "results": [
            {"id": 1, "hash_digest": "b72331c9c7e946a2a2191cdacd015263", "algorithm": "MD5", "ideology": "islamist", "deleted": false},
            {"id": 2, "hash_digest": "00", "algorithm": "SHA512", "deleted": false}
        ]}"#,
    )
    .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].label.as_deref(), Some("islamist"));
    assert_eq!(p.len(), 1);
    assert!(p[0].reason.contains("SHA512"), "{p:?}");
}

#[test]
fn stopncii_page_pdq_with_tags() {
    let (files, entries, _) = sample("stopncii_fetchhashes.json", ListFormat::StopNcii, None);
    assert_eq!(files, expect(&[("sub/shapes.png", "pdq")]));
    assert_eq!(entries[0].label.as_deref(), Some("test"));
    let (_, e, p) = run_json(
        br#"{"hashRecords": [
            {"signalType": "VideoMD5", "hashValue": "b72331c9c7e946a2a2191cdacd015263", "hashStatus": "Active"},
            {"signalType": "ImagePDQ", "hashValue": "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9", "hashStatus": "Withdrawn"},
            {"signalType": "VideoTMK", "hashValue": "00", "hashStatus": "Active"}
        ]}"#,
    )
    .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].hash.list_type(), ListType::Exact(Algo::Md5));
    assert_eq!(p.len(), 1, "withdrawn is skipped, TMK reported: {p:?}");
}

#[test]
fn legacy_te_state_files_read_as_pdq_from_their_name() {
    for name in ["simple.HASH_PDQ.te", "hma.simple.HASH_PDQ.te"] {
        let (files, entries, _) = sample(name, ListFormat::TeLegacy, None);
        assert_eq!(files, expect(&[("sub/shapes.png", "pdq")]), "{name}");
        assert_eq!(entries[0].label.as_deref(), Some("test fixture"), "{name}");
    }
    // Without the type in the name, it must be declared.
    let line = b"51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9,1,2024-05-01,x\n";
    let err = read_list_from(&line[..], Path::new("state.te"), None, |_| {}, |_| {}).unwrap_err();
    assert!(err.to_string().contains("--type"), "{err}");
    let mut n = 0;
    read_list_from(
        &line[..],
        Path::new("state.te"),
        Some(ListType::Pdq),
        |e| {
            assert!(e.hash.as_pdq().is_some());
            n += 1
        },
        |p| panic!("{p:?}"),
    )
    .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn pdq_hasher_csv_keeps_quality_and_name() {
    let (files, entries, _) = sample("pdq-photo-hasher.csv", ListFormat::PdqHasher, None);
    assert_eq!(
        files,
        expect(&[("sub/shapes.png", "pdq"), ("sub/shapes_resized.jpg", "pdq")])
    );
    let m = manifest();
    for e in &entries {
        let (file, _) = manifest_file(&m, &e.hash).unwrap();
        let rec = m.iter().find(|r| r["path"] == file.as_str()).unwrap();
        assert_eq!(
            e.quality.map(u64::from),
            rec["pdq_quality"].as_u64(),
            "{file}"
        );
        assert_eq!(
            e.name.as_deref(),
            Some(format!("testfiles/{file}").as_bytes())
        );
    }
    // The --details form, and a bad quality.
    let text = "hash=51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9,norm=128,delta=0,quality=87,filename=a,b.png\n\
                51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9,101,x.png\n";
    let mut got = Vec::new();
    let mut problems = Vec::new();
    let s = read_list_from(
        text.as_bytes(),
        Path::new("p.csv"),
        None,
        |e| got.push((e.quality, e.name.map(|n| n.into_owned()))),
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(s.format, ListFormat::PdqHasher);
    assert_eq!(got, vec![(Some(87), Some(b"a,b.png".to_vec()))]);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].reason.contains("quality"), "{problems:?}");
}

#[test]
fn xways_hash_sets_take_their_type_from_the_header() {
    let (files, _, _) = sample("sha1-hashset.txt", ListFormat::XWays, None);
    assert_eq!(files, expect(&ALL_FILES.map(|f| (f, "sha1"))));
    let (files, _, _) = sample("md5-hashset.txt", ListFormat::XWays, None);
    assert_eq!(files, expect(&ALL_FILES.map(|f| (f, "md5"))));
    // A header disagreeing with the declared type makes every line a problem.
    let (_, e, p) = read_full(
        &fixture_path("lists", "md5-hashset.txt"),
        Some(ListType::Exact(Algo::Xxh3_128)),
    );
    assert!(e.is_empty());
    assert_eq!(p.len(), 5);
}

#[test]
fn encase_hash_file_and_its_truncations() {
    let (files, entries, s) = sample("sample_v6.hash", ListFormat::EnCase, None);
    assert_eq!(files, expect(&ALL_FILES.map(|f| (f, "md5"))));
    assert!(entries.iter().all(|e| e.label.as_deref() == Some("Known")));
    assert!(s.notes[0].contains("Sample Test Set"), "{:?}", s.notes);
    let bytes = std::fs::read(fixture_path("lists", "sample_v6.hash")).unwrap();
    // Cut inside the header: an error; inside record 3: two entries and one problem.
    let err =
        read_list_from(&bytes[..0x200], Path::new("x.hash"), None, |_| {}, |_| {}).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let mut n = 0;
    let mut problems = Vec::new();
    read_list_from(
        &bytes[..0x480 + 18 * 2 + 5],
        Path::new("x.hash"),
        None,
        |_| n += 1,
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 3);
    // A header claiming 4 billion records allocates nothing and reports the first missing.
    let mut huge = bytes[..0x480].to_vec();
    huge[0x10..0x14].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut problems = Vec::new();
    read_list_from(
        &huge[..],
        Path::new("x.hash"),
        None,
        |_| {},
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 1);
}

#[test]
fn ten_megabyte_line_is_one_problem_not_a_buffer() {
    let mut text = b"signal_type,signal_str,collab,category,tags\n".to_vec();
    text.extend_from_slice(format!("video_md5,{HELLO_MD5},c,POSITIVE_CLASS,\n").as_bytes());
    // ThreatExchange lines may hold a vPDQ signal, so their bound is 16 MiB, not 1.
    text.extend(std::iter::repeat_n(b'x', 17 << 20));
    text.extend_from_slice(format!("\nvideo_md5,{EMPTY_MD5},c,,\n").as_bytes());
    let mut n = 0;
    let mut problems = Vec::new();
    let s = read_list_from(
        &text[..],
        Path::new("big.csv"),
        None,
        |_| n += 1,
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(s.format, ListFormat::TeDataset);
    assert_eq!(n, 2);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 3);
    assert!(
        problems[0].reason.contains("longer than 16 MiB"),
        "{problems:?}"
    );
}

#[test]
fn forced_format_overrides_detection() {
    // Read as plain, the X-Ways header line is a malformed line and the hashes are read.
    let mut n = 0;
    let mut problems = Vec::new();
    let s = read_list_as(
        &fixture_path("lists", "sha1-hashset.txt"),
        None,
        Some(ListFormat::Plain),
        |_| n += 1,
        |p| problems.push(p),
    )
    .unwrap();
    assert_eq!(s.format, ListFormat::Plain);
    assert_eq!((n, problems.len()), (5, 1));
    assert_eq!(problems[0].line, 1);
}

#[test]
fn fast_hex_path_agrees_with_the_checked_one() {
    let cases: &[&str] = &[
        HELLO_MD5,
        &HELLO_SHA1.to_uppercase(),
        HELLO_SHA256,
        "6F5902ac237024BDD0c176cb93063dc4",
        "6f5902ac237024bdd0c176cb93063dcg",
        "6f5902ac237024bdd0c176cb93063dc",
        "",
        "zz",
        "6f5902ac237024bdd0c176cb93063d\u{e9}",
    ];
    for tok in cases {
        for declared in [None, Some(ListType::Exact(Algo::Md5)), Some(ListType::Pdq)] {
            for stated in [None, Some(ListType::Exact(Algo::Sha1))] {
                let slow = parse_hex_checked(tok.as_bytes(), stated, declared);
                assert_eq!(parse_hex(tok.as_bytes(), stated, declared), slow, "{tok}");
                if let Some(fast) = parse_exact_fast(tok.as_bytes(), stated, declared) {
                    assert_eq!(Ok(fast), slow, "{tok}");
                }
            }
        }
    }
}

#[test]
fn no_fixture_prefix_or_byte_flip_panics() {
    let dir = fixture_path("lists", "");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "db" && e != "md"))
        .collect();
    files.sort();
    assert!(files.len() > 30);
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let step = (bytes.len() / 400).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let _ = read_list_from(&bytes[..cut], &path, None, |_| {}, |_| {});
            let mut flipped = bytes.clone();
            flipped[cut] ^= 0xA5;
            let _ = read_list_from(&flipped[..], &path, None, |_| {}, |_| {});
            for forced in [ListFormat::Vics, ListFormat::EnCase, ListFormat::Nsrl] {
                let _ = read_list_from_as(&bytes[..cut], &path, None, Some(forced), |_| {}, |_| {});
            }
        }
    }
}

#[test]
fn damaged_sqlite_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    for db in ["RDS_sample_full.db", "RDS_sample_minimal.db"] {
        let bytes = std::fs::read(fixture_path("lists", db)).unwrap();
        for at in (100..bytes.len()).step_by(997) {
            let mut b = bytes.clone();
            for x in &mut b[at..(at + 64).min(bytes.len())] {
                *x ^= 0x5A;
            }
            let p = dir.path().join("damaged.db");
            std::fs::write(&p, &b).unwrap();
            if let Err(e) = read_list(&p, None, |_| {}, |_| {}) {
                assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
            }
        }
    }
}

// ---- issue 20, points 2 and 4: compressed lists, the layouts peers really write ----

#[test]
fn compressed_samples_read_as_their_plain_versions() {
    for (packed, plain, format) in [
        ("SHA256SUMS.gz", "SHA256SUMS", ListFormat::Coreutils),
        (
            "dataset_export.from-cli.csv.zst",
            "dataset_export.from-cli.csv",
            ListFormat::TeDataset,
        ),
        (
            "hma.simple.HASH_PDQ.te.xz",
            "hma.simple.HASH_PDQ.te",
            ListFormat::TeLegacy,
        ),
    ] {
        let (files, entries, s) = sample(packed, format, None);
        let (plain_files, plain_entries, _) = sample(plain, format, None);
        assert_eq!(files, plain_files, "{packed}");
        assert_eq!(entries, plain_entries, "{packed}");
        assert!(
            s.notes.iter().any(|n| n.contains("-compressed")),
            "{packed}: {:?}",
            s.notes
        );
    }
}

#[test]
fn truncated_compressed_list_is_an_error_not_a_short_list() {
    for name in [
        "SHA256SUMS.gz",
        "dataset_export.from-cli.csv.zst",
        "hma.simple.HASH_PDQ.te.xz",
    ] {
        let bytes = std::fs::read(fixture_path("lists", name)).unwrap();
        let path = fixture_path("lists", name);
        for cut in 6..bytes.len() {
            let err = read_list_from(&bytes[..cut], &path, None, |_| {}, |_| {})
                .expect_err(&format!("{name} cut at {cut}"));
            let text = err.to_string();
            assert!(matches!(err, ListError::Io { .. }), "{text}");
            assert!(text.starts_with(&path.display().to_string()), "{text}");
            assert!(text.contains("truncated"), "{text}");
        }
    }
}

#[test]
fn compressed_twice_or_compressed_sqlite_are_refused() {
    let once = std::fs::read(fixture_path("lists", "SHA256SUMS.gz")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, &once).unwrap();
    let twice = e.finish().unwrap();
    let err = run_any(&twice, None).unwrap_err().to_string();
    assert!(err.contains("gzip data inside a gzip stream"), "{err}");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut e,
        &std::fs::read(fixture_path("lists", "RDS_sample_minimal.db")).unwrap(),
    )
    .unwrap();
    let err = run_any(&e.finish().unwrap(), None).unwrap_err().to_string();
    assert!(err.contains("decompress it first"), "{err}");
}

#[test]
fn hma_v1_lists_take_their_type_from_their_name() {
    let (files, entries, s) = sample("pdq.csv", ListFormat::TeLegacy, None);
    assert_eq!(
        files,
        expect(&[("sub/shapes.png", "pdq"), ("sub/shapes_resized.jpg", "pdq")])
    );
    assert_eq!(s.lines, 2);
    assert_eq!(
        entries[0].label.as_deref(),
        Some("media_priority_pdq_samples media_type_photo")
    );
    let (files, ..) = sample("video_md5.csv", ListFormat::TeLegacy, None);
    assert_eq!(files, expect(&[("notes with space.txt", "md5")]));
    let (files, ..) = sample("photo_md5.csv", ListFormat::TeLegacy, None);
    assert_eq!(files, expect(&[("sub/shapes.png", "md5")]));
    // HMA v1's other sample lists name types vigie does not match: an error naming --type.
    let line = b"d41d8cd98f00b204e9800998ecf8427e,3085044528211555,2020-07-31T20:23:47+0000,x\n";
    let err = read_list_from(&line[..], Path::new("url_md5.csv"), None, |_| {}, |_| {});
    assert!(err.unwrap_err().to_string().contains("--type"));
}

#[test]
fn older_dataset_csv_with_collab_first() {
    let (files, entries, _) = sample(
        "dataset_export.collab-first.csv",
        ListFormat::TeDataset,
        None,
    );
    let (new_files, new_entries, _) =
        sample("dataset_export.from-cli.csv", ListFormat::TeDataset, None);
    assert_eq!(files, new_files);
    assert_eq!(entries, new_entries);
    assert_eq!(entries[0].label.as_deref(), Some("INVESTIGATION_SEED"));
}

#[test]
fn dataset_print_default_layout_from_the_real_cli() {
    for name in [
        "dataset_print.from-cli.txt",
        "dataset_print_one_collab.from-cli.txt",
    ] {
        let (files, entries, _) = sample(name, ListFormat::ThreatExchange, None);
        assert_eq!(
            files,
            expect(&[
                ("notes with space.txt", "md5"),
                ("sub/shapes.png", "pdq"),
                ("sub/shapes_resized.jpg", "pdq"),
            ]),
            "{name}"
        );
        assert!(entries
            .iter()
            .all(|e| e.label.as_deref() == Some("INVESTIGATION_SEED")));
    }
    // Tags, a repr with the other quote and an escape, StopNCII's confidence after the
    // category, a vPDQ array with spaces; and text that is no opinion is a problem.
    let text = format!(
        "pdq {PNG_PDQ} 'Sample Collab' POSITIVE_CLASS tag_a,tag_b\n\
         pdq {JPG_PDQ} \"it's \\\" here\" NEGATIVE_CLASS\n\
         video_md5 {NOTES_MD5} 'StopNCII' INVESTIGATION_SEED +1 +ExamplePlatform\n\
         pdq {PNG_PDQ} 'Sample Collab' SOMETHING_ELSE\n\
         pdq {PNG_PDQ} 'unterminated INVESTIGATION_SEED\n"
    );
    let (s, e, p) = run_any(text.as_bytes(), None).unwrap();
    assert_eq!(s.format, ListFormat::ThreatExchange);
    assert_eq!(
        e,
        vec![
            (pdq(PNG_PDQ), 1, Some("POSITIVE_CLASS".into())),
            (pdq(JPG_PDQ), 2, Some("NEGATIVE_CLASS".into())),
            (
                exact(Algo::Md5, NOTES_MD5),
                3,
                Some("INVESTIGATION_SEED".into())
            ),
        ]
    );
    assert_eq!(
        p.iter().map(|p| p.line).collect::<Vec<_>>(),
        vec![4, 5],
        "{p:?}"
    );
    // A text signal keeps its own error, spaces and all.
    let (_, e, p) = run_any(b"raw_text hello world 'c' INVESTIGATION_SEED\n", None).unwrap();
    assert!(e.is_empty());
    assert!(p[0].reason.contains("raw_text"), "{p:?}");
}

#[test]
fn stopncii_unknown_feedback_value_skips_the_record_as_pytx_does() {
    let (files, _, _) = {
        let m = manifest();
        let (s, entries, problems) = read_full(
            &fixture_path("lists", "stopncii_unknown_feedback.json"),
            None,
        );
        assert_eq!(s.format, ListFormat::StopNcii);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].reason.contains("\"Escalated\""), "{problems:?}");
        assert!(problems[0].reason.contains("python-threatexchange"));
        let files: Vec<_> = entries
            .iter()
            .map(|e| manifest_file(&m, &e.hash).unwrap())
            .collect();
        (files, entries, s)
    };
    assert_eq!(files, expect(&[("notes with space.txt", "md5")]));
    let (_, e, p) = run_json(
        br#"{"hashRecords": [
            {"signalType": "VideoMD5", "hashValue": "b72331c9c7e946a2a2191cdacd015263", "hashStatus": "Pending"}
        ]}"#,
    )
    .unwrap();
    assert!(e.is_empty());
    assert!(p[0].reason.contains("hashStatus \"Pending\""), "{p:?}");
}

/// The format table is in declaration order (`name` and `code` index it), names and codes
/// are unique, and serde writes the name.
#[test]
fn format_table_is_consistent() {
    for (i, (f, name, code)) in FORMATS.iter().enumerate() {
        assert_eq!(*f as usize, i, "{name}");
        assert_eq!(ListFormat::ALL[i], *f);
        assert_eq!(ListFormat::from_name(name), Some(*f));
        assert_eq!(ListFormat::from_code(*code), Some(*f));
        assert_eq!(serde_json::to_string(f).unwrap(), format!("\"{name}\""));
        assert_eq!(f.to_string(), *name);
    }
    assert_eq!(ListFormat::from_code(31), None);
    assert_eq!(ListFormat::from_name("TE"), None);
}

#[test]
fn dataset_print_of_one_signal_type_from_the_real_cli() {
    // `threatexchange dataset -P -s pdq` (and `-s video_md5`) leave the type out: the hash,
    // then `'collab' CATEGORY`. Read as ThreatExchange signals, not as a coreutils list whose
    // 64 hex digits would be SHA-256 digests that never match.
    let (s, e, p) = fixture_any("dataset_print_pdq.from-cli.txt", None);
    assert_eq!(s.format, ListFormat::ThreatExchange);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(e.len(), 16);
    assert!(e.iter().all(
        |(h, _, l)| matches!(h, ListHash::Pdq(_)) && l.as_deref() == Some("INVESTIGATION_SEED")
    ));
    assert_eq!(
        e[0].0,
        pdq("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
    );
    let (s, e, p) = fixture_any("dataset_print_video_md5.from-cli.txt", None);
    assert_eq!(s.format, ListFormat::ThreatExchange);
    assert!(p.is_empty(), "{p:?}");
    let md5 = |h: &str| ListHash::Exact(Digest::from_hex(Algo::Md5, h).unwrap());
    assert_eq!(
        e.iter().map(|(h, _, _)| h.clone()).collect::<Vec<_>>(),
        [
            md5("cab08b36195edb1a1231d2d09fa450e0"),
            md5("d41d8cd98f00b204e9800998ecf8427e")
        ]
    );
    // Declared sha256, 64 hex digits are digests; other text after a hash is no opinion.
    let line = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22 'c' DISPUTED\n";
    let sha = ListType::Exact(Algo::Sha256);
    let (_, e, _) = run_any(line.as_bytes(), Some(sha)).unwrap();
    assert!(matches!(e[0].0, ListHash::Exact(d) if d.algo() == Algo::Sha256));
    let (s, _, _) = run_any(b"cab08b36195edb1a1231d2d09fa450e0  'c' DISPUTED\n", None).unwrap();
    assert_eq!(s.format, ListFormat::Coreutils);
}
