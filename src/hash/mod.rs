//! Exact hashes of an item's bytes, every selected algorithm in one pass.
//!
//! Each chunk of [`CHUNK`] bytes is fed to every selected hasher in turn while it is still in
//! the L1/L2 cache, so the bytes are read from memory once however many algorithms run.

pub mod md5x;

use std::fmt;
use std::str::FromStr;

use md5::Digest as _;

/// Bytes fed to every hasher before moving on to the next chunk: small enough to stay in L2.
pub const CHUNK: usize = 64 * 1024;

/// An exact hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// XXH3 128-bit (16 bytes), printed as `xxhsum -H128` prints it (big-endian).
    Xxh3_128,
}

impl Algo {
    /// Every algorithm, in output order.
    pub const ALL: [Algo; 4] = [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Xxh3_128];

    /// Digest length in bytes.
    #[allow(clippy::len_without_is_empty)] // a digest length is never zero
    pub const fn len(self) -> usize {
        match self {
            Algo::Md5 | Algo::Xxh3_128 => 16,
            Algo::Sha1 => 20,
            Algo::Sha256 => 32,
        }
    }

    /// The name used in JSON fields, `--algo` and index files.
    pub const fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Xxh3_128 => "xxh3_128",
        }
    }

    /// A small stable number, used as a bit in [`AlgoSet`] and in index files.
    pub const fn id(self) -> u8 {
        match self {
            Algo::Md5 => 0,
            Algo::Sha1 => 1,
            Algo::Sha256 => 2,
            Algo::Xxh3_128 => 3,
        }
    }

    /// Inverse of [`Algo::id`].
    pub fn from_id(id: u8) -> Option<Algo> {
        Algo::ALL.into_iter().find(|a| a.id() == id)
    }
}

impl fmt::Display for Algo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algo {
    type Err = String;
    fn from_str(s: &str) -> Result<Algo, String> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => Ok(Algo::Md5),
            "sha1" => Ok(Algo::Sha1),
            "sha256" => Ok(Algo::Sha256),
            "xxh3" | "xxh3_128" | "xxh128" | "xxh3128" => Ok(Algo::Xxh3_128),
            _ => Err(format!(
                "unknown algorithm '{s}' (expected md5, sha1, sha256, xxh3_128)"
            )),
        }
    }
}

/// A set of algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct AlgoSet(u8);

impl AlgoSet {
    /// No algorithm.
    pub const EMPTY: AlgoSet = AlgoSet(0);

    /// md5, sha1 and sha256: what shared lists carry.
    pub fn list_default() -> AlgoSet {
        [Algo::Md5, Algo::Sha1, Algo::Sha256].into_iter().collect()
    }

    /// Adds one algorithm.
    pub fn insert(&mut self, a: Algo) {
        self.0 |= 1 << a.id();
    }

    /// Removes one algorithm.
    pub fn remove(&mut self, a: Algo) {
        self.0 &= !(1 << a.id());
    }

    /// True when `a` is in the set.
    pub fn contains(self, a: Algo) -> bool {
        self.0 & (1 << a.id()) != 0
    }

    /// True when the set holds nothing.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union of two sets.
    pub fn union(self, other: AlgoSet) -> AlgoSet {
        AlgoSet(self.0 | other.0)
    }

    /// Splits the set in two halves of about equal hashing cost, so that one large item can
    /// be hashed by two threads at once (each half reads the same bytes). `None` when the set
    /// has fewer than two algorithms. Costs are seconds per GB on one core of the machines we
    /// measure on (MD5 ≈ 0.7 GB/s; SHA-1 and SHA-256 with SHA instructions ≈ 2 GB/s; XXH3 at
    /// memory speed).
    pub fn split_by_cost(self) -> Option<(AlgoSet, AlgoSet)> {
        let cost = |a: Algo| match a {
            Algo::Md5 => 14,
            Algo::Sha1 | Algo::Sha256 => 5,
            Algo::Xxh3_128 => 1,
        };
        let mut algos: Vec<Algo> = self.iter().collect();
        if algos.len() < 2 {
            return None;
        }
        algos.sort_by_key(|a| std::cmp::Reverse(cost(*a)));
        let (mut left, mut right) = (AlgoSet::EMPTY, AlgoSet::EMPTY);
        let (mut lc, mut rc) = (0, 0);
        for a in algos {
            if lc <= rc {
                left.insert(a);
                lc += cost(a);
            } else {
                right.insert(a);
                rc += cost(a);
            }
        }
        Some((left, right))
    }

