"""`invoke plan`'s engine: the example stack plans clean offline, broken stacks give one line
per problem, and the mocks can be subclassed (``invoke demo`` builds on that)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import policy_rules as t
from scripts.errors import ConfigError, InvalidConfig
from scripts.plan import RecordingMocks, ResourceRecord, run_plan, run_program

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 29)


def test_example_stack_plans_clean() -> None:
    report = run_plan("dev", REPO, today=TODAY)
    assert report.problems == []
    lines = report.lines
    assert lines[0].startswith("Offline plan for stack 'dev'")
    assert lines[-1].startswith("Policy: all")
    assert "  keyVaultClientAppSecret = ***" in lines
    # One line per resource the example declares.
    assert sum(line.startswith("  + ") for line in lines) == 13
    assert not report.result.warnings


def test_listing_the_deployer_as_a_writer_is_caught_before_deploying(tmp_path: Path) -> None:
    mocks = RecordingMocks()
    result = run_program(
        {
            "location": "westeurope",
            "vaultName": "kv-csp-token",
            "cspDomain": "contoso.onmicrosoft.com",
            "clientSecretRotation": "2026-11-01",
            "writerObjectIds": mocks.deployer_object_id,
        },
        mocks,
        today=TODAY,
    )
    (problem,) = t.check_all(result.resources, TODAY)
    assert f"grants {mocks.deployer_object_id} on kv-csp-token again" in problem


def test_unknown_stack_names_the_file_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        run_plan("prod", tmp_path, today=TODAY)
    assert str(tmp_path / "Pulumi.prod.yaml") in caught.value.one_line()


def test_broken_stack_file_gives_one_line_per_problem(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["csp-secure-app:vaultName"] = "kv--broken"
    config["csp-secure-app:softDeleteRetentionDays"] = 3
    config["csp-secure-app:allowedIpRanges"] = ["10.0.0.0/8"]
    config["csp-secure-app:secretNam"] = "typo"
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(InvalidConfig) as caught:
        run_plan("broken", tmp_path, today=TODAY)
    lines = caught.value.lines()
    assert len(lines) == 4
    keys = sorted(line.split(":")[1] for line in lines)
    assert keys == ["allowedIpRanges", "secretNam", "softDeleteRetentionDays", "vaultName"]


def test_invalid_yaml_is_a_config_error_with_the_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  csp-secure-app:location: [west\n")
    with pytest.raises(ConfigError) as caught:
        run_plan("bad", tmp_path, today=TODAY)
    assert "not valid YAML at line" in caught.value.one_line()


def test_policy_violations_are_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program change that breaks a rule (here: the token secret loses its content type)
    shows up as a problem line in the report; tasks.py turns problems into exit code 6."""
    from infra import token_vault

    shutil.copy(REPO / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    monkeypatch.setattr(token_vault, "TOKEN_CONTENT_TYPE", "")
    report = run_plan("dev", tmp_path, today=TODAY)
    assert report.problems == [
        "token-vault-token-secret: has no content type. Fix: set properties.content_type."
    ]
    assert report.lines[-2:] == ["Policy: 1 violation(s):", f"  - {report.problems[0]}"]


def test_mocks_subclass_hook_sees_every_custom_resource_with_its_options() -> None:
    seen: list[ResourceRecord] = []

    class Demo(RecordingMocks):
        def create(self, record: ResourceRecord) -> tuple[str, dict[str, Any]]:
            if record.custom:
                seen.append(record)
            return super().create(record)

    result = run_program(
        {
            "location": "westeurope",
            "vaultName": "kv-csp-token",
            "cspDomain": "contoso.onmicrosoft.com",
            "clientSecretRotation": "2026-11-01",
        },
        Demo(seed="other"),
        today=TODAY,
    )
    assert {r.name for r in seen} == {r.name for r in result.resources if r.custom}
    secret = next(r for r in seen if r.type == t.SECRET)
    assert secret.options["retainOnDelete"] is True


def test_ids_are_stable_per_seed_and_distinct_across_seeds() -> None:
    config = {
        "location": "westeurope",
        "vaultName": "kv-csp-token",
        "cspDomain": "contoso.onmicrosoft.com",
        "clientSecretRotation": "2026-11-01",
    }

    def app_ids(mocks: RecordingMocks) -> Any:
        result = run_program(config, mocks, today=TODAY)
        return result.outputs["keyVaultClientAppId"].value

    assert app_ids(RecordingMocks()) == app_ids(RecordingMocks())
    assert app_ids(RecordingMocks()) != app_ids(RecordingMocks(seed="x"))


def test_importing_plan_and_rules_does_not_load_provider_sdks() -> None:
    code = (
        "import sys, scripts.plan, scripts.policy_rules; "
        "print(sorted(m for m in sys.modules if m.startswith(('pulumi_azure', 'pulumi_azuread'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
