"""``infra/__main__.py`` as Pulumi runs it: a bad stack config is one clean line per problem and a
non-zero exit, never a Python traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from foundation.errors import EXIT_BAD_INPUT

REPO = Path(__file__).resolve().parents[2]


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


def test_structured_issue_4_keys_are_validated_as_the_engine_passes_them(tmp_path: Path) -> None:
    """The engine hands structured config over as JSON text: the pipeline identity's fields and
    the MFA keys are judged from there, one line each."""
    config = {
        "csp-secure-app:location": "westeurope",
        "csp-secure-app:vaultName": "kv-csp-token",
        "csp-secure-app:cspDomain": "contoso.onmicrosoft.com",
        "csp-secure-app:clientSecretRotation": "2020-01-01",
        "csp-secure-app:cloud": "china",
        "csp-secure-app:mfaEnforcement": "securityDefaults",
        "csp-secure-app:mfaExcludedObjectIds": '["99999999-8888-4777-8666-555555555555"]',
        "csp-secure-app:pipelineIdentity": json.dumps(
            {"issuer": "http://token.actions.githubusercontent.com", "subject": "repo:c/r:*"}
        ),
    }
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(config)}
    done = subprocess.run(
        [sys.executable, str(REPO / "infra" / "__main__.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_BAD_INPUT
    lines = done.stderr.strip().splitlines()
    assert [line.split(":")[2] for line in lines] == [
        "mfaExcludedObjectIds",
        "pipelineIdentity",
        "pipelineIdentity",
    ]
    assert "security defaults cannot exclude any account" in lines[0]
    assert "not an https URL" in lines[1] and "does not expand" in lines[2]
