//! Matching an item against the compiled index: one exact lookup per computed digest (and
//! one probe of each Bloom filter of its algorithm), and for images a PDQ radius search (every
//! entry within the threshold), each (list, label) found becoming one [`Hit`] that carries
//! its list's role (and, from a Bloom filter, the filter's false-positive rate).

use std::collections::BTreeMap;

use crate::hash::Digests;
use crate::index::{Index, PdqMatch, Role};
use crate::perceptual::pdq::PdqHash;
use crate::perceptual::ImageHashes;
use crate::pipeline::{Hit, Matcher};

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

/// The (list, label, role) triples of a PDQ entry.
type Owners = Vec<(String, String, Role)>;

/// An index with the settings of perceptual matching.
pub struct IndexMatcher<'a> {
    /// The index.
    pub index: &'a Index,
    /// Largest PDQ Hamming distance that matches (inclusive).
    pub pdq_threshold: u32,
    /// Also search the 8 dihedral variants of each image (rotated and flipped copies).
    pub dihedral: bool,
}

impl Matcher for IndexMatcher<'_> {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        self.index.find(digests, hits);
    }

    /// Searches the image's PDQ hash (and, with `dihedral`, its 7 other variants, in one pass
    /// over the table); an entry found through several variants is reported once, at its
    /// smallest distance.
    fn find_image(&self, image: &ImageHashes, hits: &mut Vec<Hit>) {
        let Some(own) = image.pdq else { return };
        match (self.dihedral, &image.pdq_dihedral) {
            (true, Some(all)) => self.find_pdq(&own, &all[..], hits),
            _ => self.find_pdq(&own, &[own], hits),
        }
    }
}

/// Entry → (smallest distance, its (list, label, role) triples), for one item.
type Best = BTreeMap<PdqHash, (u32, Owners)>;

impl IndexMatcher<'_> {
    /// Appends a hit for every entry within the threshold of any of `queries` (variants of
    /// `own`, which the hits report as `hash`), each entry once, at its smallest distance.
    pub fn find_pdq(&self, own: &PdqHash, queries: &[PdqHash], hits: &mut Vec<Hit>) {
        if self.index.pdq_len() == 0 {
            return;
        }
        let mut best = Best::new();
        self.index
            .pdq_search_many(queries, self.pdq_threshold, |_, m| keep(&mut best, &m));
        push_hits(own, best, hits);
    }

    /// The hits of each of `queries` (independent hashes, e.g. the PDQ lines of a partner's
    /// list), searched as one batch so that the index can share its memory traffic.
    pub fn find_pdq_many(&self, queries: &[PdqHash]) -> Vec<Vec<Hit>> {
        let mut best: Vec<Best> = vec![Best::new(); queries.len()];
        if self.index.pdq_len() > 0 {
            self.index
                .pdq_search_many(queries, self.pdq_threshold, |i, m| keep(&mut best[i], &m));
        }
        best.into_iter()
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