    /// The algorithms of the set, in [`Algo::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algo> {
        Algo::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algo> for AlgoSet {
    fn from_iter<I: IntoIterator<Item = Algo>>(iter: I) -> AlgoSet {
        let mut s = AlgoSet::EMPTY;
        for a in iter {
            s.insert(a);
        }
        s
    }
}

impl FromStr for AlgoSet {
    type Err = String;
    /// Parses a comma-separated list such as `md5,sha256`, or `all`.
    fn from_str(s: &str) -> Result<AlgoSet, String> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(Algo::ALL.into_iter().collect());
        }
        let set: AlgoSet = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Algo::from_str)
            .collect::<Result<_, _>>()?;
        if set.is_empty() {
            return Err("no algorithm given".into());
        }
        Ok(set)
    }
}

/// A digest of at most 32 bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algo: Algo,
    bytes: [u8; 32],
}

impl Digest {
    /// Builds a digest, or `None` when `bytes` has the wrong length for `algo`.
    pub fn new(algo: Algo, bytes: &[u8]) -> Option<Digest> {
        if bytes.len() != algo.len() {
            return None;
        }
        let mut b = [0u8; 32];
        b[..bytes.len()].copy_from_slice(bytes);
        Some(Digest { algo, bytes: b })
    }

    /// Parses hex (either case) for `algo`.
    pub fn from_hex(algo: Algo, hex_str: &str) -> Option<Digest> {
        if hex_str.len() != algo.len() * 2 {
            return None;
        }
        let mut b = [0u8; 32];
        hex::decode_to_slice(hex_str, &mut b[..algo.len()]).ok()?;
        Some(Digest { algo, bytes: b })
    }

    /// The algorithm.
    pub fn algo(&self) -> Algo {
        self.algo
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algo.len()]
    }

    /// Lower-case hex, as `md5sum` and friends print it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The exact digests computed for one item, in [`Algo::ALL`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digests(Vec<Digest>);

impl Digests {
    /// The digest for `algo`, if it was computed.
    pub fn get(&self, algo: Algo) -> Option<&Digest> {
        self.0.iter().find(|d| d.algo == algo)
    }

    /// Every digest computed.
    pub fn iter(&self) -> impl Iterator<Item = &Digest> {
        self.0.iter()
    }

    /// One digest alone (a hash read from a list).
    pub fn one(d: Digest) -> Digests {
        Digests(vec![d])
    }

    /// The digests of both, in [`Algo::ALL`] order (for an item hashed by two threads).
    pub fn merge(mut self, other: Digests) -> Digests {
        self.0.extend(other.0);
        self.0.sort_by_key(|d| d.algo);
        self.0.dedup_by_key(|d| d.algo);
        self
    }
}

/// Feeds bytes to every selected hasher in one pass.
#[derive(Clone)]
pub struct MultiHasher {
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    xxh3: Option<Box<xxhash_rust::xxh3::Xxh3>>,
}

impl MultiHasher {
    /// A hasher for the algorithms of `set`.
    pub fn new(set: AlgoSet) -> MultiHasher {
        MultiHasher {
            md5: set.contains(Algo::Md5).then(md5::Md5::new),
            sha1: set.contains(Algo::Sha1).then(sha1::Sha1::new),
            sha256: set.contains(Algo::Sha256).then(sha2::Sha256::new),
            xxh3: set
                .contains(Algo::Xxh3_128)
                .then(|| Box::new(xxhash_rust::xxh3::Xxh3::new())),
        }
    }

    /// Feeds `bytes`, chunk by chunk, to every hasher.
    pub fn update(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(CHUNK) {
            if let Some(h) = &mut self.md5 {
                h.update(chunk);
            }
            if let Some(h) = &mut self.sha1 {
                h.update(chunk);
            }
            if let Some(h) = &mut self.sha256 {
                h.update(chunk);
            }
            if let Some(h) = &mut self.xxh3 {
                h.update(chunk);
            }
        }
    }

    /// The digests of everything fed so far.
    pub fn finish(self) -> Digests {
        let mut out = Vec::with_capacity(4);
        if let Some(h) = self.md5 {
            out.extend(Digest::new(Algo::Md5, &h.finalize()));
        }
        if let Some(h) = self.sha1 {
            out.extend(Digest::new(Algo::Sha1, &h.finalize()));
        }
        if let Some(h) = self.sha256 {
            out.extend(Digest::new(Algo::Sha256, &h.finalize()));
        }
        if let Some(h) = self.xxh3 {
            out.extend(Digest::new(Algo::Xxh3_128, &h.digest128().to_be_bytes()));
        }
        Digests(out)
    }
}

