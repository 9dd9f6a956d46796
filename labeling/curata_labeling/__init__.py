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


def schema_versions(cat: Any, project: str | None = None) -> list[dict[str, Any]]:
    """Every stored label-schema version (name, version, hash, when)."""
    from curata_labeling.schema import list_schemas

    return [s.to_dict() for s in list_schemas(cat)]


__all__ = ["agreement_report", "projects", "schema_versions"]
