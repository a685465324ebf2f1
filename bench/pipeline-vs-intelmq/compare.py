#!/usr/bin/env python3
"""Checks that two IntelMQ JSON-lines files hold the same events.

    compare.py [--expected N] [--name-a IntelMQ] [--name-b Rampart] A.jsonl B.jsonl

Each line is one flat IntelMQ event ({"source.ip": ..., "extra.tag": ...}). Before comparing:
  * fields that legitimately differ between runs are dropped: time.observation (when the
    event was made), raw (Rampart runs with --no-raw; IntelMQ's file output drops it),
    __type, and feed.url (the path of the input file each side read);
  * fields only one side ever writes are dropped, and listed;
  * values are compared as JSON values, except that a number equals the same number
    written as integer or float (IntelMQ writes feed.accuracy as 100.0).
Then the two sides must be equal as multisets of events, neither may hold an event twice,
and with --expected each must hold exactly that many. Prints the verdict; exits 1 on any
mismatch (with the differing fields and a few examples), 2 on unreadable input.
"""

import argparse
import collections
import json
import sys

ALWAYS_IGNORED = {
    "time.observation": "when the event was made",
    "raw": "the input line (IntelMQ's file output drops it; Rampart runs with --no-raw)",
    "__type": "message type marker",
    "feed.url": "the path of the file each side read",
}


def load(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{path}:{n}: not JSON: {e}", file=sys.stderr)
                sys.exit(2)
            if not isinstance(event, dict):
                print(f"{path}:{n}: not a JSON object", file=sys.stderr)
                sys.exit(2)
            events.append(event)
    return events


def canonical(value):
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value)) if abs(value) < 2 ** 53 else ("number", repr(value))
    if isinstance(value, str):
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True, separators=(",", ":")))


def key_of(event, fields):
    return tuple(sorted((k, canonical(v)) for k, v in event.items() if k in fields))


def show(value):
    return json.dumps(value, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--name-a", default="IntelMQ")
    ap.add_argument("--name-b", default="Rampart")
    ap.add_argument("--expected", type=int, help="number of events each side must hold")
    ap.add_argument("--ignore", default="", help="more fields to drop, comma-separated")
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()
    name_a, name_b = args.name_a, args.name_b

    a, b = load(args.a), load(args.b)
    ignored = dict(ALWAYS_IGNORED)
    for f in filter(None, (x.strip() for x in args.ignore.split(","))):
        ignored[f] = "--ignore"
    fields_a = set().union(*a) if a else set()
    fields_b = set().union(*b) if b else set()
    only_a = sorted(fields_a - fields_b - set(ignored))
    only_b = sorted(fields_b - fields_a - set(ignored))
    shared = (fields_a & fields_b) - set(ignored)

    print(f"compare {name_a} ({args.a}) with {name_b} ({args.b})")
    print(f"  events: {name_a} {len(a):,}, {name_b} {len(b):,}")
    print(f"  compared fields ({len(shared)}): {', '.join(sorted(shared))}")
    print(f"  dropped, only {name_a} writes them: {', '.join(only_a) or '-'}")
    print(f"  dropped, only {name_b} writes them: {', '.join(only_b) or '-'}")
    present = sorted(f for f in ignored if f in fields_a or f in fields_b)
    print(f"  dropped on both sides: {', '.join(f'{f} ({ignored[f]})' for f in present) or '-'}")

    failures = []
    if args.expected is not None:
        for name, events in ((name_a, a), (name_b, b)):
            if len(events) != args.expected:
                failures.append(f"{name} holds {len(events):,} events, expected {args.expected:,}")
    count_a = collections.Counter(key_of(e, shared) for e in a)
    count_b = collections.Counter(key_of(e, shared) for e in b)
    for name, counter in ((name_a, count_a), (name_b, count_b)):
        repeated = sum(n - 1 for n in counter.values() if n > 1)
        if repeated:
            failures.append(f"{name} holds {repeated:,} events more than once (on the compared fields)")
    missing_in_b = count_a - count_b
    missing_in_a = count_b - count_a
    if missing_in_b or missing_in_a:
        failures.append(f"{sum(missing_in_b.values()):,} events of {name_a} are not in {name_b}, "
                        f"{sum(missing_in_a.values()):,} events of {name_b} are not in {name_a}")
        explain(a, b, shared, name_a, name_b, missing_in_b, missing_in_a, args.examples)

    if failures:
        for f in failures:
            print(f"  MISMATCH: {f}")
        print(f"verdict: DIFFERENT ({name_a} vs {name_b})")
        return 1
    print(f"verdict: SAME — {len(a):,} events, equal as multisets on {len(shared)} fields")
    return 0


def explain(a, b, shared, name_a, name_b, missing_in_b, missing_in_a, examples):
    """Pairs the unmatched events by source.ip and source.port and says which fields differ."""
    def pair_key(e):
        return (e.get("source.ip"), str(e.get("source.port")))

    left = [e for e in a if key_of(e, shared) in missing_in_b]
    right = {}
    for e in b:
        if key_of(e, shared) in missing_in_a:
            right.setdefault(pair_key(e), e)
    field_diffs = collections.Counter()
    shown = collections.Counter()
    unpaired = 0
    for ea in left:
        eb = right.get(pair_key(ea))
        if eb is None:
            unpaired += 1
            continue
        for f in sorted(shared):
            va, vb = ea.get(f), eb.get(f)
            if (f in ea) != (f in eb) or (f in ea and canonical(va) != canonical(vb)):
                field_diffs[f] += 1
                if shown[f] < examples:
                    shown[f] += 1
                    print(f"    {f} at source.ip {ea.get('source.ip')}: {name_a} "
                          f"{show(va) if f in ea else '(absent)'} vs {name_b} {show(vb) if f in eb else '(absent)'}")
    for f, n in field_diffs.most_common():
        print(f"    field {f}: differs in {n:,} paired events")
    if unpaired:
        print(f"    {unpaired:,} events of {name_a} have no {name_b} event with the same source.ip and source.port")
        for e in [e for e in left if pair_key(e) not in right][:examples]:
            print(f"      e.g. {show({k: e[k] for k in sorted(e) if k in shared})}")


if __name__ == "__main__":
    sys.exit(main())
