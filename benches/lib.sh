# The prelude every benchmark script shares (sourced, not run): `log` and `die` for its
# messages, and `apt_install WHY PKG...` (scripts/lib/apt.sh) for the Debian packages it needs.
# A script sets ME (its name in messages; default: its file name) before calling die.

# shellcheck source=scripts/lib/apt.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib/apt.sh"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '%s: FAIL: %s\n' "${ME:-${0##*/}}" "$*" >&2; exit 1; }
