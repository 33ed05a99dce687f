"""`csp-secure-app demo`: the README's first command, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
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
