"""BOM formats, each checked by the format's own validator or reader (never by string matching)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mlcroissant as mlc
import pytest
import rdflib
from curata.governance.bom import (
    BOM_FORMATS,
    InvalidBomFormatError,
    render_bom,
    write_bom,
)
from curata.governance.bom.datasheet import GAP, SECTIONS
from curata.governance.collect import collect_facts
from curata.governance.facts import sha256_file
from cyclonedx.model.bom import Bom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from markdown_it import MarkdownIt
from spdx_python_model import v3_0_1 as spdx

PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")


@pytest.fixture(scope="module")
def scenario(shared_scenario):
    return shared_scenario


@pytest.fixture(scope="module")
def labeled_facts(shared_scenario):
    return collect_facts(shared_scenario.cat.store, shared_scenario.labeled)


def test_facts_files_are_the_snapshot_files_with_real_sha256(scenario, labeled_facts):
    snap = scenario.labeled
    assert sorted(f.path for f in labeled_facts.files) == sorted(f["path"] for f in snap.files())
    for f in labeled_facts.files:
        assert (f.sha256, f.size) == sha256_file(f.uri)
        assert f.size == Path(f.uri).stat().st_size
    assert labeled_facts.label_columns == ("sentiment",)
    assert [d.ref for d in labeled_facts.derived_from] == [scenario.raw.ref]


# --- CycloneDX 1.6 ------------------------------------------------------------------------------


def test_cyclonedx_validates_against_the_1_6_schema(labeled_facts, tmp_path):
    result = write_bom(labeled_facts, "cyclonedx", tmp_path / "bom.cdx.json")
    text = Path(result.path).read_text()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, list(errors)
    bom = Bom.from_json(json.loads(text))  # the library's own model reads it back
    subject = bom.metadata.component
    assert subject.name == "reviews" and subject.version == "labeled"
    ancestors = list(subject.pedigree.ancestors)
    assert [a.name for a in ancestors] == ["reviews"]
    assert {p.name: p.value for p in ancestors[0].properties}["curata:detail:adjudication"] == (
        "majority"
    )
    files = {c.name: c for c in bom.components if c.type.value == "file"}
    assert set(files) == {f.path for f in labeled_facts.files}
    for f in labeled_facts.files:
        (h,) = files[f.path].hashes
        assert (h.alg.value, h.content) == ("SHA-256", f.sha256)
    sources = {c.name: c for c in bom.components if c.type.value == "data"}
    assert set(sources) == {"web-reviews", "forum-dump"}
    (lic,) = sources["forum-dump"].licenses
    assert lic.id == "CC-BY-NC-4.0"


def test_cyclonedx_handles_compound_custom_and_unknown_licenses(cat):
    import pyarrow as pa

    for lic in ("MIT OR GPL-3.0-only", "LicenseRef-acme-terms", "unknown"):
        # A `_license` column is kept as given (how imports carry per-record licenses).
        cat.append(
            "mixed", pa.table({"x": [lic], "_license": [lic]}), license="unknown", source=f"s-{lic}"
        )
    facts = collect_facts(cat.store, cat.snapshot("mixed"))
    text = render_bom(facts, "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = Bom.from_json(json.loads(text))
    by_name = {c.name: list(c.licenses) for c in bom.components if c.type.value == "data"}
    assert by_name["s-LicenseRef-acme-terms"][0].name == "LicenseRef-acme-terms"
    assert by_name["s-MIT OR GPL-3.0-only"][0].value == "MIT OR GPL-3.0-only"


# --- Croissant 1.1 ------------------------------------------------------------------------------


def test_croissant_loads_with_mlcroissant_and_yields_the_records(scenario, labeled_facts):
    snap = scenario.labeled
    # Croissant resolves files relative to the metadata: write it at the table root
    # ("_" files are invisible to Delta).
    out = Path(snap.table_uri) / "_croissant.json"
    write_bom(labeled_facts, "croissant", out)
    ds = mlc.Dataset(jsonld=str(out))
    assert not ds.metadata.ctx.issues.errors
    records = list(ds.records("records"))
    got = sorted(
        (
            r["records/_id"].decode(),
            r["records/text"].decode(),
            r["records/stars"],
            r["records/sentiment"].decode(),
        )
        for r in records
    )
    t = snap.to_arrow(columns=["_id", "text", "stars", "sentiment"])
    assert got == sorted(zip(*(t[c].to_pylist() for c in t.column_names), strict=True))
    md = ds.metadata
    assert md.license == [
        "https://creativecommons.org/licenses/by/4.0/",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    ]
    assert "Example Reviews Ltd." in [c.name for c in md.creators]
    shas = {d.name: d.sha256 for d in md.distribution if hasattr(d, "sha256")}
    assert shas == {f.path: f.sha256 for f in labeled_facts.files}


def test_croissant_states_provenance_as_prov_was_derived_from(scenario, labeled_facts):
    doc = json.loads(render_bom(labeled_facts, "croissant"))
    g = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")  # inline @context
    (subject,) = set(g.subjects(PROV.wasDerivedFrom, None))
    derived = {str(o) for o in g.objects(subject, PROV.wasDerivedFrom)}
    assert f"urn:curata:{scenario.raw.ref}" in derived
    assert "https://example.org/reviews.jsonl" in derived


def test_croissant_for_export_shards_lists_them(scenario, labeled_facts, tmp_path):
    """The same writer describes other files (e.g. export shards) when given them."""
    import dataclasses

    import pyarrow.parquet as pq
    from curata.governance.facts import hash_files

    out_dir = tmp_path / "export"
    out_dir.mkdir()
    pq.write_table(scenario.labeled.to_arrow(columns=["_id", "text"]), out_dir / "shard-0.parquet")
    files = hash_files(str(out_dir), ["shard-0.parquet"])
    facts = dataclasses.replace(
        labeled_facts,
        files=files,
        fields=tuple(f for f in labeled_facts.fields if f.name in ("_id", "text")),
    )
    write_bom(facts, "croissant", out_dir / "croissant.json")
    ds = mlc.Dataset(jsonld=str(out_dir / "croissant.json"))
    assert len(list(ds.records("records"))) == scenario.labeled.num_rows


# --- SPDX 3.0.1 ---------------------------------------------------------------------------------


def _load_spdx(text: str) -> spdx.SHACLObjectSet:
    objset = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().read(io.BytesIO(text.encode()), objset)
    return objset


def test_spdx3_document_deserializes_and_reserializes(labeled_facts):
    text = render_bom(labeled_facts, "spdx")
    objset = _load_spdx(text)
    assert objset.link() == set()  # every referenced element is in the document
    spdx.JSONLDSerializer().write(objset, io.BytesIO())  # enforces required properties
    (doc,) = objset.foreach_type(spdx.SpdxDocument)
    (root,) = doc.rootElement
    assert isinstance(root, spdx.dataset_DatasetPackage)
    assert root.name == "reviews" and root.software_packageVersion == "labeled"
    rels = list(objset.foreach_type(spdx.Relationship))

    def targets(kind):
        return [t for r in rels if r.from_ is root and r.relationshipType == kind for t in r.to]

    (lic,) = targets(spdx.RelationshipType.hasConcludedLicense)
    assert lic.simplelicensing_licenseExpression == "CC-BY-4.0 AND CC-BY-NC-4.0"
    files = targets(spdx.RelationshipType.hasDataFile)
    assert {(f.name, f.verifiedUsing[0].hashValue) for f in files} == {
        (f.path, f.sha256) for f in labeled_facts.files
    }
    upstream = {t.name for t in targets(spdx.RelationshipType.descendantOf)}
    assert {"web-reviews", "forum-dump", labeled_facts.derived_from[0].ref} == upstream
    assert list(root.software_attributionText) == ["Example Reviews Ltd."]


def test_spdx3_maps_custom_and_unknown_licenses(cat):
    import pyarrow as pa

    cat.append(
        "odd", pa.table({"x": [1], "_license": ["LicenseRef-acme"]}), license="unknown", source="a"
    )
    cat.append("odd", pa.table({"x": [2]}), license="unknown", source="b")
    objset = _load_spdx(render_bom(collect_facts(cat.store, cat.snapshot("odd")), "spdx"))
    assert objset.link() == set()
    exprs = list(objset.foreach_type(spdx.simplelicensing_LicenseExpression))
    (combined,) = [e for e in exprs if " AND " in e.simplelicensing_licenseExpression]
    parts = set(combined.simplelicensing_licenseExpression.split(" AND "))
    assert parts == {"LicenseRef-Curata-unknown", "LicenseRef-acme"}
    mapped = {d.key for d in combined.simplelicensing_customIdToUri}
    assert mapped == {"LicenseRef-Curata-unknown", "LicenseRef-acme"}


# --- datasheet ----------------------------------------------------------------------------------


def _markdown(text: str):
    return MarkdownIt("commonmark").enable("table").parse(text)


def test_datasheet_has_every_section_facts_and_marked_gaps(scenario, labeled_facts):
    tokens = _markdown(render_bom(labeled_facts, "datasheet"))
    h2 = [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2"
    ]
    assert h2 == list(SECTIONS)
    gaps = [t for t in tokens if t.type == "inline" and t.content.startswith(f"**{GAP}**")]
    assert len(gaps) >= len(SECTIONS)
    cells = {t.content for t in tokens if t.type == "inline"}
    assert {f.sha256 for f in labeled_facts.files} <= cells
    assert {"web-reviews", "forum-dump", "Example Reviews Ltd.", scenario.raw.ref} <= cells
    assert "adjudication=majority; columns=['sentiment']; label_project=12; schema_version=3" in (
        cells
    )
    # Every section carries at least one gap a person must fill.
    section_of_gap = []
    current = None
    for i, t in enumerate(tokens):
        if t.type == "heading_open" and t.tag == "h2":
            current = tokens[i + 1].content
        elif t in gaps:
            section_of_gap.append(current)
    assert set(section_of_gap) == set(SECTIONS)


def test_unknown_format_is_a_usage_error(labeled_facts):
    assert set(BOM_FORMATS) == {"cyclonedx", "croissant", "spdx", "datasheet"}
    with pytest.raises(InvalidBomFormatError) as err:
        render_bom(labeled_facts, "xml")  # type: ignore[arg-type]
    assert err.value.format == "xml" and err.value.exit_code == 2


def test_datasheet_flags_missing_attribution_as_a_gap(labeled_facts):
    tokens = _markdown(render_bom(labeled_facts, "datasheet"))
    gaps = [t.content for t in tokens if t.type == "inline" and t.content.startswith(f"**{GAP}**")]
    flagged = [g for g in gaps if "'forum-dump'" in g]
    assert len(flagged) == 1 and "CC-BY-NC-4.0" in flagged[0]
    assert not [g for g in gaps if "'web-reviews'" in g]  # its credit line is recorded
