"""`csp-secure-app consent` and `csp-secure-app store-token` end to end, as a subprocess, against
the double.

The failure rows (cancelled, no MFA, forged state, wrong CPV secret, busy port, bad fallback
files, a vault that refuses or is down, ...) live in the matrix: tests/test_matrix_*.py."""

from __future__ import annotations

import json
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import msal
import pytest

from scripts.flows.settings import env_name
from tests.support import ROOT, PartnerWorld, assert_no_secret, deliver

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


def kept_files(world: PartnerWorld) -> list[Path]:
    pending = world.home / "pending"
    return sorted(pending.glob("*.json")) if pending.exists() else []


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
    # Printed, so not kept: only the masked run left a file.
    assert "refresh_token_file" not in settings and len(kept_files(world)) == 1


def test_manual_store_keeps_the_masked_token_in_an_owner_only_file_store_token_accepts(world):
    """Issue 11: `--store manual` printed `Refresh Token ***`, exited 0 and wrote nothing, so
    the admin's MFA sign-in was lost. Now the token waits in the fallback file, the result
    names it, stderr says how to read it or push it, and store-token takes it."""
    result = world.consent("--store", "manual", "--format", "json")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["refresh_token"] == "***"
    kept = Path(settings["refresh_token_file"])
    assert kept_files(world) == [kept]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    token = json.loads(kept.read_text())["refresh_token"]
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), token])
    lines = result.stderr.splitlines()
    assert any(str(kept) in line and "readable by you only" in line for line in lines)
    assert any(f"csp-secure-app store-token --from-file {kept}" in line for line in lines)
    assert any("--show-secrets prints it" in line for line in lines)

    pushed = world.invoke("store-token", "--from-file", str(kept), "--vault-url",
                          world.vault.uri, "--secret-name", world.secret_name)
    assert pushed.returncode == 0, pushed.stderr
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.value == token and version.version in pushed.stdout
    assert "access_token" in redeem(world, version.value)
    assert not kept.exists(), "store-token deletes the file it stored"
    assert_no_secret(pushed.stdout + pushed.stderr, [token])


@pytest.mark.parametrize("fmt", ["table", "env"])
def test_manual_store_names_the_kept_file_in_every_format(world, fmt):
    result = world.consent("--store", "manual", "--format", fmt)
    assert result.returncode == 0, result.stderr
    [kept] = kept_files(world)
    last = result.stdout.splitlines()[-1]
    if fmt == "table":
        assert re.fullmatch(rf"Refresh Token File +{re.escape(str(kept))}", last)
    else:
        name, value = last.split("=", 1)
        assert name.endswith("REFRESH_TOKEN_FILE") and shlex.split(value) == [str(kept)]
    token = json.loads(kept.read_text())["refresh_token"]
    assert_no_secret(result.stdout + result.stderr, [token])


def consent_read_whole(world: PartnerWorld, *args: str) -> subprocess.CompletedProcess[str]:
    """``consent --no-browser`` with the admin played once its countdown starts; every stderr
    line kept (``communicate`` would skip what the line reader already buffered)."""
    cmd = [sys.executable, "-m", "scripts.cli", "consent", "--no-browser", "--redirect-port",
           str(world.port), "--timeout", "30", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, text=True, env=world.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    seen, url = [], ""
    try:
        for line in proc.stderr:
            seen.append(line)
            url = line.strip() if line.startswith("https://") else url
            if line.startswith("waiting for the sign-in: "):
                break
        redirect = world.cloud.sign_in(url, world.admin.upn, world.password, mfa_code="auto")
        deliver(redirect)
        seen.append(proc.stderr.read())
        out = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "".join(seen))


def test_the_sign_in_block_says_who_signs_in_where_how_long_and_what_else_to_try(world):
    """Not a terminal (a pipe): the block, then one plain countdown line, no carriage returns."""
    result = consent_read_whole(world, "--store", "manual", "--show-secrets")
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "\r" not in err
    lines = err.splitlines()
    [url_at] = [i for i, line in enumerate(lines) if line.startswith("https://")]
    block = lines[:lines.index("waiting for the sign-in: 0:30 left (Ctrl-C cancels)") + 1]
    assert block[0] == f"Sign-in for the partner tenant {world.domain}"
    assert any(f"a Global Administrator of {world.domain}" in line and "an Admin Agent" in
               line and "AdminAgents group" in line for line in block)
    assert "open it in a browser on this machine" in lines[url_at - 1]
    assert any(f"comes back to http://localhost:{world.port}/" in line for line in block)
    assert any("up to 30 s" in line and "Ctrl-C cancels" in line for line in block)
    fallbacks = [line.split()[0] for line in block if line.startswith("    --")]
    assert fallbacks == ["--paste", "--device-code"], "--no-browser is the mode of this run"


