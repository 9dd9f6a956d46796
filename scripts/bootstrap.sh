#!/usr/bin/env bash
# Installs everything Curata's commands and tests need on a fresh Debian machine with only
# Python 3.11 and git: uv (from PyPI), the locked workspace environment, and — with --services —
# the real services the tests use: PostgreSQL 15, Chromium and Java 17 for Spark (Debian packages),
# Label Studio (its own venv), and a CPU build of torch. Idempotent: every step checks before it
# installs.
set -euo pipefail
cd "$(dirname "$0")/.."

services=0
[ "${1:-}" = "--services" ] && services=1
PY=${PYTHON:-python3}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Every install step is pinned: uv by scripts/uv.sh, the workspace by uv.lock, Label Studio by
# scripts/label-studio.lock.txt, torch by TORCH_VERSION below; Debian packages are named.
TORCH_VERSION=2.13.0
UV=("$(bash scripts/uv.sh --path)")

log "syncing the workspace environment (.venv) from uv.lock"
"${UV[@]}" sync --all-packages --frozen --inexact --quiet  # --inexact keeps the CPU torch build

[ "$services" = 1 ] || exit 0

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "please install (as root): apt-get install ${missing[*]}"; return 1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt_install postgresql; fi
apt_install chromium fonts-dejavu-core
# Spark (the curata[spark] extra, PySpark 4) needs Java 17 or later on PATH.
java_major=$(java -version 2>&1 | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n1 || true)
if [ "${java_major:-0}" -lt 17 ]; then apt_install openjdk-17-jre-headless; fi

bash scripts/install_label_studio.sh

# torch is an optional extra; the tests use a CPU build (a CUDA build is several GB).
if ! .venv/bin/python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" \
    >/dev/null 2>&1; then
  wheel=$(ls /opt/wheels/torch-"$TORCH_VERSION"+cpu-cp311-*.whl 2>/dev/null | head -n1 || true)
  if [ -n "$wheel" ]; then
    log "installing CPU torch from $wheel"
    "${UV[@]}" pip install --quiet --python .venv/bin/python "$wheel"
  else
    # No local CPU wheel: PyPI's build (several GB, CUDA included; it runs on the CPU too).
    log "installing torch $TORCH_VERSION from PyPI (no local CPU wheel in /opt/wheels)"
    "${UV[@]}" pip install --quiet --python .venv/bin/python "torch==$TORCH_VERSION"
  fi
fi
log "ready"
