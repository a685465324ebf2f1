#!/usr/bin/env python3
"""Deterministic input for bench/pipeline-vs-intelmq.

Writes into OUT_DIR:

  2026-11-30-scan_dns-tw-geo.csv   a Shadowserver `scan_dns` report (header and row shape of
                                   /work/shared/testdata/shadowserver/testdata/scan_dns.csv),
                                   --rows rows of which --duplicates are exact copies of
                                   earlier rows; the report type comes from the file name
  asn.tsv                          the routing table for Rampart: network<TAB>asn<TAB>cc
  ipasn.dat                        the same table as a pyasn "IPASN" database for IntelMQ's
                                   asn_lookup expert (`; comment` lines, then prefix<TAB>asn)
  generate.json                    what was generated (counts, sizes, sha256)

Every source IP lies inside a prefix of the table, and the CSV's `asn`/`geo` columns are
what a longest-prefix match on that table gives, so an ASN lookup finds every address and
agrees with the report whatever its overwrite policy. Standard library only; seeded with
random.Random(2026), so the same arguments give byte-identical files on any machine.
"""

import argparse
import bisect
import hashlib
import ipaddress
import itertools
import json
import os
import random
import sys

REPORT_NAME = "2026-11-30-scan_dns-tw-geo.csv"
SCAN_DAY = "2026-11-29"

# Copied from testdata/scan_dns.csv (IntelMQ 3.2.1's sample of the report).
HEADER = ('"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo",'
          '"region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"')

# First octets to carve prefixes from (a synthetic table; none of these is special-purpose).
FIRST_OCTETS = [1, 27, 36, 39, 42, 49, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115,
                116, 117, 118, 119, 120, 122, 123, 124, 125, 139, 140, 150, 153, 163, 175,
                180, 182, 210, 211, 218, 219, 220, 223]
# Prefix lengths of the top-level prefixes and how often each is drawn.
LENGTHS = [(14, 1), (15, 2), (16, 6), (17, 6), (18, 8), (19, 10), (20, 12), (21, 12),
           (22, 14), (23, 12), (24, 17)]
REGIONS = [("TAIPEI", "TAIPEI"), ("NEW TAIPEI", "BANQIAO"), ("NEW TAIPEI", "XINZHUANG"),
           ("TAOYUAN", "TAOYUAN"), ("TAOYUAN", "ZHONGLI"), ("TAICHUNG", "TAICHUNG"),
           ("TAINAN", "TAINAN"), ("KAOHSIUNG", "KAOHSIUNG"), ("HSINCHU", "HSINCHU"),
           ("CHANGHUA", "CHANGHUA"), ("PINGTUNG", "PINGTUNG"), ("YILAN", "YILAN"),
           ("HUALIEN", "HUALIEN"), ("KEELUNG", "KEELUNG"), ("CHIAYI", "CHIAYI")]
DNS_VERSIONS = ["dnsmasq-2.66", "dnsmasq-2.51", "dnsmasq-2.62", "dnsmasq-2.78", "dnsmasq-2.85",
                "dnsmasq-2.89", "9.11.4-P2-RedHat-9.11.4-26.P2.el7", "9.16.1-Ubuntu",
                "9.18.18-0ubuntu0.22.04.1-Ubuntu", "unbound 1.9.0", "unbound 1.13.1",
                "PowerDNS Recursor 4.1.11", "ZyWALL DNS", "Microsoft DNS 6.1.7601 (1DB15D39)",
                "Q9-P-7.6", "huh?"]
# (naics, sic, sector) as Shadowserver fills them in.
INDUSTRY = [("0", "0", ""), ("0", "0", ""), ("0", "0", ""), ("0", "0", ""), ("0", "0", ""),
            ("518210", "737415", ""), ("517311", "481300",
                                       "Communications, Service Provider, and Hosting Service"),
            ("541512", "737401", "Information Technology")]


