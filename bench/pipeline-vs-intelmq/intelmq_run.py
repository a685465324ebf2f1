#!/usr/bin/env python3
"""Runs IntelMQ's file collector -> Shadowserver parser -> ASN lookup -> deduplicator ->
file output on the generated report and measures it. Called by run.sh; standard library only.

Method
  * A fresh $INTELMQ_ROOT_DIR (WORK/intelmq-root): etc/runtime.yaml from intelmq/runtime.yaml,
    etc/harmonization.conf from the installed intelmq package, the Shadowserver schema at
    var/lib/bots/shadowserver-schema.json (no download), the pyasn database at
    var/lib/bots/asn_lookup/ipasn.dat. The report is copied into WORK/intelmq-in/.
  * Redis: the pipeline, statistics and deduplicator databases are flushed, then
    MEMORY PURGE, then redis-server's RSS is taken as its baseline.
  * The parser, the two experts and the output are started and left idle until each has
    logged "initialized". The clock starts when the collector process is started
    (run_mode scheduled: it reads the file once and exits) and stops at the first poll
    (every 0.05 s) that finds the output file holding the expected number of events.
  * Memory: every 0.2 s one `ps -o pid=,rss= -p <bots>,<redis-server>`; the figure is the
    largest, over the samples, of (summed RSS of every IntelMQ bot process alive) +
    (redis-server RSS - its baseline, if positive).
  * The same `ps` call reads each bot's CPU time (user+sys, `times`, whole seconds) and
    redis-server's; the last value seen per bot and redis-server's increase are recorded,
    to show where IntelMQ spends its time and how much CPU it used in all.
  * When the output is complete (or nothing moves for --stall seconds with every queue
    empty), the bots get SIGTERM; then the queues, the log files (ERROR/WARNING lines) and
    the output are checked and WORK/intelmq-result.json is written.
Bots run as the `intelmq` user when this runs as root (IntelMQ refuses root).
"""

import argparse
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BOTS = [  # (bot id, console script); order = pipeline order
    ("file-collector", "intelmq.bots.collectors.file.collector_file"),
    ("shadowserver-parser", "intelmq.bots.parsers.shadowserver.parser"),
    ("asn-lookup-expert", "intelmq.bots.experts.asn_lookup.expert"),
    ("deduplicator-expert", "intelmq.bots.experts.deduplicator.expert"),
    ("file-output", "intelmq.bots.outputs.file.output"),
]


