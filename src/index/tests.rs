//! Tests of the index: build from lists, lookups for every algorithm, file round trip,
//! corruption and truncation, and a randomized comparison against a `HashMap`.

use std::collections::{BTreeSet, HashMap};
use std::fs;

use super::*;

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

/// A tiny xorshift generator, so the randomized tests need no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn digest(&mut self, algo: Algo) -> Digest {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        Digest::new(algo, &b[..algo.len()]).unwrap()
    }
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
            algo: Some(Algo::Xxh3_128),
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
    let got: Vec<Hit> = idx.lookup(&h).unwrap().collect();
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
    b[8] = 2;
    let err = open_bytes(b).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 2, .. }), "{err}");
    assert!(err.to_string().contains("version 2"), "{err}");
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
        let dg = rng.digest(algo);
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
    check::<Hits<'static>>();
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
    let digests: Vec<Digest> = (0..5000).map(|_| rng.digest(Algo::Sha256)).collect();
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
