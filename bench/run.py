#!/usr/bin/env python3
"""Benchmarks: prints a table of ratios from one run (figures recorded in bench/README.md).

    .venv/bin/python bench/run.py [--runs N] [--bundle certifi|double] [--scale] [--suite]

- ``invoke --list`` vs ``python -c "import invoke"``                 target <= 1.5x
- ``csp-secure-app plan`` vs importing the Pulumi SDK modules it loads         target <= 1.5x
- rotate / verify / settings / store-token vs their bare calls        target <= 1.15x
  (bench/lifecycle.py: one double, one interleaved run; the same runs give)
- connections per host per task, counted at the double                target  = 1
- requests per task vs the protocol minimum (the CLI runs above), and per consent / rotate /
  verify in-process with the CSP tenant named by its domain and by its GUID   target = 1.00
- ``--scale``: rotate --keep 10 over 10 / 100 / 1,000 versions (bench/rotate_scale.py) and
  mfa-report over 1,000 / 10,000 / 100,000 users (bench/mfa_scale.py); a few minutes
- ``--suite``: the full test suite's wall time on this machine        target <= 150 s
Timings are medians of N runs of a fresh process each; nothing here is asserted in tests. The
first line names the machine and its load: figures from a loaded machine say little.
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
    env = compiled(dict(os.environ))
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env=env)  # writes bytecode
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env=env)
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
    from bench.requests_count import count_requests
    from bench.world import FORMS, off_minimum

    rows = []
    for form in FORMS:
        for flow, (counted, minimum) in count_requests(form).items():
            ratio = sum(counted.values()) / sum(minimum.values())
            off = off_minimum(counted, minimum)
            verdict = "ok" if not off else f"MISS {off}"
            rows.append(f"| requests per {flow} ({form}) | {sum(counted.values())} | "
                        f"{sum(minimum.values())} (minimum) | {ratio:.2f} | = 1.00 | {verdict} |")
    return rows


#: The issue's target for pytest alone on 2 cores (``python3 dev.py test``, lint included: 200 s).
SUITE_TARGET = 150


#: pytest as ``python3 dev.py test`` runs it (tasks.py's ``test``).
SUITE = ("-m", "pytest", "-n", "4", "--dist", "worksteal", "-q")


def suite_row() -> str:
    start = time.perf_counter()
    proc = subprocess.run([PY, *SUITE], cwd=ROOT, capture_output=True,
                          text=True, check=False, env=compiled(dict(os.environ)))
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines() or ["?"]
    last = lines[-1]
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):  # which, for whoever reads the MISS
            print(line, file=sys.stderr)
    verdict = "ok" if wall <= SUITE_TARGET and proc.returncode == 0 else "MISS"
    return (f"| test suite (`pytest {' '.join(SUITE[2:])}`) | {wall:.1f} s | {last} | | "
            f"<= {SUITE_TARGET} s | {verdict} |")


def compiled(env: dict[str, str]) -> dict[str, str]:
    """Bytecode reused between runs, as where the tool is installed (``bench.lifecycle``)."""
    import tempfile

    from bench.lifecycle import compiled_env

    return compiled_env(env, Path(tempfile.gettempdir()) / "csp-secure-app-bench")


def machine() -> str:
    load = " / ".join(f"{n:.2f}" for n in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}; "
            f"load average {load} (1 / 5 / 15 min)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bundle", choices=("certifi", "double"), default="certifi",
                        help="the CA bundle the lifecycle tasks trust (bench/lifecycle.py)")
    parser.add_argument("--scale", action="store_true", help="also the scaling tables")
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite")
    args = parser.parse_args()
    from bench import lifecycle

    print(machine())
    print("| what | measured | baseline | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    print(ratio_row("`invoke --list`", [*INVOKE, "--list"], [PY, "-c", "import invoke"],
                    args.runs, 1.5))
    print(ratio_row("`csp-secure-app plan`", [*INVOKE, "plan"], plan_baseline(), args.runs, 1.5))
    for row in lifecycle.main(args.runs, args.bundle):
        print(row, flush=True)
    for row in request_rows():
        print(row)
    if args.suite:
        print(suite_row())
    if args.scale:
        from bench import mfa_scale, rotate_scale

        print()
        rotate_scale.main()
        print()
        mfa_scale.main()
    print(machine().replace("machine:", "at the end:", 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
