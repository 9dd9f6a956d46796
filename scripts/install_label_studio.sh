#!/usr/bin/env bash
# Install Label Studio into its OWN virtual environment (its pins clash with the workspace's).
#
# Idempotent: does nothing when .tools/label-studio/venv already runs the pinned version.
# Usage: scripts/install_label_studio.sh            (from the repository root)
# Env:   LABEL_STUDIO_VERSION (default 1.23.2), LABEL_STUDIO_PYTHON (default python3.11)
set -euo pipefail

VERSION="${LABEL_STUDIO_VERSION:-1.23.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LABEL_STUDIO_VENV:-$ROOT/.tools/label-studio/venv}"
PY="${LABEL_STUDIO_PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))' \
    2>/dev/null || true
}

if [[ -x "$VENV/bin/label-studio" && "$(installed_version)" == "$VERSION" ]]; then
  echo "label-studio $VERSION already installed in $VENV"
  exit 0
fi

mkdir -p "$(dirname "$VENV")"
if command -v uv >/dev/null 2>&1; then
  # uv is much faster than pip here; --seed is not needed, label-studio runs without pip.
  uv venv --quiet --allow-existing --python "$PY" "$VENV"
  uv pip install --quiet --python "$VENV/bin/python" "label-studio==$VERSION"
else
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "label-studio==$VERSION"
fi

test "$(installed_version)" == "$VERSION"
echo "label-studio $VERSION installed in $VENV"
