#!/usr/bin/env bash
# Rampart's feed pipeline vs IntelMQ 3.5 on the same Shadowserver report, in one run.
#
#   bash bench/pipeline-vs-intelmq/run.sh [--rows 110000] [--duplicates 10000] [--prefixes 3000]
#        [--skip-intelmq] [--skip-rampart] [--no-build] [--pgo] [--rampart-bin PATH]
#        [--work DIR] [--runs 5] [--intelmq-parser-log ERROR]
#
# Builds Rampart (cargo build --release -p rampart; with --pgo, scripts/build-pgo.sh, the
# release build with profile-guided optimisation, and measures that binary), generates the
# input into the work directory (default target/bench-pipeline/), runs `rampart ingest` on
# one core and on all cores (--runs times each, each on a fresh data directory after a sync;
# the table shows the median run, as one run of a fifth of a second swings with the
# machine), installs
# IntelMQ 3.5 + pyasn into a cached virtualenv there (first run only; needs PyPI), runs
# IntelMQ's file collector -> Shadowserver parser -> ASN lookup -> deduplicator -> file
# output, checks that all outputs hold the same events, and prints the table.
# Rampart runs first: each side then starts on a quiet machine (right after IntelMQ's exit,
# with hundreds of MiB being freed and its output written back, Rampart's runs measured 1.4
# (one core) and 1.8 (all cores) times slower than on a quiet machine).
# See README.md next to this file for the method. Exit status: 0 when every run finished and
# every comparison that ran found the same events (targets missed do not fail the run).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

ROWS=110000
DUPLICATES=10000
PREFIXES=3000
SKIP_INTELMQ=0
SKIP_RAMPART=0
BUILD=1
RAMPART_BIN="$REPO/target/release/rampart"
BINARY="release build (cargo build --release)"
PGO=0
WORK="$REPO/target/bench-pipeline"
PARSER_LOG=ERROR
RUNS=5
INTELMQ_VERSION=3.5.0
PYASN_VERSION=1.6.2
SCHEMA="$REPO/crates/pipeline/data/shadowserver-schema.json"

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --duplicates) DUPLICATES="$2"; shift 2 ;;
        --prefixes) PREFIXES="$2"; shift 2 ;;
        --skip-intelmq) SKIP_INTELMQ=1; shift ;;
        --skip-rampart) SKIP_RAMPART=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --pgo) PGO=1; RAMPART_BIN="$REPO/target/pgo/release/rampart"
               BINARY="release build with profile-guided optimisation (scripts/build-pgo.sh)"; shift ;;
        --rampart-bin) RAMPART_BIN="$(realpath "$2")"; BINARY="$RAMPART_BIN"; BUILD=0; shift 2 ;;
        --work) mkdir -p "$2"; WORK="$(cd "$2" && pwd)"; shift 2 ;;
        --intelmq-parser-log) PARSER_LOG="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --schema) SCHEMA="$(realpath "$2")"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 2 ;;
    esac
done

UNIQUE=$((ROWS - DUPLICATES))
REPORT_NAME=2026-11-30-scan_dns-tw-geo.csv
CSV="$WORK/$REPORT_NAME"
RUN_ID="$(date +%s)-$$"
STATUS=0
mkdir -p "$WORK"
rm -f "$WORK"/compare-*.rc

