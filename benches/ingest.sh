#!/usr/bin/env bash
# End-to-end ingest bench: gen_feeds.py → nginx on 127.0.0.1 → `trawl fetch`
# (fresh database, then a second pass against the unchanged server), beside
# `newsboat -x reload` on the same served feeds; then, optionally, `trawl run`
# over the largest set for a few minutes. See BENCHMARKS.md.
#
#   benches/ingest.sh [--feeds "1000 10000"] [--runs 3] [--daemon-minutes 5]
#                     [--daemon-churn 0] [--concurrency 32] [--no-newsboat]
#                     [--newsboat-max 1000] [--work DIR] [--baseline PATH]
#                     [--trawl PATH]
#
# --baseline PATH: another trawl binary (say, one built from the last
# commit) run in the same loop, right after trawl's own passes, recorded as
# the tool "baseline": an A/B in one run.
#
# --trawl PATH: measure this trawl binary instead of building the checkout's.
#
# --daemon-churn P: while the daemon runs, P % of the feeds change every
# feed interval (2 minutes): their files are replaced by the same-named
# files of another generated set (seed 2, dated a day later; seed 3 after
# that, and so on), so each burst brings new articles to parse and store.
# The default, 0, serves the feeds unchanged: every answer is a 304.
#
# newsboat runs on the sets of at most --newsboat-max feeds (it needs minutes
# for 10,000); every run of it is in the same loop as trawl's, on the same
# server, one after the other.
#
# Needs python3, nginx, newsboat and GNU time; installs the Debian packages
# nginx, newsboat and time when missing (apt-get, as root). Everything it
# writes goes under --work (default target/bench-data/ingest). It stops
# nginx and the daemon on exit, also on Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SIZES="1000 10000"
RUNS=3
DAEMON_MINUTES=5
DAEMON_CHURN=0
CONCURRENCY=32
NEWSBOAT=1
NEWSBOAT_MAX=1000
WORK="$ROOT/target/bench-data/ingest"
BASELINE=""
TRAWL=""
PORT=18461
GEN="$ROOT/../shared/corpus/gen_feeds.py"

while [ $# -gt 0 ]; do
    case "$1" in
    --feeds) SIZES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --daemon-minutes) DAEMON_MINUTES=$2; shift 2 ;;
    --daemon-churn) DAEMON_CHURN=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --no-newsboat) NEWSBOAT=0; shift ;;
    --newsboat-max) NEWSBOAT_MAX=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --trawl) TRAWL=$(realpath "$2"); shift 2 ;;
    *) echo "usage: $0 [--feeds \"1000 10000\"] [--runs N] [--daemon-minutes M] [--daemon-churn P] [--concurrency C] [--no-newsboat] [--work DIR] [--port P] [--baseline PATH] [--trawl PATH]" >&2; exit 2 ;;
    esac
done

case "$DAEMON_CHURN" in
    [0-9] | [1-9][0-9] | 100) ;;
    *) echo "ingest bench: --daemon-churn takes a whole percentage, 0 to 100" >&2; exit 2 ;;
esac

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- tools
need_pkg() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$1" ] && return 0
    log "installing the Debian package $2"
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
command -v python3 >/dev/null || { echo "ingest bench: python3 is needed (gen_feeds.py)" >&2; exit 1; }
[ -f "$GEN" ] || { echo "ingest bench: no $GEN" >&2; exit 1; }
need_pkg nginx nginx
[ -x /usr/bin/time ] || need_pkg time time
[ "$NEWSBOAT" = 1 ] && need_pkg newsboat newsboat
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ -z "$TRAWL" ]; then
    log "building trawl (release)"
    cargo build --release --quiet
    TRAWL="$ROOT/target/release/trawl"
fi
log "trawl: $TRAWL"

mkdir -p "$WORK"
RESULTS="$WORK/results.tsv"
printf 'feeds\trun\ttool\tpass\twall_s\tcpu_s\trss_kib\tarticles\tn200\tn304\tnother\tbytes_sent\n' >"$RESULTS"

