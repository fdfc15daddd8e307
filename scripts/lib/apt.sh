# Sourced by the scripts that install Debian packages they need: `apt_install WHY PKG...`
# installs the packages (as root, else through sudo), refreshing the package lists only when a
# first attempt fails, and says on stderr what it installs and why.
apt_install() {
  local why="$1"; shift
  [ $# -gt 0 ] || return 0
  echo "${0##*/}: installing $* (Debian packages) $why" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "${0##*/}: missing $* and not root (no sudo)" >&2; return 1; }
    sudo="sudo"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
