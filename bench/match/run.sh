#!/usr/bin/env bash
# The indicator matcher on one core, and STIX pattern matching against stix2-matcher
# (the OASIS reference, from PyPI) on the same patterns and observations, in one run.
#
#   bash bench/match/run.sh [--indicators 10000000] [--lookups 10000000] [--patterns 100000]
#        [--observations 1000000] [--sample-patterns 200] [--sample-observations 100] [--no-build]
#
# Builds rampart-bench-match (release), installs stix2-matcher 3.0.0 into a cached virtualenv
# under target/bench-match/ (first run only; needs PyPI), writes a sample of the patterns and
# observations with Rampart's answer for every pair, times stix2-matcher on those pairs and
# checks that it answers the same, then times Rampart and prints the ratio.
# Exit status: 0 when everything ran and both matchers agreed on every pair (a target missed
# does not fail the run).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

ARGS=()
BUILD=1
SAMPLE_ARGS=(--sample-patterns 200 --sample-observations 100)
while [ $# -gt 0 ]; do
    case "$1" in
        --indicators|--lookups|--patterns|--observations) ARGS+=("$1" "$2"); shift 2 ;;
        --sample-patterns|--sample-observations) SAMPLE_ARGS+=("$1" "$2"); shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

WORK="$REPO/target/bench-match"
VENV="$WORK/venv"
mkdir -p "$WORK"
if [ "$BUILD" = 1 ]; then
    cargo build --release -p rampart-bench-match
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import stix2matcher" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check stix2-matcher==3.0.0
fi

printf '\n== Rampart (writes the sample first)\n'
"$REPO/target/release/rampart-bench-match" "${ARGS[@]}" --sample "$WORK/sample" "${SAMPLE_ARGS[@]}" | tee "$WORK/rampart.out"

printf '\n== stix2-matcher %s on the sample\n' "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("stix2-matcher"))')"
set +e
"$VENV/bin/python" "$HERE/stix2_matcher_pairs.py" "$WORK/sample" | tee "$WORK/stix2-matcher.out"
AGREE=${PIPESTATUS[0]}
set -e

rampart_obs=$(sed -n 's/^rampart observations_per_second=\([0-9]*\) patterns=\([0-9]*\)$/\1/p' "$WORK/rampart.out")
patterns=$(sed -n 's/^rampart observations_per_second=\([0-9]*\) patterns=\([0-9]*\)$/\2/p' "$WORK/rampart.out")
theirs=$(sed -n 's/^stix2matcher pairs_per_second=\([0-9]*\)$/\1/p' "$WORK/stix2-matcher.out")
printf '\n== STIX patterns, one core\n'
awk -v obs="$rampart_obs" -v n="$patterns" -v pairs="$theirs" 'BEGIN {
    ours = obs * n
    printf "%-16s %22s %30s\n", "", "pattern x observation", "observations/s against"
    printf "%-16s %22s %30s\n", "", "pairs/s", n " patterns"
    printf "%-16s %22.3e %30.3f\n", "stix2-matcher", pairs, pairs / n
    printf "%-16s %22.3e %30.0f\n", "Rampart", ours, obs
    printf "ratio: %.3e x\n", ours / pairs
}'
if [ "$AGREE" != 0 ]; then
    echo "stix2-matcher and Rampart disagree on some pairs (above)" >&2
    exit 1
fi
