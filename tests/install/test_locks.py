"""Every install step is locked (issue: fresh machine): the environments that `make test` builds
hold exactly what the committed locks say, so PyPI's later releases cannot break a fresh clone."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures._services import missing_service, require_module
from tests.fixtures.label_studio import VENV as LS_VENV

ROOT = Path(__file__).resolve().parents[2]
LS_LOCK = ROOT / "scripts" / "label-studio.lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _uv() -> str:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "uv.sh"), "--path"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def _lock_pins(text: str) -> dict[str, str]:
    return {_norm(n): v for n, v in PIN.findall(text)}


def _freeze(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [_uv(), "pip", "freeze", "--python", str(python)],
        check=True, capture_output=True, text=True,
    ).stdout
    return _lock_pins(out)


def test_label_studio_lock_is_hashed_and_pins_label_studio():
    text = LS_LOCK.read_text()
    pins = _lock_pins(text)
    assert pins["label-studio"] == "1.23.2"
    # sentry-sdk 3 makes Label Studio 1.23.2 fail at start ("Unknown option 'send_default_pii'").
    assert int(pins["sentry-sdk"].split(".")[0]) < 3
    # Every requirement carries at least one hash (installed with --require-hashes).
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if PIN.match(b)), "an unhashed pin"
    assert len(pins) > 100


def test_label_studio_venv_equals_its_lock():
    python = LS_VENV / "bin" / "python"
    if not python.exists():
        missing_service(f"Label Studio's venv ({LS_VENV})", "scripts/install_label_studio.sh")
    assert _freeze(python) == _lock_pins(LS_LOCK.read_text())
    stamp = (LS_VENV / ".curata-lock.sha256").read_text().strip()
    assert stamp == hashlib.sha256(LS_LOCK.read_bytes()).hexdigest()


@pytest.mark.slow
def test_install_resyncs_a_venv_made_from_another_lock(tmp_path: Path):
    """Idempotent on the lock's hash, not on the version: a stale venv is re-synced."""
    venv = tmp_path / "ls-venv"
    env = {**os.environ, "LABEL_STUDIO_VENV": str(venv)}
    script = ["bash", str(ROOT / "scripts" / "install_label_studio.sh")]
    subprocess.run(script, env=env, check=True, capture_output=True)
    # A stale venv: one package at another version and a stamp of some older lock.
    subprocess.run(
        [_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "six==1.16.0"],
        check=True, capture_output=True,
    )
    (venv / ".curata-lock.sha256").write_text("0" * 64)
    assert _freeze(venv / "bin" / "python") != _lock_pins(LS_LOCK.read_text())
    out = subprocess.run(script, env=env, check=True, capture_output=True, text=True).stdout
    assert "installed" in out and "already" not in out
    assert _freeze(venv / "bin" / "python") == _lock_pins(LS_LOCK.read_text())
    again = subprocess.run(script, env=env, check=True, capture_output=True, text=True).stdout
    assert "already installed" in again
    shutil.rmtree(venv, ignore_errors=True)


def test_workspace_venv_is_in_sync_with_uv_lock():
    """`uv sync --check` fails when .venv holds anything other than uv.lock's versions."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("the suite runs outside the project's .venv")
    proc = subprocess.run(
        [_uv(), "sync", "--all-packages", "--frozen", "--inexact", "--check"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_torch_is_the_pinned_build():
    torch = require_module("torch", "bash scripts/bootstrap.sh --services")
    pinned = re.search(r"^TORCH_VERSION=(\S+)", (ROOT / "scripts" / "bootstrap.sh").read_text(), re.M)
    assert pinned and torch.__version__.split("+")[0] == pinned.group(1)


def test_uv_is_pinned_and_debian_packages_are_named():
    uv_sh = (ROOT / "scripts" / "uv.sh").read_text()
    version = re.search(r"^UV_VERSION=(\S+)", uv_sh, re.M)
    assert version, "scripts/uv.sh pins no uv version"
    out = subprocess.run([_uv(), "--version"], check=True, capture_output=True, text=True).stdout
    assert out.split()[1] == version.group(1)
    for script in (ROOT / "scripts").glob("*.sh"):
        text = script.read_text().replace("\\\n", " ")  # join continued lines
        assert not re.search(r"https?://\S+\.deb\b", text), f"{script.name} downloads a .deb by URL"
        # pip/uv installs name an exact version (==) or a lock file, never a bare package name.
        for m in re.finditer(r"(?:pip|uv pip) install [^\n]*", text):
            line = m.group(0)
            assert "==" in line or '"$wheel"' in line, f"{script.name}: {line}"
