//! Matching an item against the compiled index: one exact lookup per computed digest (and
//! one probe of each Bloom filter of its algorithm), and for images a PDQ radius search (every
//! entry within the threshold) and a pHash and a dHash one (each within its own threshold),
//! each (list, label) found becoming one [`Hit`] that carries its list's role (and, from a
//! Bloom filter, the filter's false-positive rate).

use std::collections::BTreeMap;

use crate::hash::Digests;
use crate::index::{ImgMatch, Index, PdqMatch};
use crate::model::{Hit, Role};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;
use crate::perceptual::{Drift, ImageHashes};

/// Something that finds hits for an item's digests (the compiled index).
pub trait Matcher: Sync {
    /// Appends every hit of `digests` to `hits`.
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>);

    /// Appends every perceptual hit of an image to `hits`.
    fn find_image(&self, _image: &ImageHashes, _hits: &mut Vec<Hit>) {}

    /// Whether any perceptual hash searched for the image (its PDQ variants, with dihedral
    /// matching; its pHash; its dHash) lies within that hash's match threshold plus its
    /// `slack` bits of an entry: the screen for hashes that may be up to `slack` bits from
    /// the exact ones (a reduced-scale decode), whose images are then hashed again exactly.
    /// False for a matcher with no perceptual entries.
    fn near(&self, _image: &ImageHashes, _slack: &Drift) -> bool {
        false
    }

    /// The perceptual hits of each of `images`, as [`Matcher::find_image`] finds them; an
    /// index searches them as one batch, so that its memory traffic is shared. The scan
    /// calls this, [`IMAGE_BATCH`] images at a time.
    fn find_images(&self, images: &[&ImageHashes]) -> Vec<Vec<Hit>> {
        images
            .iter()
            .map(|i| {
                let mut hits = Vec::new();
                self.find_image(i, &mut hits);
                hits
            })
            .collect()
    }
}

/// Images whose perceptual matching is batched (up to 8 PDQ queries each with dihedral
/// variants): a batch searches a multi-index table slice by slice once for all of them,
/// where one image at a time costs a random cache miss per probe.
pub const IMAGE_BATCH: usize = 1024;

impl Matcher for Index {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        for d in digests.iter() {
            if let Some(found) = self.lookup(d) {
                let hash = d.to_hex();
                hits.extend(found.map(|h| Hit {
                    algorithm: d.algo().name(),
                    hash: hash.clone(),
                    list: h.list.to_string(),
                    label: h.label.to_string(),
                    distance: 0,
                    matched_hash: None,
                    role: h.role,
                    fpr: None,
                }));
            }
            self.bloom_lookup(d, |h| {
                hits.push(Hit {
                    algorithm: d.algo().name(),
                    hash: d.to_hex(),
                    list: h.list.to_string(),
                    label: h.label.to_string(),
                    distance: 0,
                    matched_hash: None,
                    role: h.role,
                    fpr: Some(h.fpr),
                })
            });
        }
    }
}

/// The (list, label, role) triples of a PDQ (or pHash, dHash) entry.
type Owners = Vec<(String, String, Role)>;

/// An index with the settings of perceptual matching.
#[derive(Clone, Copy)]
pub struct IndexMatcher<'a> {
    /// The index.
    pub index: &'a Index,
    /// Largest PDQ Hamming distance that matches (inclusive).
    pub pdq_threshold: u32,
    /// Also search the 8 dihedral variants of each image (rotated and flipped copies).
    pub dihedral: bool,
    /// Largest pHash Hamming distance that matches (inclusive, 0..=64).
    pub phash_threshold: u32,
    /// Largest dHash Hamming distance that matches (inclusive, 0..=64).
    pub dhash_threshold: u32,
}