def test_paste_mode_takes_the_redirected_url_from_stdin(world):
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--paste", "--redirect-port",
         str(world.port), "--format", "json"],
        cwd=ROOT, text=True, env=world.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert proc.stderr is not None and proc.stdin is not None and proc.stdout is not None
    seen = []
    for line in proc.stderr:  # up to the prompt: the block, its link among them
        seen.append(line.rstrip("\n"))
        if line.startswith("Paste the address the browser ended on"):
            break
    url = next(line for line in seen if line.startswith("https://"))
    redirect = world.cloud.sign_in(url, world.admin.upn, world.password, mfa_code="auto")
    proc.stdin.write(redirect + "\n")
    proc.stdin.close()
    err, out = proc.stderr.read(), proc.stdout.read()
    assert proc.wait(timeout=60) == 0, err
    assert json.loads(out)["mfa_method"] == "Azure Key Vault"  # stdout is the result alone
    assert len(world.vault.secret_versions(world.secret_name)) == 1
    # The block, after the link: where the browser ends, how long, the other ways, the prompt.
    lines = seen
    assert any(f"the browser ends on http://localhost:{world.port}/?code=" in line and
               "paste it here" in line for line in lines)
    assert any("up to 300 s" in line and "Ctrl-C cancels" in line for line in lines)
    assert [line.split()[0] for line in lines if line.startswith("    --")] == [
        "--no-browser", "--device-code"]
    assert any(line.startswith("Paste the address the browser ended on") for line in lines)


def test_paste_mode_waits_no_longer_than_its_timeout(world):
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--paste", "--redirect-port",
         str(world.port), "--timeout", "1"],
        cwd=ROOT, text=True, env=world.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        proc.wait(timeout=60)  # stdin stays open: nothing is ever pasted
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 3, err
    [line] = [x for x in err.splitlines() if x.startswith("error: ")]
    assert "no address was pasted within 1 s" in line and "--timeout" in line
    assert out == "" and world.vault.secret_versions(world.secret_name) == []


def test_paste_mode_still_refuses_a_pasted_url_with_a_forged_state_at_once(world):
    """The listener now ignores a wrong state and waits on (issue 10); a person who pasted one
    gets the refusal straight away, as before."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "consent", "--paste", "--redirect-port",
         str(world.port), "--format", "json"],
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
    seen = []
    for line in proc.stderr:
        seen.append(line)
        code = re.search(r"open (https://\S+) and enter the code (\S+)$", line.strip())
        if code:
            break
    assert code, "".join(seen)
    assert world.cloud.sign_in_device(code.group(2), world.admin.upn, world.password)
    assert proc.stdout is not None
    err = proc.stderr.read()  # the file, not communicate(): it would skip what is buffered
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, err
    [version] = world.vault.secret_versions(world.secret_name)
    assert version.version in json.loads(out)["key_vault_url"]
    # The block: the tenant, who, the code's page (the double's), the time left, other ways.
    lines = "".join(seen).splitlines() + err.splitlines()
    assert lines[0] == f"Sign-in for the partner tenant {world.domain}"
    assert any("Global Administrator" in line and "Admin Agent" in line for line in lines)
    assert code.group(1).startswith(world.cloud.authority_host)
    assert any(re.search(r"waits: +up to \d+ s \(\d+:\d\d", line) for line in lines)
    assert re.search(r"^waiting for the sign-in: \d+:\d\d left \(Ctrl-C cancels\)$", err, re.M)
    assert [line.split()[0] for line in lines if line.startswith("    --")] == [
        "--no-browser", "--paste"]


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
    # Named as settings names them for env (a prefix keeps them apart from the tool's inputs).
    assert values[env_name("key_vault_client_app_secret")] == world.kv_secret
    assert values[env_name("app_secret")] == world.cpv_secret


def test_the_in_process_seed_stores_what_the_consent_command_stores(cloud, tmp_path: Path):
    """Tests of what happens to a consented token start from ``seed_in_process`` (no child
    process): it must leave the vault as `csp-secure-app consent` does, or they test a world
    no user ever has."""
    from tests.support import redeems, seed, seed_in_process

    by_command = seed(PartnerWorld(cloud, tmp_path / "command"))
    in_process = seed_in_process(PartnerWorld(cloud, tmp_path / "in-process"))

    def shape(world: PartnerWorld) -> dict:
        [version] = world.vault.secret_versions(world.secret_name)
        assert redeems(world, version.value), "the stored token must work"
        mine = {"obtainedBy": world.admin.upn, "tenantId": world.tenant.id,
                "cpvAppId": world.cpv.app_id}
        tags = {k: ("<this world's>" if mine.get(k) == v else v)
                for k, v in (version.tags or {}).items()}
        return {"content_type": version.content_type, "enabled": version.enabled,
                "not_before": version.not_before,
                "tags": {k: v for k, v in tags.items() if not k.endswith("At")},
                "timestamp_tags": sorted(k for k in tags if k.endswith("At")),
                "lifetime_days": round((version.expires - version.created).total_seconds()
                                       / 86400)}

    assert shape(in_process) == shape(by_command)
    for world in (by_command, in_process):
        assert not (world.home / "pending").exists() or not any(
            (world.home / "pending").iterdir()), "nothing kept: the vault took the token"
