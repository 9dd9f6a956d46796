#!/usr/bin/env bash
# The project's pinned uv, installed from PyPI into .tools/uv-VERSION on first use (never into
# the system Python, never an unpinned version).
#   scripts/uv.sh ARGS...   run it
#   scripts/uv.sh --path    print its path (installing it first if needed)
# Bump UV_VERSION deliberately: uv.lock's format and `uv sync` behaviour follow uv's version.
set -euo pipefail
UV_VERSION=0.13.10
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tools/uv-$UV_VERSION"
PY=${PYTHON:-python3}
if [ ! -x "$DIR/bin/uv" ]; then
  printf '\033[1m==> installing uv %s from PyPI into %s\033[0m\n' "$UV_VERSION" "$DIR" >&2
  rm -rf "$DIR.partial"
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target "$DIR.partial" "uv==$UV_VERSION" 2> >(grep -v "^WARNING: Location" >&2)
  mv "$DIR.partial" "$DIR"
fi
if [ "${1:-}" = "--path" ]; then echo "$DIR/bin/uv"; exit 0; fi
exec "$DIR/bin/uv" "$@"
