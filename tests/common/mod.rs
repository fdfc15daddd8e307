//! Helpers for the CLI tests: run the real binary, parse its JSONL output.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built `vigie` binary.
pub fn vigie() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie"));
    c.stdin(Stdio::null());
    c
}

/// Runs `vigie ARGS` and returns its output.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    vigie().args(args).output().expect("run vigie")
}

/// Parses JSON lines.
pub fn jsonl(out: &[u8]) -> Vec<Value> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("bad JSON line {:?}: {e}", String::from_utf8_lossy(l)))
        })
        .collect()
}

/// Exit code of an output.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The fixtures directory.
pub fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

/// Runs a system tool and returns its stdout.
pub fn tool(cmd: &str, args: &[&OsStr]) -> Vec<u8> {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (scripts/test.sh installs it): {e}"));
    assert!(
        o.status.success(),
        "{cmd} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Waits for `child` at most `secs` seconds: a run that would read or wait forever fails the
/// test (naming `what`) instead of hanging it. Returns the child's output.
pub fn wait_within(mut child: Child, secs: u64, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
