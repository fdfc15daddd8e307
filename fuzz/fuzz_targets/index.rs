//! The index opener on any bytes: a damaged or hostile index is refused with an error naming
//! the problem (or, if it opens, every lookup, search and verification stays in bounds, and
//! one that verifies is merged back into a builder and rebuilt: `vigie index merge`).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie::hash::hash_bytes;
use vigie::index::{Index, IndexBuilder};
use vigie::perceptual::imghash::{ImgHash64, ImgKind};
use vigie::perceptual::pdq::PdqHash;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = Index::from_bytes(data.to_vec(), Path::new("fuzz.vigie")) else {
        return;
    };
    let _ = index.info().to_string();
    let _ = index.verify_checksums();
    let _ = index.verify();
    for d in hash_bytes("all".parse().unwrap(), data).iter() {
        if let Some(refs) = index.lookup(d) {
            refs.count();
        }
        index.bloom_lookup(d, |_| {});
    }
    let mut q = [0u8; 32];
    for (i, b) in data.iter().take(32).enumerate() {
        q[i] = *b;
    }
    index.pdq_search(&PdqHash(q), 31, |_| {});
    let h = ImgHash64(u64::from_le_bytes(q[..8].try_into().unwrap_or_default()));
    for kind in ImgKind::ALL {
        index.img_search_many(kind, &[h, ImgHash64(!h.0)], 10, |_, m| {
            m.hits.count();
        });
    }
    // Known videos: the frame search, each row's postings, each video and its frames.
    index.vpdq_search_many(&[PdqHash(q)], 31, |_, row, _| {
        index.vpdq_postings(row).count();
    });
    for id in (0..index.video_count().min(64) as u32).chain([u32::MAX]) {
        if let Some(v) = index.video(id) {
            v.hits.count();
        }
        let _ = index.video_frames(id);
    }
    // The lists' sources (LIST_SOURCES), and an export of every table into a builder.
    for l in index.info().lists {
        let _ = (l.source_bytes, l.source_sha256);
    }
    let mut b = IndexBuilder::new();
    if b.add_index(&index, Path::new("fuzz.vigie"), true).is_ok() {
        let rebuilt = b.into_index().expect("a verified index rebuilds");
        rebuilt.verify().expect("a rebuilt index verifies");
    }
});
