#!/usr/bin/env bash
# Check that the OS has what fieldnav needs and install what is missing when we can.
#
#   scripts/ensure-os-deps.sh [extra-apt-package ...]
#
# Needs: python3 >= 3.11 with the venv module (ensurepip), PostgreSQL server binaries >= 15
# (initdb) and the PostGIS 3 extension files for that PostgreSQL, Node.js 20.19+/22.12+ with
# npm (to build the field client in web/); extra arguments are apt
# package names checked with dpkg -s (e.g. chromium chromium-driver).
# All present: prints "os deps: ok" and exits 0 (fast: no apt, no network).
# Missing, root with apt-get: apt-get update + install, then checks again.
# Missing otherwise: prints the one command to run and exits 1.
set -euo pipefail

MIN_PG_MAJOR=15
DEFAULT_PG_MAJOR=15
PYTHON_BIN="${PYTHON:-python3}"

missing_pkgs=()  # apt packages that would fix what is missing
problems=()      # what is wrong, in words
unfixable=0      # set when no package install can fix it (e.g. python too old)

add_pkg() {
  local pkg
  for pkg in "$@"; do
    [[ " ${missing_pkgs[*]-} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
  done
}

# The PostgreSQL bin dir the way service/platform/embedded_db.py finds it; empty if none.
find_pg_bindir() {
  if [[ -n "${FIELDNAV_PG_BINDIR:-}" ]]; then
    echo "$FIELDNAV_PG_BINDIR"
    return
  fi
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    # Debian's pg_config may come from libpq-dev and name a dir without a server.
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
      echo "$dir"
      return
    fi
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" ]]; then
      echo "$dir"
      return
    fi
  done
}

# Major version the postgresql package would install ("15+248" -> 15); default if unknown.
apt_candidate_pg_major() {
  local candidate=""
  if command -v apt-cache >/dev/null 2>&1; then
    candidate="$(apt-cache policy postgresql 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9][0-9]*\).*/\1/p')"
  fi
  echo "${candidate:-$DEFAULT_PG_MAJOR}"
}

postgis_present() {
  local bindir="$1" major="$2" sharedir=""
  if [[ -x "$bindir/pg_config" ]]; then
    sharedir="$("$bindir/pg_config" --sharedir 2>/dev/null || true)"
  fi
  [[ -n "$sharedir" && -f "$sharedir/extension/postgis.control" ]] ||
    [[ -f "/usr/share/postgresql/$major/extension/postgis.control" ]]
}

check_python() {
  if ! command -v "$PYTHON_BIN" >/dev/null 2>&1; then
    problems+=("python3 not found")
    add_pkg python3 python3-venv
    return
  fi
  if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    problems+=("$("$PYTHON_BIN" --version 2>&1) is too old: fieldnav needs python >= 3.11")
    unfixable=1
    return
  fi
  # Debian ships venv without ensurepip unless python3-venv is installed.
  if ! "$PYTHON_BIN" -c 'import venv, ensurepip' 2>/dev/null; then
    problems+=("python venv module (ensurepip) missing")
    add_pkg python3-venv
  fi
}

check_postgres() {
  local bindir major
  bindir="$(find_pg_bindir)"
  if [[ -n "${FIELDNAV_PG_BINDIR:-}" && ! -x "$bindir/initdb" ]]; then
    problems+=("FIELDNAV_PG_BINDIR=$FIELDNAV_PG_BINDIR has no initdb: fix it or unset it")
    unfixable=1
    return
  fi
  if [[ -z "$bindir" ]]; then
    major="$(apt_candidate_pg_major)"
    problems+=("PostgreSQL server (initdb) not found")
    add_pkg postgresql "postgresql-$major-postgis-3"
    return
  fi
  major="$("$bindir/initdb" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
  if ((major < MIN_PG_MAJOR)); then
    local candidate
    candidate="$(apt_candidate_pg_major)"
    problems+=("PostgreSQL $major at $bindir is too old: fieldnav needs >= $MIN_PG_MAJOR")
    if ((candidate >= MIN_PG_MAJOR)); then
      add_pkg "postgresql-$candidate" "postgresql-$candidate-postgis-3"
    else
      unfixable=1
    fi
    return
  fi
  if ! postgis_present "$bindir" "$major"; then
    problems+=("PostGIS 3 extension files for PostgreSQL $major not found")
    add_pkg "postgresql-$major-postgis-3"
  fi
}

# 0 when Node.js version $1 (e.g. v20.20.2) is new enough for vite 7 (^20.19 or >= 22.12),
# which builds the field client in web/.
node_version_ok() {
  local major minor
  IFS=. read -r major minor _ <<<"${1#v}"
  ((major == 20 && minor >= 19)) || ((major == 22 && minor >= 12)) || ((major > 22))
}

check_node() {
  local candidate
  if command -v node >/dev/null 2>&1; then
    if ! node_version_ok "$(node --version)"; then
      problems+=("Node.js $(node --version) is too old for the field client build: install Node.js 20.19+ or 22.12+ (e.g. from NodeSource)")
      unfixable=1
    elif ! command -v npm >/dev/null 2>&1; then
      problems+=("npm not found (the field client in web/ is built with npm)")
      add_pkg npm
    fi
    return
  fi
  candidate=""
  if command -v apt-cache >/dev/null 2>&1; then
    candidate="$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9][0-9.]*\).*/\1/p')"
  fi
  problems+=("Node.js not found (the field client in web/ is built with npm)")
  if [[ -n "$candidate" ]] && node_version_ok "$candidate"; then
    add_pkg nodejs
    # NodeSource's nodejs carries npm; Debian's does not.
    apt-cache policy nodejs 2>/dev/null | grep -q nodesource || add_pkg npm
  else
    problems+=("this system's nodejs package (${candidate:-none}) is too old: install Node.js 20.19+ or 22.12+ (e.g. from NodeSource)")
    unfixable=1
  fi
}

check_extra_packages() {
  local pkg
  for pkg in "$@"; do
    if ! command -v dpkg >/dev/null 2>&1; then
      problems+=("cannot check package '$pkg': dpkg not found")
      unfixable=1
    elif ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
      problems+=("package $pkg not installed")
      add_pkg "$pkg"
    fi
  done
}

install_command() {
  echo "sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
}

report_problems() {
  local problem
  for problem in "${problems[@]}"; do
    echo "os deps: $problem" >&2
  done
}

main() {
  check_python
  check_postgres
  check_node
  check_extra_packages "$@"

  if ((${#problems[@]} == 0)); then
    echo "os deps: ok"
    return 0
  fi
  report_problems

  local can_install=0
  if ((unfixable == 0)) && ((${#missing_pkgs[@]} > 0)) && [[ "$(id -u)" == 0 ]] &&
    command -v apt-get >/dev/null 2>&1 && [[ -z "${FIELDNAV_OS_DEPS_RETRY:-}" ]]; then
    can_install=1
  fi
  if ((can_install)); then
    echo "os deps: installing ${missing_pkgs[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_pkgs[@]}"
    # Check again from scratch; the guard stops a loop if the install did not help.
    FIELDNAV_OS_DEPS_RETRY=1 exec "$0" "$@"
  fi

  if [[ -n "${FIELDNAV_OS_DEPS_RETRY:-}" ]]; then
    echo "os deps: still missing after apt-get install" >&2
  fi
  if ((${#missing_pkgs[@]} > 0)); then
    if command -v apt-get >/dev/null 2>&1; then
      echo "os deps: to install what is missing, run:" >&2
      echo "  $(install_command)" >&2
    else
      echo "os deps: install the equivalent of these Debian packages: ${missing_pkgs[*]}" >&2
    fi
  fi
  return 1
}

main "$@"
