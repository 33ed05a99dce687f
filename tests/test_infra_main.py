"""``infra/__main__.py`` as Pulumi runs it: a bad stack config is one clean line per problem and a
non-zero exit, never a Python traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scripts.errors import EXIT_BAD_INPUT

REPO = Path(__file__).resolve().parent.parent


def test_bad_config_prints_one_line_per_problem_and_exits_2(tmp_path: Path) -> None:
    config = {
        "csp-secure-app:location": "westeurope",
        "csp-secure-app:vaultName": "1-bad",
        "csp-secure-app:cspDomain": "contoso",
        "csp-secure-app:clientSecretRotation": "soon",
    }
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(config)}
    # Run from elsewhere, the way the engine does (program directory infra/, not the repo root).
    done = subprocess.run(
        [sys.executable, str(REPO / "infra" / "__main__.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("error: csp-secure-app:") for line in lines)
    assert {line.split(":")[2] for line in lines} == {
        "vaultName",
        "cspDomain",
        "clientSecretRotation",
    }
