#!/usr/bin/env python3
"""trawl's parse bench beside Python feedparser, on the same files, in one run.

    benches/parse-vs-feedparser.py [--skip-bench] [--reps 3]

Runs `cargo bench --bench parse` (unless --skip-bench: then it reads the
results of the last run), then times feedparser.parse() over the same
documents (target/bench-data/feeds-200-seed1 and ../shared/corpus/real), the
median of --reps passes, and prints MB/s and articles/s of each with the
ratio trawl / feedparser. Needs feedparser (`pip install feedparser`); when
it is missing, the script installs it with pip for this Python.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SETS = {
    "real": (os.environ.get("TRAWL_CORPUS", os.path.join(ROOT, "..", "shared", "corpus", "real")),
             {"MANIFEST.tsv"}),
    "generated": (os.path.join(TARGET, "bench-data", "feeds-200-seed1"), {"truth.json"}),
}


def need_feedparser():
    try:
        import feedparser  # noqa: F401
    except ImportError:
        print("installing feedparser with pip", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "feedparser"], check=True)
    import feedparser
    return feedparser


def criterion(group, bench):
    """Median seconds per pass, and the (articles, bytes) of one pass."""
    d = os.path.join(TARGET, "criterion", group, bench, "new")
    est = json.load(open(os.path.join(d, "estimates.json")))
    meta = json.load(open(os.path.join(d, "benchmark.json")))
    t = meta["throughput"]["ElementsAndBytes"]
    return est["median"]["point_estimate"] / 1e9, t["elements"], t["bytes"]


def docs(folder, skip):
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name not in skip and os.path.isfile(path):
            with open(path, "rb") as f:
                out.append(f.read())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-bench", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    feedparser = need_feedparser()
    if not a.skip_bench:
        subprocess.run(["cargo", "bench", "--bench", "parse"], cwd=ROOT, check=True)
    rows = []
    for name, (folder, skip) in SETS.items():
        if not os.path.isdir(folder):
            print(f"{name}: no {folder}, skipped", file=sys.stderr)
            continue
        try:
            one = criterion(f"parse_{name}", "one-core")
            alls = criterion(f"parse_{name}", "all-cores")
        except OSError as e:
            print(f"{name}: no criterion results ({e}); run without --skip-bench", file=sys.stderr)
            continue
        data = docs(folder, skip)
        size = sum(map(len, data))
        times, entries = [], 0
        for _ in range(a.reps):
            t0 = time.perf_counter()
            entries = sum(len(feedparser.parse(d).entries) for d in data)
            times.append(time.perf_counter() - t0)
        fp = statistics.median(times)
        rows.append((name, size, one, alls, fp, entries))

    print(f"\n{'set':10} {'MB':>6} {'who':22} {'MB/s':>8} {'articles/s':>11} {'vs feedparser':>14}")
    for name, size, one, alls, fp, entries in rows:
        fp_mbs = size / fp / 1e6
        print(f"{name:10} {size / 1e6:6.1f} {'feedparser (1 core)':22} {fp_mbs:8.2f} {entries / fp:11.0f} {'1.0x':>14}")
        for who, (secs, arts, nbytes) in (("trawl one core", one), ("trawl all cores", alls)):
            mbs = nbytes / secs / 1e6
            print(f"{name:10} {size / 1e6:6.1f} {who:22} {mbs:8.2f} {arts / secs:11.0f} {mbs / fp_mbs:13.1f}x")


if __name__ == "__main__":
    main()
