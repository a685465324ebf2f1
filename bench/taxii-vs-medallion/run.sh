#!/usr/bin/env bash
# Rampart's TAXII 2.1 server vs medallion (and OpenTAXII) on the same collection, in one run.
#
#   bash bench/taxii-vs-medallion/run.sh [--objects 100000] [--large 1000000] [--page 100]
#        [--medallion-objects N] [--skip-medallion] [--skip-opentaxii] [--skip-rampart]
#        [--no-build] [--binary PATH] [--work DIR] [--batch 5000]
#
# Builds Rampart (cargo build --release -p rampart), installs medallion 3.0.0 + taxii2-client
# 2.3.0 and OpenTAXII 0.9.3 into cached virtualenvs under the work directory (default
# target/bench-taxii/; first run only, needs PyPI), then serves the same N STIX 2.1 indicators
# from each server and fetches them page by page with taxii2client's as_pages: per-page p50/p99/
# max, total, objects/s, peak RSS and the ratios. Then tops Rampart up to --large objects and
# fetches again, for the target (p99 <= 20 ms per 100-object page at 1,000,000 objects).
# See README.md next to this file. Exit status: 0 when every server returned exactly the
# objects it was given (a missed target is not an error); 1 otherwise; 2 for a missing
# prerequisite.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

OBJECTS=100000
LARGE=1000000
PAGE=100
BATCH=5000
MEDALLION_OBJECTS=""
SKIP_MEDALLION=0
SKIP_OPENTAXII=0
SKIP_RAMPART=0
BUILD=1
BINARY="$REPO/target/release/rampart"
WORK="$REPO/target/bench-taxii"
MEDALLION_VERSION=3.0.0
TAXII2_CLIENT_VERSION=2.3.0
OPENTAXII_VERSION=0.9.3
# What OpenTAXII 0.9.3 was tested with (it pins none of its dependencies).
OPENTAXII_PINS="SQLAlchemy==2.1.9 Flask==3.1.3 Werkzeug==3.1.9 stix2==3.0.2 marshmallow==4.4.0 PyJWT==2.15.1 structlog==26.1.0"
# medallion's server is Flask's (werkzeug's) development server, as its `medallion` command runs it.
MEDALLION_PINS="Flask==3.1.3 Werkzeug==3.1.9 Flask-HTTPAuth==4.8.1 requests==2.34.2"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
positive() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "$1 needs a number, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
    case "$1" in
        --objects) positive "$1" "${2-}"; OBJECTS="$2"; shift 2 ;;
        --large) positive "$1" "${2-}"; LARGE="$2"; shift 2 ;;
        --page) positive "$1" "${2-}"; PAGE="$2"; shift 2 ;;
        --batch) positive "$1" "${2-}"; BATCH="$2"; shift 2 ;;
        --medallion-objects) positive "$1" "${2-}"; MEDALLION_OBJECTS="$2"; shift 2 ;;
        --skip-medallion) SKIP_MEDALLION=1; shift ;;
        --skip-opentaxii) SKIP_OPENTAXII=1; shift ;;
        --skip-rampart) SKIP_RAMPART=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --binary) [ -n "${2-}" ] || usage 2; BINARY="$(realpath "$2")"; BUILD=0; shift 2 ;;
        --work) [ -n "${2-}" ] || usage 2; mkdir -p "$2"; WORK="$(cd "$2" && pwd)"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 2 ;;
    esac
done
[ "$OBJECTS" -ge 1 ] && [ "$PAGE" -ge 1 ] && [ "$BATCH" -ge 1 ] || { echo "--objects, --page and --batch must be at least 1" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 2; }; }
need python3 "Python 3.9 or newer, with venv (Debian: apt-get install python3-venv)"
mkdir -p "$WORK"

# --- Rampart build -----------------------------------------------------------------------
if [ "$SKIP_RAMPART" = 0 ]; then
    if [ "$BUILD" = 1 ]; then
        need cargo "a Rust toolchain"
        step "building Rampart (cargo build --release -p rampart)"
        cargo build --release -p rampart
    fi
    [ -x "$BINARY" ] || { echo "no Rampart binary at $BINARY (build it, or --binary PATH)" >&2; exit 2; }
fi

# --- virtualenvs -------------------------------------------------------------------------
venv_ok() {  # venv dir, python check
    [ -x "$1/bin/python" ] && "$1/bin/python" -c "$2" >/dev/null 2>&1
}
VENV="$WORK/venv"
if ! venv_ok "$VENV" "import sys; from importlib.metadata import version as v; sys.exit(not (v('medallion') == '$MEDALLION_VERSION' and v('taxii2-client') == '$TAXII2_CLIENT_VERSION'))"; then
    step "installing medallion==$MEDALLION_VERSION and taxii2-client==$TAXII2_CLIENT_VERSION from PyPI into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "medallion==$MEDALLION_VERSION" "taxii2-client==$TAXII2_CLIENT_VERSION" $MEDALLION_PINS
fi
OTX_VENV="$WORK/opentaxii-venv"
if [ "$SKIP_OPENTAXII" = 0 ] \
        && ! venv_ok "$OTX_VENV" "import sys; from importlib.metadata import version as v; sys.exit(v('opentaxii') != '$OPENTAXII_VERSION')"; then
    step "installing opentaxii==$OPENTAXII_VERSION from PyPI into $OTX_VENV"
    rm -rf "$OTX_VENV"
    python3 -m venv "$OTX_VENV"
    # shellcheck disable=SC2086
    "$OTX_VENV/bin/pip" install --quiet --disable-pip-version-check "opentaxii==$OPENTAXII_VERSION" $OPENTAXII_PINS
fi

# --- the run -----------------------------------------------------------------------------
args=(--objects "$OBJECTS" --large "$LARGE" --page "$PAGE" --batch "$BATCH" --binary "$BINARY" --work "$WORK")
[ -n "$MEDALLION_OBJECTS" ] && args+=(--medallion-objects "$MEDALLION_OBJECTS")
[ "$SKIP_MEDALLION" = 1 ] && args+=(--skip-medallion)
[ "$SKIP_RAMPART" = 1 ] && args+=(--skip-rampart)
[ "$SKIP_OPENTAXII" = 0 ] && args+=(--opentaxii-venv "$OTX_VENV")
step "bench.py ${args[*]}"
exec "$VENV/bin/python" -u "$HERE/bench.py" "${args[@]}"
