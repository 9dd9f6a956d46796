"""language, pii, decontaminate and image near_dedup steps; derive caching, fingerprints,
leakage and stats on real catalogs."""

from __future__ import annotations

import io
import ipaddress
import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from curata.quality import Decontaminate, ImageNearDedup, Language, Pii, Quality, find_leakage
from curata.quality import pii as qpii
from curata.quality.images import greedy_clusters, phash
from curata.transforms import Pipeline, Split
from curata.transforms.steps import Context
from PIL import Image

from tests.transforms.test_quality_rules import GOOD


def frame(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"_id": [f"id{i:04d}" for i in range(len(texts))], "_source": "s",
                         "_license": "CC0-1.0", "text": texts})


# --- language ---------------------------------------------------------------------------------

LANG_CASES = {
    "en": "The children walked to the old library after school to read about the history of "
          "the city.",
    "de": "Die Kinder gingen nach der Schule in die alte Bibliothek, um über die Geschichte der "
          "Stadt zu lesen.",
    "fr": "Les enfants sont allés à la vieille bibliothèque après l'école pour lire l'histoire "
          "de la ville.",
    "es": "Los niños fueron a la antigua biblioteca después de la escuela para leer sobre la "
          "historia de la ciudad.",
    "pt": "As crianças foram à antiga biblioteca depois da escola para ler sobre a história da "
          "cidade.",
    "ru": "После школы дети пошли в старую библиотеку, чтобы почитать об истории города.",
    "ja": "子供たちは放課後、町の歴史について読むために古い図書館へ行きました。",
    "ar": "ذهب الأطفال إلى المكتبة القديمة بعد المدرسة لقراءة تاريخ المدينة.",
}


def test_language_identifies_several_languages_and_filters() -> None:
    df = frame(list(LANG_CASES.values()) + ["", "12345 67890"])
    out = Language("text").apply(df, Context())
    assert out["lang"].to_list() == [*LANG_CASES, "und", "und"]
    assert all(0 <= s <= 1 for s in out["lang_score"].to_list())
    kept = Language("text", keep=["en", "pt"]).apply(df, Context())
    assert kept["lang"].to_list() == ["en", "pt"]


# --- pii ----------------------------------------------------------------------------------------

PII_CASES = [
    ("Write to jane.doe@example.org today.", ["email"], "Write to <EMAIL> today."),
    ("Call +44 20 7946 0958 after six.", ["phone"], "Call <PHONE> after six."),
    ("Server 93.184.216.34 answered.", ["ip"], "Server <IP> answered."),
    ("Card 4111 1111 1111 1111 was charged.", ["credit_card"], "Card <CREDIT_CARD> was charged."),
    ("Pay to GB82WEST12345698765432 now.", ["iban"], "Pay to <IBAN> now."),
    # near-misses: bad Luhn, bad IBAN checksum, private IPs, random digit runs, version numbers
    ("Card 4111 1111 1111 1112 was declined.", [], None),
    ("Pay to GB82WEST12345698765433 now.", [], None),
    ("Router 192.168.1.20 and 127.0.0.1 and 10.0.0.7.", [], None),
    ("Order 5837 2910 4471 0093 shipped; ref 20231231 and 3.14159.", [], None),
    ("Version 1.2.3 released in 2024 with 12345 downloads.", [], None),
]


@pytest.mark.parametrize(("text", "kinds", "redacted"), PII_CASES)
def test_pii_known_strings_and_near_misses(text: str, kinds: list[str], redacted: str | None
                                           ) -> None:
    df = frame([text])
    flagged = Pii("text", action="flag").apply(df, Context())
    assert flagged["pii"].to_list() == [kinds] and flagged["text"][0] == text
    red = Pii("text", action="redact").apply(df, Context())
    assert red["text"][0] == (redacted or text)
    dropped = Pii("text", action="drop").apply(df, Context())
    assert dropped.height == (0 if kinds else 1)