/// Hashes a whole buffer with every algorithm of `set`.
///
/// XXH3 runs one-shot over the whole buffer (its streaming state copies small inputs into an
/// internal buffer first); the other algorithms run in one chunked pass.
pub fn hash_bytes(set: AlgoSet, bytes: &[u8]) -> Digests {
    let mut rest = set;
    rest.remove(Algo::Xxh3_128);
    let mut h = MultiHasher::new(rest);
    h.update(bytes);
    let mut d = h.finish();
    if set.contains(Algo::Xxh3_128) {
        let x = xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes();
        d.0.extend(Digest::new(Algo::Xxh3_128, &x));
    }
    d
}

/// Hashes several whole buffers, the way a batch of small items is hashed: MD5 runs
/// multi-buffer ([`md5x::md5_many`], eight messages per SIMD pass, about five times the speed
/// of one MD5 chain), the other algorithms item by item as in [`hash_bytes`]. Returns the
/// digests in input order.
pub fn hash_many(set: AlgoSet, items: &[&[u8]]) -> Vec<Digests> {
    if !set.contains(Algo::Md5) || items.len() < 2 {
        return items.iter().map(|b| hash_bytes(set, b)).collect();
    }
    let mut rest = set;
    rest.remove(Algo::Md5);
    let md5s = md5x::md5_many(items);
    items
        .iter()
        .zip(md5s)
        .map(|(bytes, md5)| {
            let mut d = hash_bytes(rest, bytes);
            d.0.extend(Digest::new(Algo::Md5, &md5));
            d.0.sort_by_key(|x| x.algo);
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by md5sum, sha1sum, sha256sum (coreutils 9.1) and `xxhsum -H2` 0.8.1.
    const HELLO: &[u8] = b"hello world\n";

    #[test]
    fn known_answers() {
        let d = hash_bytes("all".parse().unwrap(), HELLO);
        assert_eq!(
            d.get(Algo::Md5).unwrap().to_hex(),
            "6f5902ac237024bdd0c176cb93063dc4"
        );
        assert_eq!(
            d.get(Algo::Sha1).unwrap().to_hex(),
            "22596363b3de40b06f981fb85d82312e8c0ed511"
        );
        assert_eq!(
            d.get(Algo::Sha256).unwrap().to_hex(),
            "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
        );
        assert_eq!(
            d.get(Algo::Xxh3_128).unwrap().to_hex(),
            "eefac9d87100cd1336b2e733a5484425"
        );
    }

    #[test]
    fn chunking_does_not_change_digest() {
        let data: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        let whole = hash_bytes("all".parse().unwrap(), &data);
        let mut h = MultiHasher::new("all".parse().unwrap());
        for piece in data.chunks(1000) {
            h.update(piece);
        }
        assert_eq!(h.finish(), whole);
    }

    #[test]
    fn split_hashing_gives_the_same_digests() {
        let all: AlgoSet = "all".parse().unwrap();
        let (a, b) = all.split_by_cost().unwrap();
        assert_eq!(a.union(b), all);
        assert!(a.iter().all(|x| !b.contains(x)));
        // MD5 is the slowest: it goes alone against SHA-1 + SHA-256 (+ XXH3).
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Algo::Md5]);
        let data = vec![42u8; 200_000];
        assert_eq!(
            hash_bytes(a, &data).merge(hash_bytes(b, &data)),
            hash_bytes(all, &data)
        );
        assert!("sha256"
            .parse::<AlgoSet>()
            .unwrap()
            .split_by_cost()
            .is_none());
    }

    #[test]
    fn hash_many_equals_hash_bytes_item_by_item() {
        let items: Vec<Vec<u8>> = (0..37)
            .map(|i| (0..(i * 997 % 5000)).map(|j| (j * 7 + i) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        for set in ["all", "md5", "md5,sha256", "sha1"] {
            let set: AlgoSet = set.parse().unwrap();
            let want: Vec<Digests> = refs.iter().map(|b| hash_bytes(set, b)).collect();
            assert_eq!(hash_many(set, &refs), want);
        }
    }

    #[test]
    fn algo_set_parse() {
        let s: AlgoSet = "sha256, md5".parse().unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Algo::Md5, Algo::Sha256]);
        assert!("md4".parse::<AlgoSet>().is_err());
        assert!("".parse::<AlgoSet>().is_err());
    }

    #[test]
    fn digest_hex_round_trip() {
        let d = Digest::from_hex(Algo::Md5, "6F5902AC237024BDD0C176CB93063DC4").unwrap();
        assert_eq!(d.to_hex(), "6f5902ac237024bdd0c176cb93063dc4");
        assert!(Digest::from_hex(Algo::Md5, "6f59").is_none());
        assert!(Digest::from_hex(Algo::Md5, "zz5902ac237024bdd0c176cb93063dc4").is_none());
    }
}