# ---- nginx
NGX="$WORK/nginx"
NGINX_PID=""
DAEMON_PID=""
CHANGER_PID=""
cleanup() {
    if [ -n "$CHANGER_PID" ]; then kill "$CHANGER_PID" 2>/dev/null || true; fi
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    if [ -f "$NGX/nginx.pid" ]; then
        "$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -s quit 2>/dev/null || true
        sleep 0.5
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_nginx() { # feeds folder
    mkdir -p "$NGX/logs" "$NGX/tmp"
    cat >"$NGX/nginx.conf" <<EOF
# One worker: the server gets one core's worth at most, the client the rest.
worker_processes 1;
daemon on;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 4096; }
http {
    types { application/rss+xml xml; application/feed+json json; }
    default_type application/octet-stream;
    log_format st '\$status \$body_bytes_sent';
    access_log $NGX/logs/access.log st;
    client_body_temp_path $NGX/tmp;
    proxy_temp_path $NGX/tmp;
    fastcgi_temp_path $NGX/tmp;
    uwsgi_temp_path $NGX/tmp;
    scgi_temp_path $NGX/tmp;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    open_file_cache max=20000 inactive=10m;
    server {
        listen 127.0.0.1:$PORT;
        root $1;
        etag on;              # the default, said out loud
        if_modified_since exact;
        gzip off;             # never compress on the fly...
        gzip_static on;       # ...serve the .gz made beforehand instead
    }
}
EOF
    "$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -s quit 2>/dev/null || true
    sleep 0.3
    "$NGINX" -p "$NGX" -c "$NGX/nginx.conf"
    for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/truth.json" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "ingest bench: nginx did not come up (see $NGX/logs/error.log)" >&2
    exit 1
}

# Counts the access log since it was last emptied: "n200 n304 nother bytes".
count_log() {
    awk '{ if ($1 == 200) a++; else if ($1 == 304) b++; else c++; s += $2 }
         END { printf "%d %d %d %d\n", a, b, c, s }' "$NGX/logs/access.log"
}
reset_log() { : >"$NGX/logs/access.log"; }

# Runs a command under GNU time; prints "wall cpu rss_kib".
timed() { # out-prefix command...
    local prefix=$1; shift
    /usr/bin/time -v -o "$prefix.time" "$@" >"$prefix.out" 2>"$prefix.err" || true
    python3 - "$prefix.time" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
def f(key):
    return re.search(re.escape(key) + r": (.*)", t).group(1).strip()
wall = f("Elapsed (wall clock) time (h:mm:ss or m:ss)")
secs = 0.0
for part in wall.split(":"):
    secs = secs * 60 + float(part)
cpu = float(f("User time (seconds)")) + float(f("System time (seconds)"))
print(f"{secs:.3f} {cpu:.2f} {f('Maximum resident set size (kbytes)')}")
EOF
}

