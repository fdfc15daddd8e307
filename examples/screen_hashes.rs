//! Prints the perceptual hashes of a scan's screen (`vigie scan`'s fast decode: a JPEG at
//! reduced scale decoded to its luma only) for the images under the paths given, one JSON
//! line each in the form of `vigie hash --algo pdq,phash,dhash --pdq-dihedral`
//! (`path`, `pdq`, `pdq_dihedral`, `phash`, `dhash`, `decode_scale`), so that
//! `benches/fast_drift.sh --screen` compares them with the exact hashes. `vigie hash` has no
//! flag for these hashes: `--fast-decode` gives Pillow draft's.
//!
//! `cargo run --release --example screen_hashes -- [--rgb] PATH...` (`--rgb`: the screen of
//! Pillow's draft pixels instead, as `vigie hash --fast-decode` and `--unletterbox` scans)
use std::path::Path;

use vigie::perceptual::decode::DecodeOptions;
use vigie::perceptual::{hash_image, PerceptualConfig};

fn walk(p: &Path, out: &mut Vec<std::path::PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out);
        }
    } else {
        out.push(p.to_path_buf());
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let rgb = args.first().map(String::as_str) == Some("--rgb");
    if rgb {
        args.remove(0);
    }
    let cfg = PerceptualConfig {
        pdq: true,
        dihedral: true,
        phash: true,
        dhash: true,
        decode: DecodeOptions {
            fast: true,
            ..DecodeOptions::default()
        },
        luma_screen: !rgb,
        ..PerceptualConfig::default()
    };
    let mut files = Vec::new();
    for a in &args {
        walk(Path::new(a), &mut files);
    }
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        let Some(Ok(i)) = hash_image(&bytes, &cfg) else {
            continue;
        };
        let hex = |h: &vigie::perceptual::pdq::PdqHash| format!("\"{}\"", h.to_hex());
        let dihedral: Vec<String> = i
            .pdq_dihedral
            .iter()
            .flat_map(|d| d.iter().map(hex))
            .collect();
        println!(
            "{{\"path\":{:?},\"pdq\":{},\"pdq_dihedral\":[{}],\"phash\":\"{}\",\"dhash\":\"{}\",\"decode_scale\":{}}}",
            f.display().to_string(),
            hex(&i.pdq.expect("pdq")),
            dihedral.join(","),
            i.phash.expect("phash").to_hex(),
            i.dhash.expect("dhash").to_hex(),
            i.decode_scale
        );
    }
}
