"""What the pipeline samples promise, read from their YAML: OIDC-only sign-in (no stored cloud
secret, least-privilege permissions), a plan on pull requests and previews with the policy pack,
pulumi up in an environment on main, a weekly rotate then verify, the Azure DevOps triggers and
secret mapping, and a temporary vault firewall rule that is opt-in and always removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.samples.pipeline_samples import (
    ADO,
    GITHUB,
    ado_script,
    ado_steps,
    github_workflow,
    job_steps,
    load_yaml,
    triggers,
)

# The only stored secret a sample may name: Pulumi's passphrase provider (not a cloud credential).
ALLOWED_SECRETS = {"secrets.PULUMI_CONFIG_PASSPHRASE"}
CLOUD_SECRET_MARKERS = ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "client-secret", "creds:")


@pytest.mark.parametrize("path", [*GITHUB, ADO], ids=lambda p: p.name)
def test_no_stored_cloud_secret(path: Path) -> None:
    text = path.read_text()
    for marker in CLOUD_SECRET_MARKERS:
        assert marker not in text, f"{path.name} names {marker}: use OIDC, not a stored secret"
    used = {word.rstrip("}) ,") for word in text.split() if word.startswith("secrets.")}
    assert used <= ALLOWED_SECRETS, used


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_every_azure_login_is_oidc_with_variables(path: Path) -> None:
    workflow = load_yaml(path)
    assert workflow["permissions"] == {"contents": "read"}, "least privilege at workflow level"
    for name, job in workflow["jobs"].items():
        logins = [s for s in job_steps(job) if str(s.get("uses", "")).startswith("azure/login@")]
        pulumi = any("pulumi " in str(s.get("run", "")) for s in job_steps(job))
        if not logins:
            assert not pulumi, f"{name} runs pulumi without signing in"
            continue
        assert job["permissions"]["id-token"] == "write", f"{name} cannot request an OIDC token"
        for login in logins:
            inputs = login["with"]
            assert "creds" not in inputs and "client-secret" not in inputs
            assert inputs["client-id"].startswith("${{ vars.")
            assert inputs["tenant-id"] == "${{ vars.AZURE_TENANT_ID }}"
        if pulumi:
            assert job["env"]["ARM_USE_OIDC"] == "true"
            for var in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
                assert job["env"][var].startswith("${{ vars."), var
            assert any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in job_steps(job))
        for step in job_steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
        assert any("python -m pip install -e" in str(s.get("run", "")) for s in job_steps(job))


def test_pull_request_plans_offline_then_previews_with_the_policy_pack() -> None:
    workflow = github_workflow("pull-request")
    assert "pull_request" in triggers(workflow)
    plan, preview = workflow["jobs"]["plan"], workflow["jobs"]["preview"]
    assert any("csp-secure-app plan" in str(s.get("run", "")) for s in job_steps(plan))
    assert "permissions" not in plan and not any("azure/login" in str(s) for s in job_steps(plan))
    assert preview["needs"] == "plan"
    runs = " ".join(str(s.get("run", "")) for s in job_steps(preview))
    assert "pulumi preview" in runs and "--policy-pack policy" in runs
    assert "head.repo.full_name == github.repository" in preview["if"], "no OIDC for forks"


def test_main_runs_pulumi_up_in_an_environment() -> None:
    workflow = github_workflow("deploy")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    job = workflow["jobs"]["up"]
    assert job["environment"] == "production"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    runs = [str(s.get("run", "")) for s in job_steps(job)]
    assert any("pulumi up" in r and "--policy-pack policy" in r for r in runs)


def test_schedule_rotates_weekly_then_verifies_as_json() -> None:
    workflow = github_workflow("token-health")
    assert triggers(workflow)["schedule"] == [{"cron": "0 3 * * 1"}]  # Monday 03:00 UTC
    assert workflow["concurrency"]["cancel-in-progress"] is False
    job = workflow["jobs"]["rotate-and-verify"]
    ids = [s.get("id") for s in job_steps(job)]
    assert ids.index("rotate") < ids.index("verify")
    steps = {s.get("id"): s for s in job_steps(job)}
    assert "csp-secure-app rotate" in steps["rotate"]["run"]
    assert "csp-secure-app verify --format json" in steps["verify"]["run"]
    issue = job_steps(job)[-1]
    assert "failure()" in issue["if"] and "gh issue create" in issue["run"]
    assert job["permissions"]["issues"] == "write"


def test_azure_devops_triggers_oidc_and_secret_mapping() -> None:
    doc = load_yaml(ADO)
    assert doc["schedules"][0]["cron"] == "0 3 * * 1" and doc["schedules"][0]["always"] == "true"
    stages = {s["stage"]: s for s in doc["stages"]}
    assert "Schedule" in stages["TokenHealth"]["condition"]
    assert "Schedule" in stages["Plan"]["condition"] and "Schedule" in stages["Deploy"]["condition"]
    assert all(v["name"] != "CPV_APP_SECRET" for v in doc["variables"]), "secret mapped per step"
    for step in ado_steps(doc):
        script = ado_script(step) or ""
        if "pulumi preview" in script or "pulumi up" in script:
            assert step["task"] == "AzureCLI@2" and step["inputs"]["addSpnToEnvironment"] is True
            assert "ARM_USE_OIDC=true" in script and 'ARM_OIDC_TOKEN="$idToken"' in script
        if "csp-secure-app rotate" in script or "csp-secure-app verify" in script:
            assert step["env"]["CPV_APP_SECRET"] == "$(CPV_APP_SECRET)"
        if "csp-secure-app verify" in script:
            assert step["env"]["KV_CLIENT_APP_SECRET"] == "$(KV_CLIENT_APP_SECRET)"
    names = [s.get("name") for s in ado_steps(stages["TokenHealth"])]
    assert names.index("rotate") < names.index("verify")


def test_temporary_firewall_rule_is_opt_in_and_always_removed() -> None:
    """A GitHub-hosted runner's address changes: the sample may allow it for one run only, and
    must remove the rule whatever happened (before the issue step, which stays last)."""
    steps = job_steps(github_workflow("token-health")["jobs"]["rotate-and-verify"])
    ids = [s.get("id") for s in steps]
    add = steps[ids.index("temporary-rule")]
    assert add["if"] == "vars.VAULT_TEMPORARY_RULE == 'true'"
    assert "az keyvault network-rule add" in add["run"]
    [remove] = [s for s in steps if "az keyvault network-rule remove" in str(s.get("run"))]
    assert "always()" in remove["if"] and "steps.temporary-rule.outputs.address" in remove["if"]
    assert ids.index("temporary-rule") < ids.index("rotate")
    assert ids.index("verify") < steps.index(remove) < len(steps) - 1
