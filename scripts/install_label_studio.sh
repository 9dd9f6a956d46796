#!/usr/bin/env bash
# Install Label Studio into its OWN virtual environment (its pins clash with the workspace's),
# exactly as scripts/label-studio.lock.txt says: every package pinned and hash-checked.
#
# Idempotent on the lock's sha256 (stored in the venv as .curata-lock.sha256): a venv made from
# another lock, or from none, is re-synced; `uv pip sync` also removes packages the lock lacks.
# Usage: scripts/install_label_studio.sh            (from anywhere)
# Env:   LABEL_STUDIO_VENV (default .tools/label-studio/venv), LABEL_STUDIO_PYTHON (python3.11)
# Refresh the lock (e.g. to upgrade Label Studio): scripts/lock_label_studio.sh NEW_VERSION
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/scripts/label-studio.lock.txt"
VENV="${LABEL_STUDIO_VENV:-$ROOT/.tools/label-studio/venv}"
PY="${LABEL_STUDIO_PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
STAMP="$VENV/.curata-lock.sha256"
want=$(sha256sum "$LOCK" | cut -d' ' -f1)
version=$(sed -n 's/^label-studio==\([^ ]*\).*/\1/p' "$LOCK")

if [[ -x "$VENV/bin/label-studio" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "label-studio $version already installed in $VENV (lock ${want:0:12})"
  exit 0
fi

UV="$(bash "$ROOT/scripts/uv.sh" --path)"
mkdir -p "$(dirname "$VENV")"
rm -f "$STAMP"
"$UV" venv --quiet --allow-existing --python "$PY" "$VENV"
"$UV" pip sync --quiet --require-hashes --python "$VENV/bin/python" "$LOCK"
echo "$want" >"$STAMP"
echo "label-studio $version installed in $VENV from the lock (${want:0:12})"
