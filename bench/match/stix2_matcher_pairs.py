#!/usr/bin/env python3
"""stix2-matcher (the OASIS reference) on the sample `rampart-bench-match --sample DIR` wrote:
every pattern against every observation, timed, and each answer compared with Rampart's.

Prints pairs per second and `agreement: A of N pairs`, and the disagreements (at most 10).
Exit status 1 when an answer differs."""

import json
import sys
import time

from stix2matcher.matcher import match


def main(sample_dir: str) -> int:
    with open(f"{sample_dir}/patterns.json") as f:
        patterns = json.load(f)
    with open(f"{sample_dir}/observations.json") as f:
        observations = json.load(f)
    with open(f"{sample_dir}/rampart-answers.json") as f:
        ours = json.load(f)  # ours[observation][pattern]
    pairs = 0
    agree = 0
    differ = []
    start = time.perf_counter()
    for j, pattern in enumerate(patterns):
        for i, bundle in enumerate(observations):
            theirs = bool(match(pattern, [bundle], stix_version="2.1"))
            pairs += 1
            if theirs == ours[i][j]:
                agree += 1
            elif len(differ) < 10:
                differ.append((pattern, i, theirs, ours[i][j]))
    seconds = time.perf_counter() - start
    rate = pairs / seconds
    print(f"stix2-matcher: {pairs} pattern x observation pairs in {seconds:.1f} s: {rate:.0f} pairs per second")
    matched = sum(1 for row in ours for answer in row if answer)
    print(f"agreement: {agree} of {pairs} pairs ({matched} of them matches)")
    for pattern, i, theirs, mine in differ:
        print(f"  differs: {pattern} on observation {i}: stix2-matcher {theirs}, Rampart {mine}")
    print(f"stix2matcher pairs_per_second={rate:.0f}")
    return 0 if agree == pairs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
