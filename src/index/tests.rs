//! Tests of the index: build from lists, lookups for every algorithm, file round trip,
//! corruption and truncation, and a randomized comparison against a `HashMap`.

use std::collections::{BTreeSet, HashMap};
use std::fs;

use super::build::LOAD;
use super::format::*;
use super::hamming::*;
use super::*;
use crate::lists::{ListError, ListFormat, ListHash, ListType};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;

const HELLO_MD5: &str = "6f5902ac237024bdd0c176cb93063dc4";
const HELLO_SHA1: &str = "22596363b3de40b06f981fb85d82312e8c0ed511";
const HELLO_SHA256: &str = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
const HELLO_XXH128: &str = "eefac9d87100cd1336b2e733a5484425";
const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const PNG_SHA1: &str = "897d63b951a526861322444596847e0888ec6fe9";

fn d(algo: Algo, hex: &str) -> Digest {
    Digest::from_hex(algo, hex).unwrap()
}

use crate::testing::XorShift;

/// A random digest of `algo` from `rng`.
fn random_digest(rng: &mut XorShift, algo: Algo) -> Digest {
    let mut b = [0u8; 32];
    for c in b.chunks_mut(8) {
        c.copy_from_slice(&rng.next().to_le_bytes());
    }
    Digest::new(algo, &b[..algo.len()]).unwrap()
}

fn hits(idx: &Index, dg: &Digest) -> Option<BTreeSet<(String, String)>> {
    idx.lookup(dg).map(|h| {
        h.map(|h| (h.list.to_string(), h.label.to_string()))
            .collect()
    })
}

fn set(pairs: &[(&str, &str)]) -> Option<BTreeSet<(String, String)>> {
    Some(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

/// Three lists in a temp dir: a plain md5/sha1 list, a sha256sum file, a hashdeep file;
/// hello.txt's digests appear in several of them.
fn sample_lists(dir: &Path) -> Vec<ListSpec> {
    let a = dir.join("alpha.txt");
    fs::write(
        &a,
        format!("# alpha\n{HELLO_MD5}\n{HELLO_SHA1}\n{HELLO_MD5}\nnot-hex\n"),
    )
    .unwrap();
    let b = dir.join("beta.sha256");
    fs::write(
        &b,
        format!("{HELLO_SHA256}  hello.txt\n{EMPTY_SHA256}  empty.dat\n"),
    )
    .unwrap();
    let c = dir.join("gamma.hashdeep");
    fs::write(
        &c,
        format!(
            "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## x\n\
             12,{HELLO_MD5},{HELLO_SHA256},./hello.txt\n0,{EMPTY_MD5},{EMPTY_SHA256},./empty.dat\n"
        ),
    )
    .unwrap();
    let x = dir.join("xx.txt");
    fs::write(&x, format!("{HELLO_XXH128}\n")).unwrap();
    vec![
        ListSpec::new(a),
        ListSpec {
            label: Some("cat-b".into()),
            ..ListSpec::new(b)
        },
        ListSpec {
            name: Some("gamma-list".into()),
            label: Some("cat-g".into()),
            ..ListSpec::new(c)
        },
        ListSpec {
            algo: Some(ListType::Exact(Algo::Xxh3_128)),
            ..ListSpec::new(x)
        },
    ]
}

fn build(specs: &[ListSpec]) -> (IndexBuilder, Vec<ListReport>) {
    let mut b = IndexBuilder::new();
    let reports = specs
        .iter()
        .map(|s| b.add_list(s, false).unwrap())
        .collect();
    (b, reports)
}

fn check_sample_index(idx: &Index) {
    assert_eq!(
        hits(idx, &d(Algo::Md5, HELLO_MD5)),
        set(&[("alpha", "alpha"), ("gamma-list", "cat-g")])
    );
    assert_eq!(
        hits(idx, &d(Algo::Sha1, HELLO_SHA1)),
        set(&[("alpha", "alpha")])
    );
    assert_eq!(
        hits(idx, &d(Algo::Sha256, HELLO_SHA256)),
        set(&[("beta", "cat-b"), ("gamma-list", "cat-g")])
    );
    assert_eq!(
        hits(idx, &d(Algo::Sha256, EMPTY_SHA256)),
        set(&[("beta", "cat-b"), ("gamma-list", "cat-g")])
    );
    assert_eq!(
        hits(idx, &d(Algo::Md5, EMPTY_MD5)),
        set(&[("gamma-list", "cat-g")])
    );
    assert_eq!(
        hits(idx, &d(Algo::Xxh3_128, HELLO_XXH128)),
        set(&[("xx", "xx")])
    );
    // Misses, for every algorithm: absent digests, and a present digest under another algo.
    assert_eq!(hits(idx, &d(Algo::Sha1, PNG_SHA1)), None);
    assert_eq!(hits(idx, &d(Algo::Xxh3_128, HELLO_MD5)), None);
    assert_eq!(hits(idx, &d(Algo::Md5, HELLO_XXH128)), None);
    assert_eq!(
        hits(idx, &d(Algo::Sha256, &HELLO_SHA256.replace('a', "b"))),
        None
    );
    assert_eq!(idx.algos(), "all".parse().unwrap());
    idx.verify().unwrap();
}

#[test]
fn build_lookup_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let specs = sample_lists(dir.path());
    let (b, reports) = build(&specs);
    assert_eq!(reports[0].name, "alpha");
    assert_eq!(reports[0].entries.get(Algo::Md5), 2);
    assert_eq!(reports[0].entries.get(Algo::Sha1), 1);
    assert_eq!(reports[0].malformed, 1);
    let path0 = specs[0].path.display().to_string();
    assert_eq!(reports[0].problems.len(), 1);
    assert!(
        reports[0].problems[0].starts_with(&format!("{path0}:5: ")),
        "{:?}",
        reports[0].problems
    );
    assert_eq!(reports[2].format, ListFormat::Hashdeep);
    assert_eq!(reports[2].entries.total(), 4);
    let idx = b.into_index().unwrap();
    check_sample_index(&idx);
    let info = idx.info();
    assert_eq!(info.lists.len(), 4);
    assert_eq!(info.distinct.get(Algo::Md5), 2);
    assert_eq!(info.distinct.get(Algo::Sha256), 2);
    assert_eq!(info.lists[1].label, "cat-b");
    assert_eq!(info.lists[1].format, ListFormat::Coreutils);
    assert_eq!(info.lists[0].malformed, 1);
    assert!(info.tables.iter().all(|t| t.buckets == 1));
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["lists"][2]["entries"]["sha256"], 2);
    assert_eq!(json["tables"][0]["algo"], "md5");
    let text = info.to_string();
    assert!(text.contains("gamma-list"), "{text}");
    assert!(text.contains("table sha256: 2 rows, 1 bucket(s)"), "{text}");
}

#[test]
fn write_open_round_trip_is_identical_to_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let specs = sample_lists(dir.path());
    let out = dir.path().join("sub-dir-less.vidx");
    let stats = build(&specs).0.write(&out).unwrap();
    assert_eq!(stats.lists, 4);
    assert_eq!(stats.bytes, fs::metadata(&out).unwrap().len());
    let idx = Index::open(&out).unwrap();
    check_sample_index(&idx);
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("vigie-index"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    // Building is deterministic and write() == into_index().
    let mem = build(&specs).0.into_index().unwrap();
    assert_eq!(mem.data.bytes(), fs::read(&out).unwrap());
}

#[test]
fn same_hash_in_two_lists_and_duplicates_within_a_list() {
    let h = d(Algo::Sha256, HELLO_SHA256);
    let mut b = IndexBuilder::new();
    b.add_digests("one", "x", "mem", [h, h, h]).unwrap();
    b.add_digests("two", "y", "mem", [h]).unwrap();
    // Same name and label again: one pair, not two.
    b.add_digests("one", "x", "mem2", [h]).unwrap();
    b.add_digests("one", "z", "mem3", [h]).unwrap();
    let idx = b.into_index().unwrap();
    let got: Vec<ListRef> = idx.lookup(&h).unwrap().collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        hits(&idx, &h),
        set(&[("one", "x"), ("two", "y"), ("one", "z")])
    );
    assert_eq!(idx.info().distinct.get(Algo::Sha256), 1);
    idx.verify().unwrap();
}

#[test]
fn strict_rejects_a_malformed_line_and_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let specs = sample_lists(dir.path());
    let mut b = IndexBuilder::new();
    let err = b.add_list(&specs[0], true).unwrap_err();
    match &err {
        IndexError::Malformed { line, .. } => assert_eq!(*line, 5),
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains("alpha.txt:5: "), "{err}");
    b.add_list(&specs[1], true).unwrap();
    let idx = b.into_index().unwrap();
    assert_eq!(idx.info().lists.len(), 1);
    assert!(idx.lookup(&d(Algo::Md5, HELLO_MD5)).is_none());
    assert!(idx.lookup(&d(Algo::Sha256, HELLO_SHA256)).is_some());
    assert_eq!(idx.algos(), [Algo::Sha256].into_iter().collect());
    idx.verify().unwrap();
}

#[test]
fn missing_list_is_an_error_naming_it() {
    let mut b = IndexBuilder::new();
    let err = b
        .add_list(&ListSpec::new("/nonexistent/list.txt"), false)
        .unwrap_err();
    assert!(matches!(err, IndexError::List(_)));
    assert!(err.to_string().contains("/nonexistent/list.txt"), "{err}");
}

/// A DCSO Bloom filter header (m = 1024 bits, none set) and its bits.
fn empty_bloom() -> Vec<u8> {
    let mut v = Vec::new();
    for w in [1u64, 1000, 0.01f64.to_bits(), 7, 1024, 0] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(&[0u8; 128]);
    v
}

