"""The GitOps pipeline samples (examples/pipelines/) and the readers their tests share: where
the samples are, YAML loading (with YAML 1.1's boolean ``on``), a GitHub job's steps and every
Azure DevOps step with its script. Used by test_pipeline_linters.py, test_pipeline_promises.py
and test_pipeline_exit_codes.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "examples" / "pipelines"
GITHUB = sorted(SAMPLES.glob("github-*.yml"))
ADO = SAMPLES / "azure-pipelines.yml"


def load_yaml(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    trigger = workflow.get("on", workflow.get(True))
    assert isinstance(trigger, dict)
    return trigger


def github_workflow(name: str) -> dict[Any, Any]:
    return load_yaml(SAMPLES / f"github-{name}.yml")


def job_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def ado_steps(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "script" in node or "task" in node or "checkout" in node:
            yield node
        for value in node.values():
            yield from ado_steps(value)
    elif isinstance(node, list):
        for value in node:
            yield from ado_steps(value)


def ado_script(step: dict[str, Any]) -> str | None:
    if "script" in step:
        return str(step["script"])
    inline = step.get("inputs", {}).get("inlineScript")
    return str(inline) if inline is not None else None
