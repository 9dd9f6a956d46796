"""Curata labeling: Label Studio sync, label-schema versions, agreement and adjudication.

The entry points the UI and other members use; the CLI (`curata label …`) lives in ``cli``.
"""

from __future__ import annotations

from typing import Any


def projects(cat: Any) -> list[Any]:
    """Label Studio projects linked to this catalog."""
    from curata_labeling.sync import list_projects

    return list_projects(cat)


def agreement_report(cat: Any, project: str, by: str | None = None) -> dict[str, Any]:
    """``curata label agreement`` as a dict: ``controls`` keyed by control name and, with
    ``by`` (``label``/``annotator``/``week``), a flat ``by_<by>`` of ``"control: key"`` rows."""
    from curata_labeling.report import project_agreement

    report = project_agreement(cat, project).to_dict()
    if by in ("label", "annotator", "week"):
        report[f"by_{by}"] = {
            f"{control}: {key}": value
            for control, c in report["controls"].items()
            for key, value in c[f"by_{by}"].items()
        }
    return report


def annotator_quality(
    cat: Any, project: str, *, control: str | None = None, model_version: str | None = None
) -> dict[str, Any]:
    """``curata label agreement --by annotator``'s ``annotators`` report as a dict: accuracy
    against adjudicated (else majority) labels, confusion, Dawid–Skene, weekly drift."""
    from curata_labeling.annotators import project_quality

    return project_quality(cat, project, control=control, model_version=model_version).to_dict()


def model_versions(cat: Any, project: str) -> list[str]:
    """Model versions whose predictions were pulled for ``project``, sorted."""
    from curata_labeling import store
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    events = store.read_events(cat, info.dataset, project=project, kind="predictions")
    return sorted({v for v in events["model_version"].to_pylist() if v is not None})


def schema_versions(cat: Any, project: str | None = None) -> list[dict[str, Any]]:
    """Every stored label-schema version (name, version, hash, when)."""
    from curata_labeling.schema import list_schemas

    return [s.to_dict() for s in list_schemas(cat)]


__all__ = ["agreement_report", "annotator_quality", "model_versions", "projects", "schema_versions"]
