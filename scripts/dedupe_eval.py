#!/usr/bin/env python3
"""Measure trawl's duplicate detection against the generator's ground truth.

    scripts/dedupe_eval.py [--feeds 300] [--seed 1] [--trawl target/release/trawl]
                           [--distances 1,2,3,4,5,6,7] [--keep DIR] [--markdown | --json]

Generates a feed set with ../shared/corpus/gen_feeds.py (its truth.json says
which items are copies of which), then, once per near-duplicate threshold,
ingests every feed into a fresh database with `trawl fetch` (feeds configured
as file:// URLs) and compares what trawl linked with the truth.

Pairs, as in clustering evaluation: two items (feed, guid) are a true pair
when they carry the same story, and a predicted pair when trawl put them in
one cluster (the same article, or articles linked by duplicate_of). A true
pair is *exact* when both items have the story's own title and text
(original, tracking-URL and syndicated copies), *near* when one of them is a
near-duplicate (small edits). A predicted pair is exact when both items are
one article, near when they are two articles of one cluster.

  exact   precision: predicted exact pairs that are true / predicted exact pairs
          recall:    true exact pairs trawl made one article / true exact pairs
  near    precision: predicted near pairs that are true / predicted near pairs
          recall:    true near pairs in one cluster / true near pairs
  all     precision: predicted pairs that are true / predicted pairs
          recall:    true pairs in one cluster / true pairs

Also per kind of copy: the share of items linked to their original, and the
time `trawl fetch` took (one run per threshold: noisy; for timings, run the
same set several times). `--markdown` prints the curve as a Markdown table
(the one in the README). Standard library only.
"""
import argparse
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GENERATOR = os.path.join(REPO, "..", "shared", "corpus", "gen_feeds.py")
EXACT_KINDS = {"original", "tracking", "syndicated"}


def generate(feeds, seed, out):
    subprocess.run([sys.executable, GENERATOR, "--feeds", str(feeds), "--seed", str(seed),
                    "--out", out], check=True, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "truth.json"), encoding="utf-8") as f:
        return json.load(f)