articles_in() { # sqlite file, table-count query
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

record() { # feeds run tool pass "wall cpu rss" articles
    local n200 n304 nother bytes
    read -r n200 n304 nother bytes <<<"$(count_log)"
    read -r wall cpu rss <<<"$5"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
        "$wall" "$cpu" "$rss" "$6" "$n200" "$n304" "$nother" "$bytes" >>"$RESULTS"
    log "$1 feeds, run $2, $3 $4: wall ${wall}s, cpu ${cpu}s, rss ${rss} KiB, articles $6, 200: $n200, 304: $n304, other: $nother"
}

# ---- feeds
make_feeds() { # N [seed] → folder
    # Seed 1 is the set every pass runs on. Seeds 2, 3, ... are the daemon's
    # changed feeds (--daemon-churn), each dated a day after the one before.
    local n=$1 seed=${2:-1} dir="$WORK/feeds-$1"
    [ "$seed" = 1 ] || dir="$WORK/feeds-$1-seed$seed"
    local now
    now=$(date -u -d "2025-06-01T12:00:00Z + $((seed - 1)) days" +%Y-%m-%dT%H:%M:%SZ)
    if [ ! -f "$dir/truth.json" ] || [ "$(python3 -c 'import json,sys; t = json.load(open(sys.argv[1])); print(t["summary"]["feeds"], t["seed"])' "$dir/truth.json")" != "$n $seed" ]; then
        log "generating $n feeds (seed $seed) into $dir"
        python3 "$GEN" --feeds "$n" --seed "$seed" --now "$now" --out "$dir" 2>"$WORK/gen-$n.log"
        rm -f "$dir"/*.gz "$dir/.gzipped"
    fi
    if [ ! -f "$dir/.gzipped" ]; then
        log "pre-compressing $n feeds of seed $seed (gzip -6, mtime kept)"
        find "$dir" -maxdepth 1 \( -name 'f*.xml' -o -name 'f*.json' \) -print0 |
            xargs -0 -P "$(nproc)" -n 200 gzip -k -f -6
        touch "$dir/.gzipped"
    fi
    echo "$dir"
}

write_configs() { # N dir → writes $WORK/cfg-N/{trawl.toml,urls,newsboat.conf}
    local n=$1 dir=$2 cfg="$WORK/cfg-$1"
    mkdir -p "$cfg"
    python3 - "$dir" "$PORT" "$CONCURRENCY" >"$cfg/trawl.toml" <<'EOF'
import json, sys
dir, port, conc = sys.argv[1], sys.argv[2], sys.argv[3]
feeds = json.load(open(dir + "/truth.json"))["feeds"]
print(f"""# Generated by benches/ingest.sh: every feed is on one host (127.0.0.1),
# so the per-host limits would serialize the run; they are lifted here.
timezone = "UTC"

[daemon]
concurrency = {conc}
per_host_concurrency = {conc}
per_host_gap = 0
min_interval = "1m"
""")
for f in feeds:
    name = f["file"].split(".")[0]
    print(f'[[feed]]\nname = "{name}"\nurl = "http://127.0.0.1:{port}/{f["file"]}"\ninterval = "2m"\n')
EOF
    python3 -c 'import json,sys; [print("http://127.0.0.1:%s/%s" % (sys.argv[2], f["file"])) for f in json.load(open(sys.argv[1]+"/truth.json"))["feeds"]]' "$dir" "$PORT" >"$cfg/urls"
    cat >"$cfg/newsboat.conf" <<EOF
reload-threads $CONCURRENCY
download-timeout 60
max-items 0
EOF
    echo "$cfg"
}

run_trawl_pass() { # N run pass cfg db [binary tool]
    local bin=${6:-$TRAWL} tool=${7:-trawl}
    local prefix="$WORK/run-$1-$2-$tool-$3"
    reset_log
    local t
    t=$(timed "$prefix" "$bin" -q --config "$4/trawl.toml" --db "$5" fetch)
    record "$1" "$2" "$tool" "$3" "$t" "$(articles_in "$5" 'select count(*) from articles')"
    grep '^total:' "$prefix.out" >&2 || { tail -3 "$prefix.err" >&2; }
}

run_newsboat_pass() { # N run pass cfg cache
    local prefix="$WORK/run-$1-$2-newsboat-$3"
    reset_log
    local t
    t=$(HOME="$WORK/newsboat-home" timed "$prefix" newsboat -u "$4/urls" -c "$5" -C "$4/newsboat.conf" -x reload)
    record "$1" "$2" newsboat "$3" "$t" "$(articles_in "$5" 'select count(*) from rss_item')"
}

# The daemon's changed feeds (--daemon-churn): a copy of the served folder
# (hard links, so the set itself is never touched), served by nginx, in
# which a changer replaces files while the daemon runs.
start_churn() { # N folder minutes → sets CHANGER_PID
    local n=$1 dir=$2 minutes=$3
    local per_set=$(((100 + DAEMON_CHURN - 1) / DAEMON_CHURN))
    local cycles=$((minutes * 60 / 120))
    local sets=$(((cycles + per_set - 1) / per_set))
    local seeds="" s
    for s in $(seq 2 $((sets + 1))); do
        make_feeds "$n" "$s" >/dev/null
        seeds="$seeds $WORK/feeds-$n-seed$s"
    done
    SERVED="$WORK/served-$n"
    rm -rf "$SERVED"
    mkdir -p "$SERVED"
    cp -al "$dir/." "$SERVED/"
    start_nginx "$SERVED"
    log "daemon: $DAEMON_CHURN % of the feeds change every 2 minutes ($cycles changes, log in $WORK/churn-$n.tsv)"
    # Every 2 minutes, from the first minute on: the next slice of the
    # feeds (every per_set-th feed that has a same-named file in the next
    # set) gets that file, .gz first, each written beside it and renamed
    # over it so that nginx never serves half a file. The new mtime gives
    # a new ETag and Last-Modified.
    python3 - "$SERVED" "$per_set" "$cycles" "$WORK/churn-$n.tsv" $seeds <<'EOF' &
import os, shutil, sys, time
served, per_set, cycles, log, sets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
names = sorted(f for f in os.listdir(served) if f[0] == "f" and f.endswith((".xml", ".json")))
start = time.monotonic()
with open(log, "w") as out:
    out.write("t\tcycle\tset\tfiles\n")
    for c in range(cycles):
        time.sleep(max(0.0, start + 60 + 120 * c - time.monotonic()))
        src = sets[c // per_set]
        mine = [f for i, f in enumerate(names) if i % per_set == c % per_set
                and os.path.exists(os.path.join(src, f))]
        for f in mine:
            for name in (f + ".gz", f):
                tmp = os.path.join(served, "." + name + ".new")
                shutil.copyfile(os.path.join(src, name), tmp)
                os.replace(tmp, os.path.join(served, name))
        out.write("%.1f\t%d\t%s\t%d\n" % (time.monotonic() - start, c + 1, os.path.basename(src), len(mine)))
        out.flush()
EOF
    CHANGER_PID=$!
}

daemon_steady_state() { # N cfg db minutes feeds-folder
    local out="$WORK/daemon-$1.tsv"
    local before
    before=$(articles_in "$3" 'select count(*) from articles')
    CHANGER_PID=""
    if [ "$DAEMON_CHURN" -gt 0 ]; then
        start_churn "$1" "$5" "$4"
    fi
    log "daemon: trawl run over $1 feeds for $4 min (samples every second into $out)"
    reset_log
    "$TRAWL" -q --config "$2/trawl.toml" --db "$3" run >"$WORK/daemon-$1.out" 2>"$WORK/daemon-$1.err" &
    DAEMON_PID=$!
    # Every second: the daemon's CPU ticks (utime + stime of /proc/PID/stat),
    # its VmRSS and VmHWM, and how many requests nginx has logged so far.
    python3 - "$DAEMON_PID" "$(($4 * 60))" "$NGX/logs/access.log" "$out" <<'EOF'
import os, statistics, sys, time
pid, seconds, access, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
hz = os.sysconf("SC_CLK_TCK")
rows = []
hwm = 0
start = time.monotonic()
with open(out, "w") as f:
    f.write("t\tcpu_ticks\trss_kib\trequests\n")
    while time.monotonic() - start < seconds:
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            status = {l.split(":")[0]: l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Vm")}
            rss, hwm = int(status["VmRSS"]), int(status["VmHWM"])
        except (OSError, KeyError):
            break
        ticks = int(stat[11]) + int(stat[12])  # fields 14 and 15: utime, stime
        with open(access, "rb") as a:
            reqs = sum(1 for _ in a)
        row = (time.monotonic() - start, ticks, rss, reqs)
        rows.append(row)
        f.write("%.2f\t%d\t%d\t%d\n" % row)
        f.flush()
        time.sleep(1 - (time.monotonic() - start) % 1)
if len(rows) < 3:
    sys.exit("daemon: it stopped early; see the .err file")
idle, busy = [], []
for (t0, c0, _, r0), (t1, c1, _, r1) in zip(rows, rows[1:]):
    pct = 100.0 * (c1 - c0) / hz / (t1 - t0)
    (busy if r1 != r0 else idle).append(pct)
span = rows[-1][0] - rows[0][0]
rss = [r[2] for r in rows]
mean = lambda xs: statistics.mean(xs) if xs else 0.0
print(f"daemon: {span:.0f} s sampled, {rows[-1][3]} requests; CPU over the whole time "
      f"{100.0 * (rows[-1][1] - rows[0][1]) / hz / span:.2f} %; in the {len(idle)} s "
      f"without a request {mean(idle):.2f} %; in the {len(busy)} s with requests {mean(busy):.1f} %")
print(f"daemon: RSS first {rss[0] / 1024:.1f} MiB, median {statistics.median(rss) / 1024:.1f} MiB, "
      f"max {max(rss) / 1024:.1f} MiB, last {rss[-1] / 1024:.1f} MiB; peak (VmHWM) {hwm / 1024:.1f} MiB")
# The trend: the largest sample of each 2-minute window (one feed interval).
windows = {}
for t, _, r, _ in rows:
    windows[int(t // 120)] = max(windows.get(int(t // 120), 0), r)
print("daemon: RSS max per 2 minutes (MiB): " + ", ".join(f"{windows[w] / 1024:.1f}" for w in sorted(windows)))
EOF
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
    if [ -n "$CHANGER_PID" ]; then
        kill "$CHANGER_PID" 2>/dev/null || true
        wait "$CHANGER_PID" 2>/dev/null || true
        CHANGER_PID=""
        awk 'NR > 1 { n++; f += $4 } END { printf "daemon: %d changes made, %d files changed\n", n, f }' "$WORK/churn-$1.tsv"
    fi
    local after
    after=$(articles_in "$3" 'select count(*) from articles')
    echo "daemon: articles $before before, $after after: $((after - before)) stored by the daemon"
}

# ---- the runs
LAST_CFG="" LAST_DB="" LAST_N="" LAST_DIR=""
for N in $SIZES; do
    DIR=$(make_feeds "$N")
    CFG=$(write_configs "$N" "$DIR")
    start_nginx "$DIR"
    BYTES=$(du -sbL --exclude='*.gz' "$DIR" | cut -f1)
    log "$N feeds: $(ls "$DIR" | grep -cE "^f[0-9]+\.(xml|json)$") documents, $BYTES bytes uncompressed"
    for R in $(seq "$RUNS"); do
        DB="$WORK/trawl-$N.db"
        rm -f "$DB" "$DB-wal" "$DB-shm"
        sync
        run_trawl_pass "$N" "$R" first "$CFG" "$DB"
        run_trawl_pass "$N" "$R" second "$CFG" "$DB"
        if [ -n "$BASELINE" ]; then
            BDB="$WORK/baseline-$N.db"
            rm -f "$BDB" "$BDB-wal" "$BDB-shm"
            sync
            run_trawl_pass "$N" "$R" first "$CFG" "$BDB" "$BASELINE" baseline
            run_trawl_pass "$N" "$R" second "$CFG" "$BDB" "$BASELINE" baseline
        fi
        if [ "$NEWSBOAT" = 1 ] && [ "$N" -le "$NEWSBOAT_MAX" ]; then
            CACHE="$WORK/newsboat-$N.db"
            rm -f "$CACHE" "$CACHE.lock"
            mkdir -p "$WORK/newsboat-home"
            run_newsboat_pass "$N" "$R" first "$CFG" "$CACHE"
            run_newsboat_pass "$N" "$R" second "$CFG" "$CACHE"
        fi
    done
    LAST_CFG=$CFG LAST_DB=$DB LAST_N=$N LAST_DIR=$DIR
done

python3 - "$RESULTS" <<'EOF'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
by = collections.defaultdict(list)
runs = collections.defaultdict(dict)
for r in rows:
    d = dict(zip(head, r))
    by[(int(d["feeds"]), d["tool"], d["pass"])].append(d)
    runs[(int(d["feeds"]), d["run"], d["pass"])][d["tool"]] = float(d["wall_s"])
med = lambda xs: statistics.median(float(x) for x in xs)
print("\nmedians (%s):" % sys.argv[1])
print(f"{'feeds':>6} {'tool':9} {'pass':6} {'wall s':>8} {'cpu s':>7} {'rss MiB':>8} {'articles':>9} {'200':>6} {'304':>6} {'other':>5} {'MB sent':>8}")
for (n, tool, p), ds in sorted(by.items()):
    print(f"{n:>6} {tool:9} {p:6} {med(d['wall_s'] for d in ds):>8.2f} {med(d['cpu_s'] for d in ds):>7.2f} "
          f"{med(d['rss_kib'] for d in ds) / 1024:>8.1f} {med(d['articles'] for d in ds):>9.0f} "
          f"{med(d['n200'] for d in ds):>6.0f} {med(d['n304'] for d in ds):>6.0f} {med(d['nother'] for d in ds):>5.0f} "
          f"{med(d['bytes_sent'] for d in ds) / 1e6:>8.1f}")
ratios = collections.defaultdict(list)
for (n, run, p), tools in runs.items():
    if "trawl" in tools and "newsboat" in tools and tools["trawl"] > 0:
        ratios[(n, p)].append(tools["newsboat"] / tools["trawl"])
for (n, p), rs in sorted(ratios.items()):
    print(f"{n} feeds, {p} pass: newsboat wall / trawl wall, same run: "
          + ", ".join(f"{r:.1f}x" for r in rs) + f" (median {statistics.median(rs):.1f}x)")
base = collections.defaultdict(list)
for (n, run, p), tools in runs.items():
    if "trawl" in tools and "baseline" in tools and tools["trawl"] > 0:
        base[(n, p)].append(tools["baseline"] / tools["trawl"])
for (n, p), rs in sorted(base.items()):
    print(f"{n} feeds, {p} pass: baseline wall / trawl wall, same run: "
          + ", ".join(f"{r:.1f}x" for r in rs) + f" (median {statistics.median(rs):.1f}x)")
EOF

if [ "$DAEMON_MINUTES" -gt 0 ] && [ -n "$LAST_DB" ]; then
    daemon_steady_state "$LAST_N" "$LAST_CFG" "$LAST_DB" "$DAEMON_MINUTES" "$LAST_DIR"
fi
