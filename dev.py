#!/usr/bin/env python3
"""Set up and run, on a machine with nothing but Python 3.11+.

    python3 dev.py demo     # the main job: the whole flow, rehearsed against a local cloud double
    python3 dev.py test     # lint, type-check, scan and run the whole test suite
    python3 dev.py <task> [args]   # any task, e.g. plan --stack dev, consent --help

It creates ./.venv when missing, (re)installs the project there when pyproject.toml changed, then
runs ``csp-secure-app <task>`` (``invoke test`` for the tests) inside it. Standard library only: it
must run before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def ensure_environment(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs on any python3 to say so)
        sys.exit(f"error: Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() in (wanted, _stamp_with_test()):
        return
    if not PYTHON.exists():
        print("Creating .venv ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing the project into .venv ({extras or 'runtime'}) ...", file=sys.stderr,
          flush=True)
    target = f".[{extras}]" if extras else "."
    pip = [str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", target], cwd=ROOT, check=True)  # noqa: S603 (our own venv)
    STAMP.write_text(wanted)


def _stamp_with_test() -> str:
    """An environment installed for the tests also serves every other task."""
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + b"test").hexdigest()


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    ensure_environment("test" if argv[0] == "test" else "")
    # The product's tasks run through its console command (exit 2 on every usage error); the
    # developers' `test` task lives in the clone's tasks.py, for invoke.
    command = "invoke" if argv[0] == "test" else "csp-secure-app"
    return subprocess.call([str(BIN / command), *argv], cwd=ROOT)  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