impl Matcher for IndexMatcher<'_> {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        self.index.find(digests, hits);
    }

    /// Searches the image's PDQ hash (and, with `dihedral`, its 7 other variants, in one pass
    /// over the table); an entry found through several variants is reported once, at its
    /// smallest distance. Then its pHash and its dHash.
    fn find_image(&self, image: &ImageHashes, hits: &mut Vec<Hit>) {
        if let Some(own) = image.pdq {
            self.find_pdq(&own, self.variants(image), hits);
        }
        for kind in ImgKind::ALL {
            if let Some(own) = image.img(kind) {
                hits.extend(self.find_img_many(kind, &[own]).into_iter().flatten());
            }
        }
    }

    fn near(&self, image: &ImageHashes, slack: &Drift) -> bool {
        let mut near = false;
        if self.index.pdq_len() > 0 {
            let radius = self.pdq_threshold.saturating_add(slack.pdq).min(256);
            self.index
                .pdq_search_many(self.variants(image), radius, |_, _| near = true);
        }
        for kind in ImgKind::ALL {
            if self.index.img_len(kind) == 0 {
                continue;
            }
            if let (false, Some(own)) = (near, image.img(kind)) {
                // A near-flat image's bits are rounding noise: never screened out.
                if image
                    .img_contrast
                    .is_some_and(|c| c < crate::perceptual::FAST_FLAT_CONTRAST)
                {
                    return true;
                }
                let radius = self.img_threshold(kind).saturating_add(slack.img(kind));
                self.index
                    .img_search_many(kind, &[own], radius.min(64), |_, _| near = true);
            }
        }
        near
    }

    /// All the images' queries (each image's variants) in one search.
    fn find_images(&self, images: &[&ImageHashes]) -> Vec<Vec<Hit>> {
        let mut queries = Vec::new();
        let mut owner = Vec::new(); // the image of each query
        for (i, image) in images.iter().enumerate() {
            if image.pdq.is_some() {
                let v = self.variants(image);
                queries.extend_from_slice(v);
                owner.resize(owner.len() + v.len(), i);
            }
        }
        let mut all: Vec<Vec<Hit>> = self
            .best_of(&queries, images.len(), |q| owner[q])
            .into_iter()
            .zip(images)
            .map(|(b, image)| {
                let mut hits = Vec::new();
                if let Some(own) = &image.pdq {
                    push_hits(own, b, &mut hits);
                }
                hits
            })
            .collect();
        for kind in ImgKind::ALL {
            let (owner, queries): (Vec<usize>, Vec<ImgHash64>) = images
                .iter()
                .enumerate()
                .filter_map(|(i, image)| Some((i, image.img(kind)?)))
                .unzip();
            for (i, hits) in owner.into_iter().zip(self.find_img_many(kind, &queries)) {
                all[i].extend(hits);
            }
        }
        all
    }
}

/// Entry → (smallest distance, its (list, label, role) triples), for one item.
type Best = BTreeMap<PdqHash, (u32, Owners)>;

impl IndexMatcher<'_> {
    /// The match threshold of a 64-bit image hash kind.
    pub fn img_threshold(&self, kind: ImgKind) -> u32 {
        match kind {
            ImgKind::Phash => self.phash_threshold,
            ImgKind::Dhash => self.dhash_threshold,
        }
    }

    /// The hits of each of `queries` (hashes of kind `kind`: images' own, or the lines of a
    /// partner's list), searched as one batch: one hit per (entry, list, label) within the
    /// kind's threshold, entries in hash order.
    pub fn find_img_many(&self, kind: ImgKind, queries: &[ImgHash64]) -> Vec<Vec<Hit>> {
        let mut best: Vec<BTreeMap<ImgHash64, (u32, Owners)>> =
            vec![BTreeMap::new(); queries.len()];
        if self.index.img_len(kind) > 0 && !queries.is_empty() {
            let threshold = self.img_threshold(kind).min(64);
            self.index
                .img_search_many(kind, queries, threshold, |q, m: ImgMatch<'_>| {
                    best[q].entry(m.hash).or_insert_with(|| {
                        (
                            m.distance,
                            m.hits
                                .clone()
                                .map(|h| (h.list.to_string(), h.label.to_string(), h.role))
                                .collect(),
                        )
                    });
                });
        }
        best.into_iter()
            .zip(queries)
            .map(|(b, q)| {
                let hash = q.to_hex();
                let mut hits = Vec::new();
                for (entry, (distance, pairs)) in b {
                    let matched = entry.to_hex();
                    hits.extend(pairs.into_iter().map(|(list, label, role)| Hit {
                        algorithm: kind.name(),
                        hash: hash.clone(),
                        list,
                        label,
                        distance,
                        matched_hash: Some(matched.clone()),
                        role,
                        fpr: None,
                    }));
                }
                hits
            })
            .collect()
    }

    /// The PDQ hashes searched for an image (with a PDQ hash): its 8 dihedral variants, or
    /// its own hash alone.
    fn variants<'i>(&self, image: &'i ImageHashes) -> &'i [PdqHash] {
        match (self.dihedral, &image.pdq_dihedral, &image.pdq) {
            (true, Some(all), _) => &all[..],
            (_, _, Some(own)) => std::slice::from_ref(own),
            _ => &[],
        }
    }

    /// Searches `queries` as one batch, each counted for the item `item(query)` (of `items`):
    /// the entries found for each item, each once, at its smallest distance.
    fn best_of(
        &self,
        queries: &[PdqHash],
        items: usize,
        item: impl Fn(usize) -> usize,
    ) -> Vec<Best> {
        let mut best: Vec<Best> = vec![Best::new(); items];
        if self.index.pdq_len() > 0 && !queries.is_empty() {
            self.index
                .pdq_search_many(queries, self.pdq_threshold, |q, m| {
                    keep(&mut best[item(q)], &m)
                });
        }
        best
    }

    /// Appends a hit for every entry within the threshold of any of `queries` (variants of
    /// `own`, which the hits report as `hash`), each entry once, at its smallest distance.
    pub fn find_pdq(&self, own: &PdqHash, queries: &[PdqHash], hits: &mut Vec<Hit>) {
        if let Some(best) = self.best_of(queries, 1, |_| 0).pop() {
            push_hits(own, best, hits);
        }
    }

    /// The hits of each of `queries` (independent hashes, e.g. the PDQ lines of a partner's
    /// list), searched as one batch so that the index can share its memory traffic.
    pub fn find_pdq_many(&self, queries: &[PdqHash]) -> Vec<Vec<Hit>> {
        self.best_of(queries, queries.len(), |q| q)
            .into_iter()
            .zip(queries)
            .map(|(b, q)| {
                let mut hits = Vec::new();
                push_hits(q, b, &mut hits);
                hits
            })
            .collect()
    }
}