def test_luhn_and_mod97_against_reference_implementations() -> None:
    rng = random.Random(3)

    def luhn(s: str) -> bool:
        d = [int(c) for c in s][::-1]
        return sum(x if i % 2 == 0 else (2 * x - 9 if 2 * x > 9 else 2 * x)
                   for i, x in enumerate(d)) % 10 == 0

    nums = ["4" + "".join(rng.choice("0123456789") for _ in range(15)) for _ in range(300)]
    got = pl.DataFrame({"m": nums}).select(qpii.card_valid(pl.col("m"))).to_series().to_list()
    assert got == [luhn(n) for n in nums]
    ibans = ["DE" + "".join(rng.choice("0123456789") for _ in range(20)) for _ in range(300)]
    want = [int(s[4:] + "1314" + s[2:4]) % 97 == 1 for s in ibans]
    assert qpii.iban_valid(pl.Series(ibans)).to_list() == want
    assert sum(want) > 0


def test_public_ip_check_matches_python_ipaddress() -> None:
    rng = random.Random(5)
    ips = [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(2000)]
    ips += ["10.1.2.3", "172.31.0.1", "100.64.0.1", "192.0.2.5", "8.8.8.8", "255.255.255.255"]
    got = pl.DataFrame({"m": ips}).select(qpii.ip_global(pl.col("m"))).to_series().to_list()
    assert got == [ipaddress.ip_address(ip).is_global for ip in ips]


# --- decontamination ----------------------------------------------------------------------------

EVAL = ("Question: what is the capital city of the small mountain country that borders "
        "both France and Spain in the Pyrenees? Answer: Andorra la Vella.")


def test_decontaminate_flags_exactly_one_shared_13gram(cat) -> None:
    cat.append("evals", pa.table({"text": [EVAL]}), license="CC0-1.0", source="bench")
    cat.tag("evals", "v1")
    words = EVAL.split()
    shared13 = " ".join(words[3:16])            # one 13-word window of the eval text
    shared12 = " ".join(words[3:15])            # only 12 words: no 13-gram shared
    train = [f"Notes. {shared13.upper()}!! More unrelated words follow here today.",
             f"Notes. {shared12} plus then something else entirely different.", GOOD]
    cat.append("train", pa.table({"text": train}), license="CC0-1.0", source="crawl")
    step = Decontaminate("text", against=["evals@v1"], ngram=13)
    res = cat.derive("train", Pipeline([step]), into="train-dc")
    out = res.snapshot.to_polars().sort("text")
    flagged = dict(zip(out["text"].to_list(), out["contamination"].to_list(), strict=True))
    assert flagged[train[0]] == ["evals@v1"] and flagged[train[1]] == [] and flagged[GOOD] == []
    assert any(i["ref"] == "evals@v1" for i in res.inputs)   # an input of the transform
    dropped = cat.derive("train", Pipeline([Decontaminate("text", against=["evals@v1"],
                                                          action="drop")]), into="train-dc2")
    assert dropped.snapshot.num_rows == 2


# --- image near-duplicates ----------------------------------------------------------------------


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _images() -> tuple[list[bytes], list[str]]:
    rng = np.random.default_rng(0)
    out, groups = [], []
    for g in range(4):
        base = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize(
            (256, 256), Image.Resampling.BILINEAR)
        out += [_png(base), _png(base.resize((180, 180)), "JPEG", quality=80),
                _png(base.resize((320, 320)), "WEBP")]
        groups += [f"g{g}"] * 3
    icons = sorted(Path("/usr/share/icons").rglob("*.png"))[:40]
    for i, p in enumerate(icons):
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        out += [_png(rgb), _png(rgb.resize((rgb.width * 2, rgb.height * 2)))]
        groups += [f"icon{i}"] * 2
    return out, groups


