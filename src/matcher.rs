//! Matching an item's digests against the compiled index: one lookup per computed digest,
//! one [`Hit`] per (list, label) the digest appears in.

use crate::hash::Digests;
use crate::index::Index;
use crate::pipeline::{Hit, Matcher};

impl Matcher for Index {
    fn find(&self, digests: &Digests, hits: &mut Vec<Hit>) {
        for d in digests.iter() {
            let Some(found) = self.lookup(d) else {
                continue;
            };
            let hash = d.to_hex();
            hits.extend(found.map(|h| Hit {
                algorithm: d.algo().name(),
                hash: hash.clone(),
                list: h.list.to_string(),
                label: h.label.to_string(),
                distance: 0,
                matched_hash: None,
            }));
        }
    }
}
