//! Odd images against the peers (issue 19, point 6): the kinds of image whose pixels
//! decoders disagree on (16-bit, palette, 1-bit, CMYK, alpha), hashed by vigie under each
//! `--pixels` and compared with what Pillow + pdqhash and python-threatexchange computed live
//! (fixtures/pixels/EXPECTED.tsv, from `scripts/gen_pixels_fixtures.py`). The table below is
//! the record of which agree; a change either way fails.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::{code, fixtures, jsonl, run, stderr};

/// file → (viewer's PDQ equals Pillow's, `--pixels pillow` equals Pillow's,
/// `--pixels threatexchange` equals python-threatexchange's).
const AGREEMENT: &[(&str, bool, bool, bool)] = &[
    // Pillow's mode "1" array holds 0 and 1: same hash bits, quality 0 (PDQ of faint luma).
    ("bilevel.png", true, true, true),
    // python-threatexchange reads Pillow's C, M, Y as R, G, B: the hash of a negative.
    ("cmyk.jpg", true, true, true),
    // Pillow clamps 16-bit grey to 255: all white here; vigie scales it unless told.
    ("grey16.png", false, true, true),
    ("la.png", true, true, true),
    ("la16.png", true, true, true),
    // python-threatexchange hashes a palette image's indices, not its colours.
    ("palette.png", true, true, true),
    ("palette4.png", true, true, true),
    ("palette_trns.png", true, true, true),
    ("rgb16.png", true, true, true),
    ("rgba.png", true, true, true),
    ("rgba16.png", true, true, true),
    // A GIF's indices are not reproduced (the frame-on-canvas rules of Pillow's GIF reader
    // are not modelled): vigie hashes its colours under every --pixels.
    ("static.gif", true, true, false),
];

fn pdqs(mode: &str) -> BTreeMap<String, (String, u64)> {
    let dir = fixtures().join("pixels");
    let o = run([
        "hash",
        "-q",
        "--algo",
        "pdq",
        "--pixels",
        mode,
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    jsonl(&o.stdout)
        .into_iter()
        .filter(|r| r.get("pdq").is_some())
        .map(|r| {
            let name = r["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            let pdq = r["pdq"].as_str().unwrap().to_string();
            (name, (pdq, r["pdq_quality"].as_u64().unwrap()))
        })
        .collect()
}

#[test]
fn pixels_reproduce_the_peers_where_recorded() {
    let text = fs::read_to_string(fixtures().join("pixels/EXPECTED.tsv")).unwrap();
    let expected: BTreeMap<String, Vec<String>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_string).collect();
            (f[0].clone(), f)
        })
        .collect();
    assert_eq!(expected.len(), AGREEMENT.len());
    let (viewer, pillow, te) = (pdqs("viewer"), pdqs("pillow"), pdqs("threatexchange"));
    for &(file, v_agrees, p_agrees, t_agrees) in AGREEMENT {
        let e = &expected[file];
        let (pil, pil_q, tx, tx_q) = (&e[2], &e[3], &e[4], &e[5]);
        let same = |got: &(String, u64), pdq: &str, q: &str| got.0 == pdq && got.1.to_string() == q;
        assert_eq!(
            same(&viewer[file], pil, pil_q),
            v_agrees,
            "{file}: viewer vs Pillow"
        );
        assert_eq!(
            same(&pillow[file], pil, pil_q),
            p_agrees,
            "{file}: --pixels pillow"
        );
        assert_eq!(
            same(&te[file], tx, tx_q),
            t_agrees,
            "{file}: --pixels threatexchange"
        );
    }
    // The cases the flag exists for do differ by default.
    assert_ne!(viewer["grey16.png"], pillow["grey16.png"]);
    for f in ["cmyk.jpg", "palette.png", "palette4.png", "bilevel.png"] {
        assert_ne!(viewer[f], te[f], "{f}");
    }
}

/// The peer's own 16-bit grey test image (python-threatexchange's tests/hashing/resources/
/// I16.png) hashes as python-threatexchange 1.2.17 with Pillow 13 hashes it under
/// `--pixels threatexchange` (its repository's expected value, 66cc3319…, came from an older
/// Pillow, which scaled rather than clamped).
#[test]
fn peer_i16_fixture() {
    let p = fixtures().join("pixels/peer/I16.png");
    let o = run([
        "hash",
        "-q",
        "--algo",
        "pdq",
        "--pixels",
        "threatexchange",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r = &jsonl(&o.stdout)[0];
    assert_eq!(
        r["pdq"],
        "de2ef0e99ecdfc1d248a0eb055f023d1d61e79c3920cbb55d561c02accab1763"
    );
    assert_eq!(r["pdq_quality"], 36);
    let o = run(["hash", "-q", "--algo", "pdq", p.to_str().unwrap()]);
    assert_ne!(
        jsonl(&o.stdout)[0]["pdq"],
        "de2ef0e99ecdfc1d248a0eb055f023d1d61e79c3920cbb55d561c02accab1763"
    );
}
