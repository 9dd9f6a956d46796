"""The `curata` CLI: --json for scripts, one-line errors with the next command, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

CURATA = [sys.executable, "-c", "from curata_ingest.cli import main; main()"]


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "CURATA_HOME": str(home), **env}
    e.pop("CURATA_DEBUG", None) if "CURATA_DEBUG" not in env else None
    return subprocess.run([*CURATA, *args], capture_output=True, text=True, env=e, timeout=120)


@pytest.fixture
def filled(cat, home: Path) -> Path:
    cat.append("reviews", pa.table({"text": ["good", "bad", "ok"]}), license="CC-BY-4.0",
               source="upload")
    cat.append("reviews", pa.table({"text": ["new"]}), license="CC0-1.0", source="more")
    return home


def test_init_and_datasets_json(home: Path) -> None:
    r = run(["init", "--json"], home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["home"] == str(home)
    r = run(["datasets", "--json"], home)
    assert json.loads(r.stdout) == {"datasets": []}


def test_versions_tag_show_verify_diff_gc(filled: Path) -> None:
    v = json.loads(run(["versions", "reviews", "--json"], filled).stdout)
    assert [x["version"] for x in v["versions"]] == [1, 0]
    t = json.loads(run(["tag", "reviews", "v1", "--version", "0", "--json"], filled).stdout)
    assert t["version"] == 0 and t["num_rows"] == 3
    s = json.loads(run(["show", "reviews@v1", "--json"], filled).stdout)
    assert s["fingerprint"] == t["fingerprint"] and len(s["head"]) == 3
    ok = run(["verify", "reviews@v1", "--json"], filled)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    d = json.loads(run(["diff", "reviews@v1", "reviews", "--json"], filled).stdout)
    assert d["counts"] == {"added": 1, "removed": 0, "changed": 0}
    g = json.loads(run(["gc", "--dry-run", "--json"], filled).stdout)
    assert g["dry_run"] is True
    runs = json.loads(run(["runs", "reviews", "--json"], filled).stdout)["runs"]
    assert {r["status"] for r in runs} == {"committed"}


def test_errors_are_one_line_with_next_command_and_exit_code(filled: Path) -> None:
    r = run(["show", "reviews@nope"], filled)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    assert "curata versions reviews" in r.stderr
    r = run(["tag", "reviews", "v1", "--version", "0"], filled)
    assert r.returncode == 0
    r = run(["tag", "reviews", "v1", "--version", "1", "--json"], filled)
    assert r.returncode == 5 and json.loads(r.stdout.splitlines()[0])["error"] == "TagExistsError"
    r = run(["show", "reviews@nope"], filled, CURATA_DEBUG="1")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_verify_failure_exits_4(filled: Path) -> None:
    import curata

    snap = curata.connect(home=filled).snapshot("reviews")
    (Path(snap.table_uri) / snap.files()[0]["path"]).unlink()
    r = run(["verify", "reviews", "--json"], filled)
    assert r.returncode == 4 and json.loads(r.stdout)["ok"] is False


def test_help_documents_exit_codes(home: Path) -> None:
    r = run(["--help"], home)
    assert r.returncode == 0 and "Exit codes" in r.stdout


# --- output that fits a terminal (issue 15 item 6) ----------------------------------------------

TEXT_50MB = 50_000_000


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def big_record(home: Path, tmp_path: Path) -> Path:
    """A snapshot (written by `ingest`, as users do) with a 50 MB text cell, a 30 MB binary and
    a real PNG."""
    import pyarrow.parquet as pq

    text = ("All work and no play makes Jack a dull boy. " * (TEXT_50MB // 44 + 1))[:TEXT_50MB]
    png = _png(640, 480)
    pq.write_table(pa.table({"text": [text, "short", None],
                             "blob": [os.urandom(30_000_000), b"\x00\x01", None],
                             "image": [png, None, png[:2000]]}), tmp_path / "big.parquet")
    r = run(["ingest", str(tmp_path / "big.parquet"), "-d", "big", "-l", "CC0-1.0", "-q"], home)
    assert r.returncode == 0, r.stderr
    return home


def test_show_previews_a_50mb_record_quickly_and_bounded(big_record: Path) -> None:
    import time

    start = time.monotonic()
    r = run(["show", "big"], big_record, COLUMNS="80")
    elapsed = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    assert elapsed < 30, elapsed  # was: a MarkupError, or a hang of over 17 minutes
    assert len(r.stdout) < 8_000 and max(map(len, r.stdout.splitlines())) <= 80
    assert "(50,000,000 chars)" in r.stdout
    assert "<png 640x480," in r.stdout and "<binary, 30.0 MB>" in r.stdout
    j = run(["show", "big", "--json", "--max-chars", "20"], big_record)
    out = json.loads(j.stdout)
    assert len(j.stdout) < 8_000 and out["num_rows"] == 3
    cut = {(c["row"], c["column"]): c["length"] for c in out["truncated"]}
    row = next(i for i, h in enumerate(out["head"]) if (h["text"] or "").startswith("All work"))
    assert cut[(row, "text")] == TEXT_50MB and len(out["head"][row]["text"]) == 20
    assert cut[(row, "blob")] == 30_000_000
    assert out["licenses"] == [{"license": "CC0-1.0", "source": out["licenses"][0]["source"],
                                "records": 3}]


def test_preview_describes_binaries_from_their_header() -> None:
    from curata_ingest.cli import _preview

    png = _png(48, 48)
    assert _preview.text(png, 80) == f"<png 48x48, {_preview.human_size(len(png))}>"
    assert _preview.human_size(2100) == "2.1 KB" and _preview.human_size(999) == "999 B"
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert _preview.text(svg, 80) == f"<svg, {len(svg)} B>"
    assert _preview.text(b"\x00" * 5000, 80) == "<binary, 5.0 KB>"
    assert _preview.text("a\nb[/x]", 80) == "a\\nb[/x]"
    assert _preview.text("x" * 500, 10) == "xxxxxxxxxx… (500 chars)"
    nested = {"tags": [f"t{i}" for i in range(50)], "raw": b"GIF89a"}
    assert "… (50 items)" in _preview.text(nested, 80)


def test_real_icons_are_described(tmp_path: Path) -> None:
    """Images users hand over (Adwaita PNGs, cursors): format and size from the header."""
    from curata_ingest.cli import _preview

    icons = sorted(Path("/usr/share/icons/Adwaita").rglob("*.png"))[:20]
    if not icons:
        pytest.skip("no Adwaita icons on this machine")
    from PIL import Image

    for icon in icons:
        with Image.open(icon) as im:
            expected = f"<png {im.width}x{im.height},"
        assert _preview.text(icon.read_bytes(), 80).startswith(expected)


def test_runs_and_audit_print_readable_columns(filled: Path) -> None:
    import curata

    cat = curata.connect(home=filled)
    cat.tag("reviews", "v1", version=0)
    cat.tag("reviews", "v1", version=1, force=True)
    for args in (["runs"], ["audit"]):
        r = run(args, filled, COLUMNS="200")
        assert r.returncode == 0, r.stderr
        assert "{'" not in r.stdout and "['" not in r.stdout, r.stdout
    runs = run(["runs"], filled, COLUMNS="80").stdout
    assert "reviews@0" in runs and "written 3" in runs and "committed" in runs
    assert max(map(len, runs.splitlines())) <= 80
    audit = run(["audit"], filled, COLUMNS="200").stdout
    assert "tag.force" in audit and "from_version=0" in audit and "to_version=1" in audit


def _commands(group, path=()):  # every command path of a click group (lazy ones loaded)
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def test_help_shows_whole_option_names_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from curata_ingest.cli import app
    from typer.testing import CliRunner

    monkeypatch.setenv("COLUMNS", "80")
    root = typer.main.get_command(app)
    checked = 0
    for path, cmd in _commands(root):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, (path, result.output)
        lines = result.output.splitlines()
        assert max(map(len, lines)) <= 80, (path, result.output)
        words = set(result.output.replace(",", " ").split())
        for param in cmd.params:
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("--"):
                    assert opt in words, (path, opt, result.output)
                    checked += 1
    assert checked > 50


def test_ingest_help_at_80_columns_in_a_terminal_sized_subprocess(home: Path) -> None:
    r = run(["ingest", "--help"], home, COLUMNS="80")
    assert r.returncode == 0
    for opt in ("--max-reject-ratio", "--max-record-size", "--schema-evolution", "--text-column",
                "--relicense", "--source-name"):
        assert opt in r.stdout.split(), opt
    alone = subprocess.run([sys.executable, "-c", "from curata_ingest.cli import ingest_main; "
                            "import sys; sys.argv[0] = 'ingest'; ingest_main()", "--help"],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "80"})
    assert "--max-reject-ratio" in alone.stdout.split()


def test_version(home: Path) -> None:
    from importlib.metadata import version

    r = run(["--version"], home)
    assert r.returncode == 0 and r.stdout.strip() == f"curata {version('curata')}"


def test_quiet_silences_summaries(filled: Path, tmp_path: Path) -> None:
    for args in (["tag", "reviews", "v1", "-q"], ["verify", "reviews@v1", "-q"],
                 ["gc", "-q"], ["init", "-q"],
                 ["export", "reviews@v1", "--out", str(tmp_path / "shards"), "-q"],
                 ["bom", "reviews@v1", "-f", "cyclonedx", "-o", str(tmp_path / "b.json"), "-q"]):
        r = run(args, filled)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
    assert run(["tag", "reviews", "v2"], filled).stdout.startswith("Tagged")


# --- the Delta log is read once per show (issue 16 item 8) ----------------------------------------


@pytest.mark.parametrize("ref", ["reviews", "reviews@0", "reviews@first"])
def test_show_opens_the_delta_log_once(filled: Path, monkeypatch: pytest.MonkeyPatch,
                                       ref: str) -> None:
    """Resolving the ref, the schema, the license mix and the head share one DeltaTable (it
    was four loads of the log: one per part)."""
    import curata
    import deltalake
    from curata_ingest.cli import app
    from typer.testing import CliRunner

    curata.connect(home=filled).tag("reviews", "first", 0)
    opened = []
    original = deltalake.DeltaTable.__init__

    def counting(self, *args, **kwargs):
        opened.append(args[:1])
        original(self, *args, **kwargs)

    monkeypatch.setattr(deltalake.DeltaTable, "__init__", counting)
    result = CliRunner().invoke(app, ["show", ref, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["head"]
    assert len(opened) == 1
