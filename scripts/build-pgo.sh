#!/usr/bin/env bash
# A release build of `rampart` with profile-guided optimisation (PGO), for deployments that
# ingest large feeds:
#
#   bash scripts/build-pgo.sh        # writes target/pgo/release/rampart
#
# 1. builds an instrumented binary (target/pgo-gen/),
# 2. has it ingest a generated Shadowserver scan_dns report (bench/pipeline-vs-intelmq's
#    generator, another seed than the benchmark's, 60,000 rows) on one thread and on all
#    cores, which records how often each branch of the feed pipeline is taken,
# 3. builds again with that profile (target/pgo/), so the compiler lays out and inlines
#    the feed pipeline's hot paths by it.
#
# Code the training does not reach (the web server, rules, other formats) counts as rarely
# run: the compiler inlines less there, so it may run a little slower than in a plain
# release build (the tests and the other benchmarks use the plain build). Needs the rustup
# component llvm-tools (`rustup component add llvm-tools`) for llvm-profdata, and python3 for
# the generator.
# Two full release builds: about twenty minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

PROFDATA="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [ ! -x "$PROFDATA" ]; then
    echo "missing llvm-profdata: run 'rustup component add llvm-tools'" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "missing: python3 (for the training input)" >&2; exit 2; }

PROFILES="$REPO/target/pgo-profiles"
TRAIN="$REPO/target/pgo-train"
rm -rf "$PROFILES" "$TRAIN"
mkdir -p "$PROFILES" "$TRAIN"

echo "== instrumented build (target/pgo-gen)"
RUSTFLAGS="-Cprofile-generate=$PROFILES" cargo build --release --locked -p rampart --target-dir target/pgo-gen
# Build scripts of the instrumented build wrote profiles too; only the training's are wanted.
rm -f "$PROFILES"/*.profraw

echo "== training: rampart ingest of a generated report"
python3 bench/pipeline-vs-intelmq/generate.py "$TRAIN" --rows 60000 --duplicates 6000 --prefixes 2000 --seed 7 >/dev/null
CSV="$(ls "$TRAIN"/*.csv)"
for threads in 1 "$(nproc)"; do
    rm -rf "$TRAIN/data" "$TRAIN/out.jsonl"
    mkdir -p "$TRAIN/data"
    target/pgo-gen/release/rampart --data-dir "$TRAIN/data" ingest --threads "$threads" --routing "$TRAIN/asn.tsv" \
        --output "intelmq-jsonl:$TRAIN/out.jsonl" --no-raw "$CSV" >"$TRAIN/ingest.log" 2>&1 \
        || { cat "$TRAIN/ingest.log" >&2; echo "training run failed (--threads $threads)" >&2; exit 1; }
done
"$PROFDATA" merge -o "$PROFILES/rampart.profdata" "$PROFILES"/*.profraw

echo "== optimised build (target/pgo)"
RUSTFLAGS="-Cprofile-use=$PROFILES/rampart.profdata" cargo build --release --locked -p rampart --target-dir target/pgo
echo "built target/pgo/release/rampart"
