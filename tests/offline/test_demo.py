"""`csp-secure-app demo`: the README's first command, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.support import ROOT


def test_demo_completes_and_prints_masked_settings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true"}
    proc = subprocess.run([sys.executable, "-m", "scripts.cli", "demo", "--format", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    settings = json.loads(proc.stdout)
    assert settings["mfa_method"] == "Azure Key Vault"
    assert settings["app_secret"] == settings["key_vault_client_app_secret"] == "***"
    assert settings["key_vault_url"].endswith("?api-version=7.0")
    assert "/secrets/PartnerCenterRefreshToken/" in settings["key_vault_url"]
    for step in ("1/6", "2/6", "3/6", "4/6", "5/6", "6/6"):
        assert step in proc.stderr
    assert "overall: ok" in proc.stderr and "Traceback" not in proc.stderr
    # Every check verify makes, the outlook checks included, each OK in the rehearsal.
    for check in ("vault read (as the platform)", "token redemption + MFA claim",
                  "partner-center-mfa", "consent", "conditional-access", "liveness"):
        assert re.search(rf"^    {re.escape(check)} +OK ", proc.stderr, re.M), check


def test_the_rehearsal_refuses_a_deployer_role_with_the_wrong_principal_type():
    """The demo's deployer is a service principal; declared as a User, ARM's answer
    (UnmatchedPrincipalType) is what the rehearsal reports, as a real deployment would."""
    from clouddouble import CloudDouble
    from scripts.offline.demo_world import DoubleMocks
    from scripts.offline.plan_engine import load_stack_config, run_program

    config = load_stack_config("dev", ROOT)
    results = {}
    for kind in ("User", "ServicePrincipal"):
        with CloudDouble() as cloud:
            tenant = cloud.add_tenant(domain="contoso.onmicrosoft.com")
            deployer = cloud.register_app(tenant.id, "deployment pipeline")
            deployer_sp = cloud.add_service_principal(tenant.id, deployer.app_id)
            mocks = DoubleMocks(cloud, tenant.id, deployer_sp)
            run_program({**config, "deployerPrincipalType": kind}, mocks)
            results[kind] = mocks.refusals
    assert results["User"] == [("token-vault-access-writer-deployer", "UnmatchedPrincipalType")]
    assert results["ServicePrincipal"] == []


def test_the_demo_in_process_leaves_the_environment_as_it_found_it():
    """The demo sets the double's CA bundle, endpoints and AZURE_* for its own clients; a caller
    in the same process (a notebook, a test) must not inherit them."""
    from scripts.offline.demo_world import run_demo

    before = dict(os.environ)
    lines: list[str] = []
    result = run_demo(ROOT, lines.append, use_browser=False)
    assert result.health.status != "broken"
    assert any(line.startswith("6/6") for line in lines)
    assert dict(os.environ) == before


def test_a_failed_demo_leaves_the_environment_as_it_found_it(monkeypatch):
    from scripts.offline import demo_world

    def fail(*_args, **_kwargs):
        assert os.environ.get("AZURE_CLIENT_SECRET")  # the world's identity was in place
        raise RuntimeError("the rehearsal broke")

    monkeypatch.setattr(demo_world, "rehearse", fail)
    before = dict(os.environ)
    with pytest.raises(RuntimeError):
        demo_world.run_demo(ROOT, lambda _line: None)
    assert dict(os.environ) == before


def test_two_demo_runs_print_the_same_steps_and_true_texts():
    """Run twice, the rehearsal lists the same resources in the same order (the engine
    registers them in no fixed order), names every service's address, and says nothing the
    real run does not do (it masks secrets too)."""
    import re

    from scripts.offline.demo_world import run_demo

    def shape(lines: list[str]) -> list[str]:
        # Ports, versions and ids differ between runs by design; the words and order may not.
        return [re.sub(r"127\.0\.0\.1:\d+|[0-9a-f]{32}|[0-9a-f-]{36}|[\d.]+ days", "X", line)
                for line in lines]

    runs = []
    for _ in range(2):
        lines: list[str] = []
        run_demo(ROOT, lines.append, use_browser=False)
        runs.append(lines)
    assert shape(runs[0]) == shape(runs[1])
    resources = [line for line in runs[0] if line.startswith("    + ")]
    assert resources == sorted(resources) and len(resources) == 13
    first = runs[0][0]
    assert "Entra ID https://127.0.0.1:" in first and "Partner Center https://" in first
    assert "Graph https://" in first
    assert not any("the real run prints" in line for line in runs[0])
    [stored] = [line for line in runs[0] if line.startswith("4/6")]
    assert "in the vault at https://127.0.0.1:" in stored


def test_outside_a_project_demo_rehearses_the_installed_example(tmp_path, monkeypatch):
    """After `pipx install`, the example stack lives in <env>/share/csp-secure-app (pyproject's
    data-files); a folder without Pulumi.yaml falls back to it, a project keeps its own."""
    import tomllib

    from scripts.cli.tasks import example_project

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = data["data-files"]["share/csp-secure-app"]
    assert all((ROOT / name).is_file() for name in shipped)
    prefix = tmp_path / "env"
    (prefix / "share" / "csp-secure-app").mkdir(parents=True)
    for name in shipped:
        (prefix / "share" / "csp-secure-app" / name).write_text((ROOT / name).read_text())
    monkeypatch.setattr(sys, "prefix", str(prefix))
    elsewhere = tmp_path / "anywhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert example_project("dev") == prefix / "share" / "csp-secure-app"
    monkeypatch.chdir(ROOT / "infra")  # inside the clone: its own project, found upwards
    assert example_project("dev") == ROOT


def test_demo_in_a_browser_without_one_says_what_to_do_and_ctrl_c_ends_it(tmp_path):
    """`demo --browser` where no browser can start (an SSH shell): it says so, names the way out
    (the scripted user, `demo --no-browser`) and the wait; Ctrl-C ends it with exit 130."""
    import signal

    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}  # no DISPLAY, no browser to find
    run = subprocess.Popen([sys.executable, "-m", "scripts.cli", "demo", "--browser"], cwd=ROOT,
                           env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stderr is not None
    seen = []
    for line in run.stderr:
        seen.append(line)
        if "note: could not open a browser" in line:
            break
    run.send_signal(signal.SIGINT)
    rest = run.stderr.read()
    assert run.wait(timeout=60) == 130, "".join(seen) + rest
    said = "".join(seen)
    assert "Waiting up to 300 s; Ctrl-C cancels" in said
    assert "demo --no-browser" in seen[-1] and "link above" in seen[-1]
    assert "error: interrupted (Ctrl-C)" in rest and "Traceback" not in rest