def write_config(path, feed_dir, truth, distance):
    lines = ["[daemon]", "concurrency = 16", "per_host_gap = 0",
             "near_duplicate_distance = %d" % distance, ""]
    for f in truth["feeds"]:
        name = os.path.splitext(f["file"])[0]
        url = "file://" + os.path.join(os.path.abspath(feed_dir), f["file"])
        lines += ["[[feed]]", "name = %s" % json.dumps(name), "url = %s" % json.dumps(url), ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def ingest(trawl, config, db):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    started = time.monotonic()
    run = subprocess.run([trawl, "fetch", "-q", "--config", config, "--db", db],
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        sys.exit("trawl fetch failed (%d):\n%s%s" % (run.returncode, run.stdout[-2000:], run.stderr[-2000:]))
    return elapsed


def clusters(db):
    """(feed name, guid) -> (article id, cluster head id)."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT f.name, s.guid, a.id, coalesce(a.duplicate_of, a.id) FROM article_sources s "
        "JOIN feeds f ON f.id = s.feed_id JOIN articles a ON a.id = s.article_id")
    found = {(name, guid): (article, head) for name, guid, article, head in rows}
    stats = conn.execute("SELECT count(*), count(simhash), count(duplicate_of) FROM articles").fetchone()
    conn.close()
    return found, stats


def ratio(a, b):
    return a / b if b else float("nan")


def evaluate(truth, found):
    items = []
    missing = 0
    for it in truth["items"]:
        key = (os.path.splitext(it["feed"])[0], it["guid"])
        if key not in found:
            missing += 1
            continue
        items.append((it, found[key]))

    by_story = defaultdict(list)
    for it, where in items:
        by_story[it["story"]].append((it, where))
    true_pairs = {"exact": 0, "near": 0}
    found_pairs = {"exact": 0, "near": 0}       # true pairs trawl linked (exact: as one article)
    for members in by_story.values():
        for (a, wa), (b, wb) in itertools.combinations(members, 2):
            kind = "exact" if a["kind"] in EXACT_KINDS and b["kind"] in EXACT_KINDS else "near"
            true_pairs[kind] += 1
            if kind == "exact" and wa[0] == wb[0]:
                found_pairs[kind] += 1
            elif kind == "near" and wa[1] == wb[1]:
                found_pairs[kind] += 1
    linked_true = 0   # true pairs in one cluster, any way
    for members in by_story.values():
        for (_, wa), (_, wb) in itertools.combinations(members, 2):
            linked_true += wa[1] == wb[1]

    by_head = defaultdict(list)
    for it, where in items:
        by_head[where[1]].append((it, where))
    predicted = {"exact": 0, "near": 0}
    correct = {"exact": 0, "near": 0}
    for members in by_head.values():
        for (a, wa), (b, wb) in itertools.combinations(members, 2):
            kind = "exact" if wa[0] == wb[0] else "near"
            predicted[kind] += 1
            correct[kind] += a["story"] == b["story"]

    # Per kind of copy: linked to its original?
    original = {}
    for it, where in items:
        if it["kind"] == "original":
            original[(os.path.splitext(it["feed"])[0], it["guid"])] = where
    per_kind = defaultdict(lambda: [0, 0])
    for it, where in items:
        d = it.get("duplicate_of")
        if not d:
            continue
        orig = original.get((os.path.splitext(d["feed"])[0], d["guid"]))
        if orig is None:
            continue
        same = where[0] == orig[0] if it["kind"] in ("tracking", "syndicated") else where[1] == orig[1]
        per_kind[it["kind"]][0] += same
        per_kind[it["kind"]][1] += 1

    all_true = true_pairs["exact"] + true_pairs["near"]
    all_pred = predicted["exact"] + predicted["near"]
    return {
        "missing_items": missing,
        "exact": {"precision": ratio(correct["exact"], predicted["exact"]),
                  "recall": ratio(found_pairs["exact"], true_pairs["exact"]),
                  "pairs": true_pairs["exact"], "predicted": predicted["exact"]},
        "near": {"precision": ratio(correct["near"], predicted["near"]),
                 "recall": ratio(found_pairs["near"], true_pairs["near"]),
                 "pairs": true_pairs["near"], "predicted": predicted["near"]},
        "all": {"precision": ratio(correct["exact"] + correct["near"], all_pred),
                "recall": ratio(linked_true, all_true), "pairs": all_true, "predicted": all_pred},
        "per_kind": {k: ratio(v[0], v[1]) for k, v in sorted(per_kind.items())},
    }


def pct(x):
    return "%6.2f%%" % (100 * x) if x == x else "    n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trawl", default=os.path.join(REPO, "target", "release", "trawl"))
    ap.add_argument("--distances", default="1,2,3,4,5,6,7",
                    help="near_duplicate_distance values to run (comma-separated)")
    ap.add_argument("--keep", help="generate into and keep this folder (default: a temporary one)")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ap.add_argument("--markdown", action="store_true", help="print the curve as a Markdown table")
    a = ap.parse_args()
    if not os.path.exists(a.trawl):
        sys.exit("no trawl binary at %s (cargo build --release, or --trawl PATH)" % a.trawl)

    work = a.keep or tempfile.mkdtemp(prefix="trawl-dedupe-eval-")
    os.makedirs(work, exist_ok=True)
    feed_dir = os.path.join(work, "feeds")
    truth = generate(a.feeds, a.seed, feed_dir)
    kinds = Counter(it["kind"] for it in truth["items"])
    results = {"feeds": a.feeds, "seed": a.seed, "items": len(truth["items"]),
               "kinds": dict(kinds), "runs": []}
    if a.markdown:
        print("%d feeds, %d items (%s), seed %d\n" % (
            a.feeds, len(truth["items"]), ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())),
            a.seed))
        print("| bits | exact P / R | near P / R | all P / R | near copies linked | fetch s |")
        print("|---:|---:|---:|---:|---:|---:|")
    elif not a.json:
        print("%d feeds, %d items (%s), seed %d" % (
            a.feeds, len(truth["items"]), ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())),
            a.seed))
        print("%-4s %-21s %-21s %-21s %8s %9s" % (
            "bits", "exact  prec / recall", "near   prec / recall", "all    prec / recall",
            "fetch s", "articles"))
    for d in [int(x) for x in a.distances.split(",") if x.strip()]:
        config = os.path.join(work, "trawl-%d.toml" % d)
        db = os.path.join(work, "trawl-%d.db" % d)
        write_config(config, feed_dir, truth, d)
        elapsed = ingest(a.trawl, config, db)
        found, (articles, fingerprinted, linked) = clusters(db)
        r = evaluate(truth, found)
        r.update(distance=d, fetch_seconds=round(elapsed, 2), articles=articles,
                 fingerprinted=fingerprinted, near_linked=linked)
        results["runs"].append(r)
        if a.markdown:
            print("| %d | %s / %s | %s / %s | %s / %s | %s | %.2f |" % (
                d, pct(r["exact"]["precision"]).strip(), pct(r["exact"]["recall"]).strip(),
                pct(r["near"]["precision"]).strip(), pct(r["near"]["recall"]).strip(),
                pct(r["all"]["precision"]).strip(), pct(r["all"]["recall"]).strip(),
                pct(r["per_kind"].get("near_duplicate", float("nan"))).strip(), elapsed))
        elif not a.json:
            print("%-4d %s / %s   %s / %s   %s / %s %8.2f %9d" % (
                d, pct(r["exact"]["precision"]), pct(r["exact"]["recall"]),
                pct(r["near"]["precision"]), pct(r["near"]["recall"]),
                pct(r["all"]["precision"]), pct(r["all"]["recall"]), elapsed, articles))
        if not a.keep:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
    if a.json:
        print(json.dumps(results, indent=1))
    elif not a.markdown:
        for r in results["runs"]:
            print("bits %d: linked to their original: %s; %d pairs true (%d exact, %d near), "
                  "%d predicted; %d items not found in the database" % (
                      r["distance"], ", ".join("%s %s" % (k, pct(v).strip()) for k, v in r["per_kind"].items()),
                      r["all"]["pairs"], r["exact"]["pairs"], r["near"]["pairs"], r["all"]["predicted"],
                      r["missing_items"]))
    if not a.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
