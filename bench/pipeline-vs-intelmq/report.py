#!/usr/bin/env python3
"""Prints the table of bench/pipeline-vs-intelmq from the files a run left in WORK, checks the
targets, and writes WORK/results.json. Called by run.sh; standard library only.

  generate.json                       what generate.py wrote (rows, duplicates, input size, sha256)
  intelmq-result.json                 intelmq_run.py's measurement (used only if it was made
                                      from an input with the same sha256)
  rampart-<mode>.<run>.summary.json   `rampart ingest --summary-json` of each run (rows_read,
                                      written, seconds …)
  rampart-<mode>.<run>.time           `/usr/bin/time -v` of that run (peak RSS, wall time)
  rampart-<mode>.jsonl                the last run's output, for the event count
  compare-<name>.rc                   exit status of compare.py for each comparison
with <mode> = 1core (taskset -c 0) and allcores.
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

MODES = [("1core", "Rampart (1 core)"), ("allcores", "Rampart (all cores)")]
TARGET_RATIO = 1000
TARGET_ROWS_PER_SECOND = 1_000_000
TARGET_MEMORY_FACTOR = 2.0


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return None


def parse_time_v(path):
    """Peak RSS (bytes), wall seconds and exit status from `/usr/bin/time -v` output."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return None
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["peak_rss_bytes"] = int(m.group(1)) * 1024
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", text)
    if m:
        out["wall_seconds"] = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    m = re.search(r"Exit status: (\d+)", text)
    if m:
        out["exit_status"] = int(m.group(1))
    m = re.search(r"Command exited with non-zero status (\d+)", text)
    if m:
        out["exit_status"] = int(m.group(1))
    return out


