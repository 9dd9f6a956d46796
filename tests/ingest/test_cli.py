"""The `ingest` and `rejects` commands through Typer's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer
from curata_ingest.cli.ingest import ingest, parse_size, rejects
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

app = typer.Typer()
app.command("ingest")(ingest)
app.command("rejects")(rejects)
runner = CliRunner()


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "a"}\nbroken\n')
    return str(path)


def test_json_report(home, corpus):
    result = runner.invoke(app, ["ingest", corpus, "--dataset", "c", "--license", "MIT", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {
        k: out[k]
        for k in (
            "status",
            "dataset",
            "version",
            "rows_read",
            "rows_written",
            "duplicates",
            "rejected",
        )
    } == {
        "status": "committed",
        "dataset": "c",
        "version": 0,
        "rows_read": 4,
        "rows_written": 2,
        "duplicates": 1,
        "rejected": 1,
    }
    assert len(out["fingerprint"]) == 64
    again = json.loads(
        runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--json"]).stdout
    )
    assert again["status"] == "unchanged" and again["version"] == 0


def test_failures_exit_with_codes_and_json(home, corpus, tmp_path):
    result = runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "CC-BY-40", "--json"])
    assert result.exit_code == 2
    out = json.loads(result.stdout.splitlines()[0])
    assert out["status"] == "failed" and out["error"]["error"] == "LicenseError"
    assert "CC-BY-4.0" in out["error"]["suggestions"]
    result = runner.invoke(
        app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--max-reject-ratio", "0.1", "--json"]
    )
    assert result.exit_code == 6 and json.loads(result.stdout.splitlines()[0])["status"] == "failed"
    # A missing file is "not found" (3) and a format Curata cannot read is bad input (2), as
    # the README documents (it was a generic external error, 7).
    result = runner.invoke(app, ["ingest", "/no/such/file.jsonl", "-d", "c", "-l", "MIT"])
    assert result.exit_code == 3
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "blob").write_bytes(b"\x00\x01 not any format")
    result = runner.invoke(app, ["ingest", str(odd), "-d", "c", "-l", "MIT", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[0])["error"]["error"] == "UnsupportedFormatError"


def test_rejects_command(home, corpus):
    runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--quiet"])
    out = json.loads(runner.invoke(app, ["rejects", "c", "--json"]).stdout)
    assert out["total"] == 1 and out["rejects"][0]["reason"] == "malformed_json"
    assert (
        out["rejects"][0]["locator"].endswith("c.jsonl:4") and out["rejects"][0]["raw"] == "broken"
    )
    assert "malformed_json" in runner.invoke(app, ["rejects", "c"]).stdout


def test_parse_size():
    assert parse_size("128MB") == 128_000_000 and parse_size("64MiB") == 64 * 2**20
    assert parse_size("1000") == 1000 and parse_size("1.5k") == 1500


def test_subprocess_is_quiet_in_a_pipe(home, corpus):
    code = (
        "import sys; from curata_ingest.cli.ingest import ingest_main; "
        "sys.argv = ['ingest'] + sys.argv[1:]; ingest_main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, corpus, "-d", "p", "-l", "MIT"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "━" not in proc.stderr and "committed" in proc.stdout


def test_register_adds_commands_to_an_app(home, corpus):
    from curata_ingest.cli.ingest import register

    curata_app = typer.Typer()
    register(curata_app)

    @curata_app.command()
    def noop() -> None:  # a second command so Typer keeps sub-command names
        pass

    result = runner.invoke(curata_app, ["ingest", corpus, "-d", "r", "-l", "MIT", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "committed"


# --- names are validated whole and printed literally (issue 24 item 5) --------------------------


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    """`curata ARGS` in this process, through the same error mapping as the installed command."""
    from curata_ingest.cli import main

    saved = sys.argv
    sys.argv = ["curata", *argv]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    out = capsys.readouterr()
    return code, out.out, out.err


_VALID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
_NAME_CHARS = st.sampled_from(list("abcXYZ019_.-[]/ \n\r\t:é😀") + ["[/x]", "[bold]", "\\", ":smile:"])
NAMES = st.one_of(
    st.from_regex(_VALID, fullmatch=True),
    st.from_regex(_VALID, fullmatch=True).map(lambda s: s + "\n"),
    st.lists(_NAME_CHARS, min_size=1, max_size=12).map("".join),
    st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=NAMES)
@example(name="reviews\n")
@example(name="x[/x]")
@example(name="[bold]b")
@example(name="a:smile:")
def test_any_dataset_name_is_refused_clearly_or_stored_and_printed_literally(
    home, corpus, capsys, name
):
    code, out, err = _main(["ingest", corpus, f"--dataset={name}", "-l", "MIT", "-q"], capsys)
    valid = _VALID.fullmatch(name) is not None
    assert "Traceback" not in err and "MarkupError" not in err
    if valid:
        assert code == 0, err
    else:
        assert code == 2, (code, err)
        assert repr(name) in err  # the whole name, literally (markup and newlines included)
    code, out, err = _main(["datasets", "--json"], capsys)
    assert code == 0, err
    names = [d["name"] for d in json.loads(out)["datasets"]]
    assert (name in names) == valid
    code, out, err = _main(["datasets"], capsys)
    assert code == 0 and "Traceback" not in err


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
@example(name="v1\n")
@example(name="v[/x]")
@example(name="[red]v")
def test_any_tag_name_is_refused_clearly_or_stored(home, corpus, capsys, name):
    if not (home / "catalog.db").exists():
        assert _main(["ingest", corpus, "-d", "t", "-l", "MIT", "-q"], capsys)[0] == 0
    code, out, err = _main(["tag", "t", "--", name], capsys)
    assert "Traceback" not in err and "MarkupError" not in err
    if _VALID.fullmatch(name) and not name.isdigit():
        assert code == 0, err
        assert f"Tagged t@{name} " in out
    else:
        assert code == 2, (code, err)
    assert _main(["versions", "t"], capsys)[0] == 0


def test_markup_in_values_prints_literally(home, tmp_path, capsys):
    bad = tmp_path / "m.jsonl"
    bad.write_text('{"text": "[/x] fine"}\n[/x] [bold]broken\n')
    code, out, err = _main(["ingest", str(bad), "-d", "m", "-l", "MIT",
                            "--source-name", "src[/x][bold]"], capsys)
    assert code == 0, err
    code, out, err = _main(["rejects", "m"], capsys)
    assert code == 0 and "Traceback" not in err
    code, out, err = _main(["show", "m"], capsys)
    assert code == 0 and "[/x] fine" in out
    for args, shown in ((["show", "nope[/x]"], "nope[/x]"), (["tag", "m", "v[/x]"], "v[/x]"),
                        (["versions", "[bold]x"], "[bold]x"), (["license", "m@[/x]"], "[/x]"),
                        (["diff", "m", "m@[/y]"], "[/y]")):
        code, out, err = _main(args, capsys)
        assert code in (2, 3), (args, code, err)
        assert "Traceback" not in err and shown in err, (args, err)


# --- --dedup near needs one text column (issue 15 item 7) ---------------------------------------


def test_near_dedup_with_several_text_columns_is_a_usage_error_naming_them(home, tmp_path):
    src = tmp_path / "two.jsonl"
    src.write_text('{"title": "same title here", "body": "first body text"}\n'
                   '{"title": "same title here", "body": "other words entirely"}\n')
    result = runner.invoke(app, ["ingest", str(src), "-d", "n", "-l", "MIT", "--dedup", "near",
                                 "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout.splitlines()[0])["error"]
    assert error["error"] == "AmbiguousColumnError" and error["columns"] == ["title", "body"]
    assert error["option"] == "--text-column"
    result = runner.invoke(app, ["ingest", str(src), "-d", "n", "-l", "MIT", "--dedup", "near",
                                 "--text-column", "body", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["rows_written"] == 2