def test_phash_clusters_resized_and_reencoded_copies() -> None:
    images, groups = _images()
    hashes = phash(pl.Series(images, dtype=pl.Binary)).to_numpy().astype(np.uint64)
    ids = [f"{i:04d}" for i in range(len(images))]
    dropped = greedy_clusters(ids, hashes, 4)
    for j in range(12):  # the generated copies: each group keeps its first image
        if j % 3:
            assert dropped[ids[j]][0] == ids[j - j % 3]
        else:
            assert ids[j] not in dropped
    # every dropped image is within 4 bits of the image it was kept as
    pos = {k: i for i, k in enumerate(ids)}
    for d, (k, dist) in dropped.items():
        assert bin(int(hashes[pos[d]]) ^ int(hashes[pos[k]])).count("1") == dist <= 4


def test_image_near_dedup_step_in_derive_records_clusters(cat) -> None:
    images, groups = _images()
    images, groups = images[:12], groups[:12]
    cat.append("pics", pa.table({"image": pa.array(images, pa.binary()), "group": groups}),
               license="CC0-1.0", source="gen")
    pipe = Pipeline.from_dict({"steps": [{"near_dedup": {"column": "image", "method": "phash"}}]})
    assert isinstance(pipe.steps[0], ImageNearDedup)
    res = cat.derive("pics", pipe, into="pics-dd")
    assert sorted(res.snapshot.to_polars()["group"].to_list()) == ["g0", "g1", "g2", "g3"]
    from deltalake import DeltaTable

    clusters = pl.from_arrow(DeltaTable(cat.table_uri("pics-dd", "near_duplicates"))
                             .to_pyarrow_table())
    assert clusters.height == 8 and res.stats["near_duplicates"] == 8
    kept = set(res.snapshot.to_polars()["_id"].to_list())
    assert set(clusters["cluster_id"].to_list()) <= kept


# --- derive: cache and fingerprints -------------------------------------------------------------


def test_rederive_is_cache_hit_and_thresholds_change_fingerprint(cat) -> None:
    cat.append("web", pa.table({"text": [GOOD, "Too short.", GOOD + " Mail a.b@example.org."]}),
               license="CC0-1.0", source="crawl")
    steps = [Language("text"), Quality("text"), Pii("text", action="redact")]
    first = cat.derive("web", Pipeline(steps), into="web-q")
    again = cat.derive("web", Pipeline(steps), into="web-q")
    assert first.status == "committed" and again.status == "unchanged"
    assert again.transform_fingerprint == first.transform_fingerprint
    changed = [Language("text"), Quality("text", thresholds={"gopher": {"min_doc_words": 2}}),
               Pii("text", action="redact")]
    other = cat.derive("web", Pipeline(changed), into="web-q")
    assert other.status == "committed"
    assert other.transform_fingerprint != first.transform_fingerprint
    for step in (Language("text", min_score=0.9), Pii("text", kinds=["email"])):
        p = Pipeline([step])
        assert cat.derive("web", p, into=f"web-{step.kind}").transform_fingerprint != \
            cat.derive("web", Pipeline([type(step)("text")]), into=f"web-{step.kind}-d") \
            .transform_fingerprint
    texts = sorted(other.snapshot.to_polars()["text"].to_list())
    assert any("<EMAIL>" in t for t in texts)
    rebuilt = Pipeline.from_dict(Pipeline(changed).to_dict())
    assert rebuilt.canonical() == Pipeline(changed).canonical()


# --- leakage and stats --------------------------------------------------------------------------


def test_leakage_finds_exact_and_near_pairs_across_splits(cat) -> None:
    near = GOOD.replace("museum", "gallery")
    texts = [GOOD, GOOD, near, "A different page about engines and weather in the winter."]
    cat.append("lk", pa.table({"text": texts, "split": ["train", "test", "test", "train"]}),
               license="CC0-1.0", source="crawl")
    snap = cat.snapshot("lk")
    report = find_leakage(snap, split_column="split", threshold=0.7)
    ids = dict(zip(range(4), pl.from_arrow(snap.to_arrow(columns=["_id", "text", "split"]))
                   .sort("split").rows(), strict=False))
    assert report.counts == {"exact": 1, "near": 1}
    exact, nearp = report.pairs
    assert exact.kind == "exact" and exact.distance == 0 and {exact.split_a, exact.split_b} == {
        "train", "test"}
    assert nearp.kind == "near" and 0 < nearp.distance < 0.3 and exact.a < exact.b
    assert ids  # the snapshot read back


