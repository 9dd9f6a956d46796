#!/usr/bin/env bash
# Install Debian's Chromium for the UI's end-to-end tests. Idempotent: does nothing when a
# working chromium is already on the machine. Playwright drives it via executable_path;
# `playwright install` is never used (browser downloads are not available here).
set -euo pipefail

CHROMIUM="${CURATA_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "error: installing chromium needs root (apt-get install -y chromium)" >&2
        exit 1
    fi
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
"$CHROMIUM" --headless --no-sandbox --version
