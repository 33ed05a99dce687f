"""`csp-secure-app plan`'s engine: the example stack plans clean offline, broken stacks give one
line
per problem, and the mocks can be subclassed (``csp-secure-app demo`` builds on that)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from foundation.errors import ConfigError, InvalidConfig
from scripts.offline.plan_engine import run_plan, run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord
from scripts.policy import rules as t

REPO = Path(__file__).resolve().parents[2]
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
    secret = next(r for r in seen if t.kind(r) == t.SECRET)
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
        "import sys, scripts.flows.plan, scripts.offline.plan_engine, scripts.policy.rules; "
        "print(sorted(m for m in sys.modules if m.startswith(('pulumi_azure', 'pulumi_azuread'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_example_stack_still_plans_after_its_client_secret_expired() -> None:
    """The example's secret ends on 2028-11-28; the plan (and the README's demo with it) must
    keep passing after that, with a warning that names the fix instead of a failure."""
    later = date(2029, 3, 1)
    report = run_plan("dev", REPO, today=later)
    assert report.problems == []
    (warning,) = report.policy_warnings
    assert warning.startswith("keyvault-client-secret: ended on 2028-11-28")
    assert "set clientSecretRotation to 2029-03-01" in warning
    assert f"warning: {warning}" in report.lines
    assert report.lines[-1].startswith("Policy: all") and "1 warning(s)" in report.lines[-1]


def test_a_rotation_date_in_the_future_is_still_refused(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    with pytest.raises(InvalidConfig) as caught:
        run_plan("dev", tmp_path, today=date(2026, 11, 28))
    (line,) = caught.value.lines()
    assert line.startswith("csp-secure-app:clientSecretRotation: 2026-11-29 is in the future")


def test_example_stack_declares_the_pipeline_identity_as_a_writer() -> None:
    report = run_plan("dev", REPO, today=TODAY)
    text = "\n".join(report.lines)
    assert "+ ApplicationFederatedIdentityCredential pipeline-federation" in text
    assert "subject repo:contoso/csp-secure-app:ref:refs/heads/main" in text
    assert "token-vault-access-writer-pipeline" in text
    outputs = report.result.outputs
    assert {"cloud", "pipelineClientId", "pipelineTenantId"} <= set(outputs)


def test_a_china_stack_plans_with_china_vault_uris(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    document["config"]["csp-secure-app:cloud"] = "china"
    document["config"]["csp-secure-app:location"] = "chinanorth3"
    (tmp_path / "Pulumi.cn.yaml").write_text(yaml.safe_dump(document))
    report = run_plan("cn", tmp_path, today=TODAY)
    assert report.problems == []
    assert "  vaultUri = https://kv-csp-token-dev.vault.azure.cn/" in report.lines
    assert "  cloud = china" in report.lines
    assert "audiences ['api://AzureADTokenExchangeChina']" in "\n".join(report.lines)


def test_every_mfa_mode_of_the_example_plans_clean(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    for mode, state in (
        ("securityDefaults", None),
        ("conditionalAccess", "enabledForReportingButNotEnforced"),
        ("conditionalAccess", "enabled"),
    ):
        config["csp-secure-app:mfaEnforcement"] = mode
        config.pop("csp-secure-app:mfaPolicyState", None)
        if state:
            config["csp-secure-app:mfaPolicyState"] = state
            config["csp-secure-app:mfaExcludedObjectIds"] = ["99999999-8888-4777-8666-555555555555"]
        (tmp_path / "Pulumi.mfa.yaml").write_text(yaml.safe_dump(document))
        report = run_plan("mfa", tmp_path, today=TODAY)
        assert report.problems == [], (mode, state)
