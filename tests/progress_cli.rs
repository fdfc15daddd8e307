//! The progress display, run on a pseudo-terminal (util-linux `script`): drawn on stderr
//! with matched and failed counts and the share done when the inputs' size is known, cleared
//! at the end; not drawn when the records go to the terminal; `index build` says which list
//! it is reading.

mod common;

use std::process::Command;

/// Runs `vigie ARGS` on a pseudo-terminal; returns what the terminal received.
fn on_terminal(args: &str) -> String {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_vigie"));
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn scan_progress_shows_counts_and_share_then_clears() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.vigie");
    let o = common::run([
        "index",
        "build",
        "-q",
        "-o",
        idx.to_str().unwrap(),
        "fixtures/example/lists/known-bad.sha256",
    ]);
    assert_eq!(common::code(&o), 0);
    let out = dir.path().join("hits.jsonl");
    let tty = on_terminal(&format!(
        "scan -i {} -o {} fixtures/example/dump/shard-0001.tar",
        idx.display(),
        out.display()
    ));
    // The display: items, the share of the tar's size, the counts; then erased (the
    // erase-line sequence), and the summary line after it.
    assert!(tty.contains(" of 0.0 MB ("), "{tty}");
    assert!(tty.contains("matched, "), "{tty}");
    assert!(tty.contains(" failed"), "{tty}");
    let erased = tty.rfind("\x1b[2K").expect("the display is cleared");
    assert!(tty[erased..].contains("vigie: "), "{tty}");
    assert!(!tty[erased..].contains("MB/s;"), "{tty}");
    assert!(!common::jsonl(&std::fs::read(&out).unwrap()).is_empty());

    // Records on the terminal: no display among them.
    let tty = on_terminal(&format!(
        "scan -i {} fixtures/example/dump/shard-0001.tar",
        idx.display()
    ));
    assert!(tty.contains("\"verdict\":\"match\""), "{tty}");
    assert!(!tty.contains("MB/s;"), "{tty}");
    // -q: none either.
    let tty = on_terminal(&format!(
        "scan -q -i {} -o {} fixtures/example/dump",
        idx.display(),
        out.display()
    ));
    assert!(!tty.contains("MB/s;"), "{tty}");
}

#[test]
fn index_build_says_which_list_it_reads_and_how_fast() {
    let dir = tempfile::tempdir().unwrap();
    let tty = on_terminal(&format!(
        "index build -o {} fixtures/example/lists/known-bad.sha256 fixtures/example/lists/partner.md5",
        dir.path().join("x.vigie").display()
    ));
    // The first list is always drawn (later ones may be read faster than a redraw).
    assert!(
        tty.contains("reading list 1 of 2: fixtures/example/lists/known-bad.sha256"),
        "{tty}"
    );
    assert!(
        tty.contains("vigie: list partner: 0.0 MB read in "),
        "{tty}"
    );
    assert!(tty.contains("MB/s)"), "{tty}");
}
