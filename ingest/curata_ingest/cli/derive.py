"""`curata derive` and `curata lineage`: cached derivations and their lineage graph."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import curata
import typer

from curata_ingest.cli._errors import err_console
from curata_ingest.cli._output import JsonOpt, QuietOpt, console, print_json, styled, table
from curata_ingest.cli._params import dataset_name, tag_name


class Engine(StrEnum):
    local = "local"
    ray = "ray"


def derive(
    src: Annotated[str, typer.Argument(help="Input snapshot: NAME, NAME@TAG, NAME@VERSION.")],
    pipeline: Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline file "
                                           "(.yaml, .yml, .toml or .json).")],
    into: Annotated[str, typer.Option(help="Derived dataset to commit a new version of.",
                                      callback=dataset_name)],
    tag: Annotated[str | None, typer.Option(help="Tag the derived version.",
                                            callback=tag_name)] = None,
    imports: Annotated[list[str] | None, typer.Option(
        "--import", help="Python module that registers `apply` functions with "
                         "curata.transforms.register (found in the current folder too); "
                         "repeatable.")] = None,
    engine: Annotated[Engine, typer.Option(
        help="local: this process. ray: tasks on the cluster of RAY_ADDRESS (or a local "
             "one) over the source's files; the same snapshot. Steps Ray cannot run "
             "(image near_dedup) are refused before it starts.")] = Engine.local,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Stream SRC through a pipeline into a new version of --into (nothing is committed when
    the same transform fingerprint was already derived).

    `apply` steps run only functions registered by the modules named with --import or in the
    pipeline file's `imports:` list (printed before they are imported)."""
    from curata.transforms.pipeline import Pipeline, pipeline_imports, read_pipeline_file
    from curata.transforms.registry import import_modules

    # Modules are looked up in the current folder first, as `python -m` would.
    import_modules(imports or [], search=[Path.cwd()])
    data = read_pipeline_file(pipeline) or {}
    listed = pipeline_imports(data)
    if listed:
        err_console.print(f"{pipeline} imports: {', '.join(listed)}", markup=False)
        import_modules(listed, search=[Path.cwd()])
    pipe = Pipeline.from_dict(data)
    result = curata.connect().derive(src, pipe, into=into, tag=tag, engine=engine.value)
    snap = result.snapshot
    info = {"status": result.status, "ref": snap.ref, "version": snap.version,
            "fingerprint": snap.fingerprint, "num_rows": snap.num_rows,
            "transform_fingerprint": result.transform_fingerprint,
            "inputs": result.inputs, "stats": result.stats}
    if json:
        print_json(info)
        return
    if quiet:
        return
    verb = {"committed": "Derived", "unchanged": "Unchanged (cached)",
            "restored": "Restored (cached)"}[result.status]
    console.print(f"{verb} {snap.ref}: {snap.num_rows} rows, fingerprint {snap.fingerprint}\n"
                  f"transform {result.transform_fingerprint}")
    steps = {k: v for k, v in result.stats.items() if ":" in k}
    if steps:
        table("Rows out of each step", ["step", "rows"], list(steps.items()))
    console.print(f"Next: `curata lineage {snap.ref}`")


def lineage(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: NAME, NAME@TAG, NAME@VERSION.")],
    direction: Annotated[str, typer.Option(help="both, up (to sources) or down (to derived "
                                                "datasets and exports).")] = "both",
    json: JsonOpt = False,
) -> None:
    """Show where a snapshot came from (derivations back to ingest sources) and what was
    derived or exported from it."""
    if direction not in ("both", "up", "down"):
        raise typer.BadParameter("use both, up or down", param_hint="--direction")
    dir_: Literal["both", "up", "down"] = direction  # type: ignore[assignment]
    graph = curata.connect().lineage(ref, direction=dir_)
    if json:
        print_json(graph.to_dict())
        return
    from rich.tree import Tree

    root = graph.node(graph.root)
    console.print(styled("[bold]{label}[/] fingerprint {fp}", label=root.label,
                         fp=root.fingerprint))
    if direction in ("both", "up"):
        console.print(_tree(graph, graph.root, Tree(styled("[bold]upstream[/]")), up=True,
                            seen=set()))
    if direction in ("both", "down"):
        console.print(_tree(graph, graph.root, Tree(styled("[bold]downstream[/]")), up=False,
                            seen=set()))


def _tree(graph, node_id: str, tree, *, up: bool, seen: set[str]):  # type: ignore[no-untyped-def]
    edges = [e for e in graph.edges if (e.target if up else e.source) == node_id]
    for e in edges:
        other = graph.node(e.source if up else e.target)
        fp = f" {other.fingerprint[:16]}" if other.fingerprint else ""
        tf = f" transform {e.transform_fingerprint[:12]}" if e.transform_fingerprint else ""
        branch = tree.add(styled("{kind}: [bold]{label}[/] ({other}){rest}", kind=e.kind,
                                 label=other.label, other=other.kind, rest=f"{fp}{tf}"))
        if other.id not in seen:
            seen.add(other.id)
            _tree(graph, other.id, branch, up=up, seen=seen)
    return tree


def register(app: typer.Typer) -> None:
    """Add `derive` and `lineage` to the `curata` app."""
    app.command()(derive)
    app.command()(lineage)
