"""Quality filters (language + quality + PII) in Curata vs the same rules in HF datatrove.

A generated 100k-document corpus (bench/_quality_corpus.py: clean prose in seven languages,
Gopher/C4/FineWeb failures, personal data and look-alikes) goes through Curata's ``language``,
``quality`` (gopher, c4, fineweb) and ``pii`` steps, batch by batch as ``derive`` runs them.
datatrove runs ``GopherQualityFilter`` + ``GopherRepetitionFilter``, ``C4QualityFilter``,
``FineWebQualityFilter`` and ``PIIFormatter`` (e-mails and public IPs, the PII it defines) on
a random sample of the same documents, one process per core: spaCy-tokenised Python filters
run ~100 documents/s per core here, so the whole corpus would take over ten minutes.
datatrove's ``LanguageFilter`` downloads its fastText model at run time, so it is not run
(Curata's language step is timed all the same).

Agreement: per rule set, Curata drops a document (any ``<set>.*`` issue) exactly when
datatrove's filter does; for PII, Curata finds an e-mail or IP exactly when datatrove's
formatter changes the text. Differences are listed with the document kind.

    uv run python bench/quality.py                    # 100k docs, 4,000 through datatrove
    uv run python bench/quality.py --docs 20000 --dt-docs 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._quality_corpus import corpus  # noqa: E402

SETS = ("gopher", "c4", "fineweb")


def curata_run(texts: list[str], batch: int
               ) -> tuple[float, float, list[list[str]], list[list[str]]]:
    from curata.quality.steps import Language, Pii, Quality
    from curata.transforms.steps import Context

    steps = [Language("text"), Quality("text"), Pii("text", action="flag")]
    ctx = Context()
    issues: list[list[str]] = []
    pii: list[list[str]] = []
    start, cpu = time.perf_counter(), time.process_time()
    for lo in range(0, len(texts), batch):
        df = pl.DataFrame({"_id": [str(i) for i in range(lo, min(lo + batch, len(texts)))],
                           "text": texts[lo:lo + batch]})
        for step in steps:
            df = step.apply(df, ctx)
        issues.extend(df["quality_issues"].to_list())
        pii.extend(df["pii"].to_list())
    return time.perf_counter() - start, time.process_time() - cpu, issues, pii


def _dt_doc(text: str) -> tuple[dict[str, str | None], bool]:
    from datatrove.data import Document

    out: dict[str, str | None] = {}
    for name, filters in _FILTERS.items():
        out[name] = None
        for f in filters:
            res = f.filter(Document(text=text, id="0"))
            ok, why = res if isinstance(res, tuple) else (res, None)
            if not ok:
                out[name] = why or "dropped"
                break
    return out, _PII.format(text) != text


def _dt_init() -> None:
    global _FILTERS, _PII
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter

    _FILTERS = {"gopher": [GopherQualityFilter(), GopherRepetitionFilter()],
                "c4": [C4QualityFilter()], "fineweb": [FineWebQualityFilter()]}
    _PII = PIIFormatter()


_FILTERS: dict = {}
_PII = None


def datatrove_run(texts: list[str], procs: int) -> tuple[float, float, list]:
    """Wall seconds, CPU seconds of the worker processes, and each document's decisions."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    pool = mp.get_context("fork").Pool(procs, initializer=_dt_init)
    results = pool.map(_dt_doc, texts, chunksize=64)
    pool.close()
    pool.join()  # reaped, so their CPU time is counted in RUSAGE_CHILDREN
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, results


def agreement(sample: list[int], issues: list[list[str]], pii: list[list[str]], dt_results: list,
              kinds: list[str], texts: list[str]) -> dict[str, list[tuple]]:
    diffs: dict[str, list[tuple]] = {k: [] for k in (*SETS, "pii")}
    for i, (dec, changed) in zip(sample, dt_results, strict=True):
        for s in SETS:
            ours = [x for x in issues[i] if x.startswith(s + ".")]
            if bool(ours) != (dec[s] is not None):
                diffs[s].append((i, kinds[i], dec[s], ours, texts[i][:120]))
        ours_pii = bool({"email", "ip"} & set(pii[i]))
        if ours_pii != changed:
            diffs["pii"].append((i, kinds[i], changed, pii[i], texts[i][:120]))
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--dt-docs", type=int, default=4_000)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=25_000)
    ap.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()

    texts, kinds = corpus(args.docs, seed=0)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"corpus: {len(texts):,} docs, {mb:.1f} MB; kinds: "
          f"{ {k: kinds.count(k) for k in sorted(set(kinds)) if not k.startswith(('lang:', 'pii:'))} }")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    c_secs, c_cpu, issues, pii = curata_run(texts, args.batch)
    c_rate = len(texts) / c_secs
    print(f"curata  language+quality+pii: {c_secs:.1f} s, {c_rate:,.0f} docs/s; "
          f"CPU {c_cpu:.1f} s = {len(texts) / c_cpu:,.0f} docs per CPU-second "
          f"(all {len(texts):,} docs)")

    sample = sorted(random.Random(1).sample(range(len(texts)), min(args.dt_docs, len(texts))))
    d_secs, d_cpu, dt_results = datatrove_run([texts[i] for i in sample], args.procs)
    d_rate = len(sample) / d_secs
    print(f"datatrove quality+pii ({args.procs} processes): {d_secs:.1f} s, {d_rate:,.0f} docs/s; "
          f"CPU {d_cpu:.1f} s = {len(sample) / d_cpu:,.0f} docs per CPU-second "
          f"({len(sample):,} sampled docs; LanguageFilter not run: it downloads its model)")
    cpu_ratio = (len(texts) / c_cpu) / (len(sample) / d_cpu)
    print(f"ratio: curata {c_rate / d_rate:.1f}x datatrove's docs/s (wall); "
          f"{cpu_ratio:.1f}x per CPU-second; load average {os.getloadavg()[0]:.1f} at end")

    diffs = agreement(sample, issues, pii, dt_results, kinds, texts)
    for name, rows in diffs.items():
        dropped = sum((r[0][name] is not None) if name != "pii" else r[1]
                      for r in dt_results)
        agree = 1 - len(rows) / len(sample)
        print(f"agreement {name:8s}: {agree:.4%} of {len(sample):,} docs "
              f"({len(rows)} differ; datatrove {'flags' if name == 'pii' else 'drops'} {dropped})")
        for r in rows[:5]:
            print(f"    doc {r[0]} [{r[1]}] datatrove={r[2]!r} curata={r[3]} {r[4]!r}")

    if not args.no_results:
        line = (f"- {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · quality · {platform.machine()}, "
                f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} · {len(texts):,} docs · "
                f"curata language+quality+pii {c_rate:,.0f} docs/s "
                f"({len(texts) / c_cpu:,.0f}/CPU-s) · datatrove quality+pii {d_rate:,.0f} docs/s "
                f"({len(sample) / d_cpu:,.0f}/CPU-s; {args.procs} procs, {len(sample):,} docs) · "
                f"ratio {c_rate / d_rate:.1f}x wall, {cpu_ratio:.1f}x CPU (target ≥ 3x) · "
                "agreement " + ", ".join(f"{k} {1 - len(v) / len(sample):.2%}"
                                         for k, v in diffs.items()) + "\n")
        with open(Path(__file__).parent / "RESULTS.md", "a") as fh:
            fh.write(line)


if __name__ == "__main__":
    main()
