"""Every page through ``streamlit.testing.v1.AppTest``: widgets in, expected output out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import ATTRIBUTION, MARKDOWN_TEXT, SCRIPT_TEXT, open_page

PAGES = ("datasets", "browse", "licenses", "diff", "quality", "labeling", "ingest_runs", "export",
         "tag")


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _status_line(at: AppTest) -> str:
    return next(t.value for t in at.text if "fingerprint" in t.value)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app: AppTest, ui_env: Path, page: str) -> None:
    at = open_page(app, page)
    _no_errors(at)
    assert at.title, "each page has a title"


@pytest.mark.parametrize("page", PAGES)
def test_empty_catalog_says_so(app: AppTest, empty_env: Path, page: str) -> None:
    at = open_page(app, page)
    _no_errors(at)
    assert any("no datasets" in i.value or "not available" in i.value for i in at.info)


def test_datasets_lists_versions_tags_rows_and_licenses(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "datasets")
    _no_errors(at)
    summary = at.dataframe[0].value
    row = summary[summary["dataset"] == "reviews"].iloc[0]
    assert row["rows"] == 5
    assert "v1" in row["tags"]
    assert row["licenses"] == "CC-BY-4.0, CC-BY-NC-4.0"
    assert row["size"] != "?"
    mix = at.dataframe[1].value  # details of the selected dataset
    assert dict(zip(mix["_license"], mix["records"], strict=True)) == {
        "CC-BY-4.0": 4, "CC-BY-NC-4.0": 1}
    assert any(t.value == "CC-BY-4.0 80%, CC-BY-NC-4.0 20%" for t in at.text)


def test_browse_first_page_and_record_view(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    _no_errors(at)
    assert "of 5" in _status_line(at)
    grid = at.dataframe[0].value
    assert len(grid) == 5
    assert grid["image"].str.startswith("data:image/png;base64,").all()  # thumbnails
    assert at.image, "the record view shows the record's image"
    shown = {t.value for t in at.text}
    assert any(v.startswith("License (_license): CC-BY") for v in shown)
    assert any(v.startswith("Source (_source): ") for v in shown)
    assert any(v.startswith("provenance.") for v in shown)


def test_browse_pinned_tag_shows_that_version(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    at.selectbox(key="browse_ref").set_value("reviews@v1").run()
    _no_errors(at)
    assert "of 4" in _status_line(at)


def test_search_is_literal_and_case_insensitive(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    at.text_input(key="browse_search").input("hello").run()
    assert "of 2" in _status_line(at)
    # Regex / SQL metacharacters are matched literally, never interpreted.
    at.text_input(key="browse_search").input("<script>").run()
    _no_errors(at)
    assert "of 1" in _status_line(at)
    assert at.code[0].value == SCRIPT_TEXT  # record text shown verbatim
    at.text_input(key="browse_search").input("' OR 1=1 --").run()
    assert "of 0" in _status_line(at)


def test_markdown_record_is_shown_literally(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    at.text_input(key="browse_search").input("**bold**").run()
    assert at.code[0].value == MARKDOWN_TEXT
    assert all(MARKDOWN_TEXT not in m.value for m in at.markdown)


def test_column_filter_with_typed_value(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    at.number_input(key="browse_nfilters").set_value(1).run()
    at.selectbox(key="browse_fcol_0").set_value("label")
    at.selectbox(key="browse_fop_0").set_value(">=")
    at.text_input(key="browse_fval_0").input("2").run()
    _no_errors(at)
    assert "of 2" in _status_line(at)
    assert sorted(at.dataframe[0].value["label"].tolist()) == [2, 3]


def test_bad_filter_value_is_a_clear_error(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    at.number_input(key="browse_nfilters").set_value(1).run()
    at.selectbox(key="browse_fcol_0").set_value("label")
    at.selectbox(key="browse_fop_0").set_value("equals")
    at.text_input(key="browse_fval_0").input("1; DROP TABLE records").run()
    _no_errors(at)
    assert at.error and "FilterValueError" in at.error[0].value
    # The message quotes the value as plain text (st.error would render it as Markdown).
    assert any("'1; DROP TABLE records'" in t.value for t in at.text)


def test_paging_moves_through_rows(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "browse")
    first_ids = set(at.dataframe[0].value["_id"])
    at.selectbox(key="browse_page_size").set_value(25).run()
    at.number_input(key="browse_page").set_value(9).run()  # past the end: clamped to the last
    _no_errors(at)
    assert "page 1 of 1" in _status_line(at)
    assert set(at.dataframe[0].value["_id"]) == first_ids


def test_licenses_page_mix_sources_and_obligations(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "licenses")
    _no_errors(at)
    mix = at.dataframe[0].value
    assert dict(zip(mix["_license"], mix["records"], strict=True)) == {
        "CC-BY-4.0": 4, "CC-BY-NC-4.0": 1}
    sources = at.dataframe[1].value
    assert sources.set_index("name")["records"].to_dict() == {"upload-2026-11": 4,
                                                             "partner-feed": 1}
    frames = [d.value for d in at.dataframe[2:]]
    credits = next(f for f in frames if "attribution" in f.columns)
    assert credits.set_index("name")["attribution"]["upload-2026-11"] == ATTRIBUTION
    text = " ".join(f.to_string() for f in frames)
    assert "attribution" in text.lower()  # CC-BY obliges crediting the source


def test_licenses_verdict_depends_on_purpose(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "licenses")
    at.selectbox(key="lic_purpose").set_value("commercial").run()
    assert at.error and "Not allowed for commercial use" in at.error[0].value
    violations = at.dataframe[2].value
    assert violations.set_index("license")["records"].to_dict() == {"CC-BY-NC-4.0": 1}
    at.selectbox(key="lic_purpose").set_value("research").run()
    _no_errors(at)
    assert not at.error and at.success


def test_diff_counts_between_tag_and_latest(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "diff")
    at.selectbox(key="diff_a").set_value("reviews@v1")
    at.selectbox(key="diff_b").set_value("reviews")
    at.button(key="diff_go").click().run()
    _no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"added": "1", "removed": "0", "changed": "0"}


def test_labeling_page_without_a_project_says_how_to_link_one(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "labeling")
    _no_errors(at)
    assert [i.value for i in at.info if "no Label Studio project is linked" in i.value]


def test_ingest_runs_history_and_quarantine(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "ingest_runs")
    _no_errors(at)
    assert [s.value for s in at.subheader][:2] == ["Run history", "Quarantined rows"]
    runs = at.dataframe[0].value
    assert sorted(runs["rows_written"].tolist()) == [1, 4]
    assert set(runs["status"]) == {"committed"}
    quarantine = at.dataframe[1].value
    assert len(quarantine) == 50  # one page of the 60 rejected rows
    assert any("60 quarantined rows" in t.value for t in at.text)


def test_quarantine_filter_by_reason_and_paging(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "ingest_runs")
    at.multiselect(key="rej_reason").select("missing field 'text'").run()
    _no_errors(at)
    assert set(at.dataframe[1].value["reason"]) == {"missing field 'text'"}
    assert len(at.dataframe[1].value) == 10
    at.multiselect(key="rej_reason").unselect("missing field 'text'")
    at.number_input(key="rej_page").set_value(2).run()
    assert at.dataframe[1].value["locator"].tolist()[0] == "reviews.jsonl:51"


def test_export_runs_and_shows_manifest(app: AppTest, ui_env: Path, tmp_path: Path) -> None:
    at = open_page(app, "export")
    at.selectbox(key="export_ref").set_value("reviews@v1")
    at.text_input(key="export_name").input("ui-test")
    at.button(key="export_go").click().run()
    _no_errors(at)
    out = tmp_path / "exports" / "ui-test"
    manifest = json.loads((out / "manifest.json").read_text())
    assert at.json, "the manifest is shown"
    assert json.loads(at.json[0].value) == manifest
    assert list(out.glob("*.tar"))


def test_export_license_gate_refuses_commercial_use_of_nc_records(
    app: AppTest, ui_env: Path, tmp_path: Path
) -> None:
    at = open_page(app, "export")
    at.selectbox(key="export_ref").set_value("reviews")  # latest holds a CC-BY-NC-4.0 record
    at.selectbox(key="export_purpose").set_value("commercial")
    at.text_input(key="export_name").input("gated")
    at.button(key="export_go").click().run()
    _no_errors(at)
    assert at.error and "LicenseViolationError" in at.error[0].value
    assert not (tmp_path / "exports" / "gated" / "manifest.json").exists()


def test_export_folder_cannot_escape_export_root(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "export")
    at.text_input(key="export_name").input("../../etc").run()
    at.button(key="export_go").click().run()
    assert at.error and "UsageError" in at.error[0].value


def test_tag_page_creates_a_tag(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "tag")
    at.selectbox(key="tag_version").set_value(at.selectbox(key="tag_version").options[-1])
    at.text_input(key="tag_name").input("ui-first")
    at.button(key="tag_go").click().run()
    _no_errors(at)
    assert at.success
    assert "ui-first" in at.dataframe[-1].value.to_string()


def test_tag_page_rejects_bad_tag(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "tag")
    at.text_input(key="tag_name").input("123")  # tags are never all digits
    at.button(key="tag_go").click().run()
    _no_errors(at)
    assert at.error


def test_local_mode_says_single_user(app: AppTest, ui_env: Path) -> None:
    at = open_page(app, "tag")
    assert any("Single-user local tool" in c.value for c in at.sidebar.caption)
    assert at.button(key="tag_go"), "writes need no sign-in without OIDC"


def _with_oidc(at: AppTest, *, logged_in: bool) -> AppTest:
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "curata", "client_secret": "s",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": logged_in, "email": "curator@example.com"}
    return at


@pytest.mark.parametrize("page,button", [("export", "export_go"), ("tag", "tag_go")])
def test_oidc_writes_need_sign_in(app: AppTest, ui_env: Path, page: str, button: str) -> None:
    at = open_page(_with_oidc(app, logged_in=False), page)
    _no_errors(at)
    assert at.warning, "asks the user to sign in"
    assert not [b for b in at.button if b.key == button]


def test_oidc_signed_in_user_may_write(app: AppTest, ui_env: Path) -> None:
    at = open_page(_with_oidc(app, logged_in=True), "tag")
    _no_errors(at)
    assert at.button(key="tag_go")
    assert any("curator@example.com" in t.value for t in at.sidebar.text)


def test_browsing_stays_open_with_oidc(app: AppTest, ui_env: Path) -> None:
    at = open_page(_with_oidc(app, logged_in=False), "browse")
    _no_errors(at)
    assert at.dataframe


def test_deep_link_opens_the_pinned_ref(app: AppTest, ui_env: Path) -> None:
    app.query_params["dataset"] = "reviews"
    app.query_params["ref"] = "reviews@v1"
    at = open_page(app, "browse")
    _no_errors(at)
    assert "of 4" in _status_line(at)


def test_labeling_draws_the_agreement_report(app: AppTest, ui_env: Path, tmp_path: Path) -> None:
    """A real project: a Label Studio JSON export of two annotators imported offline
    (`curata label import`), drawn by the page from `curata_labeling`'s agreement report."""
    import json

    import curata
    from curata_labeling.imports import import_export

    cat = curata.connect()
    ids = cat.snapshot("reviews").to_arrow(columns=["_id"]).column("_id").to_pylist()
    labels = {1: ["pos", "neg", "pos", "neg"], 2: ["pos", "neg", "neg", "neg"]}
    tasks = [
        {"id": t + 1, "project": 7, "data": {"_id": rid, "text": f"review {t}"},
         "annotations": [
             {"id": 100 * user + t, "completed_by": user, "was_cancelled": False,
              "lead_time": 1.0, "created_at": "2026-11-20T10:00:00Z",
              "updated_at": "2026-11-20T10:00:00Z",
              "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": [labels[user][t]]}}]}
             for user in (1, 2)]}
        for t, rid in enumerate(ids[:4])
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    config = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
              '<Choice value="pos"/><Choice value="neg"/></Choices></View>')
    import_export(cat, export, project="reviews-sentiment", dataset="reviews", schema_xml=config)
    at = open_page(app, "labeling")
    _no_errors(at)
    assert at.selectbox(key="lab_project").value == "reviews-sentiment"
    controls = at.dataframe[0].value
    row = controls[controls["control"] == "sentiment"].iloc[0]
    assert row["n_items"] == 4
    assert row["percent_agreement"] == pytest.approx(0.75)
    assert any("Agreement by" in h.value for h in at.subheader)
