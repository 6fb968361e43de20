#!/usr/bin/env bash
# Fetch a newer Django series into .cache/django/SERIES/ without touching the system Python.
#
#   scripts/django/fetch.sh 4.2   # Debian trixie's python3-django
#   scripts/django/fetch.sh 5.2   # Debian sid's python3-django (+ newer asgiref, sqlparse)
#
# Use it with Debian's /usr/bin/python3:
#   PYTHONPATH=.cache/django/5.2/usr/lib/python3/dist-packages /usr/bin/python3 -c 'import django; print(django.get_version())'
#
# How: a private apt sources file naming the suite on the system's own mirror, a private lists
# dir, `apt-get update` + `apt-get download` against them, then `dpkg-deb -x` of each .deb.
# Nothing is installed; the system's apt state is not modified. Idempotent: when the cache
# already imports the wanted series it only prints the version.
set -euo pipefail

series="${1:-}"
case "$series" in
  4.2) suite=trixie ;;
  5.2) suite=sid ;;
  *) echo "usage: $0 4.2|5.2" >&2; exit 2 ;;
esac

# Pure-Python packages taken from the suite: Django itself, plus dependencies whose bookworm
# version is too old for that series (bookworm has asgiref 3.6.0, sqlparse 0.4.2,
# psycopg2 2.9.5, mysqlclient 1.4.6 -- the last two are C extensions and stay the system's).
#   4.2 requires asgiref>=3.6.0,<4, sqlparse>=0.3.1, psycopg2>=2.8.4, mysqlclient>=1.4.3: all fine.
#   5.2 requires asgiref>=3.8.1 (bookworm too old -> sid's), sqlparse>=0.3.1 (fine),
#   psycopg2>=2.8.4 (fine), mysqlclient>=1.4.3 (fine).
case "$series" in
  4.2) packages=(python3-django) ;;
  5.2) packages=(python3-django python3-asgiref) ;;
esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$repo_root/.cache/django/$series"
site="$cache/usr/lib/python3/dist-packages"
python=/usr/bin/python3

check() {
  PYTHONPATH="$site" "$python" - "$series" <<'EOF'
import sys
import django
want = sys.argv[1]
got = django.get_version()
if not got.startswith(want + "."):
    sys.exit(f"fetch.sh: expected Django {want}.x under the cache, got {got} from {django.__file__}")
print(got)
EOF
}

if [ -f "$cache/.complete" ] && version="$(check 2>/dev/null)"; then
  echo "fetch.sh: Django $version already in $cache"
  exit 0
fi

# The mirror URI the system already uses for Debian (not -security).
mirror="$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' /etc/apt/sources.list.d/debian.sources)"
if [ -z "$mirror" ]; then
  echo "fetch.sh: no Debian mirror URI found in /etc/apt/sources.list.d/debian.sources" >&2
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_dir="$repo_root/.cache/django/apt-$suite"
lists="$apt_dir/lists"
archives="$apt_dir/archives"
mkdir -p "$lists/partial" "$archives/partial"
sources="$apt_dir/sources.list"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$sources"

apt_opts=(
  -o "Dir::Etc::SourceList=$sources"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$lists"
  -o "Dir::Cache::Archives=$archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1"
)
# apt-get download drops privileges to _apt, which cannot write into our mktemp dir.
if [ "$(id -u)" = 0 ]; then apt_opts+=(-o "APT::Sandbox::User=root"); fi

echo "fetch.sh: apt-get update for '$suite' from $mirror (private lists in $lists)"
apt-get "${apt_opts[@]}" -qq update

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch.sh: apt-get download ${packages[*]}"
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}")

rm -rf "$cache"
mkdir -p "$cache"
for deb in "$work"/*.deb; do
  echo "fetch.sh: unpacking $(basename "$deb")"
  dpkg-deb -x "$deb" "$cache"
  dpkg-deb -f "$deb" Package Version >>"$cache/PACKAGES"
done

version="$(check)"
touch "$cache/.complete"
echo "fetch.sh: Django $version ready: PYTHONPATH=$site"
