//! PDQ against the reference C++ CLI: every `fixtures/pdq/pixels512/*.png` (the exact buffers the
//! CLI hashed) must give the CLI's hash, quality and 8 dihedral hashes, bit for bit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vigie::perceptual::pdq::{PdqDihedral, PdqHash, PdqHasher, PixelBuffer};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pdq")
}

/// file name → (8 hashes in [`PdqDihedral::NAMES`] order, quality).
fn expected() -> BTreeMap<String, ([PdqHash; 8], u8)> {
    let text = std::fs::read_to_string(fixtures().join("MANIFEST-pixels512-cpp-cli.tsv")).unwrap();
    let mut out: BTreeMap<String, ([Option<PdqHash>; 8], u8)> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f[4], "cpp-cli", "{line}");
        let name = f[0].strip_prefix("pixels512/").unwrap().to_string();
        let v = PdqDihedral::NAMES.iter().position(|n| *n == f[1]).unwrap();
        let hash = PdqHash::from_hex(f[2]).unwrap();
        assert_eq!(hash.to_hex(), f[2]);
        let quality: u8 = f[3].parse().unwrap();
        let e = out.entry(name).or_insert(([None; 8], quality));
        assert_eq!(e.1, quality, "{line}");
        assert!(e.0[v].replace(hash).is_none(), "duplicate row {line}");
    }
    out.into_iter()
        .map(|(k, (h, q))| (k, (h.map(|h| h.unwrap()), q)))
        .collect()
}

/// Hashes one PNG the way the reference CLI does: grey as luma, RGB through the luma weights.
fn hash_png(h: &mut PdqHasher, path: &Path) -> (PdqDihedral, vigie::perceptual::pdq::PdqResult) {
    let img = image::open(path).unwrap();
    let (w, hgt) = (img.width() as usize, img.height() as usize);
    match img {
        image::DynamicImage::ImageLuma8(g) => {
            let g = g.into_raw();
            let d = h.hash_dihedral(PixelBuffer::grey(&g, w, hgt).unwrap());
            let r = h.hash(PixelBuffer::grey(&g, w, hgt).unwrap());
            // The float-luma entry points give the same answer.
            let luma: Vec<f32> = g.iter().map(|&v| f32::from(v)).collect();
            assert_eq!(h.hash(PixelBuffer::luma(&luma, w, hgt).unwrap()), r);
            (d, r)
        }
        image::DynamicImage::ImageRgb8(rgb) => {
            let rgb = rgb.into_raw();
            let d = h.hash_dihedral(PixelBuffer::rgb(&rgb, w, hgt).unwrap());
            let r = h.hash(PixelBuffer::rgb(&rgb, w, hgt).unwrap());
            let luma = h.luma(PixelBuffer::rgb(&rgb, w, hgt).unwrap()).to_vec();
            assert_eq!(
                h.hash_dihedral(PixelBuffer::luma(&luma, w, hgt).unwrap()),
                d
            );
            (d, r)
        }
        other => panic!(
            "{}: unexpected colour type {:?}",
            path.display(),
            other.color()
        ),
    }
}

#[test]
fn pixels512_match_the_reference_cli_bit_for_bit() {
    let expected = expected();
    assert_eq!(expected.len(), 49);
    let dir = fixtures().join("pixels512");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".png"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, expected.keys().cloned().collect::<Vec<_>>());

    let mut h = PdqHasher::new();
    let mut failures = Vec::new();
    for (name, (hashes, quality)) in &expected {
        let (d, r) = hash_png(&mut h, &dir.join(name));
        assert_eq!(
            r.hash, d.hashes[0],
            "{name}: plain and dihedral paths differ"
        );
        assert_eq!(r.quality, d.quality, "{name}");
        if d.hashes != *hashes || d.quality != *quality {
            let dist: Vec<u32> = d
                .hashes
                .iter()
                .zip(hashes)
                .map(|(a, b)| a.distance(b))
                .collect();
            failures.push(format!(
                "{name}: quality {} (want {quality}), distances {dist:?}",
                d.quality
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 49 differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn official_bridge_hash() {
    // The reg-test's recorded value for bridge-1-original.jpg (quality 100).
    let mut h = PdqHasher::new();
    let (d, r) = hash_png(
        &mut h,
        &fixtures().join("pixels512/reg-test-input__dih__bridge-1-original.jpg.png"),
    );
    assert_eq!(
        r.hash.to_string(),
        "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    );
    assert_eq!((r.quality, d.quality), (100, 100));
}