class Redis:
    """Just enough RESP to flush, purge, and read INFO and queue lengths."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"redis: unexpected reply {line[:80]!r}")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()

    def info(self, section):
        text = self.call("INFO", section)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def ps_sample(pids):
    """{pid: (rss bytes, cpu seconds)} for the pids that are alive, from one `ps` call."""
    if not pids:
        return {}
    out = subprocess.run(["ps", "-o", "pid=,rss=,times=", "-p", ",".join(map(str, pids))],
                         capture_output=True, text=True).stdout
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            result[int(parts[0])] = (int(parts[1]) * 1024, int(parts[2]))
    return result


def ps_rss(pids):
    return {pid: rss for pid, (rss, _) in ps_sample(pids).items()}


def fill_template(path, values):
    text = open(path, encoding="utf-8").read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    if "@" in "".join(line.split("#")[0] for line in text.splitlines()):
        sys.exit(f"{path}: a placeholder was left unfilled")
    return text


def count_lines(path, state):
    """Counts newlines in `path`, reading only what was appended since the last call."""
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return 0
    if size > state["offset"]:
        with open(path, "rb") as f:
            f.seek(state["offset"])
            data = f.read(size - state["offset"])
        state["lines"] += data.count(b"\n")
        state["offset"] += len(data)
    return state["lines"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--asn-db", required=True, help="pyasn ipasn.dat")
    ap.add_argument("--schema", required=True, help="Shadowserver intelmq.json report schema")
    ap.add_argument("--rows", type=int, required=True, help="data rows in the CSV")
    ap.add_argument("--expected", type=int, required=True, help="unique events the output must hold")
    ap.add_argument("--redis-host", default="127.0.0.1")
    ap.add_argument("--redis-port", type=int, default=6379)
    ap.add_argument("--pipeline-db", type=int, default=10)
    ap.add_argument("--stats-db", type=int, default=11)
    ap.add_argument("--dedup-db", type=int, default=12)
    ap.add_argument("--logging-level", default="INFO", help="IntelMQ's global logging_level")
    ap.add_argument("--parser-logging-level", default="ERROR",
                    help="the parser's logging_level (ERROR: without the two per-row WARNING lines, see README)")
    ap.add_argument("--run-id", default="", help="recorded in the result, so report.py can tell a fresh result from an old one")
    ap.add_argument("--timeout", type=float, default=7200, help="give up after this many seconds")
    ap.add_argument("--stall", type=float, default=30, help="give up when nothing moves for this long")
    args = ap.parse_args()

    work = os.path.abspath(args.work)
    venv = os.path.abspath(args.venv)
    root_dir = os.path.join(work, "intelmq-root")
    in_dir = os.path.join(work, "intelmq-in")
    out_dir = os.path.join(work, "intelmq-out")
    out_file = os.path.join(out_dir, "events.jsonl")
    state_dir = os.path.join(root_dir, "var", "lib", "bots")
    log_dir = os.path.join(root_dir, "var", "log")
    stdout_dir = os.path.join(work, "intelmq-stdout")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            user = pwd.getpwnam("intelmq")
        except KeyError:
            sys.exit("running as root: create the system user `intelmq` first (run.sh does)")

    # A fresh root directory, input and output.
    for d in (root_dir, in_dir, out_dir, stdout_dir):
        shutil.rmtree(d, ignore_errors=True)
    for d in (os.path.join(root_dir, "etc"), os.path.join(state_dir, "asn_lookup"), log_dir,
              os.path.join(root_dir, "var", "run"), in_dir, out_dir, stdout_dir):
        os.makedirs(d, exist_ok=True)
    package_dir = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                                  "import intelmq, os; print(os.path.dirname(intelmq.__file__)); print(intelmq.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.split()
    package_dir, version = package_dir[0], package_dir[1]
    shutil.copy(os.path.join(package_dir, "etc", "harmonization.conf"), os.path.join(root_dir, "etc", "harmonization.conf"))
    asn_db = os.path.join(state_dir, "asn_lookup", "ipasn.dat")
    shutil.copy(args.asn_db, asn_db)
    shutil.copy(args.schema, os.path.join(state_dir, "shadowserver-schema.json"))
    csv_copy = os.path.join(in_dir, os.path.basename(args.csv))
    shutil.copy(args.csv, csv_copy)
    runtime = fill_template(os.path.join(HERE, "intelmq", "runtime.yaml"), {
        "PIPELINE_DB": args.pipeline_db, "STATS_DB": args.stats_db, "DEDUP_DB": args.dedup_db,
        "INPUT_DIR": in_dir, "ASN_DB": asn_db, "OUTPUT_FILE": out_file, "LOGGING_LEVEL": args.logging_level,
        "PARSER_LOGGING_LEVEL": args.parser_logging_level,
    })
    with open(os.path.join(root_dir, "etc", "runtime.yaml"), "w", encoding="utf-8") as f:
        f.write(runtime)
    if as_root:
        for d in (root_dir, in_dir, out_dir):
            subprocess.run(["chown", "-R", "intelmq:intelmq", d], check=True)

    # Redis: our databases only.
    redis = Redis(args.redis_host, args.redis_port)
    for db in (args.pipeline_db, args.stats_db, args.dedup_db):
        redis.call("SELECT", db)
        redis.call("FLUSHDB")
    try:
        redis.call("MEMORY", "PURGE")
    except RuntimeError:
        pass
    redis.call("SELECT", args.pipeline_db)
    redis_pid = int(redis.info("server")["process_id"])
    time.sleep(0.5)
    redis_base = ps_rss([redis_pid]).get(redis_pid, 0)

    env = dict(os.environ)
    env.update({"INTELMQ_ROOT_DIR": root_dir, "PATH": os.path.join(venv, "bin") + ":" + env.get("PATH", ""),
                "VIRTUAL_ENV": venv, "PYTHONDONTWRITEBYTECODE": "1"})
    if as_root:
        env.update({"HOME": root_dir, "USER": "intelmq", "LOGNAME": "intelmq"})
    # Any other INTELMQ_* variable would become a bot parameter; keep only the root dir.
    for key in [k for k in env if k.startswith("INTELMQ_") and k != "INTELMQ_ROOT_DIR"]:
        del env[key]

    procs = {}

    def start(bot_id, script):
        out = open(os.path.join(stdout_dir, bot_id + ".out"), "wb")
        kwargs = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[]) if as_root else {}
        procs[bot_id] = subprocess.Popen([os.path.join(venv, "bin", script), bot_id], env=env, cwd=root_dir,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)

    def log_text(bot_id):
        try:
            with open(os.path.join(log_dir, bot_id + ".log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop_all():
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    with open(args.csv, "rb") as f:
        csv_sha256 = hashlib.sha256(f.read()).hexdigest()
    result = {"intelmq_version": version, "rows": args.rows, "expected_events": args.expected, "ok": False,
              "run_id": args.run_id, "csv_sha256": csv_sha256, "load_average_before": os.getloadavg(),
              "logging_level": args.logging_level, "parser_logging_level": args.parser_logging_level}
    try:
        # Start everything but the collector and wait until each bot is ready: blocked in
        # BLMOVE/BRPOPLPUSH on its source queue (independent of the log level).
        for bot_id, script in BOTS[1:]:
            start(bot_id, script)
        deadline = time.monotonic() + 120
        while True:
            for bot_id, _ in BOTS[1:]:
                if procs[bot_id].poll() is not None:
                    raise RuntimeError(f"{bot_id} exited during start-up (code {procs[bot_id].returncode}); "
                                       f"see {log_dir}/{bot_id}.log and {stdout_dir}/{bot_id}.out")
            blocked = [line for line in redis.call("CLIENT", "LIST").splitlines()
                       if f" db={args.pipeline_db} " in line and ("cmd=blmove" in line or "cmd=brpoplpush" in line)]
            if len(blocked) >= len(BOTS) - 1:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"bots not ready after 120 s ({len(blocked)} of {len(BOTS) - 1} waiting on their queue)")
            time.sleep(0.1)
        time.sleep(0.5)
        print(f"  IntelMQ {version}: parser, ASN lookup, deduplicator and file output are up; starting the collector",
              flush=True)

        peak = {"total": 0, "bots": 0, "redis_growth": 0, "bots_at_peak": 0, "redis_growth_at_peak": 0,
                "per_bot": {}}
        line_state = {"offset": 0, "lines": 0}
        cpu_seconds = {}  # last CPU time (user+sys, whole seconds) seen per bot
        redis_cpu = {}  # redis-server's CPU time at the first and last sample
        t0 = time.monotonic()
        start(*BOTS[0])
        done_at = None
        last_count, last_move = 0, t0
        next_sample = t0
        next_report = t0 + 10
        samples = 0
        while True:
            now = time.monotonic()
            if now >= next_sample:
                pid_of = {p.pid: b for b, p in procs.items() if p.poll() is None}
                sample = ps_sample(list(pid_of) + [redis_pid])
                rss = {pid: v for pid, (v, _) in sample.items()}
                for pid, (_, cpu) in sample.items():
                    if pid in pid_of:
                        cpu_seconds[pid_of[pid]] = cpu
                    elif pid == redis_pid:
                        redis_cpu.setdefault("first", cpu)
                        redis_cpu["last"] = cpu
                bots = sum(v for pid, v in rss.items() if pid in pid_of)
                growth = max(0, rss.get(redis_pid, redis_base) - redis_base)
                samples += 1
                for pid, v in rss.items():
                    if pid in pid_of:
                        peak["per_bot"][pid_of[pid]] = max(peak["per_bot"].get(pid_of[pid], 0), v)
                peak["bots"] = max(peak["bots"], bots)
                peak["redis_growth"] = max(peak["redis_growth"], growth)
                if bots + growth > peak["total"]:
                    peak.update(total=bots + growth, bots_at_peak=bots, redis_growth_at_peak=growth)
                next_sample += 0.2
                if next_sample < now:
                    next_sample = now + 0.2
            count = count_lines(out_file, line_state)
            if count != last_count:
                last_count, last_move = count, now
            if done_at is None and count >= args.expected:
                done_at = now
                break
            for bot_id, p in procs.items():
                if bot_id != BOTS[0][0] and p.poll() is not None:
                    raise RuntimeError(f"{bot_id} died (code {p.returncode}); see {log_dir}/{bot_id}.log")
            if now - t0 > args.timeout:
                raise RuntimeError(f"timeout after {args.timeout:.0f} s with {count} events written")
            if now - last_move > args.stall and procs[BOTS[0][0]].poll() is not None:
                queued = sum(redis.call("LLEN", k) for k in redis.call("KEYS", "*"))
                if queued == 0:
                    print(f"  stalled: {count} events written, queues empty, nothing new for {args.stall:.0f} s",
                          flush=True)
                    break
                last_move = now
            if now >= next_report:
                print(f"  {now - t0:6.0f} s: {count:,} events written", flush=True)
                next_report += 10
            time.sleep(0.05)
        elapsed = (done_at if done_at is not None else last_move) - t0
        # Let anything still in flight arrive (there should be nothing), then stop.
        time.sleep(2)
        count = count_lines(out_file, line_state)
        queued = {k: redis.call("LLEN", k) for k in redis.call("KEYS", "*")}
        redis.call("SELECT", args.dedup_db)
        dedup_keys = redis.call("DBSIZE")
        redis.call("SELECT", args.pipeline_db)
    finally:
        stop_all()
        # Leave Redis as we found it: our three databases empty.
        for db in (args.pipeline_db, args.stats_db, args.dedup_db):
            redis.call("SELECT", db)
            redis.call("FLUSHDB")

    logs = {b: log_text(b) for b, _ in BOTS}
    problems = {b: [l for l in text.splitlines() if " - ERROR - " in l or " - CRITICAL - " in l]
                for b, text in logs.items()}
    warnings = {b: sum(1 for l in text.splitlines() if " - WARNING - " in l) for b, text in logs.items()}
    input_bytes = os.path.getsize(args.csv)
    result.update({
        "ok": count == args.expected and not any(problems.values()),
        "events_out": count,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(args.rows / elapsed, 1) if elapsed > 0 else None,
        "peak_memory_bytes": peak["total"],
        "peak_bots_rss_bytes": peak["bots"],
        "peak_redis_rss_growth_bytes": peak["redis_growth"],
        "at_peak": {"bots_rss_bytes": peak["bots_at_peak"], "redis_rss_growth_bytes": peak["redis_growth_at_peak"]},
        "peak_rss_per_bot_bytes": peak["per_bot"],
        "redis_rss_baseline_bytes": redis_base,
        "cpu_seconds_per_bot": cpu_seconds,
        "cpu_seconds_total": sum(cpu_seconds.values()),
        "redis_cpu_seconds": redis_cpu.get("last", 0) - redis_cpu.get("first", 0),
        "memory_samples": samples,
        "input_bytes": input_bytes,
        "output_file": out_file,
        "queues_after": queued,
        "deduplicator_cache_keys": dedup_keys,
        "log_errors": {b: v[:5] for b, v in problems.items() if v},
        "log_warning_lines": warnings,
        "log_dir": log_dir,
        "load_average_after": os.getloadavg(),
    })
    with open(os.path.join(work, "intelmq-result.json"), "w") as f:
        json.dump(result, f, indent=2)
    mib = 2 ** 20
    print(f"  IntelMQ: {count:,} events in {elapsed:.1f} s = {args.rows / elapsed:,.0f} rows/s; peak memory "
          f"{peak['total'] / mib:,.0f} MiB (bots {peak['bots_at_peak'] / mib:,.0f} MiB + redis growth "
          f"{peak['redis_growth_at_peak'] / mib:,.0f} MiB); CPU time of the bots "
          f"{sum(cpu_seconds.values())} s ({', '.join(f'{b} {v} s' for b, v in cpu_seconds.items())}), "
          f"of redis-server {redis_cpu.get('last', 0) - redis_cpu.get('first', 0)} s", flush=True)
    for b, v in problems.items():
        for line in v[:3]:
            print(f"  {b}: {line}", file=sys.stderr)
    if count != args.expected:
        print(f"  IntelMQ wrote {count:,} events, expected {args.expected:,}", file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
