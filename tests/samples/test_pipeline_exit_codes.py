"""The samples' exit-code handling, *executed*: each rotate and verify step's shell runs under
GitHub's bash flags (or as Azure DevOps' inline script) with fake ``csp-secure-app``/``az``
commands, so a regression in the shell, not just in the YAML, fails here: the job's exit code,
the annotation, the masking of secrets read from the vault and the alert webhook wiring."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.samples.pipeline_samples import ADO, ado_steps, github_workflow, job_steps, load_yaml


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
    job = github_workflow("token-health")["jobs"]["rotate-and-verify"]
    return str(next(s for s in job_steps(job) if s.get("id") == step_id)["run"])


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
    step = next(s for s in ado_steps(load_yaml(ADO)) if s.get("name") == name)
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