/// Records a match, keeping each entry's smallest distance.
fn keep(best: &mut Best, m: &PdqMatch<'_>) {
    let slot = best.entry(m.hash).or_insert_with(|| {
        (
            u32::MAX,
            m.hits
                .clone()
                .map(|h| (h.list.to_string(), h.label.to_string(), h.role))
                .collect(),
        )
    });
    slot.0 = slot.0.min(m.distance);
}

/// One hit per (entry, list, label), reported with `own` as the item's hash.
fn push_hits(own: &PdqHash, best: Best, hits: &mut Vec<Hit>) {
    let hash = own.to_hex();
    for (entry, (distance, pairs)) in best {
        let matched = entry.to_hex();
        hits.extend(pairs.into_iter().map(|(list, label, role)| Hit {
            algorithm: "pdq",
            hash: hash.clone(),
            list,
            label,
            distance,
            matched_hash: Some(matched.clone()),
            role,
            fpr: None,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::{flip_bits, random_pdq, XorShift};
    use crate::index::{IndexBuilder, PdqSearch};
    use crate::lists::ListHash;
    use crate::perceptual::{hash_image, PerceptualConfig};

    /// The batched search of many images (as a scan does it) finds exactly what one search
    /// per image finds, with and without the dihedral variants, through the multi-index
    /// tables and through the linear scan.
    #[test]
    fn images_batched_equal_one_by_one() {
        let cfg = PerceptualConfig {
            pdq: true,
            dihedral: true,
            ..PerceptualConfig::default()
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".rgb"))
            .collect();
        paths.sort();
        let images: Vec<ImageHashes> = paths
            .iter()
            .filter_map(|p| hash_image(&std::fs::read(p).unwrap(), &cfg)?.ok())
            .filter(|i| i.pdq.is_some())
            .collect();
        assert!(images.len() >= 10, "{} fixture images", images.len());
        // Entries: random hashes, and near copies of the images' own hashes and of some of
        // their rotated or flipped variants (found only with the variants).
        let mut rng = XorShift(0x1A6E_5BA7_C4ED);
        let mut entries: Vec<PdqHash> = (0..20_000).map(|_| random_pdq(&mut rng)).collect();
        for (k, image) in images.iter().enumerate() {
            let v = image.pdq_dihedral.as_ref().unwrap();
            entries.push(flip_bits(&mut rng, &v[0], k % 25));
            entries.push(flip_bits(&mut rng, &v[1 + k % 7], 3 + k % 20));
        }
        for search in [PdqSearch::Tables(16), PdqSearch::Linear] {
            let mut builder = IndexBuilder::new();
            builder.set_pdq_search(search);
            let list = entries.iter().map(|h| ListHash::Pdq(*h));
            builder.add_hashes("l", "lab", "gen", list).unwrap();
            let index = builder.into_index().unwrap();
            for dihedral in [false, true] {
                let m = IndexMatcher {
                    index: &index,
                    pdq_threshold: 31,
                    dihedral,
                    phash_threshold: 10,
                    dhash_threshold: 10,
                };
                // Enough images for the batched multi-index search (8 queries each).
                let many: Vec<&ImageHashes> = images.iter().cycle().take(40).collect();
                let batched = m.find_images(&many);
                let mut total = 0;
                for (image, got) in many.iter().zip(&batched) {
                    let mut want = Vec::new();
                    m.find_image(image, &mut want);
                    assert_eq!(got, &want, "{search:?} dihedral {dihedral}");
                    total += want.len();
                }
                assert!(
                    total >= many.len(),
                    "{search:?} dihedral {dihedral}: {total}"
                );
            }
        }
    }
}