step() { printf '\n== %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 2; }; }
need python3 "Python 3.9 or newer"

# --- Rampart build -----------------------------------------------------------------------
if [ "$SKIP_RAMPART" = 0 ]; then
    need taskset "util-linux"
    [ -x /usr/bin/time ] || { echo "missing: /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
    if [ "$BUILD" = 1 ] && [ "$PGO" = 1 ]; then
        step "building Rampart with profile-guided optimisation (scripts/build-pgo.sh)"
        bash "$REPO/scripts/build-pgo.sh"
    elif [ "$BUILD" = 1 ]; then
        step "building Rampart (cargo build --release -p rampart)"
        cargo build --release -p rampart
    fi
    [ -x "$RAMPART_BIN" ] || { echo "no Rampart binary at $RAMPART_BIN" >&2; exit 2; }
fi

# --- input -------------------------------------------------------------------------------
step "generating $ROWS rows ($DUPLICATES duplicates) and $PREFIXES prefixes into $WORK"
python3 "$HERE/generate.py" "$WORK" --rows "$ROWS" --duplicates "$DUPLICATES" --prefixes "$PREFIXES"

# --- Rampart -----------------------------------------------------------------------------
run_rampart() {  # mode, then the command prefix (e.g. taskset -c 0)
    local mode="$1"; shift
    local data="$WORK/rampart-data" out="$WORK/rampart-$mode.jsonl" run
    rm -f "$WORK/rampart-$mode".*.summary.json "$WORK/rampart-$mode".*.time
    echo "\$ $* rampart --data-dir $data ingest --routing $WORK/asn.tsv --output intelmq-jsonl:$out --no-raw --summary-json $WORK/rampart-$mode.N.summary.json $CSV"
    for run in $(seq "$RUNS"); do
        rm -rf "$data" "$out"
        mkdir -p "$data"
        # The last run's files are written back now, not while this run writes its own.
        sync
        if /usr/bin/time -v -o "$WORK/rampart-$mode.$run.time" "$@" "$RAMPART_BIN" --data-dir "$data" ingest \
                --routing "$WORK/asn.tsv" --output "intelmq-jsonl:$out" --no-raw \
                --summary-json "$WORK/rampart-$mode.$run.summary.json" "$CSV" >"$WORK/rampart-$mode.log" 2>&1; then
            [ "$run" = 1 ] && tail -n 12 "$WORK/rampart-$mode.log" | tr '\r' '\n' | sed -n '/./p' | tail -n 3 | sed 's/^/  /'
            echo "  run $run: $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["seconds"], 3))' "$WORK/rampart-$mode.$run.summary.json") s"
        else
            echo "rampart ingest failed ($mode); its output:" >&2
            tail -n 30 "$WORK/rampart-$mode.log" >&2
            STATUS=1
            return
        fi
    done
}

if [ "$SKIP_RAMPART" = 0 ]; then
    step "Rampart on one core (taskset -c 0)"
    run_rampart 1core taskset -c 0
    step "Rampart on all cores ($(nproc))"
    run_rampart allcores
    # Its output is written back now, not during IntelMQ's run.
    sync
fi

# --- IntelMQ -----------------------------------------------------------------------------
setup_intelmq() {
    local venv="$WORK/intelmq-venv"
    if [ "$(id -u)" = 0 ] && ! id -u intelmq >/dev/null 2>&1; then
        echo "IntelMQ refuses to run as root: creating the system user intelmq"
        useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin intelmq
    fi
    if ! "$venv/bin/python" -c "import sys, intelmq, pyasn; sys.exit(intelmq.__version__ != '$INTELMQ_VERSION')" 2>/dev/null; then
        echo "installing intelmq==$INTELMQ_VERSION and pyasn==$PYASN_VERSION from PyPI into $venv"
        [ -x /usr/bin/python3 ] || { echo "missing /usr/bin/python3 (the venv is built from the system Python so the intelmq user can read it)" >&2; exit 2; }
        rm -rf "$venv"
        # pyasn has no wheel: building it needs gcc and the Python headers (Debian: python3-dev).
        (umask 022 && /usr/bin/python3 -m venv "$venv" \
            && "$venv/bin/pip" install --quiet --disable-pip-version-check \
                "intelmq==$INTELMQ_VERSION" "pyasn==$PYASN_VERSION")
    fi
    if [ "$(id -u)" = 0 ] && ! runuser -u intelmq -- test -x "$venv/bin/python"; then
        echo "the intelmq user cannot reach $venv (a parent directory is not world-searchable); use --work DIR elsewhere" >&2
        exit 2
    fi
    # The pyasn database must load in that venv and find every address of the report.
    "$venv/bin/python" - "$WORK/ipasn.dat" "$CSV" <<'EOF'
import csv, sys, pyasn
db = pyasn.pyasn(sys.argv[1])
with open(sys.argv[2], newline="") as f:
    rows = list(csv.DictReader(f))
bad = sum(1 for r in rows if str(db.lookup(r["ip"])[0]) != r["asn"])
print(f"pyasn {pyasn.__version__ if hasattr(pyasn, '__version__') else ''} loads ipasn.dat; "
      f"{len(rows) - bad:,} of {len(rows):,} rows look up to the ASN in the report")
sys.exit(1 if bad else 0)
EOF
}

if [ "$SKIP_INTELMQ" = 0 ]; then
    step "IntelMQ $INTELMQ_VERSION"
    [ -f "$SCHEMA" ] || { echo "missing Shadowserver schema $SCHEMA (--schema PATH)" >&2; exit 2; }
    need redis-cli "the Redis client (Debian: redis-tools); Redis must listen on 127.0.0.1:6379"
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 2; }
    setup_intelmq
    python3 "$HERE/intelmq_run.py" --work "$WORK" --venv "$WORK/intelmq-venv" --csv "$CSV" \
        --asn-db "$WORK/ipasn.dat" --schema "$SCHEMA" --rows "$ROWS" --expected "$UNIQUE" \
        --parser-logging-level "$PARSER_LOG" --run-id "$RUN_ID" || STATUS=1
fi

# --- same events? ------------------------------------------------------------------------
step "comparing outputs"
INTELMQ_OUT="$WORK/intelmq-out/events.jsonl"
if [ -s "$WORK/rampart-1core.jsonl" ] && [ -f "$INTELMQ_OUT" ] && [ -f "$WORK/intelmq-result.json" ] \
        && python3 -c "import json,sys; sys.exit(json.load(open('$WORK/intelmq-result.json')).get('csv_sha256') != json.load(open('$WORK/generate.json'))['csv_sha256'])"; then
    rc=0
    python3 "$HERE/compare.py" --expected "$UNIQUE" --name-a IntelMQ --name-b "Rampart (1 core)" \
        "$INTELMQ_OUT" "$WORK/rampart-1core.jsonl" || rc=$?
    echo "$rc" >"$WORK/compare-intelmq-vs-rampart.rc"
    [ "$rc" = 0 ] || STATUS=1
else
    echo "IntelMQ vs Rampart: not compared (needs an IntelMQ output from this input and a Rampart output)"
fi
if [ -s "$WORK/rampart-1core.jsonl" ] && [ -s "$WORK/rampart-allcores.jsonl" ]; then
    rc=0
    python3 "$HERE/compare.py" --expected "$UNIQUE" --name-a "Rampart (1 core)" --name-b "Rampart (all cores)" \
        "$WORK/rampart-1core.jsonl" "$WORK/rampart-allcores.jsonl" || rc=$?
    echo "$rc" >"$WORK/compare-rampart-1core-vs-allcores.rc"
    [ "$rc" = 0 ] || STATUS=1
fi

python3 "$HERE/report.py" --work "$WORK" --run-id "$RUN_ID" --binary "$BINARY"
exit "$STATUS"