def weighted(rng, pairs):
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def make_table(rng, prefixes):
    """About `prefixes` IPv4 prefixes: non-overlapping top-level ones plus ~10% more-specifics
    nested inside them with another ASN (so longest-prefix match matters).
    Returns ([(network_int, length, asn)] sorted by network then length, the top-level ones)."""
    asns = rng.sample(range(1000, 64000), 700) + rng.sample(range(131072, 152000), 500)
    nested_count = prefixes // 10
    top_count = prefixes - nested_count
    starts, ends = [], []  # sorted, non-overlapping top-level intervals
    top = []
    while len(top) < top_count:
        length = weighted(rng, LENGTHS)
        first = rng.choice(FIRST_OCTETS)
        size = 1 << (32 - length)
        net = (first << 24) + rng.randrange(1 << (length - 8)) * size
        last = net + size - 1
        i = bisect.bisect_left(starts, net)
        if (i > 0 and ends[i - 1] >= net) or (i < len(starts) and starts[i] <= last):
            continue
        starts.insert(i, net)
        ends.insert(i, last)
        top.append((net, length, rng.choice(asns)))
    parents = [p for p in top if p[1] <= 22]
    nested = set()
    while len(nested) < nested_count:
        pnet, plen, pasn = rng.choice(parents)
        length = rng.randint(plen + 2, 24)
        size = 1 << (32 - length)
        net = pnet + rng.randrange(1 << (length - plen)) * size
        if any(n == net and l == length for n, l, _ in nested):
            continue
        asn = rng.choice(asns)
        while asn == pasn:
            asn = rng.choice(asns)
        nested.add((net, length, asn))
    return sorted(top + sorted(nested)), sorted(top)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--rows", type=int, default=110_000, help="data rows in the CSV, duplicates included")
    ap.add_argument("--duplicates", type=int, default=10_000, help="rows that exactly copy an earlier row")
    ap.add_argument("--prefixes", type=int, default=3_000, help="prefixes in the ASN table")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    unique = args.rows - args.duplicates
    if unique <= 0 or args.duplicates < 0 or args.duplicates > unique:
        sys.exit("need 0 <= --duplicates <= --rows - --duplicates (each duplicate copies a distinct earlier row)")
    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)

    table, tops = make_table(rng, args.prefixes)
    lookup = {(net >> (32 - length), length): asn for net, length, asn in table}
    lengths = sorted({length for _, length, _ in table}, reverse=True)

    def lpm(ip):
        for length in lengths:
            asn = lookup.get((ip >> (32 - length), length))
            if asn is not None:
                return asn
        raise AssertionError("address outside the table")

    # Rows are drawn from the top-level prefixes (nested ones lie inside them), weighted so
    # that big prefixes get more addresses, but every prefix is a candidate.
    cum_weights = list(itertools.accumulate(min(1 << (32 - length), 4096) for _, length, _ in tops))

    seconds = sorted(rng.randrange(86_400) for _ in range(unique))
    seen_ips = set()
    rows = []
    for n in range(unique):
        net, length, _ = rng.choices(tops, cum_weights=cum_weights)[0]
        ip = net + rng.randrange(1 << (32 - length))
        if ip in seen_ips:  # one row per address, so every unique row is a distinct event
            ip = None
            while ip is None or ip in seen_ips:
                net, length, _ = rng.choices(tops, cum_weights=cum_weights)[0]
                ip = net + rng.randrange(1 << (32 - length))
        seen_ips.add(ip)
        asn = lpm(ip)
        ip_text = str(ipaddress.IPv4Address(ip))
        s = seconds[n]
        timestamp = f"{SCAN_DAY} {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
        hostname = "" if rng.random() < 0.3 else f"{ip_text.replace('.', '-')}.as{asn}.example.net"
        region, city = rng.choice(REGIONS)
        version = "" if rng.random() < 0.2 else rng.choice(DNS_VERSIONS)
        amplification = f"{rng.uniform(1.0, 60.0):.4f}"
        naics, sic, sector = rng.choice(INDUSTRY)
        sector = f'"{sector}"' if sector else ""
        version = f'"{version}"' if version else ""
        hostname = f'"{hostname}"' if hostname else ""
        rows.append(f'"{timestamp}","{ip_text}","udp",53,{hostname},"openresolver",{version},'
                    f'{asn},"TW","{region}","{city}","{amplification}",,,{naics},{sic},{sector}')

    # Each duplicate copies a distinct row and lands somewhere after it.
    order = [(float(i), i) for i in range(unique)]
    for i in rng.sample(range(unique), args.duplicates):
        order.append((rng.uniform(i + 0.5, unique), i))
    order.sort()

    csv_path = os.path.join(args.out_dir, REPORT_NAME)
    with open(csv_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n")
        for _, i in order:
            f.write(rows[i] + "\n")

    tsv_path = os.path.join(args.out_dir, "asn.tsv")
    with open(tsv_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# network\tasn\tcc (bench/pipeline-vs-intelmq, seed %d)\n" % args.seed)
        for net, length, asn in table:
            f.write(f"{ipaddress.IPv4Address(net)}/{length}\t{asn}\tTW\n")

    # pyasn's IPASN format (what pyasn_util_convert.py writes): ';' comment lines, then
    # "prefix<TAB>asn" per line; pyasn.pyasn(path) loads it with its C radix tree.
    dat_path = os.path.join(args.out_dir, "ipasn.dat")
    with open(dat_path, "w", encoding="ascii", newline="\n") as f:
        f.write("; IP-ASN32-DAT file\n")
        f.write("; Original source: bench/pipeline-vs-intelmq/generate.py (seed %d)\n" % args.seed)
        f.write(f"; Prefixes-v4: {len(table)}\n; Prefixes-v6: 0\n")
        for net, length, asn in table:
            f.write(f"{ipaddress.IPv4Address(net)}/{length}\t{asn}\n")

    def digest(path):
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    meta = {
        "seed": args.seed,
        "csv": csv_path,
        "csv_bytes": os.path.getsize(csv_path),
        "csv_sha256": digest(csv_path),
        "rows": args.rows,
        "duplicates": args.duplicates,
        "unique": unique,
        "prefixes": len(table),
        "nested_prefixes": len(table) - len(tops),
        "asn_tsv": tsv_path,
        "ipasn_dat": dat_path,
    }
    with open(os.path.join(args.out_dir, "generate.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"generated {args.rows:,} rows ({args.duplicates:,} duplicates, {unique:,} unique), "
          f"{meta['csv_bytes'] / 2**20:.1f} MiB, {len(table):,} prefixes -> {args.out_dir}")


if __name__ == "__main__":
    main()
