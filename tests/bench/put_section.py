#!/usr/bin/env python3
"""put_section.py NAME < SECTION: replace the part of docs/BENCHMARKS.md
between <!-- NAME:start --> and <!-- NAME:end --> with SECTION (which carries
both markers), or append it when the file has none yet. Every bench writes
its results this way, so reruns replace rather than pile up."""
import os, re, sys

name = sys.argv[1]
doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "BENCHMARKS.md")
sec = sys.stdin.read().strip() + "\n"
try:
    s = open(doc).read()
except FileNotFoundError:
    s = "# Benchmarks\n\nProduced by `make bench` (tests/bench/); numbers from this host.\n"
pat = re.compile(r"<!-- %s:start -->.*?<!-- %s:end -->\n?" % (re.escape(name), re.escape(name)), re.S)
s = pat.sub(lambda m: sec, s) if pat.search(s) else s.rstrip("\n") + "\n\n" + sec
open(doc, "w").write(s)
