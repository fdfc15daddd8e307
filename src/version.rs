//! What this vigie is: its version, the commit it was built from and the features built in,
//! as `vigie --version` prints them (a report that must be defended later says which build
//! made it). The facts come from `build.rs`.

use std::sync::OnceLock;

/// The crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit built (12 hex digits), or `unknown` when built outside a git work tree.
pub const COMMIT: &str = env!("VIGIE_COMMIT");

/// Whether videos are decoded (the `video` feature: FFmpeg); without it a video is a failed
/// item of kind `video`.
pub const VIDEO: bool = cfg!(feature = "video");

/// Whether libjpeg-turbo was built with its SIMD decoder (`nasm` present at build time):
/// the same hashes either way, JPEG decoding about twice as fast with it.
pub fn jpeg_simd() -> bool {
    env!("VIGIE_JPEG_SIMD") == "true"
}

/// The features built in, by name: `video` and `jpeg-simd` when present.
pub fn features() -> Vec<&'static str> {
    let mut f = Vec::new();
    if VIDEO {
        f.push("video");
    }
    if jpeg_simd() {
        f.push("jpeg-simd");
    }
    f
}

/// The long version text: the version, then the commit and the features, one a line.
pub fn long() -> &'static str {
    static LONG: OnceLock<String> = OnceLock::new();
    LONG.get_or_init(|| {
        let on = |b: bool| if b { "yes" } else { "no" };
        format!(
            "{VERSION}\ncommit: {COMMIT}\nvideo decoding (FFmpeg): {}\nSIMD JPEG decoding (libjpeg-turbo): {}",
            on(VIDEO),
            on(jpeg_simd())
        )
    })
}
