//! pHash/dHash against Python ImageHash's values for the same pixels.
//!
//! `fixtures/imghash/expected.tsv` (made by `fixtures/imghash/gen.py fixtures`, Pillow 13) and
//! `expected-pillow12.tsv` (`gen.py rehash`, Pillow 12) list PNGs and the hex ImageHash 4.3
//! printed for them. `corpus_report` (ignored by default) runs over a
//! larger generated set: `gen.py corpus DIR N`, then
//! `VIGIE_IMGHASH_CORPUS=DIR cargo test --release --test imghash_vectors -- --ignored --nocapture`
//! (`VIGIE_IMGHASH_EXPECTED=expected-pillow12.tsv` for a file made by `gen.py rehash`).
use std::path::{Path, PathBuf};
use vigie::perceptual::imghash::{ImgHash64, ImgHasher, ImgKind, PillowResize, PixelBuffer};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/imghash")
}

fn png_rgb(path: &Path) -> (Vec<u8>, usize, usize) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w as usize, h as usize)
}

/// `(name, width, height, phash, dhash)` rows of an expected.tsv.
fn expected(path: &Path) -> Vec<(String, usize, usize, ImgHash64, ImgHash64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

/// A hasher matching the Pillow named in the expected.tsv header (`# ImageHash x, Pillow y, ...`).
fn hasher_for(path: &Path) -> ImgHasher {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().next().unwrap_or("");
    let version: Vec<u32> = header
        .split(", ")
        .find_map(|f| f.strip_prefix("Pillow "))
        .map(|v| v.split('.').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    ImgHasher::with_resize(match version[..] {
        [major, ..] if major >= 13 => PillowResize::Pillow13,
        [12, minor, ..] if minor >= 3 => PillowResize::Pillow12_3,
        _ => PillowResize::Classic,
    })
}

/// pHash and dHash of packed RGB.
fn both(hasher: &mut ImgHasher, rgb: &[u8], w: usize, h: usize) -> (ImgHash64, ImgHash64) {
    let r = hasher
        .hash(PixelBuffer::rgb(rgb, w, h).unwrap(), &ImgKind::ALL)
        .unwrap();
    (r.phash.unwrap(), r.dhash.unwrap())
}

#[test]
fn shapes_png_matches_manifest() {
    let (rgb, w, h) = png_rgb(&fixtures().join("shapes.png"));
    let mut hasher = ImgHasher::new();
    let (p, d) = both(&mut hasher, &rgb, w, h);
    assert_eq!(p.to_hex(), "a25acfa58d3530a7");
    assert_eq!(d.to_hex(), "b1898d95979d8da9");
}

#[test]
fn fixtures_match_imagehash_pillow13() {
    check_fixtures("expected.tsv");
}

#[test]
fn fixtures_match_imagehash_pillow12() {
    check_fixtures("expected-pillow12.tsv");
}

fn check_fixtures(tsv: &str) {
    let dir = fixtures();
    let rows = expected(&dir.join(tsv));
    assert!(rows.len() >= 40, "{} fixtures", rows.len());
    let mut hasher = hasher_for(&dir.join(tsv));
    let mut bad = Vec::new();
    for (name, w, h, phash, dhash) in &rows {
        let (rgb, pw, ph) = png_rgb(&dir.join(name));
        assert_eq!((pw, ph), (*w, *h), "{name}");
        let (p, d) = both(&mut hasher, &rgb, pw, ph);
        if (p, d) != (*phash, *dhash) {
            bad.push(format!(
                "{name}: phash {p} want {phash} ({} bits), dhash {d} want {dhash} ({} bits)",
                p.distance(phash),
                d.distance(dhash)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {}:\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}

#[test]
#[ignore = "needs VIGIE_IMGHASH_CORPUS, a directory made by fixtures/imghash/gen.py corpus"]
fn corpus_report() {
    let dir = PathBuf::from(std::env::var("VIGIE_IMGHASH_CORPUS").expect("VIGIE_IMGHASH_CORPUS"));
    let tsv = dir.join(std::env::var("VIGIE_IMGHASH_EXPECTED").unwrap_or("expected.tsv".into()));
    let rows = expected(&tsv);
    let mut hasher = hasher_for(&tsv);
    let (mut phist, mut dhist) = ([0usize; 65], [0usize; 65]);
    for (name, w, h, phash, dhash) in &rows {
        let rgb = std::fs::read(dir.join(name)).unwrap();
        let (p, d) = both(&mut hasher, &rgb, *w, *h);
        let (pd, dd) = (p.distance(phash), d.distance(dhash));
        phist[pd as usize] += 1;
        dhist[dd as usize] += 1;
        if pd != 0 || dd != 0 {
            println!("{name}: phash {p} want {phash} ({pd}), dhash {d} want {dhash} ({dd})");
        }
    }
    let show = |h: &[usize; 65]| {
        h.iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(d, n)| format!("{d} bits: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("{} images", rows.len());
    println!("phash distance: {}", show(&phist));
    println!("dhash distance: {}", show(&dhist));
}