def size(n):
    if n is None:
        return "-"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def num(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--run-id", default="", help="this run's id: an IntelMQ result with another one is from an earlier run")
    ap.add_argument("--binary", default="", help="which Rampart binary was measured, for the table")
    args = ap.parse_args()
    work = args.work

    gen = read_json(os.path.join(work, "generate.json"))
    if gen is None:
        sys.exit(f"{work}/generate.json missing: run generate.py first")
    rows, unique, input_bytes = gen["rows"], gen["unique"], gen["csv_bytes"]
    results = {"input": gen, "targets": {}, "binary": args.binary}

    intelmq = read_json(os.path.join(work, "intelmq-result.json"))
    intelmq_note = ""
    if intelmq and intelmq.get("csv_sha256") != gen["csv_sha256"]:
        intelmq, intelmq_note = None, " (its last run was on other input: not shown)"
    elif intelmq and intelmq.get("run_id") != args.run_id:
        intelmq_note = " (from an earlier run on the same input)"
    results["intelmq"] = intelmq

    rampart = {}
    for mode, _ in MODES:
        runs = []
        for path in glob.glob(os.path.join(work, f"rampart-{mode}.*.summary.json")):
            run = path[len(os.path.join(work, f"rampart-{mode}.")):-len(".summary.json")]
            summary = read_json(path)
            timing = parse_time_v(os.path.join(work, f"rampart-{mode}.{run}.time"))
            seconds = (summary or {}).get("seconds") or (timing or {}).get("wall_seconds")
            if seconds:
                runs.append({"run": run, "summary": summary, "time": timing, "seconds": seconds})
        if not runs:
            continue
        # The median run is shown: one run of a fifth of a second swings with the machine.
        median = statistics.median_low([r["seconds"] for r in runs])
        shown = next(r for r in runs if r["seconds"] == median)
        wall = (shown["time"] or {}).get("wall_seconds")
        peaks = [(r["time"] or {}).get("peak_rss_bytes") for r in runs]
        r = {"runs": [{"seconds": x["seconds"], "peak_rss_bytes": (x["time"] or {}).get("peak_rss_bytes")} for x in runs],
             "summary": shown["summary"], "time": shown["time"],
             "events_out": count_lines(os.path.join(work, f"rampart-{mode}.jsonl"))}
        r["seconds"] = median
        r["wall_seconds"] = wall
        r["rows_per_second"] = rows / median
        r["wall_rows_per_second"] = rows / wall if wall else None
        # The highest of the runs: the memory target is judged on the worst one.
        r["peak_memory_bytes"] = max((p for p in peaks if p), default=None)
        rampart[mode] = r
    results["rampart"] = rampart

    compares = {}
    for name in ("intelmq-vs-rampart", "rampart-1core-vs-allcores"):
        try:
            rc = int(open(os.path.join(work, f"compare-{name}.rc")).read().strip())
            compares[name] = "same" if rc == 0 else "DIFFERENT"
        except (FileNotFoundError, ValueError):
            compares[name] = "not run"
    results["comparisons"] = compares

    print()
    print(f"bench/pipeline-vs-intelmq: {rows:,} rows ({rows - unique:,} exact duplicates, {unique:,} unique), "
          f"{gen['prefixes']:,} prefixes")
    print(f"{'':24}{'rows/s':>12}{'seconds':>10}{'wall s':>9}{'peak memory':>14}{'events out':>12}")
    if intelmq:
        label = f"IntelMQ {intelmq.get('intelmq_version', '')}" + (" (earlier)" if intelmq_note else "")
        print(f"{label:24}{num(intelmq.get('rows_per_second')):>12}{num(intelmq.get('seconds'), 1):>10}"
              f"{num(intelmq.get('seconds'), 1):>9}{size(intelmq.get('peak_memory_bytes')):>14}"
              f"{num(intelmq.get('events_out')):>12}")
    else:
        print(f"{'IntelMQ':24}  skipped{intelmq_note}")
    for mode, label in MODES:
        r = rampart.get(mode)
        if r is None:
            print(f"{label:24}  skipped")
            continue
        print(f"{label:24}{num(r['rows_per_second']):>12}{num(r['seconds'], 3):>10}{num(r['wall_seconds'], 2):>9}"
              f"{size(r['peak_memory_bytes']):>14}{num(r['events_out']):>12}")
    if args.binary and rampart:
        print(f"{'':24}Rampart binary: {args.binary}")
    for mode, label in MODES:
        r = rampart.get(mode)
        if r and len(r["runs"]) > 1:
            times = " ".join(f"{x['seconds']:.3f}" for x in sorted(r["runs"], key=lambda x: x["seconds"]))
            print(f"{'':24}{label}: {len(r['runs'])} runs of {times} s; the median is shown, "
                  f"peak memory is the highest")

    one = rampart.get("1core")
    ratio = None
    if intelmq and one and intelmq.get("rows_per_second") and one.get("rows_per_second"):
        ratio = one["rows_per_second"] / intelmq["rows_per_second"]
        wall_ratio = one["wall_rows_per_second"] / intelmq["rows_per_second"] if one.get("wall_rows_per_second") else None
        print(f"{'ratio':24}{ratio:>11,.0f}x   (Rampart 1 core / IntelMQ; on Rampart's wall time: "
              f"{num(wall_ratio)}x)")
        results["ratio"] = ratio
        results["ratio_wall"] = wall_ratio
        every = rampart.get("allcores")
        if every and every.get("rows_per_second"):
            # IntelMQ's bots are separate processes and use every core too.
            ratio_all = every["rows_per_second"] / intelmq["rows_per_second"]
            print(f"{'':24}{ratio_all:>11,.0f}x   (Rampart all cores / IntelMQ, which also ran on all cores)")
            results["ratio_all_cores"] = ratio_all
    line = f"{'input file':24}{size(input_bytes)}"
    mem_factor = None
    # The memory target holds for every way Rampart ran: the higher of its two modes' peaks.
    peaks = [r["peak_memory_bytes"] for r in (one, rampart.get("allcores")) if r and r.get("peak_memory_bytes")]
    if peaks:
        mem_factor = max(peaks) / input_bytes
        line += f"; Rampart peak memory / input = {mem_factor:.2f}x (the higher of its modes)"
    if intelmq and intelmq.get("peak_memory_bytes"):
        line += f"; IntelMQ {intelmq['peak_memory_bytes'] / input_bytes:.1f}x"
    print(line)
    if intelmq:
        print(f"{'':24}IntelMQ peak = bot processes {size(intelmq['at_peak']['bots_rss_bytes'])} + redis-server RSS "
              f"growth {size(intelmq['at_peak']['redis_rss_growth_bytes'])}{intelmq_note}")
        if intelmq.get("cpu_seconds_per_bot"):
            cpu = intelmq["cpu_seconds_per_bot"]
            print(f"{'':24}IntelMQ CPU time {sum(cpu.values())} s: "
                  + ", ".join(f"{b} {v} s" for b, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
                  + f"; redis-server {intelmq.get('redis_cpu_seconds', '?')} s")
    print(f"{'same events':24}IntelMQ vs Rampart: {compares['intelmq-vs-rampart']}; "
          f"Rampart 1 core vs all cores: {compares['rampart-1core-vs-allcores']}")

    def target(name, ok, text):
        results["targets"][name] = None if ok is None else bool(ok)
        state = "not measured" if ok is None else ("met" if ok else "NOT met")
        print(f"target: {text}: {state}")

    target("ratio", None if ratio is None else ratio >= TARGET_RATIO,
           f"ratio >= {TARGET_RATIO:,}x" + (f" ({ratio:,.0f}x)" if ratio else ""))
    rps = one.get("rows_per_second") if one else None
    target("rows_per_second", None if rps is None else rps >= TARGET_ROWS_PER_SECOND,
           f"Rampart >= {TARGET_ROWS_PER_SECOND:,} rows/s on one core" + (f" ({rps:,.0f})" if rps else ""))
    target("memory", None if mem_factor is None else mem_factor <= TARGET_MEMORY_FACTOR,
           f"Rampart peak memory <= {TARGET_MEMORY_FACTOR:g}x the input ({size(input_bytes)})"
           + (f" ({mem_factor:.2f}x)" if mem_factor else ""))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
