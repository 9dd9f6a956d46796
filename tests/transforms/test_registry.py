"""A pipeline file cannot run arbitrary code by name (issue 24 item 7).

``apply`` steps resolve only functions registered with ``curata.transforms.register`` by
modules the user names (``curata derive --import MODULE`` or the file's ``imports:`` list,
printed before it is imported); ``pydoc:pipepager`` and other dotted paths are errors.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from curata.transforms import Apply, Pipeline
from curata.transforms.errors import PipelineError, UnknownFunctionError

HOSTILE = {"steps": [{"apply": {"fn": "pydoc:pipepager", "params": {"cmd": "touch PWNED"}}}]}


def module(folder: Path, fn: str) -> str:
    """A module file in ``folder`` registering ``fn`` (upper-cases ``text``); its name."""
    name = f"steps_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(textwrap.dedent(f"""
        import polars as pl
        from curata.transforms import register

        @register("{fn}")
        def shout(df):
            return df.with_columns(pl.col("text").str.to_uppercase())
    """))
    return name


@pytest.mark.parametrize("fn", ["pydoc:pipepager", "os:system", "os.system",
                                "subprocess:getoutput", "builtins:eval"])
def test_dotted_paths_are_not_resolved(fn, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnknownFunctionError) as err:
        Pipeline.from_dict({"steps": [{"apply": {"fn": fn, "params": {"cmd": "touch PWNED"}}}]})
    assert err.value.function == fn and err.value.step == 0 and err.value.exit_code == 2
    assert "upper_text" in err.value.valid  # the registered names (tests/transforms/_funcs.py)
    assert "register" in err.value.hint and "--import" in err.value.hint
    with pytest.raises(UnknownFunctionError):
        Apply(fn)
    assert not (tmp_path / "PWNED").exists()


def test_registered_names_still_resolve() -> None:
    pipe = Pipeline.from_dict({"steps": [{"apply": {"fn": "upper_text"}}]})
    assert pipe.canonical()[0]["fn"] == "upper_text"


def test_imports_list_registers_functions(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = module(tmp_path, fn := f"shout_{uuid.uuid4().hex[:6]}")
    path = tmp_path / "p.yaml"
    path.write_text(f"imports: [{mod}]\nsteps:\n  - apply: {{fn: {fn}}}\n")
    pipe = Pipeline.from_file(path)
    assert pipe.imports == (mod,) and mod in sys.modules
    assert pipe.to_dict()["imports"] == [mod]
    assert Pipeline.from_dict(pipe.to_dict()).canonical() == pipe.canonical()


@pytest.mark.parametrize("imports", [["no_such_module_xyz"], ["../evil"], ["os; rm"], [3],
                                     {"a": "b"}])
def test_bad_imports_are_usage_errors(imports) -> None:
    with pytest.raises(PipelineError) as err:
        Pipeline.from_dict({"imports": imports, "steps": []})
    assert err.value.kind == "imports" and err.value.exit_code == 2


# --- the command line, through the installed `curata` script ----------------------------------

CURATA = str(Path(sys.executable).parent / "curata")


def curata(cwd: Path, home: Path, *args: str):
    import subprocess

    env = {k: v for k, v in os.environ.items()
           if k not in ("CURATA_DEBUG", "PYTHONPATH", "CURATA_CATALOG_URL", "CURATA_WAREHOUSE")}
    env["CURATA_HOME"] = str(home)
    return subprocess.run([CURATA, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=180)


def test_cli_pipeline_file_cannot_run_a_shell_command(corpus, home, tmp_path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "evil.json").write_text(json.dumps(HOSTILE))
    res = curata(work, home, "derive", "reviews@v1", "--pipeline", "evil.json", "--into",
                 "pwned", "--json")
    assert res.returncode == 2, res.stderr
    assert not (work / "PWNED").exists()
    err = json.loads(res.stdout)
    assert err["error"] == "UnknownFunctionError" and err["function"] == "pydoc:pipepager"
    assert "--import" in err["hint"] and "Traceback" not in res.stderr
    assert "pwned" not in [d.name for d in corpus.datasets()]


def workdir(tmp_path: Path, fn: str, *, listed: bool) -> tuple[Path, str]:
    """A current folder holding a module registering ``fn`` and ``p.yaml`` applying it (the
    module named in the file's ``imports:`` when ``listed``)."""
    work = tmp_path / "work"
    work.mkdir()
    mod = module(work, fn)
    imports = f"imports: [{mod}]\n" if listed else ""
    (work / "p.yaml").write_text(f"{imports}steps:\n  - apply: {{fn: {fn}}}\n")
    return work, mod


def test_cli_import_finds_modules_in_the_current_folder(corpus, home, tmp_path) -> None:
    work, mod = workdir(tmp_path, "shout_cwd", listed=False)
    res = curata(work, home, "derive", "reviews@v1", "-p", "p.yaml", "--into", "loud",
                 "--import", mod, "--json")
    assert res.returncode == 0, res.stderr
    texts = corpus.snapshot("loud").to_arrow(columns=["text"]).column(0).to_pylist()
    assert texts and all(t == t.upper() for t in texts)
    missing = curata(work, home, "derive", "reviews@v1", "-p", "p.yaml", "--into", "loud",
                     "--import", "no_such_module_xyz")
    assert missing.returncode == 2 and "no_such_module_xyz" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_prints_the_pipeline_imports_before_running(corpus, home, tmp_path) -> None:
    work, mod = workdir(tmp_path, "shout_listed", listed=True)
    res = curata(work, home, "derive", "reviews@v1", "-p", "p.yaml", "--into", "listed",
                 "--json")
    assert res.returncode == 0, res.stderr
    assert f"imports: {mod}" in res.stderr
    assert json.loads(res.stdout)["status"] == "committed"  # stdout stays one JSON object