def test_stats_shape_and_rates(cat) -> None:
    cat.append("st", pa.table({"text": [GOOD, "Too short.", GOOD + " Mail a@example.org."]}),
               license="CC0-1.0", source="crawl")
    res = cat.derive("st", Pipeline([Language("text"), Quality("text"), Pii("text"),
                                     Split({"train": 0.5, "test": 0.5})]), into="st-q")
    st = res.snapshot.stats().to_dict()
    assert st["rows"] == 3 and st["ref"] == res.snapshot.ref
    assert set(st["by"]) >= {"_license", "_source", "lang", "split"}
    assert st["by"]["_license"] == {"CC0-1.0": 3} and sum(st["by"]["split"].values()) == 3
    assert st["rates"]["pii"] == {"email": round(1 / 3, 6)}
    assert st["rates"]["quality_issues"]["gopher.word_count"] == round(1 / 3, 6)
    assert sum(b["count"] for b in st["lengths"]["text"]["histogram"]) == 3
    json.dumps(st)


def test_public_surface_matches_all() -> None:
    import curata.quality as q

    exported = {n for n in dir(q) if not n.startswith("_") and n[0].isupper() or
                n in ("find_leakage", "snapshot_stats")}
    assert set(q.__all__) == exported


def test_leakage_on_images_reports_bits(cat) -> None:
    images, groups = _images()
    images = images[:6]  # two groups of three copies
    splits = ["train", "test", "train", "train", "train", "test"]
    images.append(images[0])  # a byte-identical copy, in the test split
    splits.append("test")
    cat.append("pics", pa.table({"image": pa.array(images, pa.binary()), "split": splits}),
               license="CC0-1.0", source="gen")
    report = find_leakage(cat.snapshot("pics"), split_column="split")
    assert report.column == "image"
    # oracle: every cross-split pair within 4 bits, by brute force over the same hashes
    h = [int(x) for x in phash(pl.Series(images, dtype=pl.Binary)).to_list()]
    want_near = sum(1 for i in range(7) for j in range(i + 1, 7)
                    if splits[i] != splits[j] and images[i] != images[j]
                    and bin(h[i] ^ h[j]).count("1") <= 4)
    assert report.counts == {"exact": 1, "near": want_near} and want_near >= 3
    for p in report.pairs:
        assert p.split_a != p.split_b and p.a < p.b
        assert p.distance == 0 if p.kind == "exact" else 0 <= p.distance <= 4


def test_redaction_gives_new_ids_annotations_keep_them(cat) -> None:
    """A record is what it holds: redacting rewrites it (a new `_id`, the hash of the content
    it now holds, its `pii` column included); language, quality flags and PII flags only
    annotate it (the `_id` stays)."""
    from curata import fingerprint as fp

    texts = ["Write to ann@example.com today, please.", "Nothing personal in this line at all."]
    snap = cat.append("p", pa.table({"text": texts}), license="CC0-1.0", source="s")
    before = dict(zip(snap.to_arrow().column("text").to_pylist(),
                      snap.to_arrow().column("_id").to_pylist(), strict=True))
    flagged = cat.derive("p", [Language("text"), Pii("text", action="flag")], into="p-flag")
    out = flagged.snapshot.to_arrow()
    assert sorted(out.column("_id").to_pylist()) == sorted(before.values())
    redacted = cat.derive("p", [Pii("text", action="redact")], into="p-red").snapshot.to_arrow()
    rows = {r["text"]: r["_id"] for r in redacted.select(["text", "_id"]).to_pylist()}
    assert "Write to <EMAIL> today, please." in rows
    assert rows["Write to <EMAIL> today, please."] != before[texts[0]]
    content = redacted.select([c for c in redacted.column_names if not c.startswith("_")])
    assert redacted.column("_id").to_pylist() == fp.record_ids(content).to_pylist()
