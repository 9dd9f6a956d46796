#!/usr/bin/env bash
# Curata demo: ingest the shipped samples (text + images, two licenses, a few malformed rows),
# tag, verify, show the quarantine and print the Python lines that load the pinned snapshots.
# Usage: scripts/demo.sh   (CURATA_HOME defaults to a fresh temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."

export CURATA_HOME="${CURATA_HOME:-$(mktemp -d)/curata-home}"
# The locked environment made by scripts/bootstrap.sh (`make deps`); not `uv run`, which would
# re-sync it.
RUN=""
PATH="$PWD/.venv/bin:$PATH"
INGEST="ingest"
CURATA="curata"
echo "CURATA_HOME=$CURATA_HOME"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ingest reviews (JSONL, CC0-1.0) into dataset 'texts'"
$INGEST samples/texts/reviews.jsonl --dataset texts --license CC0-1.0 \
  --source-name "sample reviews" --attribution "Curata sample corpus"

step "ingest quotes (text lines, CC-BY-4.0) into the same dataset"
$INGEST samples/texts/quotes.txt --format lines --dataset texts --license CC-BY-4.0 \
  --source-name "sample quotes" --attribution "Curata sample corpus (CC-BY-4.0 for the demo)"

step "ingest images (class sub-folders → label, CC0-1.0) into dataset 'shapes'"
$INGEST samples/images --dataset shapes --license CC0-1.0 --source-name "sample shapes"

step "re-running an unchanged ingest commits nothing"
$INGEST samples/texts/reviews.jsonl --dataset texts --license CC0-1.0 \
  --source-name "sample reviews" --json | $RUN python -c "
import json, sys; r = json.load(sys.stdin)
print({k: r[k] for k in ('status', 'dataset', 'version', 'rows_read', 'rows_written')})"

step "quarantined input"
$CURATA rejects texts
$CURATA rejects shapes

step "tag and verify"
$CURATA tag texts v1 --note "demo: reviews + quotes"
$CURATA tag shapes v1 --note "demo: shapes"
$CURATA verify texts@v1
$CURATA verify shapes@v1

step "load it from Python"
$RUN python - <<'PY'
import curata
for ref in ("texts@v1", "shapes@v1"):
    snap = curata.load(ref)
    mix = ", ".join(f"{x['license']}: {x['records']}" for x in snap.licenses())
    print(f"{ref}: {snap.num_rows} rows, licenses {mix}")
    print(f"    snap = curata.load({ref!r}, expect_fingerprint={snap.fingerprint[:16]!r})")
    print("    table = snap.to_arrow()   # or snap.to_polars(), snap.to_hf()")
PY
