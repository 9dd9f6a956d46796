"""Samples/s from Curata WebDataset shards onto a CUDA GPU, and how long the GPU waits.

A torch DataLoader reads the shards (``snapshot.webdataset(...).torch()`` through
``curata.export.torch.StatefulDataLoader``), decodes JPEG images in its workers, and each
batch is copied to the GPU where a small convolutional network trains on it. Side by side, the
same pipeline over the same shards with ``webdataset.WebDataset`` (what a user would otherwise
use). Reported per loader: samples/s, and the fraction of wall time the GPU sat idle waiting
for the next batch (1 - GPU busy time / wall time, GPU time from CUDA events).

Self-contained: ``--generate N`` builds an N-image dataset in a temporary Curata home and
exports it; ``--shards DIR`` uses an existing export instead.

    uv run python bench/gpu_loader.py --generate 20000 --workers 8
    uv run python bench/gpu_loader.py --shards /data/exports/images --batch-size 256
    uv run python bench/gpu_loader.py --generate 2000 --device cpu --steps 20   # smoke test
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def generate(n: int, size: int, home: Path) -> Path:
    """An ``n``-image snapshot (random JPEGs, 1000 classes) exported as WebDataset shards."""
    import curata
    import pyarrow as pa
    from PIL import Image

    rng = np.random.default_rng(0)
    cat = curata.connect(home=home)
    for start in range(0, n, 5000):
        count = min(5000, n - start)
        images = []
        for _ in range(count):
            # smooth noise compresses like a photo, not like white noise
            small = rng.integers(0, 255, (size // 8, size // 8, 3), dtype=np.uint8)
            img = Image.fromarray(small).resize((size, size), Image.BILINEAR)
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=90)
            images.append(buf.getvalue())
        table = pa.table({"image": pa.array(images, pa.binary()),
                          "label": rng.integers(0, 1000, count),
                          "n": np.arange(start, start + count)})
        cat.append("gpu_bench", table, license="CC0-1.0", source="synthetic")
    out = home / "shards"
    cat.snapshot("gpu_bench").export_webdataset(str(out), shard_count=64)
    return out


def decode_image(data: bytes, size: int) -> torch.Tensor:
    """JPEG bytes -> uint8 CHW tensor of ``size`` x ``size`` (in the DataLoader worker)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def curata_loader(shards: str, args: argparse.Namespace) -> torch.utils.data.DataLoader:
    """Curata's loader: resumable, split by rank/worker, decoding in the workers."""
    from functools import partial

    from curata.export import open_webdataset
    from curata.export.torch import StatefulDataLoader

    ds = open_webdataset(shards, shuffle=True, seed=args.seed, shuffle_buffer=500,
                         transform=partial(_to_tensor, size=args.image_size)).torch()
    return StatefulDataLoader(ds, batch_size=args.batch_size, num_workers=args.workers,
                              pin_memory=args.device == "cuda",
                              prefetch_factor=4 if args.workers else None)


def _to_tensor(sample: dict, size: int) -> dict:
    return {"image": decode_image(sample["image"], size), "label": sample["label"]}


def _wds_sample(sample: dict, size: int) -> dict:
    return {"image": decode_image(sample["image.jpg"], size), "label": int(sample["label.cls"])}


def wds_loader(shards: str, args: argparse.Namespace) -> torch.utils.data.DataLoader:
    import json
    from functools import partial

    import webdataset as wds

    manifest = json.loads((Path(shards) / "manifest.json").read_text())
    urls = [str(Path(shards) / s["name"]) for s in manifest["shards"]]
    size = args.image_size
    ds = (wds.WebDataset(urls, shardshuffle=len(urls), seed=args.seed,
                         nodesplitter=wds.split_by_node, workersplitter=wds.split_by_worker)
          .shuffle(500)
          .map(partial(_wds_sample, size=size))
          .batched(args.batch_size, partial=True))
    return torch.utils.data.DataLoader(ds, batch_size=None, num_workers=args.workers,
                                       pin_memory=args.device == "cuda",
                                       prefetch_factor=4 if args.workers else None)


def model(device: str) -> nn.Module:
    """A small CNN: enough GPU work per batch that a fast loader keeps it busy."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 1000),
    ).to(device)


def measure(name: str, dl: torch.utils.data.DataLoader, args: argparse.Namespace) -> dict:
    """Train ``args.steps`` steps after ``args.warmup``; samples/s and GPU idle fraction."""
    device = args.device
    net = model(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1) * 255
    busy = 0.0
    samples, start = 0, None
    for steps, batch in enumerate(dl):
        if steps == args.warmup:
            if device == "cuda":
                torch.cuda.synchronize()
            start, busy, samples = time.perf_counter(), 0.0, 0
        x = batch["image"].to(device, non_blocking=True).float().sub_(mean).div_(58.0)
        y = torch.as_tensor(batch["label"]).to(device, non_blocking=True)
        t0 = time.perf_counter()
        if device == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device == "cuda":
            end.record()
            end.synchronize()  # one step in flight: idle time is then time spent on data
            busy += begin.elapsed_time(end) / 1000
        else:
            busy += time.perf_counter() - t0
        samples += x.shape[0]
        if steps + 1 >= args.warmup + args.steps:
            break
    if start is None:
        raise SystemExit(f"{name}: the data ran out during warm-up; use --generate with more")
    wall = time.perf_counter() - start
    r = {"loader": name, "samples": samples, "wall_s": wall, "samples_per_s": samples / wall,
         "gpu_wait_fraction": max(0.0, 1 - busy / wall)}
    print(f"{name:10s} {samples:>7d} samples in {wall:6.2f}s: {r['samples_per_s']:>9,.0f} "
          f"samples/s, {args.device} idle {r['gpu_wait_fraction']:.1%} of the time")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--generate", type=int, metavar="N", help="build N synthetic images")
    src.add_argument("--shards", help="an existing Curata WebDataset export folder")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    ap.add_argument("--steps", type=int, default=100, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run on a GPU machine, or pass --device cpu to smoke-test")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    try:
        t0 = time.perf_counter()
        shards = args.shards
        if args.generate:
            shards = str(generate(args.generate, args.image_size, tmp))
            took = time.perf_counter() - t0
            print(f"generated and exported {args.generate} images in {took:.1f}s")
        ours = measure("curata", curata_loader(shards, args), args)
        theirs = measure("webdataset", wds_loader(shards, args), args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = ours["samples_per_s"] / theirs["samples_per_s"]
    print(f"ratio curata/webdataset: {ratio:.2f}x samples/s")
    if not args.no_record:
        record(ours, theirs, ratio, args)


def record(ours: dict, theirs: dict, ratio: float, args: argparse.Namespace) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU only"
    line = (f"- {now} · `bench/gpu_loader.py` · {platform.machine()}, {os.cpu_count()} cores, "
            f"{gpu} · {args.image_size}px JPEG, batch {args.batch_size}, {args.workers} workers: "
            f"curata {ours['samples_per_s']:,.0f} samples/s (GPU idle "
            f"{ours['gpu_wait_fraction']:.0%}) vs webdataset.WebDataset "
            f"{theirs['samples_per_s']:,.0f} samples/s (GPU idle {theirs['gpu_wait_fraction']:.0%})"
            f" · ratio {ratio:.2f}x\n")
    path = Path(__file__).with_name("RESULTS.md")
    with path.open("a") as f:
        f.write(line)
    print(line, end="")


if __name__ == "__main__":
    main()
