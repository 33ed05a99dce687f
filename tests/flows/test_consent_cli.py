"""`csp-secure-app consent` and `csp-secure-app store-token` end to end, as a subprocess, against the double.

The failure rows (cancelled, no MFA, forged state, wrong CPV secret, busy port, bad fallback
files, a vault that refuses or is down, ...) live in the matrix: tests/test_matrix_*.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import msal
import pytest

from tests.support import ROOT, PartnerWorld, assert_no_secret

PC_SCOPE = ["https://api.partnercenter.microsoft.com/user_impersonation"]
SETTINGS_KEYS = ["csp_domain", "csp_account_id", "app_id", "app_secret", "mfa_method",
                 "key_vault_client_app_id", "key_vault_client_app_secret",
                 "key_vault_client_csp_domain", "key_vault_url"]


@pytest.fixture
def world(cloud, tmp_path: Path) -> PartnerWorld:
    return PartnerWorld(cloud, tmp_path / "home")


def redeem(world: PartnerWorld, refresh_token: str) -> dict:
    app = msal.ConfidentialClientApplication(
        world.cpv.app_id, client_credential=world.cpv_secret,
        authority=f"{world.cloud.authority_host}/{world.domain}", instance_discovery=False)
    return app.acquire_token_by_refresh_token(refresh_token, scopes=PC_SCOPE)


def test_consent_stores_a_working_token_and_prints_the_nine_settings(world):
    result = world.consent("--format", "json")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert list(settings) == SETTINGS_KEYS
    assert settings["mfa_method"] == "Azure Key Vault"
    assert settings["csp_account_id"] == world.tenant.id
    assert settings["app_secret"] == settings["key_vault_client_app_secret"] == "***"
    versions = world.vault.secret_versions(world.secret_name)
    assert len(versions) == 1
    newest = versions[-1]
    assert settings["key_vault_url"] == (
        f"{world.vault.uri.rstrip('/')}/secrets/{world.secret_name}/{newest.version}"
        "?api-version=7.0")
    assert newest.content_type and newest.expires and newest.tags["tenantId"] == world.tenant.id
    assert "access_token" in redeem(world, newest.value)  # the stored token really works
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), newest.value])
    assert not list((world.home / "pending").glob("*")), "the fallback file must be removed"


def test_manual_store_prints_the_token_only_when_asked(world):
    masked = world.consent("--store", "manual", "--format", "json")
    assert masked.returncode == 0, masked.stderr
    assert json.loads(masked.stdout)["refresh_token"] == "***"
    shown = world.consent("--store", "manual", "--format", "json", "--show-secrets")
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["mfa_method"] == "Manually"
    assert "access_token" in redeem(world, settings["refresh_token"])
    assert settings["app_secret"] == world.cpv_secret
    assert world.vault.secret_versions(world.secret_name) == []


def test_paste_mode_takes_the_redirected_url_from_stdin(world):
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--paste", "--redirect-port", str(world.port),
         "--format", "json"],
        cwd=ROOT, text=True, env=world.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert proc.stderr is not None and proc.stdin is not None
    url = next(line.strip() for line in proc.stderr if line.startswith("https://"))
    redirect = world.cloud.sign_in(url, world.admin.upn, world.password, mfa_code="auto")
    out, err = proc.communicate(redirect + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["mfa_method"] == "Azure Key Vault"  # stdout is the result alone
    assert len(world.vault.secret_versions(world.secret_name)) == 1


def test_paste_mode_still_refuses_a_pasted_url_with_a_forged_state_at_once(world):
    """The listener now ignores a wrong state and waits on (issue 10); a person who pasted one
    gets the refusal straight away, as before."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--paste", "--redirect-port", str(world.port),
         "--format", "json"],
        cwd=ROOT, text=True, env=world.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert proc.stderr is not None and proc.stdin is not None
    next(line for line in proc.stderr if line.startswith("https://"))
    forged = f"http://localhost:{world.port}/?code=stolen&state=forged"
    out, err = proc.communicate(forged + "\n", timeout=60)
    assert proc.returncode == 3, err
    [line] = [x for x in err.splitlines() if x.startswith("error: ")]
    assert "state that this run did not issue" in line and " Fix: " in line
    assert out == "" and world.vault.secret_versions(world.secret_name) == []


def test_device_code_sign_in_for_a_cpv_app_that_allows_public_flows(world):
    world.cloud.update_app(world.cpv.app_id, public_client=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--device-code", "--format", "json"],
        cwd=ROOT, text=True, env=world.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    message = next(line for line in proc.stderr if "code" in line.lower())
    user_code = re.search(r"enter the code (\S+)", message).group(1)
    assert world.cloud.sign_in_device(user_code, world.admin.upn, world.password)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.version in json.loads(out)["key_vault_url"]


def test_device_code_refused_for_a_confidential_only_cpv_app(world):
    result = world.invoke("consent", "--device-code")
    assert result.returncode == 3
    assert "AADSTS7000218" in result.stderr or "public client" in result.stderr


def test_settings_prints_the_same_settings_later_without_a_new_consent(world):
    consented = world.consent("--format", "json")
    assert consented.returncode == 0, consented.stderr
    later = world.invoke("settings", "--format", "json")
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout) == json.loads(consented.stdout)
    env = world.invoke("settings", "--format", "env", "--show-secrets")
    values = dict(shlex.split(line)[0].split("=", 1) for line in env.stdout.splitlines())
    assert values["KEY_VAULT_CLIENT_APP_SECRET"] == world.kv_secret
    assert values["APP_SECRET"] == world.cpv_secret