#[test]
fn a_list_that_yields_nothing_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let specs = sample_lists(dir.path());
    let lists = [
        ("empty.txt", Vec::new(), "no hash found: the file is empty"),
        (
            "comments.txt",
            b"# nothing here\n\n".to_vec(),
            "no hash found in 2 lines (none malformed)",
        ),
        (
            "md5.csv",
            format!("MD5,FileName\n{HELLO_MD5},hello.txt\n").into_bytes(),
            "no hash found in 2 lines (2 malformed; first, line 1: ",
        ),
        (
            "tag.xxh3",
            b"XXH3 (hello.txt) = 0123456789abcdef\n".to_vec(),
            "no hash found in 1 line (1 malformed; first, line 1: ",
        ),
        (
            "empty.bloom",
            empty_bloom(),
            "the DCSO Bloom filter has no bit set",
        ),
    ];
    for (name, bytes, why) in lists {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let mut b = IndexBuilder::new();
        b.add_list(&specs[1], false).unwrap();
        let err = b.add_list(&ListSpec::new(&path), false).unwrap_err();
        assert!(
            matches!(&err, IndexError::List(ListError::NoHash { .. })),
            "{name}: {err}"
        );
        let text = err.to_string();
        assert!(text.starts_with(&format!("{}: ", path.display())), "{text}");
        assert!(text.contains(why), "{name}: {text}");
        // Nothing of it was added.
        let idx = b.into_index().unwrap();
        assert_eq!(idx.info().lists.len(), 1, "{name}");
        idx.verify().unwrap();
        // Allowed: added, and its report says it is empty.
        let mut b = IndexBuilder::new();
        b.set_allow_empty(true);
        let rep = b.add_list(&ListSpec::new(&path), false).unwrap();
        assert!(rep.empty, "{name}");
        let idx = b.into_index().unwrap();
        assert_eq!(idx.info().lists.len(), 1);
        assert!(idx.is_empty(), "{name}");
        assert!(matches!(
            idx.check_not_empty(),
            Err(IndexError::EmptyIndex { .. })
        ));
    }
    // A list that yields something is not empty, nor is its index.
    let mut b = IndexBuilder::new();
    assert!(!b.add_list(&specs[1], false).unwrap().empty);
    let idx = b.into_index().unwrap();
    assert!(!idx.is_empty());
    assert_eq!(idx.holds(), vec![ListType::Exact(Algo::Sha256)]);
    idx.check_not_empty().unwrap();
    let err = idx
        .check_matchable(Path::new("q.txt"), ListType::Pdq)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "q.txt: its pdq hashes cannot match: the index holds no pdq entry (it holds: sha256)"
    );
    idx.check_matchable(Path::new("q.txt"), ListType::Exact(Algo::Sha256))
        .unwrap();
}

#[test]
fn empty_index_is_valid() {
    let idx = IndexBuilder::new().into_index().unwrap();
    assert!(idx.algos().is_empty());
    assert!(idx.lookup(&d(Algo::Md5, HELLO_MD5)).is_none());
    idx.verify().unwrap();
    assert_eq!(idx.info().lists.len(), 0);
}

fn sample_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = build(&sample_lists(dir.path()));
    let idx = b.into_index().unwrap();
    idx.data.bytes().to_vec()
}

fn open_bytes(b: Vec<u8>) -> Result<Index, IndexError> {
    Index::from_data(Data::from_vec(b), Path::new("t.vidx"))
}

#[test]
fn truncated_files_error_cleanly() {
    let bytes = sample_bytes();
    for tenth in 0..10 {
        let cut = bytes.len() * tenth / 10;
        let err = open_bytes(bytes[..cut].to_vec()).unwrap_err();
        assert!(
            matches!(
                err,
                IndexError::Corrupt { .. } | IndexError::NotAnIndex { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    // Every single length too, the file is small.
    for cut in 0..bytes.len() {
        assert!(open_bytes(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(open_bytes(longer).is_err());
}

#[test]
fn corrupt_header_and_version_errors() {
    let bytes = sample_bytes();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(
        open_bytes(b).unwrap_err(),
        IndexError::NotAnIndex { .. }
    ));
    let mut b = bytes.clone();
    b[8] = 8;
    let err = open_bytes(b).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 8, .. }), "{err}");
    assert!(err.to_string().contains("version 8"), "{err}");
    assert!(err.to_string().contains("versions 1 to 7"), "{err}");
    // Lists read from files carry their sources: a version 7 section, refused in an older
    // file.
    assert_eq!(u32_at(&bytes, 8), Some(7));
    for v in [3, 6] {
        let mut b = bytes.clone();
        b[8] = v;
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err().to_string();
        assert!(err.contains("unexpected list sources section"), "{err}");
    }
    // Files of versions 1 to 3 are still read (lists given in memory: no sources).
    let mut mem = IndexBuilder::new();
    let d = Digest::from_hex(Algo::Md5, "d41d8cd98f00b204e9800998ecf8427e").unwrap();
    mem.add_digests("l", "l", "mem", [d]).unwrap();
    let old = mem.into_index().unwrap().data.bytes().to_vec();
    assert_eq!(u32_at(&old, 8), Some(3));
    for v in [1, 2, 3] {
        let mut b = old.clone();
        b[8] = v;
        reseal(&mut b);
        open_bytes(b).unwrap().verify().unwrap();
    }
    // Any flipped byte in the header (past magic and version) is caught by its checksum.
    let n = u32_at(&bytes, 12).unwrap() as usize;
    for i in 12..HEADER_FIXED + n * SECTION_ENTRY + 8 {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        let err = open_bytes(b).unwrap_err();
        assert!(matches!(err, IndexError::Corrupt { .. }), "byte {i}: {err}");
    }
}

#[test]
fn corrupt_body_bytes_never_panic_and_verify_catches_them() {
    let bytes = sample_bytes();
    let n = u32_at(&bytes, 12).unwrap() as usize;
    let header = HEADER_FIXED + n * SECTION_ENTRY + 8;
    let probes = [
        d(Algo::Md5, HELLO_MD5),
        d(Algo::Sha1, HELLO_SHA1),
        d(Algo::Sha256, HELLO_SHA256),
        d(Algo::Sha256, EMPTY_SHA256),
        d(Algo::Xxh3_128, HELLO_XXH128),
        d(Algo::Sha1, PNG_SHA1),
    ];
    let mut opened = 0;
    for i in header..bytes.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            let Ok(idx) = open_bytes(b) else { continue };
            opened += 1;
            for p in &probes {
                if let Some(h) = idx.lookup(p) {
                    let _ = h.count();
                }
            }
            idx.lookup_batch(&probes, |_, h| {
                let _ = h.count();
            });
            let _ = idx.info().to_string();
            // Padding bytes are not covered by any checksum; every other byte is.
            let in_section = idx
                .sections
                .iter()
                .any(|s| (s.offset..s.offset + s.len).contains(&(i as u64)));
            assert_eq!(idx.verify().is_err(), in_section, "byte {i} flip {flip:#x}");
        }
    }
    assert!(opened > 0);
}

#[test]
fn randomized_against_hashmap() {
    // Default bucket bits, one huge bucket pair (walk then binary search), and a directory far
    // sparser than the rows.
    for bits in [None, Some(1), Some(20)] {
        randomized(bits, false);
    }
}

#[test]
fn clustered_digests_defeat_interpolation_but_not_lookup() {
    for bits in [None, Some(1), Some(8)] {
        randomized(bits, true);
    }
}

/// Builds 5 lists of 3000 random digests (some shared), then compares lookups of them, of
/// random misses and of near misses with a `HashMap`. With `clustered`, every digest starts
/// with the same 8 bytes, so all rows share one bucket and interpolation is useless.
fn randomized(bits: Option<u32>, clustered: bool) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let rng_digest = |rng: &mut XorShift, algo: Algo| {
        let dg = random_digest(rng, algo);
        if !clustered {
            return dg;
        }
        let mut bytes = dg.as_bytes().to_vec();
        bytes[..8].copy_from_slice(b"\x12\x34\x56\x78\x9a\xbc\xde\xf0");
        Digest::new(algo, &bytes).unwrap()
    };
    let mut b = IndexBuilder::new();
    b.set_bucket_bits(bits);
    let mut model: HashMap<Digest, BTreeSet<(String, String)>> = HashMap::new();
    let mut queries = Vec::new();
    for list in 0..5 {
        let name = format!("list{list}");
        let label = format!("label{}", list % 3);
        let mut ds = Vec::new();
        for i in 0..3000 {
            let algo = Algo::ALL[(rng.next() % 4) as usize];
            // Reuse earlier digests now and then, so some digests sit in several lists.
            let dg = if i % 7 == 0 && !queries.is_empty() {
                queries[(rng.next() % queries.len() as u64) as usize]
            } else {
                rng_digest(&mut rng, algo)
            };
            ds.push(dg);
            queries.push(dg);
            model
                .entry(dg)
                .or_default()
                .insert((name.clone(), label.clone()));
        }
        b.add_digests(&name, &label, "generated", ds).unwrap();
    }
    // Misses, including near misses sharing the first bytes with a present digest.
    for i in 0..3000 {
        let algo = Algo::ALL[i % 4];
        queries.push(rng_digest(&mut rng, algo));
        let base = queries[i];
        let mut bytes = base.as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        queries.push(Digest::new(base.algo(), &bytes).unwrap());
    }
    let idx = b.into_index().unwrap();
    idx.verify().unwrap();
    for q in &queries {
        assert_eq!(hits(&idx, q), model.get(q).cloned(), "{q:?}");
    }
    // The batch lookup agrees with the single one.
    let mut batch: Vec<Option<BTreeSet<(String, String)>>> = vec![None; queries.len()];
    idx.lookup_batch(&queries, |i, h| {
        batch[i] = Some(h.map(|h| (h.list.into(), h.label.into())).collect());
    });
    for (q, got) in queries.iter().zip(&batch) {
        assert_eq!(got, &model.get(q).cloned(), "{q:?}");
    }
    // Queries grouped by algorithm take the batch's single-algorithm path.
    let mut by_algo = queries.clone();
    by_algo.sort_by_key(|q| q.algo());
    let mut seen = 0;
    idx.lookup_batch(&by_algo, |i, h| {
        seen += 1;
        let got: BTreeSet<(String, String)> = h.map(|h| (h.list.into(), h.label.into())).collect();
        assert_eq!(Some(got), model.get(&by_algo[i]).cloned());
    });
    assert_eq!(
        seen,
        by_algo.iter().filter(|q| model.contains_key(q)).count()
    );
    let distinct: usize = model.len();
    assert_eq!(idx.info().distinct.total() as usize, distinct);
}

#[test]
fn bucket_count_follows_the_row_count() {
    use super::build::bucket_count;
    assert_eq!(bucket_count(0), 1);
    assert_eq!(bucket_count(3), 1);
    assert_eq!(bucket_count(1000), 1000 / LOAD);
    assert_eq!(bucket_count(10_000_000), 10_000_000 / LOAD);
    assert_eq!(bucket_count(usize::MAX), usize::MAX / LOAD + 1);
}

#[test]
fn index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Index>();
    check::<ListRefs<'static>>();
}

