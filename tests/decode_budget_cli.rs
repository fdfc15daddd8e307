//! One decode-memory budget for all threads (issue 16, point 14): a 45-byte WebP header
//! claiming 11000² pixels made every thread allocate (and zero) 484 MB before the decoder
//! failed, 960 MB resident with two threads on eight such files.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::*;

/// Runs `cmd` to its end and returns its exit code, stdout, stderr and peak resident set in
/// bytes (the child's own `ru_maxrss`, from wait4).
#[allow(clippy::zombie_processes)] // reaped by wait4, which alone gives the child's rusage
fn run_peak(mut cmd: Command) -> (i32, Vec<u8>, String, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        v
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the child is ours and not yet waited.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    assert!(libc::WIFEXITED(status), "vigie died: status {status}");
    let stdout = o.join().unwrap();
    let stderr = String::from_utf8_lossy(&e.join().unwrap()).into_owned();
    (
        libc::WEXITSTATUS(status),
        stdout,
        stderr,
        (usage.ru_maxrss as u64) << 10,
    )
}

/// Eight copies of the hostile WebP on two threads: each is a failed `image` item naming the
/// cause, and the process's peak memory stays far below one 484 MB buffer (it was 960 MB).
#[test]
fn eight_huge_webp_headers_on_two_threads_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let webp = fixtures().join("hostile/webp-11000.webp");
    for i in 0..8 {
        std::fs::copy(&webp, dir.path().join(format!("w{i}.webp"))).unwrap();
    }
    let mut cmd = vigie();
    cmd.args(["hash", "-j", "2", "--algo", "pdq,md5"])
        .arg(dir.path());
    let (code, stdout, stderr, peak) = run_peak(cmd);
    assert_eq!(code, 2, "{stderr}");
    let recs = jsonl(&stdout);
    assert_eq!(recs.len(), 8, "{recs:?}");
    for r in &recs {
        assert_eq!(r["error_kind"], "image", "{r:?}");
        assert!(r["md5"].is_string(), "exact digests still computed: {r:?}");
        let why = r["error"].as_str().unwrap();
        assert!(why.starts_with("corrupt image: webp"), "{why}");
    }
    assert!(stderr.contains("8 failed (image: 8)"), "{stderr}");
    assert!(peak < 300 << 20, "peak resident set {peak} bytes");
}

/// An image whose buffers exceed the whole budget fails at once, naming its size and the
/// budget; the run goes on.
#[test]
fn an_image_over_the_whole_budget_fails_at_once() {
    let webp = fixtures().join("hostile/webp-11000.webp");
    let o = vigie()
        .args(["hash", "--algo", "pdq", "--decode-memory", "100000000"])
        .arg(&webp)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    let why = recs[0]["error"].as_str().unwrap();
    assert!(
        why.contains("11000x11000") && why.contains("decode memory budget of 100000000"),
        "{why}"
    );
    assert_eq!(recs[0]["error_kind"], "image");
}
