#!/usr/bin/env bash
# CI: Cargo.toml's rust-version is true, i.e. vigie builds with that Rust.
#
# (a) No locked dependency may need a newer Rust than our rust-version. The dependency closure of
#     the `vigie` package is read from `cargo metadata --locked`: its normal, build and dev
#     dependencies (tests and benches build too), then their normal and build dependencies, on
#     every target platform (rust-version is a promise for every target). Other workspace
#     members and their dependencies are not vigie's and are not looked at.
# (b) If a toolchain of exactly that version is installed, vigie is checked with it
#     (`cargo +VERSION check --locked --all-targets`); otherwise this says so and relies on (c).
# (c) Our own code's use of std APIs newer than rust-version is caught by clippy's
#     `incompatible_msrv` lint, which reads rust-version from Cargo.toml. It is warn-by-default
#     (group `clippy::suspicious`; checked on clippy 0.1.95 with `clippy-driver rustc -W help`),
#     and .ci/run runs `cargo clippy --all-targets -- -D warnings`, so it fails CI there. (It
#     sees std items only, not language features; clippy's MSRV-gated suggestions such as
#     `is_none_or` or `is_multiple_of` follow rust-version too.)
set -euo pipefail
cd "$(dirname "$0")/.."

meta=$(mktemp)
trap 'rm -f "$meta"' EXIT
cargo metadata --format-version 1 --locked >"$meta"

# Prints "OURS NEEDED SETTERS" (SETTERS: the crates that need NEEDED, comma-separated); exits 1
# after naming on stderr every crate that needs more than OURS; on a metadata problem says why
# on stderr, prints nothing and exits 1.
status=0
result=$(python3 - "$meta" <<'EOF'
import json, sys

meta = json.load(open(sys.argv[1]))
pkgs = {p["id"]: p for p in meta["packages"]}
members = set(meta["workspace_members"])
root = next((i for i in members if pkgs[i]["name"] == "vigie"), None)
root = root or (meta.get("resolve") or {}).get("root")
if root is None:
    sys.exit("msrv.sh: no package named vigie in the workspace")

def version(v):
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

ours = pkgs[root].get("rust_version")
if not ours:
    sys.exit("msrv.sh: Cargo.toml of vigie has no rust-version")

nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
seen, todo = {root}, [root]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if node["id"] != root:
            kinds.discard("dev")  # a dependency's dev-dependencies are never built
        if kinds and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])
seen.discard(root)

declared = [(version(pkgs[i]["rust_version"]), pkgs[i]) for i in seen if pkgs[i].get("rust_version")]
if not declared:
    print(ours, "none", "-")
    sys.exit(0)
top = max(v for v, _ in declared)
setters = sorted(f"{p['name']}@{p['version']}" for v, p in declared if v == top)
too_new = sorted((v, p["name"], p["version"], p["rust_version"]) for v, p in declared if v > version(ours))
for _, name, ver, rv in too_new:
    print(f"msrv.sh: {name} {ver} needs Rust {rv}, over vigie's rust-version {ours}", file=sys.stderr)
print(ours, "%d.%d" % top[:2] if top[2] == 0 else "%d.%d.%d" % top, ", ".join(setters))
sys.exit(1 if too_new else 0)
EOF
) || status=$?
read -r ours needed setters <<<"$result" || true
if [ "$status" -ne 0 ]; then
  [ -n "$result" ] || exit "$status"  # metadata problem, said on stderr
  echo "msrv.sh: FAIL: locked dependencies need a newer Rust than rust-version $ours (above): raise rust-version or keep older versions in Cargo.lock" >&2
  exit 1
fi

# (b) a toolchain of exactly rust-version (1.88 matches 1.88 and 1.88.0), if rustup has one.
toolchain=""
if command -v rustup >/dev/null 2>&1; then
  toolchain=$(rustup toolchain list | awk -v v="$ours" '
    { name = $1 } name == v || index(name, v "-") == 1 || (v !~ /\.[0-9]+\.[0-9]+$/ && index(name, v ".0-") == 1) { print name; exit }')
fi
if [ -n "$toolchain" ]; then
  cargo "+$toolchain" check --locked --all-targets --quiet
  how="checked with toolchain $toolchain"
else
  how="no $ours toolchain here; std APIs checked by clippy's incompatible_msrv"
fi
echo "msrv.sh: OK: rust-version $ours; dependencies need $needed ($setters); $how"
