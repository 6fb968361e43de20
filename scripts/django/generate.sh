#!/usr/bin/env bash
# Produce golden cases with real Django: scripts/django/generate.sh SERIES DATABASE OUT_DIR [generate.py options]
#   SERIES   3.2 (Debian bookworm's system python3-django), 4.2 or 5.2 (fetched into .cache/django/)
#   DATABASE sqlite | postgres | mysql
# Writes OUT_DIR/cases.json (and OUT_DIR/db.sqlite3, OUT_DIR/sessions/); see test/support/django/README.md.
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 3.2|4.2|5.2 sqlite|postgres|mysql OUT_DIR [generate.py options]" >&2; exit 2; fi
series="$1" database="$2" out="$3"
shift 3
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "$series" in
  3.2) pythonpath="" ;;
  4.2|5.2) "$repo_root/scripts/django/fetch.sh" "$series" >&2
           pythonpath="$repo_root/.cache/django/$series/usr/lib/python3/dist-packages" ;;
  *) echo "generate.sh: unknown series $series" >&2; exit 2 ;;
esac
exec env PYTHONPATH="$pythonpath" /usr/bin/python3 "$repo_root/test/support/django/generate.py" \
  --out "$out" --database "$database" --expect-series "$series" "$@"
