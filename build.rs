//! Build facts for `vigie --version` and [`vigie::build`]: the git commit the crate was built
//! from, and whether libjpeg-turbo got its SIMD decoder (mozjpeg-sys assembles it only when
//! `nasm` was found; its generated `jconfig.h` says which).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rustc-env=VIGIE_COMMIT={}", commit(&root));
    // mozjpeg-sys (links = "jpeg") gives its include directories, the generated jconfig.h's
    // first among them.
    let simd = env::var_os("DEP_JPEG_INCLUDE").is_some_and(|dirs| {
        env::split_paths(&dirs).any(|d| {
            std::fs::read_to_string(d.join("jconfig.h"))
                .is_ok_and(|h| h.lines().any(|l| l.trim() == "#define WITH_SIMD 1"))
        })
    });
    println!("cargo:rustc-env=VIGIE_JPEG_SIMD={simd}");
    println!("cargo:rerun-if-env-changed=DEP_JPEG_INCLUDE");
}

/// The commit checked out (12 hex digits), or `unknown` outside a git work tree (a crate
/// tarball). Rebuilt when HEAD moves: HEAD itself (a checkout) and its reflog (a commit).
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for f in ["HEAD", "logs/HEAD"] {
            let p = Path::new(&dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}
