//! What a user installing vigie gets: `--version` naming the build, shell completions and a
//! manual page generated from the same definitions as `--help`, the exit statuses in `--help`.

mod common;
use common::{code, run};

/// `--version` says the version, the commit built and the features built in; `-V` stays short.
#[test]
fn version_names_the_commit_and_the_features() {
    let o = run(["--version"]);
    assert_eq!(code(&o), 0);
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(concat!("vigie ", env!("CARGO_PKG_VERSION")))
    );
    let commit = lines.next().unwrap().strip_prefix("commit: ").unwrap();
    // Built from this work tree: the commit git names (or `unknown` outside git).
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    match git {
        // The binary may predate the last commit when nothing but the history changed since
        // its build: then it names an ancestor, never another tree's commit.
        Some(head) => {
            assert_eq!(commit.len(), 12, "{commit}");
            let ancestor = std::process::Command::new("git")
                .args(["merge-base", "--is-ancestor", commit, &head])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(ancestor.success(), "{commit} is not {head} or an ancestor");
        }
        None => assert_eq!(commit, "unknown"),
    }
    let video = if cfg!(feature = "video") { "yes" } else { "no" };
    assert_eq!(
        lines.next(),
        Some(format!("video decoding (FFmpeg): {video}").as_str())
    );
    let simd = lines.next().unwrap();
    assert!(
        simd == "SIMD JPEG decoding (libjpeg-turbo): yes"
            || simd == "SIMD JPEG decoding (libjpeg-turbo): no",
        "{simd}"
    );
    let short = run(["-V"]);
    assert_eq!(
        String::from_utf8(short.stdout).unwrap().trim(),
        concat!("vigie ", env!("CARGO_PKG_VERSION"))
    );
}

/// Completion scripts for each shell name every subcommand and a flag of `scan`.
#[test]
fn completions_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let text = String::from_utf8(o.stdout).unwrap();
        for word in ["scan", "hash", "match", "index", "--pdq-threshold"] {
            assert!(text.contains(word), "{shell}: no {word}");
        }
    }
    let o = run(["completions", "tcsh"]);
    assert_eq!(code(&o), 2);
}

/// The manual page is roff with the commands, and the exit statuses are in it and in --help.
#[test]
fn man_page_and_help_carry_the_exit_statuses() {
    let o = run(["man"]);
    assert_eq!(code(&o), 0);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &text[..80.min(text.len())]
    );
    assert!(text.contains(".TH vigie 1"), "no title");
    for word in ["scan", "completions", "Exit status: 0 nothing found"] {
        assert!(text.contains(word), "man: no {word}");
    }
    let help = String::from_utf8(run(["--help"]).stdout).unwrap();
    assert!(help.contains("Exit status: 0 nothing found"), "{help}");
    assert!(help.contains("130 or 143"), "{help}");
}
