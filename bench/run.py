#!/usr/bin/env python3
"""Benchmarks: prints a table of ratios from one run (figures recorded in bench/README.md).

    .venv/bin/python bench/run.py [--runs N] [--suite]

- ``invoke --list`` vs ``python -c "import invoke"``                 target <= 1.5x
- ``csp-secure-app plan`` vs importing the Pulumi SDK modules it loads         target <= 1.5x
- requests per consent / rotate / verify vs the protocol minimum      target  = 1.00
  (the CSP tenant named by its domain and by its GUID)
- the full test suite's wall time on this machine (``--suite``)       target <= 300 s
Timings are medians of N runs of a fresh process each; nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
INVOKE = [PY, "-m", "scripts.cli"]
#: Runs the plan in-process and lists every Pulumi SDK module it loaded (the providers load
#: their resource modules lazily): the baseline imports exactly those, nothing of ours.
SDK_MODULES = """
import sys
from pathlib import Path
from scripts.offline.plan_engine import run_plan
run_plan("dev", Path("."))
roots = ("pulumi", "pulumi_azuread", "pulumi_azure_native")
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in roots)))
"""


def plan_baseline() -> list[str]:
    names = subprocess.run([PY, "-c", SDK_MODULES], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.strip()
    return [PY, "-c", "import " + names.replace(",", ", ")]


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratio_row(name: str, cmd: list[str], baseline: list[str], runs: int, target: float) -> str:
    subject, base = median_seconds(cmd, runs), median_seconds(baseline, runs)
    ratio = subject / base
    verdict = "ok" if ratio <= target else "MISS"
    return f"| {name} | {subject:.3f} s | {base:.3f} s | {ratio:.2f}x | <= {target}x | {verdict} |"


def request_rows() -> list[str]:
    """One row per flow and per way of naming the CSP tenant (its domain, as the README's usage
    does, or its GUID): discovery must stay at once per tenant either way."""
    from bench.requests_count import FORMS, count_requests

    rows = []
    for form in FORMS:
        for flow, (counted, minimum) in count_requests(form).items():
            ratio = sum(counted.values()) / sum(minimum.values())
            extra = {k: v - minimum.get(k, 0) for k, v in counted.items()
                     if v != minimum.get(k, 0)}
            verdict = "ok" if ratio <= 1.0 else f"MISS {extra}"
            rows.append(f"| requests per {flow} ({form}) | {sum(counted.values())} | "
                        f"{sum(minimum.values())} (minimum) | {ratio:.2f} | = 1.00 | {verdict} |")
    return rows


def suite_row() -> str:
    start = time.perf_counter()
    proc = subprocess.run([PY, "-m", "pytest", "-n", "2", "-q"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    last = (proc.stdout.strip().splitlines() or ["?"])[-1]
    verdict = "ok" if wall <= 300 and proc.returncode == 0 else "MISS"
    return f"| test suite (-n 2) | {wall:.1f} s | {last} | | <= 300 s | {verdict} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    print("| what | measured | baseline | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    print(ratio_row("`invoke --list`", [*INVOKE, "--list"], [PY, "-c", "import invoke"],
                    args.runs, 1.5))
    print(ratio_row("`csp-secure-app plan`", [*INVOKE, "plan"], plan_baseline(), args.runs, 1.5))
    for row in request_rows():
        print(row)
    if args.suite:
        print(suite_row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
