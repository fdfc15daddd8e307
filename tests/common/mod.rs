//! Helpers for the CLI tests: run the real binary, parse its JSONL output.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built `vigie` binary.
pub fn vigie() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie"));
    c.stdin(Stdio::null());
    c
}

/// A `vigie` command line of mixed argument kinds (`&str`, `&Path`, `PathBuf`, `&OsStr`,
/// `String`), as one `Vec<OsString>`: `run(argv!["scan", "-q", "-i", &index, &root])`.
#[allow(unused_macros)]
macro_rules! argv {
    ($($a:expr),* $(,)?) => {
        vec![$(::std::ffi::OsString::from(::std::convert::AsRef::<::std::ffi::OsStr>::as_ref(&$a))),*]
    };
}
#[allow(unused_imports)]
pub(crate) use argv;

/// One argument as an `&OsStr`, where a list of them is built by hand.
pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
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

/// The tests' one deterministic generator (xorshift64, shifts 13, 7, 17): the same "random"
/// values on every run, from a nonzero seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next word.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (nonzero).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// 32 bytes: four words, little-endian (a made-up PDQ hash).
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        b
    }

    /// `len` bytes, each `byte` of the next word.
    pub fn bytes(&mut self, len: usize, byte: impl Fn(u64) -> u8) -> Vec<u8> {
        (0..len).map(|_| byte(self.next())).collect()
    }
}

/// The columns that locate an item, first in every row of a CSV report.
pub const CSV_LOCATION: [&str; 6] = [
    "path",
    "path_bytes",
    "member",
    "member_bytes",
    "offset",
    "size",
];

/// The columns that end every row of a CSV report: why an item failed.
pub const CSV_ERROR: [&str; 2] = ["error_kind", "error"];

/// The header of a CSV report whose item columns are `columns`: location, those, error.
pub fn csv_header(columns: &[&str]) -> Vec<String> {
    CSV_LOCATION
        .iter()
        .chain(columns)
        .chain(&CSV_ERROR)
        .map(|c| c.to_string())
        .collect()
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

/// The rows of `fixtures/containers/EXPECTED.tsv` for `archive`: (member, md5, sha256) of
/// each member as the real tool (`unzip -p`, `7z x -so`) extracts it, hashed by coreutils.
pub fn expected_members(archive: &str) -> Vec<(String, String, String)> {
    std::fs::read_to_string(fixtures().join("containers/EXPECTED.tsv"))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == archive)
        .map(|f| (f[1].into(), f[2].into(), f[3].into()))
        .collect()
}

/// The record of member `name` among `recs`.
pub fn member<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    recs.iter()
        .find(|r| r["member"] == name)
        .unwrap_or_else(|| panic!("{name}: {recs:?}"))
}

/// A fixture of `fixtures/containers/` (`scripts/make_container_fixtures.sh`).
pub fn container(name: &str) -> PathBuf {
    fixtures().join("containers").join(name)
}

/// `vigie hash -q --algo md5,sha256 ARGS...` (from `argv!`): its records, exit code and
/// standard error. A panic in vigie fails the test.
pub fn hash_md5_sha256(args: Vec<OsString>) -> (Vec<Value>, i32, String) {
    let out = run(argv!["hash", "-q", "--algo", "md5,sha256"]
        .into_iter()
        .chain(args));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    (jsonl(&out.stdout), code(&out), err)
}

/// The SHA-256 of a file, as coreutils' `sha256sum` gives it.
pub fn sha256_of(path: &Path) -> String {
    let out = tool("sha256sum", &[path.as_os_str()]);
    String::from_utf8(out).unwrap()[..64].to_string()
}

/// Runs `vigie ARGS` with `input` on its standard input, written from a thread (a run that
/// stops reading cannot block the test), for at most 60 seconds.
pub fn run_stdin(args: Vec<OsString>, input: &[u8]) -> Output {
    let mut child = vigie()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = wait_within(child, 60, "vigie with standard input");
    writer.join().unwrap();
    out
}

/// `vigie hash -q ARGS... -` with `input` on standard input: its records and exit code. A
/// panic in vigie fails the test.
pub fn hash_stdin(args: &[&str], input: &[u8]) -> (Vec<Value>, i32) {
    let mut a = argv!["hash", "-q"];
    a.extend(args.iter().map(OsString::from));
    a.push("-".into());
    let out = run_stdin(a, input);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (jsonl(&out.stdout), code(&out))
}

/// `vigie ARGS...` (its subcommand first) with `--summary` to a file in `dir`: its output and
/// the summary it wrote.
pub fn run_with_summary(dir: &Path, mut args: Vec<OsString>) -> (Output, Value) {
    let summary = dir.join("summary.json");
    args.splice(1..1, argv!["--summary", summary]);
    let out = run(args);
    let s = std::fs::read(&summary)
        .unwrap_or_else(|e| panic!("{}: {e}: {}", summary.display(), stderr(&out)));
    (out, serde_json::from_slice(&s).unwrap())
}

/// `dir/index.vigie`, built by `vigie index build` from a `sha256sum` list of `lines`
/// (written to `dir/list.sha256`).
pub fn sha256_index(dir: &Path, lines: &str) -> PathBuf {
    let list = dir.join("list.sha256");
    std::fs::write(&list, lines).unwrap();
    let index = dir.join("index.vigie");
    let out = run(argv!["index", "build", "-o", index, list]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    index
}