#[test]
fn lookups_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = build(&sample_lists(dir.path()));
    let idx = std::sync::Arc::new(b.into_index().unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let idx = idx.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    assert!(idx.lookup(&d(Algo::Md5, HELLO_MD5)).is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn large_index_file_is_memory_mapped_and_verifies() {
    let mut rng = XorShift(7);
    let digests: Vec<Digest> = (0..5000)
        .map(|_| random_digest(&mut rng, Algo::Sha256))
        .collect();
    let mut b = IndexBuilder::new();
    b.add_digests("big", "big", "generated", digests.clone())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.vidx");
    let stats = b.write(&path).unwrap();
    assert!(stats.bytes > 64 * 1024);
    let idx = Index::open(&path).unwrap();
    assert!(idx.data.is_mapped());
    idx.verify().unwrap();
    assert!(digests.iter().all(|d| idx.lookup(d).is_some()));
    // Overwriting an existing index replaces it atomically.
    let mut b = IndexBuilder::new();
    b.add_digests("small", "s", "generated", digests[..1].to_vec())
        .unwrap();
    b.write(&path).unwrap();
    let idx = Index::open(&path).unwrap();
    assert_eq!(idx.info().distinct.total(), 1);
    assert_eq!(idx.info().lists[0].name, "small");
}

// ---- PDQ ----

const PNG_PDQ: &str = "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9";
const JPG_PDQ: &str = "d5a954a5519d699a962d518d9665ba706e52be7261866d96bb58ab521a7914ad";
const NOTES_MD5: &str = "b72331c9c7e946a2a2191cdacd015263";

fn ph(hex: &str) -> PdqHash {
    PdqHash::from_hex(hex).unwrap()
}

fn fixture_list(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lists")
        .join(name)
}

/// (entry hash, distance, sorted (list, label) pairs) of every match of `q`.
type PdqFound = BTreeSet<(PdqHash, u32, Vec<(String, String)>)>;

fn pdq_found(idx: &Index, q: &PdqHash, threshold: u32) -> PdqFound {
    let mut out = BTreeSet::new();
    idx.pdq_search(q, threshold, |m| {
        let mut h: Vec<(String, String)> = m
            .hits
            .map(|h| (h.list.to_string(), h.label.to_string()))
            .collect();
        h.sort();
        assert!(out.insert((m.hash, m.distance, h)));
    });
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The index of the ThreatExchange samples plus an exact list holding the PNG's PDQ hex as a
/// sha256 line (it must stay sha256) and a plain list declared PDQ.
fn te_index(dir: &Path) -> (IndexBuilder, Vec<ListReport>) {
    let plain = dir.join("plain64.txt");
    fs::write(&plain, format!("{PNG_PDQ}\n{HELLO_SHA256}\n")).unwrap();
    let declared = dir.join("declared.txt");
    fs::write(&declared, format!("{PNG_PDQ}\n")).unwrap();
    build(&[
        ListSpec::new(fixture_list("file_api_signals.txt")),
        ListSpec::new(fixture_list("dataset_export.csv")),
        ListSpec {
            label: Some("gifct".into()),
            ..ListSpec::new(fixture_list("dataset_export.from-cli.csv"))
        },
        ListSpec::new(plain),
        ListSpec {
            algo: Some(ListType::Pdq),
            label: Some("mine".into()),
            ..ListSpec::new(declared)
        },
    ])
}

#[test]
fn pdq_index_from_threatexchange_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (b, reports) = te_index(dir.path());
    assert_eq!(
        reports.iter().map(|r| r.pdq).collect::<Vec<_>>(),
        vec![2, 2, 2, 0, 1]
    );
    assert_eq!(reports[0].format, ListFormat::ThreatExchange);
    assert_eq!(reports[1].format, ListFormat::TeDataset);
    assert_eq!(reports[3].entries.get(Algo::Sha256), 2);
    let path = dir.path().join("te.vidx");
    let stats = b.write(&path).unwrap();
    assert_eq!(stats.distinct_pdq, 2);
    let idx = Index::open(&path).unwrap();
    idx.verify().unwrap();
    assert_eq!(idx.pdq_len(), 2);
    let info = idx.info();
    assert_eq!(info.pdq, 2);
    // Two provenance groups: a byte each.
    assert_eq!(info.pdq_bytes, 2 * 33);
    assert_eq!(info.lists[0].pdq, 2);
    assert_eq!(info.lists[4].pdq, 1);
    assert_eq!(info.lists[1].format, ListFormat::TeDataset);
    assert!(info.to_string().contains("table pdq: 2 hashes"), "{info}");

    // Exact entries of the TE lists (video_md5) and the plain list's sha256 reading.
    assert_eq!(
        hits(&idx, &d(Algo::Md5, NOTES_MD5)),
        set(&[
            ("file_api_signals", "file_api_signals"),
            ("dataset_export", "INVESTIGATION_SEED"),
            ("dataset_export.from-cli", "gifct/INVESTIGATION_SEED"),
        ])
    );
    assert_eq!(
        hits(&idx, &d(Algo::Sha256, PNG_PDQ)),
        set(&[("plain64", "plain64")])
    );

    // PDQ provenance, at distance 0 and within the match threshold.
    let png_hits = pairs(&[
        ("dataset_export", "POSITIVE_CLASS"),
        ("dataset_export.from-cli", "gifct/INVESTIGATION_SEED"),
        ("declared", "mine"),
        ("file_api_signals", "file_api_signals"),
    ]);
    let jpg_hits = pairs(&[
        ("dataset_export", "NEGATIVE_CLASS"),
        ("dataset_export.from-cli", "gifct/INVESTIGATION_SEED"),
        ("file_api_signals", "file_api_signals"),
    ]);
    let exact: PdqFound = [(ph(PNG_PDQ), 0, png_hits.clone())].into();
    assert_eq!(pdq_found(&idx, &ph(PNG_PDQ), 0), exact);
    assert_eq!(pdq_found(&idx, &ph(PNG_PDQ), 21), exact);
    let both: PdqFound = [(ph(PNG_PDQ), 0, png_hits), (ph(JPG_PDQ), 22, jpg_hits)].into();
    assert_eq!(pdq_found(&idx, &ph(PNG_PDQ), 22), both);
    assert_eq!(pdq_found(&idx, &ph(PNG_PDQ), 31), both);
    assert!(pdq_found(&idx, &PdqHash([0xAA; 32]), 31).is_empty());
}

#[test]
fn pdq_distance_matches_reference() {
    let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
    for _ in 0..1000 {
        let a = random_pdq(&mut rng);
        let b = random_pdq(&mut rng);
        assert_eq!(
            pdq_distance(&pdq_words(&a.0), &pdq_words(&b.0)),
            a.distance(&b)
        );
    }
    let z = pdq_words(&[0; 32]);
    assert_eq!(pdq_distance(&z, &pdq_words(&[0xFF; 32])), 256);
}

pub(crate) fn random_pdq(rng: &mut XorShift) -> PdqHash {
    let mut h = [0u8; 32];
    for c in h.chunks_mut(8) {
        c.copy_from_slice(&rng.next().to_le_bytes());
    }
    PdqHash(h)
}

/// `h` with `k` distinct random bits flipped.
pub(crate) fn flip_bits(rng: &mut XorShift, h: &PdqHash, k: usize) -> PdqHash {
    let mut out = *h;
    let mut done = BTreeSet::new();
    while done.len() < k {
        let bit = (rng.next() % 256) as usize;
        if done.insert(bit) {
            out.0[bit / 8] ^= 1 << (bit % 8);
        }
    }
    out
}

#[test]
fn pdq_search_equals_brute_force() {
    let mut rng = XorShift(0xDEAD_BEEF_F00D_0001);
    let queries: Vec<PdqHash> = (0..12).map(|_| random_pdq(&mut rng)).collect();
    // Entries: random hashes (more than one scan tile), and near-duplicates of the queries
    // at distances around every threshold; some in two lists.
    let mut a: Vec<ListHash> = (0..4500)
        .map(|_| ListHash::Pdq(random_pdq(&mut rng)))
        .collect();
    let mut b: Vec<ListHash> = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        for k in [0, 1, 5, 30, 31, 32, 50, 62, 63, 64, 70] {
            let near = ListHash::Pdq(flip_bits(&mut rng, q, k));
            if (i + k) % 3 == 0 {
                b.push(near.clone());
            }
            a.push(near);
        }
    }
    // Exact digests too, one of them with a PDQ hash's bytes.
    a.push(ListHash::Exact(
        Digest::new(Algo::Sha256, &queries[0].0).unwrap(),
    ));
    a.push(ListHash::Exact(d(Algo::Md5, HELLO_MD5)));
    let mut builder = IndexBuilder::new();
    builder.add_hashes("a", "la", "gen", a.clone()).unwrap();
    builder.add_hashes("b", "lb", "gen", b.clone()).unwrap();
    let idx = builder.into_index().unwrap();
    idx.verify().unwrap();
    assert!(idx.lookup(&d(Algo::Md5, HELLO_MD5)).is_some());

    let in_b: BTreeSet<PdqHash> = b.iter().filter_map(|h| h.as_pdq().copied()).collect();
    let all: BTreeSet<PdqHash> = a.iter().filter_map(|h| h.as_pdq().copied()).collect();
    assert_eq!(idx.pdq_len(), all.len());
    let brute = |q: &PdqHash, t: u32| -> PdqFound {
        all.iter()
            .filter(|h| h.distance(q) <= t)
            .map(|h| {
                let mut p = vec![("a".to_string(), "la".to_string())];
                if in_b.contains(h) {
                    p.push(("b".to_string(), "lb".to_string()));
                }
                (*h, h.distance(q), p)
            })
            .collect()
    };
    for t in [0, 31, 63] {
        let mut expected = Vec::new();
        for q in &queries {
            let want = brute(q, t);
            assert!(!want.is_empty());
            assert_eq!(pdq_found(&idx, q, t), want, "threshold {t}");
            expected.push(want);
        }
        // Batches of 8 (one group), 12 (a padded second group), 3.
        for batch in [&queries[..8], &queries[..], &queries[4..7]] {
            let first = batch.as_ptr() as usize - queries.as_ptr() as usize;
            let first = first / std::mem::size_of::<PdqHash>();
            let mut got: Vec<PdqFound> = vec![BTreeSet::new(); batch.len()];
            idx.pdq_search_many(batch, t, |i, m| {
                let mut h: Vec<(String, String)> = m
                    .hits
                    .map(|h| (h.list.to_string(), h.label.to_string()))
                    .collect();
                h.sort();
                assert!(got[i].insert((m.hash, m.distance, h)));
            });
            assert_eq!(got, expected[first..first + batch.len()], "threshold {t}");
        }
    }
    idx.pdq_search_many(&[], 31, |_, _| panic!("no query"));
}

#[test]
fn no_pdq_section_without_pdq_entries() {
    let bytes = sample_bytes();
    let idx = open_bytes(bytes).unwrap();
    assert_eq!(idx.pdq_len(), 0);
    assert!(!idx.sections.iter().any(|s| s.kind == KIND_PDQ));
    idx.pdq_search(&ph(PNG_PDQ), 256, |_| panic!("no PDQ entries"));
    assert_eq!(idx.info().pdq, 0);
}

/// A small index with PDQ and exact entries, as bytes.
fn pdq_sample_bytes() -> Vec<u8> {
    let mut b = IndexBuilder::new();
    b.add_hashes(
        "l1",
        "c1",
        "gen",
        [
            ListHash::Pdq(ph(PNG_PDQ)),
            ListHash::Pdq(ph(JPG_PDQ)),
            ListHash::Exact(d(Algo::Md5, HELLO_MD5)),
        ],
    )
    .unwrap();
    b.add_hashes("l2", "c2", "gen", [ListHash::Pdq(ph(JPG_PDQ))])
        .unwrap();
    b.into_index().unwrap().data.bytes().to_vec()
}

/// Recomputes every section checksum and the header checksum, so that structural checks are
/// what catches a change.
fn reseal(b: &mut [u8]) {
    let n = u32_at(b, 12).unwrap() as usize;
    for i in 0..n {
        let at = HEADER_FIXED + i * SECTION_ENTRY;
        let off = u64_at(b, at + 8).unwrap() as usize;
        let len = u64_at(b, at + 16).unwrap() as usize;
        if let Some(s) = b.get(off..off + len) {
            let sum = xxhash_rust::xxh3::xxh3_64(s);
            b[at + 24..at + 32].copy_from_slice(&sum.to_le_bytes());
        }
    }
    let end = HEADER_FIXED + n * SECTION_ENTRY;
    let sum = xxhash_rust::xxh3::xxh3_64(&b[..end]);
    b[end..end + 8].copy_from_slice(&sum.to_le_bytes());
}

fn pdq_section(b: &[u8]) -> (usize, usize, usize) {
    let n = u32_at(b, 12).unwrap() as usize;
    (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(b, at) == Some(KIND_PDQ))
        .map(|at| {
            (
                at,
                u64_at(b, at + 8).unwrap() as usize,
                u64_at(b, at + 16).unwrap() as usize,
            )
        })
        .unwrap()
}

fn exercise_pdq(idx: &Index) {
    for t in [0, 31, 256] {
        idx.pdq_search(&ph(PNG_PDQ), t, |m| {
            let _ = m.hits.count();
        });
        idx.pdq_search_many(&[ph(PNG_PDQ), ph(JPG_PDQ)], t, |_, m| {
            let _ = m.hits.count();
        });
    }
    let _ = idx.info().to_string();
}

#[test]
fn pdq_section_corruption_never_panics() {
    let bytes = pdq_sample_bytes();
    let idx = open_bytes(bytes.clone()).unwrap();
    idx.verify().unwrap();
    assert_eq!(pdq_found(&idx, &ph(JPG_PDQ), 0).len(), 1);
    let (entry, off, len) = pdq_section(&bytes);
    assert_eq!(len, 2 * (PDQ_LEN + 1)); // two provenance groups: one byte each

    // Every truncation fails to open.
    for cut in 0..bytes.len() {
        assert!(open_bytes(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
    }
    // Flipped bytes of the section: the checksum catches them, searches never panic.
    for i in off..off + len {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            let idx = open_bytes(b).unwrap();
            exercise_pdq(&idx);
            assert!(idx.verify().is_err(), "byte {i}");
        }
    }
    // Resealed damage: structural checks catch it.
    let mut b = bytes.clone();
    b.copy_within(off..off + 32, off + 32); // two equal hashes
    reseal(&mut b);
    let idx = open_bytes(b).unwrap();
    exercise_pdq(&idx);
    assert!(idx.verify().unwrap_err().to_string().contains("pdq row 1"));
    let mut b = bytes.clone();
    b[off + 64] = 200; // group out of range
    reseal(&mut b);
    let idx = open_bytes(b).unwrap();
    exercise_pdq(&idx);
    let found = pdq_found(&idx, &ph(PNG_PDQ), 0);
    assert_eq!(found.len(), 1);
    assert!(found.iter().all(|(_, _, h)| h.is_empty()));
    assert!(idx.verify().is_err());
    // A section length that is not a multiple of a row, or a second PDQ section.
    for bad_len in [0, len - 1, len - 4, 32, 35] {
        let mut b = bytes.clone();
        b[entry + 16..entry + 24].copy_from_slice(&(bad_len as u64).to_le_bytes());
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err();
        assert!(err.to_string().contains("PDQ section"), "{err}");
    }
    let mut b = bytes.clone();
    let first = HEADER_FIXED; // turn the strings section into a second PDQ section
    b[first..first + 4].copy_from_slice(&KIND_PDQ.to_le_bytes());
    reseal(&mut b);
    assert!(open_bytes(b).is_err());
}

/// A random set of PDQ hashes: uniform, or clustered (a few centres, each with many copies a
/// few bits away, as re-encodes of one picture are), plus queries near some entries.
fn pdq_case(rng: &mut XorShift, n: usize, clustered: bool) -> (Vec<PdqHash>, Vec<PdqHash>) {
    let mut set = Vec::with_capacity(n);
    if clustered {
        let centres: Vec<PdqHash> = (0..1 + n / 200).map(|_| random_pdq(rng)).collect();
        while set.len() < n {
            let c = &centres[(rng.next() % centres.len() as u64) as usize];
            let k = (rng.next() % 40) as usize;
            set.push(flip_bits(rng, c, k));
        }
    } else {
        set.extend((0..n).map(|_| random_pdq(rng)));
    }
    // Enough queries for a batched search (from MIH_BATCH_MIN on); the first 12 are also
    // searched alone.
    let mut queries: Vec<PdqHash> = (0..4).map(|_| random_pdq(rng)).collect();
    for _ in 0..MIH_BATCH_MIN + 32 {
        let e = set[(rng.next() % n as u64) as usize];
        let k = (rng.next() % 70) as usize;
        queries.push(flip_bits(rng, &e, k));
    }
    (set, queries)
}

/// Every search (multi-index forced, linear forced, and the automatic choice) returns exactly
/// the brute-force answer, for uniform and clustered sets, table counts from 16 to 64 and
/// random thresholds from 0 to 63.
#[test]
fn pdq_multi_index_equals_brute_force() {
    let mut rng = XorShift(0x5EED_0F4D_1D00_0004);
    for case in 0..24 {
        let clustered = case % 2 == 1;
        let n = 1 + (rng.next() % 3000) as usize;
        // 16 to 64 tables (substrings of 16 to 4 bits: small directories for a debug build).
        let m = 16 + (rng.next() % 49) as usize;
        let (set, queries) = pdq_case(&mut rng, n, clustered);
        let mut builder = IndexBuilder::new();
        builder.set_pdq_search(PdqSearch::Tables(m));
        let entries = set.iter().map(|h| ListHash::Pdq(*h));
        builder.add_hashes("l", "lab", "gen", entries).unwrap();
        let idx = builder.into_index().unwrap();
        idx.verify().unwrap();
        let info = idx.info().pdq_search.expect("tables were asked for");
        assert_eq!(info.tables, m);
        assert_eq!(info.lengths.iter().sum::<u32>(), 256);
        let distinct: BTreeSet<PdqHash> = set.iter().copied().collect();
        for _ in 0..3 {
            let t = (rng.next() % 64) as u32;
            let want: Vec<BTreeSet<(PdqHash, u32)>> = queries
                .iter()
                .map(|q| {
                    distinct
                        .iter()
                        .filter(|h| h.distance(q) <= t)
                        .map(|h| (*h, h.distance(q)))
                        .collect()
                })
                .collect();
            for force in [Some(true), Some(false), None] {
                for qs in [&queries[..12], &queries[..]] {
                    let mut got = vec![BTreeSet::new(); qs.len()];
                    idx.pdq_search_by(qs, t, force, |i, m| {
                        assert_eq!(m.distance, m.hash.distance(&qs[i]));
                        assert_eq!(m.hits.count(), 1);
                        assert!(got[i].insert((m.hash, m.distance)), "reported twice");
                    });
                    assert_eq!(
                        got,
                        want[..qs.len()],
                        "case {case} n {n} m {m} clustered {clustered} t {t} force {force:?} \
                         queries {}",
                        qs.len()
                    );
                }
            }
        }
    }
}

/// The builder adds tables by itself from 16,384 hashes on, and the index says so.
#[test]
fn pdq_tables_chosen_from_the_list_size() {
    let mut rng = XorShift(0xA11CE);
    let set: Vec<PdqHash> = (0..mih::AUTO_MIN_ROWS)
        .map(|_| random_pdq(&mut rng))
        .collect();
    let mut builder = IndexBuilder::new();
    let entries = set.iter().map(|h| ListHash::Pdq(*h));
    builder.add_hashes("l", "lab", "gen", entries).unwrap();
    let idx = builder.into_index().unwrap();
    idx.verify().unwrap();
    let info = idx.info();
    let tables = info.pdq_search.as_ref().expect("large enough for tables");
    // The cheapest at threshold 31 for 2^14 hashes: 16 tables of 16 bits, each at radius 1.
    assert_eq!(tables.tables, 16);
    assert!(info
        .to_string()
        .contains("multi-index hashing: 16 tables of 16-bit substrings"));
    // At threshold 31 the tables are cheaper than a scan; the answer is the scan's.
    let q = flip_bits(&mut rng, &set[77], 20);
    let mih = idx.mih.as_ref().unwrap();
    assert!(mih.cost(31) < set.len() as u64);
    let found = pdq_found(&idx, &q, 31);
    assert!(found.iter().any(|(h, d, _)| *h == set[77] && *d == 20));
    let mut linear = BTreeSet::new();
    idx.pdq_search_by(&[q], 31, Some(false), |_, m| {
        linear.insert((m.hash, m.distance));
    });
    let auto: BTreeSet<(PdqHash, u32)> = found.iter().map(|(h, d, _)| (*h, *d)).collect();
    assert_eq!(auto, linear);
    // One hash fewer: no tables; `linear` never has any.
    for (n, search) in [
        (set.len() - 1, PdqSearch::Auto),
        (set.len(), PdqSearch::Linear),
    ] {
        let mut builder = IndexBuilder::new();
        builder.set_pdq_search(search);
        let entries = set[..n].iter().map(|h| ListHash::Pdq(*h));
        builder.add_hashes("l", "lab", "gen", entries).unwrap();
        let idx = builder.into_index().unwrap();
        assert!(idx.info().pdq_search.is_none());
        assert!(idx.info().to_string().contains("linear scan"));
    }
}

/// Damage to the multi-index tables: structural damage fails at open, resealed content
/// damage is found by `verify`, and searches never panic and never report a wrong distance.
#[test]
fn pdq_multi_index_corruption_never_panics() {
    let mut rng = XorShift(0xBAD_7AB1E);
    // Byte 5 is table 5's substring: all 300 rows in its bucket 0, so that table keeps one
    // u32 start a bucket while the others keep them in blocks.
    let set: Vec<PdqHash> = (0..300)
        .map(|_| {
            let mut h = random_pdq(&mut rng);
            h.0[5] = 0;
            h
        })
        .collect();
    let mut builder = IndexBuilder::new();
    builder.set_pdq_search(PdqSearch::Tables(32));
    builder
        .add_hashes("l", "lab", "gen", set.iter().map(|h| ListHash::Pdq(*h)))
        .unwrap();
    let idx = builder.into_index().unwrap();
    let bytes = idx.data.bytes().to_vec();
    let tables: Vec<(usize, usize, usize)> = (0..u32_at(&bytes, 12).unwrap() as usize)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .filter(|&at| u32_at(&bytes, at) == Some(KIND_PDQ_MIH))
        .map(|at| {
            (
                at,
                u64_at(&bytes, at + 8).unwrap() as usize,
                u64_at(&bytes, at + 16).unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(tables.len(), 32);
    let check = |b: Vec<u8>| {
        if let Ok(idx) = open_bytes(b) {
            // A few queries (searched one by one) and a batch (searched together).
            for (t, q) in [0, 31, 63].into_iter().zip([4, 80, 300]) {
                idx.pdq_search_by(&set[..q], t, Some(true), |i, m| {
                    assert_eq!(m.distance, m.hash.distance(&set[i]));
                    assert!(m.distance <= t);
                });
            }
            Some(idx.verify().is_ok())
        } else {
            None
        }
    };
    // Header fields of a table: refused at open.
    let (_, off, _) = tables[3];
    for field in 0..4 {
        let mut b = bytes.clone();
        b[off + 4 * field] ^= 0x41;
        reseal(&mut b);
        assert_eq!(check(b), None, "field {field}");
    }
    let info = idx.info().pdq_search.unwrap();
    assert_eq!(info.block_bits[5], 0);
    assert!(info.block_bits[7] > 0);
    // Bucket starts and row numbers: resealed, so only verify can tell.
    for at in [5, 7].into_iter().flat_map(|t| {
        let (_, off, len) = tables[t];
        [off + 16, off + 20, off + len / 2, off + len - 4]
    }) {
        for v in [0u32, 1, 299, 300, 301, u32::MAX] {
            let mut b = bytes.clone();
            if b[at..at + 4] == v.to_le_bytes() {
                continue;
            }
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            reseal(&mut b);
            assert_eq!(check(b), Some(false), "at {at} value {v}");
        }
    }
    // A missing table (renumbered section) or a table without PDQ hashes: refused.
    let mut b = bytes.clone();
    let (entry, _, _) = tables[31];
    b[entry + 4..entry + 8].copy_from_slice(&40u32.to_le_bytes());
    reseal(&mut b);
    assert_eq!(check(b), None);
}

/// The hashlookup sample filter.
fn sample_bloom() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hashlookup/known-sha1.dcso.bloom")
}

/// An index of a blocklist (hello md5), an allowlist (hello sha1, png sha1) and the sample
/// Bloom filter, as bytes.
fn roles_sample_bytes(dir: &Path) -> Vec<u8> {
    let block = dir.join("block.txt");
    fs::write(&block, format!("{HELLO_MD5}\n")).unwrap();
    let allow = dir.join("allow.txt");
    fs::write(&allow, format!("{HELLO_SHA1}\n{PNG_SHA1}\n")).unwrap();
    let (b, reports) = build(&[
        ListSpec::new(block),
        ListSpec {
            role: Some(Role::Allow),
            label: Some("nsrl".into()),
            ..ListSpec::new(allow)
        },
        ListSpec::new(sample_bloom()),
    ]);
    assert_eq!(reports[2].format, ListFormat::DcsoBloom);
    assert_eq!(reports[2].role, Role::Allow);
    b.into_index().unwrap().data.bytes().to_vec()
}

fn blooms(idx: &Index, dg: &Digest) -> Vec<(String, Role, f64)> {
    let mut v = Vec::new();
    idx.bloom_lookup(dg, |h| v.push((h.list.to_string(), h.role, h.fpr)));
    v
}

#[test]
fn roles_and_bloom_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = roles_sample_bytes(dir.path());
    let idx = open_bytes(bytes.clone()).unwrap();
    idx.verify().unwrap();
    assert!(idx.has_allowlist());
    assert!(idx.algos().contains(Algo::Sha1));
    let roles: Vec<Role> = idx.info().lists.iter().map(|l| l.role).collect();
    assert_eq!(roles, [Role::Block, Role::Allow, Role::Allow]);
    let hello = idx.lookup(&d(Algo::Sha1, HELLO_SHA1)).unwrap();
    let h: Vec<ListRef> = hello.collect();
    assert_eq!(
        h,
        [ListRef {
            list: "allow",
            label: "nsrl",
            role: Role::Allow
        }]
    );
    assert_eq!(
        idx.lookup(&d(Algo::Md5, HELLO_MD5))
            .unwrap()
            .next()
            .unwrap()
            .role,
        Role::Block
    );
    // The Bloom filter: members probable at the filter's rate, the non-member absent, md5
    // never probed.
    let sample = "known-sha1.dcso".to_string();
    assert_eq!(
        blooms(&idx, &d(Algo::Sha1, PNG_SHA1)),
        [(sample, Role::Allow, 1e-4)]
    );
    assert!(blooms(
        &idx,
        &d(Algo::Sha1, "c153f0130814aae64c378d220fddbc5f0905e332")
    )
    .is_empty());
    assert!(blooms(&idx, &d(Algo::Md5, HELLO_MD5)).is_empty());
    let info = idx.info();
    let b = info.lists[2].bloom.as_ref().unwrap();
    assert_eq!((b.k, b.m, b.n, b.inserted), (14, 19_170, 1000, 4));
    assert!(info.to_string().contains("hits probable at fpr 1e-4"));

    // Written to a file: the same bytes.
    let (b, _) = build(&[ListSpec::new(sample_bloom())]);
    let path = dir.path().join("b.vidx");
    b.write(&path).unwrap();
    let (b, _) = build(&[ListSpec::new(sample_bloom())]);
    assert_eq!(
        fs::read(&path).unwrap(),
        b.into_index().unwrap().data.bytes()
    );
    // A Bloom filter is an allowlist unless told otherwise: a ROLES section.
    let n = u32_at(&fs::read(&path).unwrap(), 12).unwrap();
    assert_eq!(n, 6);
    // Only blocklists: no ROLES section, as before roles existed.
    let (b, _) = build(&[ListSpec {
        role: Some(Role::Block),
        ..ListSpec::new(sample_bloom())
    }]);
    let idx = b.into_index().unwrap();
    assert_eq!(u32_at(idx.data.bytes(), 12), Some(5));
    assert_eq!(idx.info().lists[0].role, Role::Block);
}

/// Byte offset and length of the first section of `kind`.
fn section(b: &[u8], kind: u32) -> (usize, usize) {
    let n = u32_at(b, 12).unwrap() as usize;
    (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(b, at) == Some(kind))
        .map(|at| {
            (
                u64_at(b, at + 8).unwrap() as usize,
                u64_at(b, at + 16).unwrap() as usize,
            )
        })
        .unwrap()
}

#[test]
fn hostile_roles_and_bloom_sections_are_corrupt_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = roles_sample_bytes(dir.path());
    let (bloom_at, bloom_len) = section(&bytes, KIND_BLOOM);
    let (roles_at, _) = section(&bytes, KIND_ROLES);
    let cases: Vec<(usize, Vec<u8>, &str)> = vec![
        // m larger than the bits the section holds.
        (
            bloom_at + 16,
            19_235u64.to_le_bytes().to_vec(),
            "m = 19235 bits needs 2456 bytes",
        ),
        (
            bloom_at + 16,
            u64::MAX.to_le_bytes().to_vec(),
            "m = 18446744073709551615",
        ),
        (bloom_at + 16, 0u64.to_le_bytes().to_vec(), "m = 0"),
        (bloom_at + 8, 1000u64.to_le_bytes().to_vec(), "k = 1000"),
        (
            bloom_at + 32,
            f64::INFINITY.to_bits().to_le_bytes().to_vec(),
            "p = inf",
        ),
        (bloom_at, 9u32.to_le_bytes().to_vec(), "unknown algorithm 9"),
        (
            bloom_at + 4,
            7u32.to_le_bytes().to_vec(),
            "unknown key case 7",
        ),
        (roles_at + 4, 5u32.to_le_bytes().to_vec(), "unknown role 5"),
        (roles_at, 2u32.to_le_bytes().to_vec(), "for 2 roles"),
    ];
    for (at, value, want) in cases {
        let mut b = bytes.clone();
        b[at..at + value.len()].copy_from_slice(&value);
        // Unsealed: the checksum catches it (the roles at open, the bloom in verify).
        if let Ok(idx) = open_bytes(b.clone()) {
            assert!(idx.verify().is_err(), "{want}");
            let _ = blooms(&idx, &d(Algo::Sha1, PNG_SHA1));
        }
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    // The bloom section's list index out of range, or pointing at a list of another format.
    let n = u32_at(&bytes, 12).unwrap() as usize;
    let entry = (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(&bytes, at) == Some(KIND_BLOOM))
        .unwrap();
    for (param, want) in [(3u32, "no such list"), (0, "format plain")] {
        let mut b = bytes.clone();
        b[entry + 4..entry + 8].copy_from_slice(&param.to_le_bytes());
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    // Flipped bits inside the filter: verify() catches them, lookups still answer.
    let mut b = bytes.clone();
    for i in (bloom_at + BLOOM_HEADER..bloom_at + bloom_len).step_by(97) {
        b[i] ^= 0xA5;
    }
    let idx = open_bytes(b).unwrap();
    assert!(idx.verify().is_err());
    let _ = blooms(&idx, &d(Algo::Sha1, PNG_SHA1));
}

/// The PDQ section keeps each hash's provenance group in the fewest bytes that hold every
/// group number (none for a single group), and files of versions before 3, whose groups
/// are always 4 bytes, are still read.
#[test]
fn pdq_groups_take_the_fewest_bytes() {
    let mut rng = XorShift(0x6E0);
    let set: Vec<PdqHash> = (0..300).map(|_| random_pdq(&mut rng)).collect();
    // lists: how many lists the hashes are spread over, round robin.
    let build = |lists: usize, force: Option<usize>| {
        let mut b = IndexBuilder::new();
        if let Some(w) = force {
            b.set_pdq_group_width(w);
        }
        for l in 0..lists {
            let mine = set.iter().skip(l).step_by(lists).map(|h| ListHash::Pdq(*h));
            b.add_hashes(&format!("l{l}"), &format!("c{l}"), "gen", mine)
                .unwrap();
        }
        b.into_index().unwrap().data.bytes().to_vec()
    };
    let check = |bytes: Vec<u8>, lists: usize, width: usize| {
        let (entry, _, len) = pdq_section(&bytes);
        assert_eq!(u32_at(&bytes, entry + 4), Some(width as u32), "param");
        assert_eq!(len, set.len() * (PDQ_LEN + width));
        let idx = open_bytes(bytes).unwrap();
        idx.verify().unwrap();
        assert_eq!(idx.info().pdq_bytes as usize, len);
        // Every hash is found with its own list, and only that one.
        for (i, h) in set.iter().enumerate() {
            let found = pdq_found(&idx, h, 0);
            assert_eq!(found.len(), 1, "hash {i}");
            let want = vec![(format!("l{}", i % lists), format!("c{}", i % lists))];
            let got = &found.iter().next().unwrap().2;
            assert_eq!(got, &want, "hash {i} in {lists} lists, {width}-byte groups");
        }
    };
    check(build(1, None), 1, 0);
    check(build(7, None), 7, 1);
    check(build(300, None), 300, 2);
    check(build(7, Some(4)), 7, 4);
    // A forced width never drops group bits.
    check(build(300, Some(1)), 300, 2);

    // A version 2 file: 4-byte groups under param 0.
    let mut v2 = build(7, Some(4));
    let (entry, _, _) = pdq_section(&v2);
    v2[entry + 4..entry + 8].copy_from_slice(&0u32.to_le_bytes());
    v2[8] = 2;
    reseal(&mut v2);
    check_v2(v2.clone(), &set);
    // In version 3, param 0 means no groups: the same bytes are a bad length there. Other
    // params are refused.
    let mut b = v2.clone();
    b[8] = 3;
    reseal(&mut b);
    let err = open_bytes(b).unwrap_err().to_string();
    assert!(err.contains("not a positive multiple of 32"), "{err}");
    for (version, param) in [(2u8, 4u32), (3, 3), (3, 8)] {
        let mut b = v2.clone();
        b[8] = version;
        b[entry + 4..entry + 8].copy_from_slice(&param.to_le_bytes());
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err().to_string();
        assert!(err.contains(&format!("groups of {param} bytes")), "{err}");
    }
}

/// The version 2 file of [`pdq_groups_take_the_fewest_bytes`] reads as its version 3 twin.
fn check_v2(bytes: Vec<u8>, set: &[PdqHash]) {
    let idx = open_bytes(bytes).unwrap();
    idx.verify().unwrap();
    assert_eq!(idx.info().version, 2);
    for (i, h) in set.iter().enumerate() {
        let found = pdq_found(&idx, h, 0);
        let want = vec![(format!("l{}", i % 7), format!("c{}", i % 7))];
        assert_eq!(found.iter().next().unwrap().2, want, "hash {i}");
    }
}

/// A vPDQ hash of `n` frames: frame `i` has hash `base` with byte `i % 32` xored by `i`,
/// quality `q(i)`.
fn video_frames(base: u8, n: usize, q: impl Fn(usize) -> u8) -> ListHash {
    let frames: Vec<crate::video::VpdqFrame> = (0..n)
        .map(|i| {
            let mut h = PdqHash([base; 32]);
            h.0[i % 32] ^= (i as u8).wrapping_add(1);
            crate::video::VpdqFrame {
                frame: i as u64,
                hash: h,
                quality: q(i),
                timestamp: i as f32,
            }
        })
        .collect();
    ListHash::Vpdq(frames.into())
}

#[test]
fn known_videos_round_trip_and_are_searched_by_frame() {
    for search in [PdqSearch::Linear, PdqSearch::Tables(16)] {
        let mut b = IndexBuilder::new();
        b.set_pdq_search(search);
        // Video 2 repeats video 1's first frames (a shared frame has two postings); video 1
        // lists its frame 0 twice, the second time at a better quality.
        let mut v1 = video_frames(0x11, 6, |i| if i == 0 { 20 } else { 90 });
        if let ListHash::Vpdq(f) = &mut v1 {
            let mut again = f[0];
            again.quality = 70;
            let mut frames = f.to_vec();
            frames.push(again);
            *f = frames.into();
        }
        let v2 = video_frames(0x11, 3, |_| 40);
        let v3 = video_frames(0xEE, 4, |_| 100);
        b.add_hashes("partner", "terror", "feed.csv", [v1, v2, v3])
            .unwrap();
        let idx = b.into_index().unwrap();
        // Lists given in memory have no sources: version 6, the videos' own.
        assert_eq!(idx.info().version, 6);
        idx.verify().unwrap();
        assert_eq!(idx.video_count(), 3);
        assert_eq!(idx.vpdq_frame_count(), 6 + 4);
        assert!(idx.holds().contains(&ListType::Vpdq));
        let v = idx.video(0).unwrap();
        assert_eq!(v.name, "partner:1");
        assert_eq!(v.qualities.len(), 6);
        // Frame 0 counts at its best quality, 70.
        assert_eq!(v.frames_at_least(50), 6);
        assert_eq!(idx.video(1).unwrap().frames_at_least(50), 0);
        let hit: Vec<_> = idx.video(2).unwrap().hits.collect();
        assert_eq!((hit[0].list, hit[0].label), ("partner", "terror"));
        assert!(idx.video(3).is_none());
        // Each video's distinct frames, at their best quality.
        let frames = |id: u32| {
            let mut f = idx.video_frames(id).unwrap();
            f.sort();
            f
        };
        let ListHash::Vpdq(f1) = video_frames(0x11, 6, |i| if i == 0 { 70 } else { 90 }) else {
            unreachable!()
        };
        let mut want: Vec<(PdqHash, u8)> = f1.iter().map(|f| (f.hash, f.quality)).collect();
        want.sort();
        assert_eq!(frames(0), want);
        assert_eq!(frames(1).len(), 3);
        assert!(frames(1)
            .iter()
            .all(|&(h, q)| q == 40 && want.iter().any(|w| w.0 == h)));
        assert_eq!(frames(2).len(), 4);
        assert!(idx.video_frames(3).is_none());
        // Frame 1 of video 1 (and 2), searched at distance 0 and at a distance.
        let ListHash::Vpdq(f) = video_frames(0x11, 6, |_| 0) else {
            unreachable!()
        };
        let mut found = Vec::new();
        idx.vpdq_search_many(&[f[1].hash], 0, |q, row, d| found.push((q, row, d)));
        assert_eq!(found.len(), 1, "{search:?}");
        let posts: Vec<_> = idx.vpdq_postings(found[0].1).collect();
        assert_eq!(posts, vec![(0, 90), (1, 40)]);
        let mut near = f[1].hash;
        near.0[31] ^= 0x0F;
        let mut rows = BTreeSet::new();
        idx.vpdq_search_many(&[near], 4, |_, row, d| {
            assert!(d <= 4);
            rows.insert(row);
        });
        assert!(rows.contains(&found[0].1), "{search:?}");
        assert_eq!(idx.vpdq_postings(usize::MAX).count(), 0);
    }
}

/// A frame table whose rows point at frames the video does not hold (or out of the table) is
/// refused by `verify`, and reading it never panics.
#[test]
fn a_damaged_video_frame_table_is_caught_by_verify() {
    let mut b = IndexBuilder::new();
    let v1 = video_frames(0x11, 6, |_| 90);
    let v2 = video_frames(0xEE, 4, |_| 100);
    b.add_hashes("partner", "terror", "feed.csv", [v1, v2])
        .unwrap();
    let bytes = b.into_index().unwrap().data.bytes().to_vec();
    let n = u32_at(&bytes, 12).unwrap() as usize;
    let (off, len) = (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(&bytes, at) == Some(super::video::KIND_VIDEO_FRAMES))
        .map(|at| {
            let off = u64_at(&bytes, at + 8).unwrap() as usize;
            (off, u64_at(&bytes, at + 16).unwrap() as usize)
        })
        .unwrap();
    assert_eq!(len, 4 * 10);
    // Video 1's first frame pointed at video 2's first row, or past the last row.
    let theirs = u32_at(&bytes, off + 4 * 6).unwrap();
    for row in [theirs, 10, u32::MAX] {
        let mut bad = bytes.clone();
        bad[off..off + 4].copy_from_slice(&row.to_le_bytes());
        reseal(&mut bad);
        let idx = open_bytes(bad).unwrap();
        assert!(idx.verify().is_err(), "row {row}");
        for id in 0..3 {
            let _ = idx.video_frames(id);
        }
    }
}

#[test]
fn an_index_without_videos_keeps_the_version_older_vigie_reads() {
    let mut b = IndexBuilder::new();
    b.add_hashes("l", "l", "l", [ListHash::Pdq(PdqHash([7; 32]))])
        .unwrap();
    let idx = b.into_index().unwrap();
    assert_eq!(idx.info().version, 3);
    assert_eq!(idx.video_count(), 0);
}

/// A 64-bit hash `k` random bits away from `h`.
fn flip64(rng: &mut XorShift, h: u64, k: usize) -> u64 {
    let mut x = h;
    let mut flipped = 0u64;
    while (flipped.count_ones() as usize) < k {
        flipped |= 1 << (rng.next() % 64);
    }
    x ^= flipped;
    x
}

/// Brute force: the (query, entry, distance) triples within `t`.
fn img_brute(set: &[u64], queries: &[u64], t: u32) -> BTreeSet<(usize, u64, u32)> {
    let mut out = BTreeSet::new();
    for (q, &x) in queries.iter().enumerate() {
        for &e in set {
            let d = (x ^ e).count_ones();
            if d <= t {
                out.insert((q, e, d));
            }
        }
    }
    out
}

/// pHash and dHash entries (two lists of each, overlapping) and queries near some of them.
fn img_case(rng: &mut XorShift) -> (Vec<u64>, Vec<u64>, Vec<u64>, Vec<u64>) {
    let phash: Vec<u64> = (0..20_000).map(|_| rng.next()).collect();
    let dhash: Vec<u64> = (0..3_000).map(|_| rng.next()).collect();
    let mut pq: Vec<u64> = (0..40)
        .map(|i| flip64(rng, phash[i * 97], i % 16))
        .collect();
    pq.extend((0..9).map(|_| rng.next()));
    let dq: Vec<u64> = (0..17)
        .map(|i| flip64(rng, dhash[i * 31], i % 12))
        .collect();
    (phash, dhash, pq, dq)
}

fn img_index(phash: &[u64], dhash: &[u64]) -> IndexBuilder {
    let mut b = IndexBuilder::new();
    let img = |k, v: &[u64]| {
        v.iter()
            .map(move |&h| ListHash::Img(k, ImgHash64(h)))
            .collect::<Vec<_>>()
    };
    // The first three quarters, then the last half: the shared entries carry both lists.
    let n = phash.len();
    b.add_hashes("p1", "a", "gen", img(ImgKind::Phash, &phash[..n * 3 / 4]))
        .unwrap();
    b.add_hashes("p2", "b", "gen", img(ImgKind::Phash, &phash[n / 2..]))
        .unwrap();
    b.add_hashes("d", "c", "gen", img(ImgKind::Dhash, dhash))
        .unwrap();
    b
}

/// Every pHash and dHash search, batched or one query at a time, equals a brute-force scan,
/// each entry with the lists that hold it; the file written and the in-memory index agree.
#[test]
fn img_search_equals_brute_force() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (phash, dhash, pq, dq) = img_case(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.vidx");
    let stats = img_index(&phash, &dhash).write(&path).unwrap();
    assert_eq!(
        (stats.distinct_phash, stats.distinct_dhash),
        (20_000, 3_000)
    );
    let file = Index::open(&path).unwrap();
    let mem = img_index(&phash, &dhash).into_index().unwrap();
    assert_eq!(file.data.bytes(), mem.data.bytes());
    file.verify().unwrap();
    assert_eq!(file.info().version, 4);
    assert_eq!(
        file.holds(),
        vec![ListType::Img(ImgKind::Phash), ListType::Img(ImgKind::Dhash)]
    );
    let info = file.info();
    assert_eq!((info.phash, info.dhash), (20_000, 3_000));
    assert_eq!(
        info.lists
            .iter()
            .map(|l| (l.phash, l.dhash))
            .collect::<Vec<_>>(),
        vec![(15_000, 0), (10_000, 0), (0, 3_000)]
    );
    let mut total = 0;
    for (kind, set, queries) in [(ImgKind::Phash, &phash, &pq), (ImgKind::Dhash, &dhash, &dq)] {
        let qs: Vec<ImgHash64> = queries.iter().map(|&h| ImgHash64(h)).collect();
        for t in [0, 3, 10, 20] {
            let want = img_brute(set, queries, t);
            let mut got = BTreeSet::new();
            file.img_search_many(kind, &qs, t, |q, m| {
                let lists: BTreeSet<String> = m.hits.map(|h| h.list.to_string()).collect();
                let i = set.iter().position(|&e| e == m.hash.0).unwrap();
                let mut expect = BTreeSet::new();
                match kind {
                    ImgKind::Phash => {
                        if i < 15_000 {
                            expect.insert("p1".to_string());
                        }
                        if i >= 10_000 {
                            expect.insert("p2".to_string());
                        }
                    }
                    ImgKind::Dhash => {
                        expect.insert("d".to_string());
                    }
                }
                assert_eq!(lists, expect, "{kind} entry {i}");
                assert!(got.insert((q, m.hash.0, m.distance)), "reported twice");
            });
            assert_eq!(got, want, "{kind} threshold {t}");
            // One query at a time finds the same.
            let mut one = BTreeSet::new();
            for (q, h) in qs.iter().enumerate() {
                file.img_search_many(kind, std::slice::from_ref(h), t, |_, m| {
                    one.insert((q, m.hash.0, m.distance));
                });
            }
            assert_eq!(one, want, "{kind} threshold {t}, one by one");
            total += want.len();
        }
    }
    assert!(total > 100, "{total} matches: the case tests little");
    // Entries of one kind never answer the other.
    let mut n = 0;
    file.img_search_many(ImgKind::Dhash, &[ImgHash64(phash[0])], 0, |_, _| n += 1);
    assert_eq!(n, 0);
}

/// Damage to the pHash/dHash sections is caught by their checksums and checks; searches on
/// them never panic; a version 3 file may not hold them, and files of earlier versions
/// (which cannot) still open.
#[test]
fn img_sections_corruption_never_panics() {
    let mut rng = XorShift(0x51ED_2701_A5A5_0F0F);
    let phash: Vec<u64> = (0..40).map(|_| rng.next()).collect();
    let dhash: Vec<u64> = (0..5).map(|_| rng.next()).collect();
    let bytes = img_index(&phash, &dhash)
        .into_index()
        .unwrap()
        .data
        .bytes()
        .to_vec();
    let exercise = |idx: &Index| {
        for k in ImgKind::ALL {
            for t in [0, 10, 64] {
                idx.img_search_many(k, &[ImgHash64(phash[3]), ImgHash64(dhash[1])], t, |_, m| {
                    let _ = m.hits.count();
                });
            }
        }
        let _ = idx.info().to_string();
    };
    exercise(&open_bytes(bytes.clone()).unwrap());
    let (off, len) = section(&bytes, KIND_IMG64);
    assert_eq!(len, 40 * (IMG_LEN + 1)); // three provenance groups: one byte each
    for cut in 0..bytes.len() {
        assert!(open_bytes(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
    }
    for i in off..off + len {
        for flip in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            let idx = open_bytes(b).unwrap();
            exercise(&idx);
            assert!(idx.verify().is_err(), "byte {i}");
        }
    }
    // Resealed: two equal hashes, a group out of range.
    let mut b = bytes.clone();
    b.copy_within(off..off + 8, off + 8);
    reseal(&mut b);
    let idx = open_bytes(b).unwrap();
    exercise(&idx);
    assert!(idx
        .verify()
        .unwrap_err()
        .to_string()
        .contains("phash row 1"));
    let mut b = bytes.clone();
    b[off + 40 * IMG_LEN] = 200;
    reseal(&mut b);
    let idx = open_bytes(b).unwrap();
    exercise(&idx);
    assert!(idx.verify().is_err());
    // Bad params, lengths, a duplicate section, counts of the wrong list count.
    let n = u32_at(&bytes, 12).unwrap() as usize;
    let entry = (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(&bytes, at) == Some(KIND_IMG64))
        .unwrap();
    for (param, what) in [
        (2u32, "unknown kind 2"),
        (3 << 8, "groups of 3 bytes"),
        (1 << 8 | 1, "dhash"),
    ] {
        let mut b = bytes.clone();
        b[entry + 4..entry + 8].copy_from_slice(&param.to_le_bytes());
        reseal(&mut b);
        let err = open_bytes(b).unwrap_err().to_string();
        assert!(err.contains(what), "{param:#x}: {err}");
    }
    for bad_len in [0, len - 1, 8] {
        let mut b = bytes.clone();
        b[entry + 16..entry + 24].copy_from_slice(&(bad_len as u64).to_le_bytes());
        reseal(&mut b);
        assert!(open_bytes(b).is_err(), "length {bad_len}");
    }
    let (loff, _) = section(&bytes, KIND_LIST_IMG);
    let mut b = bytes.clone();
    b[loff] = 2;
    reseal(&mut b);
    let err = open_bytes(b).unwrap_err().to_string();
    assert!(err.contains("2 lists, the index has 3"), "{err}");
    // Version 3 had no such sections.
    let mut b = bytes.clone();
    b[8] = 3;
    reseal(&mut b);
    let err = open_bytes(b).unwrap_err().to_string();
    assert!(err.contains("version 3"), "{err}");
}

/// Lists give pHashes and dHashes with `--type phash|dhash`: ImageHash's 16 hex digits.
#[test]
fn img_lists_declared_by_type() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ph.txt");
    fs::write(&p, "a25acfa58d3530a7\nA25ACFA58D3530A6\n0123\n").unwrap();
    let mut b = IndexBuilder::new();
    let rep = b
        .add_list(
            &ListSpec {
                algo: Some(ListType::Img(ImgKind::Phash)),
                ..ListSpec::new(&p)
            },
            false,
        )
        .unwrap();
    assert_eq!((rep.phash, rep.dhash, rep.malformed), (2, 0, 1));
    assert!(
        rep.problems[0].contains("4 hex digits where phash has 16"),
        "{:?}",
        rep.problems
    );
    let idx = b.into_index().unwrap();
    let mut found = Vec::new();
    idx.img_search_many(
        ImgKind::Phash,
        &[ImgHash64(0xa25a_cfa5_8d35_30a7)],
        1,
        |_, m| found.push((m.hash.to_hex(), m.distance)),
    );
    found.sort();
    assert_eq!(
        found,
        vec![
            ("a25acfa58d3530a6".into(), 1),
            ("a25acfa58d3530a7".into(), 0)
        ]
    );
    // Undeclared, 16 hex digits are no known digest.
    let mut b = IndexBuilder::new();
    assert!(b.add_list(&ListSpec::new(&p), false).is_err());
}

/// Merged indexes ([`IndexBuilder::add_index`]) answer every query as an index built from all
/// their lists directly: exact lookups, PDQ (by the multi-index tables and by the linear
/// scan), pHash and dHash searches, known videos (from the frame table, or from the postings
/// of a version 5 file), with the same (list, label) pairs and distances; and merging a
/// merged index again changes nothing.
#[test]
fn merged_indexes_answer_as_one_built_from_all_their_lists() {
    use crate::matcher::{IndexMatcher, Matcher, VpdqRule};
    let mut rng = XorShift(0x0003_E26E_5EED);
    let hex = |rng: &mut XorShift, bytes: usize| -> String {
        (0..bytes)
            .map(|_| format!("{:02x}", rng.next() as u8))
            .collect()
    };
    let shared_pdq = random_pdq(&mut rng);
    let shared_md5 = hex(&mut rng, 16);
    // Two sides of two lists each: (name, label, entries); some entries in both sides.
    let mut side = |tag: u8| -> Vec<(String, String, Vec<ListHash>)> {
        (0..2)
            .map(|l| {
                let mut v: Vec<ListHash> = Vec::new();
                for _ in 0..300 {
                    v.push(ListHash::Exact(
                        Digest::from_hex(Algo::Md5, &hex(&mut rng, 16)).unwrap(),
                    ));
                    v.push(ListHash::Exact(
                        Digest::from_hex(Algo::Sha256, &hex(&mut rng, 32)).unwrap(),
                    ));
                }
                v.push(ListHash::Exact(
                    Digest::from_hex(Algo::Md5, &shared_md5).unwrap(),
                ));
                for _ in 0..200 {
                    v.push(ListHash::Pdq(random_pdq(&mut rng)));
                    v.push(ListHash::Img(ImgKind::Phash, ImgHash64(rng.next())));
                    v.push(ListHash::Img(ImgKind::Dhash, ImgHash64(rng.next())));
                }
                v.push(ListHash::Pdq(shared_pdq));
                for k in 0..3u8 {
                    v.push(video_frames(tag * 16 + l * 4 + k, 8 + k as usize, |i| {
                        if i % 3 == 0 {
                            40
                        } else {
                            90
                        }
                    }));
                }
                (format!("{tag}-list{l}"), format!("label-{tag}"), v)
            })
            .collect()
    };
    let (a, b) = (side(1), side(2));
    let make = |lists: &[&(String, String, Vec<ListHash>)], search: PdqSearch, v5: bool| {
        let mut ib = IndexBuilder::new();
        ib.set_pdq_search(search);
        if v5 {
            ib.set_no_video_frames();
        }
        for (name, label, hashes) in lists {
            ib.add_hashes(name, label, "gen", hashes.iter().cloned())
                .unwrap();
        }
        ib.into_index().unwrap()
    };
    // Queries: every entry, each a few bits off, and random ones.
    let all: Vec<&ListHash> = a.iter().chain(&b).flat_map(|l| &l.2).collect();
    let answers = |idx: &Index| {
        let m = IndexMatcher {
            index: idx,
            pdq_threshold: 31,
            dihedral: false,
            vpdq: VpdqRule::default(),
            phash_threshold: 10,
            dhash_threshold: 10,
        };
        let mut rng = XorShift(7);
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut pdq = Vec::new();
        let mut img = [Vec::new(), Vec::new()];
        let mut videos = Vec::new();
        for h in &all {
            match h {
                ListHash::Exact(d) => {
                    let mut hits = Vec::new();
                    m.find(&crate::hash::Digests::one(*d), &mut hits);
                    out.push(hits.iter().map(|h| format!("{h:?}")).collect());
                }
                ListHash::Pdq(p) => {
                    let k = (rng.next() % 20) as usize;
                    pdq.push(flip_bits(&mut rng, p, k))
                }
                ListHash::Img(k, v) => img[usize::from(k.id())]
                    .push(ImgHash64(v.0 ^ (rng.next() & rng.next() & 0x1111))),
                ListHash::Vpdq(f) => videos.push(f.clone()),
            }
        }
        for hits in m.find_pdq_many(&pdq) {
            out.push(hits.iter().map(|h| format!("{h:?}")).collect());
        }
        for kind in ImgKind::ALL {
            for hits in m.find_img_many(kind, &img[usize::from(kind.id())]) {
                out.push(hits.iter().map(|h| format!("{h:?}")).collect());
            }
        }
        let refs: Vec<&[crate::video::VpdqFrame]> = videos.iter().map(|v| &v[..]).collect();
        for hits in m.find_videos(&refs) {
            out.push(hits.iter().map(|h| format!("{h:?}")).collect());
        }
        for v in &mut out {
            v.sort();
        }
        out
    };
    for (search, v5) in [
        (PdqSearch::Tables(16), false),
        (PdqSearch::Linear, false),
        (PdqSearch::Linear, true),
    ] {
        let direct = make(&a.iter().chain(&b).collect::<Vec<_>>(), search, v5);
        let ia = make(&a.iter().collect::<Vec<_>>(), search, v5);
        let ib = make(&b.iter().collect::<Vec<_>>(), search, v5);
        let mut mb = IndexBuilder::new();
        mb.set_pdq_search(search);
        mb.add_index(&ia, Path::new("a.vigie"), false).unwrap();
        mb.add_index(&ib, Path::new("b.vigie"), false).unwrap();
        let merged = mb.into_index().unwrap();
        merged.verify().unwrap();
        // A version 5 input's videos get their frame table back.
        assert!(merged.has_video_frames());
        let (want, got) = (direct.info(), merged.info());
        assert_eq!(
            format!("{:?}", got.lists),
            format!("{:?}", want.lists),
            "{search:?} {v5}"
        );
        assert_eq!(
            (
                got.distinct,
                got.pdq,
                got.phash,
                got.dhash,
                got.videos,
                got.vpdq_frames
            ),
            (
                want.distinct,
                want.pdq,
                want.phash,
                want.dhash,
                want.videos,
                want.vpdq_frames
            )
        );
        let want = answers(&direct);
        assert!(want.iter().filter(|h| !h.is_empty()).count() > 2000);
        assert!(want.iter().any(|h| h.iter().any(|x| x.contains("vpdq"))));
        assert_eq!(answers(&merged), want, "{search:?} v5 {v5}");
        // Merged again: the same.
        let mut again = IndexBuilder::new();
        again.set_pdq_search(search);
        again
            .add_index(&merged, Path::new("m.vigie"), false)
            .unwrap();
        let again = again.into_index().unwrap();
        assert_eq!(answers(&again), want);
        // Two lists of one name: refused; qualified: kept apart.
        let mut dup = IndexBuilder::new();
        dup.add_index(&ia, Path::new("a.vigie"), false).unwrap();
        let e = dup
            .add_index(&ia, Path::new("x/a2.vigie"), false)
            .unwrap_err();
        assert!(matches!(e, IndexError::DuplicateList { .. }), "{e}");
        dup.add_index(&ia, Path::new("x/a2.vigie"), true).unwrap();
        let names: Vec<String> = dup
            .into_index()
            .unwrap()
            .list_names()
            .map(String::from)
            .collect();
        assert_eq!(names, ["1-list0", "1-list1", "a2/1-list0", "a2/1-list1"]);
    }
}

/// The LIST_SOURCES section, resealed after damage: refused with a reason, never a panic,
/// whatever byte changed; intact, it gives each list's size and SHA-256.
#[test]
fn list_sources_damage_is_corrupt_not_panics() {
    let bytes = sample_bytes();
    let idx = open_bytes(bytes.clone()).unwrap();
    let lists = idx.info().lists;
    assert!(lists.iter().all(|l| l.source_sha256.is_some()), "{lists:?}");
    let (off, len) = section(&bytes, KIND_LIST_SOURCES);
    assert_eq!(len, 4 + SOURCE_RECORD * lists.len());
    // Flags other than 0 (unknown, all zero) and 1 (known), a count that is not the lists'.
    for (at, value) in [(4, 2u8), (4, 0), (0, 9)] {
        let mut b = bytes.clone();
        b[off + at] = value;
        reseal(&mut b);
        let e = open_bytes(b).unwrap_err().to_string();
        assert!(e.contains("list sources section"), "{e}");
    }
    // Any byte of a size or digest changes what is reported, nothing else.
    for at in (4..len).filter(|a| (a - 4) % SOURCE_RECORD >= 8) {
        let mut b = bytes.clone();
        b[off + at] ^= 0x5A;
        reseal(&mut b);
        let got = open_bytes(b).unwrap().info().lists;
        assert_ne!(format!("{got:?}"), format!("{lists:?}"), "byte {at}");
    }
}

/// A list format code this vigie does not know (a newer vigie's format) is informational: the
/// index opens and verifies, its lists match, `index info` shows the format as unknown, and a
/// merge keeps the code. What is not informational stays refused: the code of a format that
/// needs a section of its own (dcso-bloom) without that section, and a section kind this vigie
/// does not know (its table could hold entries a scan would miss).
#[test]
fn unknown_list_format_is_informational() {
    const NEWER: u32 = 999;
    assert_eq!(ListFormat::from_code(NEWER), None);
    let bytes = pdq_sample_bytes();
    let (lists_at, _) = section(&bytes, KIND_LISTS);
    // List 0's record follows the count; its format code is its fourth u32.
    let code_at = lists_at + 4 + 12;
    assert_eq!(u32_at(&bytes, code_at), Some(ListFormat::Plain.code()));
    let patched = |code: u32| {
        let mut b = bytes.clone();
        b[code_at..code_at + 4].copy_from_slice(&code.to_le_bytes());
        b
    };
    // Unsealed, the LISTS checksum catches the change.
    let err = open_bytes(patched(NEWER)).unwrap_err().to_string();
    assert!(err.contains("lists section checksum mismatch"), "{err}");

    let mut b = patched(NEWER);
    reseal(&mut b);
    let idx = open_bytes(b).unwrap();
    idx.verify().unwrap();
    assert_eq!(hits(&idx, &d(Algo::Md5, HELLO_MD5)), set(&[("l1", "c1")]));
    assert_eq!(
        pdq_found(&idx, &ph(JPG_PDQ), 0)
            .into_iter()
            .next()
            .map(|(_, d, pairs)| (d, pairs.len())),
        Some((0, 2))
    );
    let info = idx.info();
    assert_eq!(info.lists[0].format, IndexedFormat::Unknown(NEWER));
    assert_eq!(info.lists[0].format.known(), None);
    assert_eq!(info.lists[1].format, ListFormat::Plain);
    let text = info.to_string();
    assert!(text.contains("from gen (unknown (code 999))"), "{text}");
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["lists"][0]["format"], "unknown (code 999)");
    assert_eq!(json["lists"][1]["format"], "plain");

    // A merge keeps the code as it is.
    let mut mb = IndexBuilder::new();
    let reports = mb.add_index(&idx, Path::new("newer.vigie"), false).unwrap();
    assert_eq!(reports[0].format, IndexedFormat::Unknown(NEWER));
    let merged = mb.into_index().unwrap();
    merged.verify().unwrap();
    assert_eq!(merged.info().lists[0].format.code(), NEWER);
    assert_eq!(
        hits(&merged, &d(Algo::Md5, HELLO_MD5)),
        set(&[("l1", "c1")])
    );

    // Not informational: a Bloom filter list without its filter.
    let mut b = patched(ListFormat::DcsoBloom.code());
    reseal(&mut b);
    let err = open_bytes(b).unwrap_err().to_string();
    assert!(
        err.contains("list 0 is a Bloom filter without its bloom section"),
        "{err}"
    );
    // Nor a section kind this vigie does not know.
    let mut b = bytes.clone();
    let n = u32_at(&b, 12).unwrap() as usize;
    let entry = (0..n)
        .map(|i| HEADER_FIXED + i * SECTION_ENTRY)
        .find(|&at| u32_at(&b, at) == Some(KIND_PDQ))
        .unwrap();
    b[entry..entry + 4].copy_from_slice(&99u32.to_le_bytes());
    reseal(&mut b);
    let err = open_bytes(b).unwrap_err().to_string();
    assert!(err.contains("unknown section kind 99"), "{err}");
}
