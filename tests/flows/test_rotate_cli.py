"""`csp-secure-app rotate` end to end, as a subprocess, against the cloud double: the consent
flow seeds the vault (in this process: tests.support.seed_in_process), then rotation redeems the
stored refresh token with MSAL and writes a new version with the real Key Vault client, through
refusals, throttling and a race; `--keep N` over a secret with many versions, some of which the
vault refuses to disable. Services that stay down, slow or untrusted:
tests/test_matrix_services.py."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clouddouble import CloudDouble, shapes
from tests.support import (
    ROOT,
    PartnerWorld,
    assert_no_secret,
    redeems,
    seed_in_process,
    snapshot,
    written_earlier,
)

JSON_KEYS = {"previous_version", "version", "key_vault_url", "disabled_versions"}


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def quiet(world: PartnerWorld, *results: subprocess.CompletedProcess[str]) -> None:
    """No secret of the world and no stored refresh token in any output."""
    tokens = [v.value for v in world.vault.secret_versions(world.secret_name)]
    for result in results:
        assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *tokens])


def kv_url(world: PartnerWorld, version: str) -> str:
    return f"{world.vault.uri.rstrip('/')}/secrets/{world.secret_name}/{version}?api-version=7.0"


def later(world: PartnerWorld) -> None:
    """Rotations are days apart in real life, and Key Vault's timestamps have one-second steps:
    the versions so far are moved a second back (``tests.support.written_earlier``), so the next
    rotation's is in a later second and "older" is well defined."""
    written_earlier(world)


def test_rotate_stores_a_new_working_token_with_a_fresh_expiry(world: PartnerWorld) -> None:
    [old] = world.vault.secret_versions(world.secret_name)
    result = world.invoke("rotate")
    assert result.returncode == 0, result.stderr
    old_again, new = world.vault.secret_versions(world.secret_name)
    assert old_again.value == old.value and old_again.enabled, "the old version must stay usable"
    assert new.value != old.value
    assert redeems(world, new.value), "the new token must work"
    assert redeems(world, old.value), "the old token keeps working (refresh tokens roll)"
    lifetime = new.expires - new.created
    assert abs(lifetime - dt.timedelta(days=90)) < dt.timedelta(hours=1)
    assert new.content_type == old.content_type
    assert new.tags["source"] == "rotate"
    assert new.tags["tenantId"] == world.tenant.id and new.tags["cpvAppId"] == world.cpv.app_id
    url = kv_url(world, new.version)
    assert result.stdout.strip() == f"Key Vault URL (new module setting)  {url}"
    assert f"{old.version} -> {new.version}" in result.stderr
    assert not list((world.home / "pending").glob("*")), "no fallback file may be left behind"
    quiet(world, result)


def test_rotate_json_names_both_versions_and_the_new_setting(world: PartnerWorld) -> None:
    [old] = world.vault.secret_versions(world.secret_name)
    result = world.invoke("rotate", "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    new = world.vault.secret_versions(world.secret_name)[-1]
    assert set(out) == JSON_KEYS
    assert out["previous_version"] == old.version
    assert out["version"] == new.version
    assert out["key_vault_url"] == kv_url(world, new.version)
    assert out["disabled_versions"] == []
    quiet(world, result)


def test_keep_disables_older_versions_only_when_asked(world: PartnerWorld) -> None:
    later(world)
    by_default = world.invoke("rotate")
    assert by_default.returncode == 0, by_default.stderr
    assert [enabled for *_, enabled in snapshot(world)] == [True, True]

    later(world)
    kept = world.invoke("rotate", "--keep", "1", "--format", "json")
    assert kept.returncode == 0, kept.stderr
    versions = world.vault.secret_versions(world.secret_name)
    assert [v.enabled for v in versions] == [False, False, True]
    out = json.loads(kept.stdout)
    assert sorted(out["disabled_versions"]) == sorted(v.version for v in versions[:2])
    assert out["version"] == versions[-1].version
    assert redeems(world, versions[-1].value)
    quiet(world, by_default, kept)


def test_keep_two_leaves_the_previous_version_enabled(world: PartnerWorld) -> None:
    later(world)
    assert world.invoke("rotate").returncode == 0
    later(world)
    result = world.invoke("rotate", "--keep", "2")
    assert result.returncode == 0, result.stderr
    assert [enabled for *_, enabled in snapshot(world)] == [False, True, True]


def test_keep_below_one_is_refused_before_anything_happens(world: PartnerWorld) -> None:
    before = snapshot(world)
    result = world.invoke("rotate", "--keep", "-1")
    assert result.returncode == 2
    assert "--keep" in result.stderr and "Fix:" in result.stderr
    assert snapshot(world) == before


@pytest.mark.parametrize(("event", "code"), [
    ("expire_refresh_tokens", 700082),
    ("revoke_grants", 50173),
    ("require_mfa_again", 50078),
])
def test_refused_token_is_one_line_of_advice_and_leaves_the_vault_alone(
        world: PartnerWorld, event: str, code: int) -> None:
    before = snapshot(world)
    getattr(world.cloud, event)(world.admin.upn)
    result = world.invoke("rotate")
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"AADSTS{code}" in line
    assert "Fix:" in line and "csp-secure-app consent" in line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(world) == before
    assert not list((world.home / "pending").glob("*")), "nothing to keep: nothing was redeemed"
    quiet(world, result)


def _token_path(world: PartnerWorld) -> str:
    return rf"^/{re.escape(world.tenant.id)}/oauth2/v2\.0/token$"


#: rotate's first token request is the writer's (to read the vault), the second the refresh
#: token's redemption: the token faults below let the first one through.
REDEMPTION = 1


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("where", ["vault PUT", "token endpoint"])
def test_throttling_and_outages_are_retried(world: PartnerWorld, where: str, status: int) -> None:
    if where == "vault PUT":
        path, service, method = r"/secrets/", f"vault:{world.vault.name}", "PUT"
    else:
        path, service, method = _token_path(world), "identity", "POST"
    world.cloud.inject_fault(path, status=status, count=1, method=method, service=service,
                             retry_after=1 if status == 429 else None,
                             skip=REDEMPTION if where == "token endpoint" else 0)
    world.cloud.clear_requests()
    result = world.invoke("rotate")
    assert result.returncode == 0, result.stderr
    hits = [r.status for r in world.cloud.requests
            if r.service == service and r.method == method and re.search(path, r.path)]
    assert status in hits and hits[-1] == 200, f"the fault must be met, then retried: {hits}"
    assert len(world.vault.secret_versions(world.secret_name)) == 2
    assert redeems(world, world.vault.secret_versions(world.secret_name)[-1].value)
    quiet(world, result)


def test_a_retry_after_too_long_to_wait_is_told_not_waited_out(world: PartnerWorld) -> None:
    """Entra's plain-text 429 asking for 60 s: more than foundation.network.http.MAX_RETRY_AFTER,
    so no retry sits through it; the one line says how long to wait, and the vault is untouched."""
    body, content_type = shapes.entra_plain_text_429()
    world.cloud.inject_fault(_token_path(world), status=429, count=100, retry_after=60,
                             service="identity", skip=REDEMPTION, body=body,
                             content_type=content_type)
    world.cloud.clear_requests()
    started = time.monotonic()
    result = world.invoke("rotate")
    assert time.monotonic() - started < 30
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "throttled" in line and "429 Too Many Requests" in line
    assert "Fix: wait 60 s and run again." in line and "Traceback" not in result.stderr
    throttled = [r for r in world.cloud.requests
                 if r.service == "identity" and r.status == 429 and r.method == "POST"]
    assert len(throttled) == 1, "a 60 s Retry-After must not be retried"
    assert len(world.vault.secret_versions(world.secret_name)) == 1


@pytest.mark.parametrize("keep", [[], ["--keep", "1"]], ids=["keep-all", "keep-1"])
def test_two_rotations_at_once_leave_a_working_newest_version(world: PartnerWorld,
                                                              keep: list[str]) -> None:
    cmd = [sys.executable, "-m", "scripts.cli", "rotate", *keep]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=world.env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    for proc in procs:
        out, errout = proc.communicate(timeout=90)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, errout))
    ok = [r for r in results if r.returncode == 0]
    for failed in (r for r in results if r.returncode != 0):
        # Failing is allowed; failing messily is not.
        assert "Traceback" not in failed.stderr
        assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
    assert ok, [r.stderr for r in results]
    versions = world.vault.secret_versions(world.secret_name)
    assert len(versions) == 1 + len(ok)
    # The platform and `verify` read the newest version: it must never be the one disabled,
    # even when both rotations wrote within the same second.
    assert versions[-1].enabled
    assert all(v.enabled for v in versions) or keep
    assert redeems(world, versions[-1].value)
    printed = {r.stdout.strip().rsplit("/", 1)[-1].split("?")[0] for r in ok}
    assert printed == {v.version for v in versions[1:]}
    quiet(world, *results)


# -- --keep N over a long history: many PATCHes at once, every failure told ---------------------

def with_history(world: PartnerWorld, versions: int) -> PartnerWorld:
    """The seeded secret as years of weekly rotations have left it: ``versions`` in all, the
    consented one the newest (the double's ``add_history``: no round trip per version)."""
    world.vault.add_history(world.secret_name, versions - 1)
    assert len(world.vault.secret_versions(world.secret_name)) == versions
    return world


def vault_calls(world: PartnerWorld, method: str, path_end: str = "") -> list[tuple[str, int]]:
    """(path, status) of each request of ``method`` the world's vault answered."""
    return [(r.path, r.status) for r in world.cloud.requests
            if r.service == f"vault:{world.vault.name}" and r.method == method
            and r.path.endswith(path_end)]


def version_path(world: PartnerWorld, version: str) -> str:
    return f"/secrets/{world.secret_name}/{version}"


def enabled(world: PartnerWorld) -> list[bool]:
    return [v.enabled for v in world.vault.secret_versions(world.secret_name)]


def refuse_patch(world: PartnerWorld, version: str, status: int) -> None:
    """The vault refuses to disable this one version: 403 in Key Vault's access-policy shape,
    or a 5xx on every try azure-core makes (``Retry-After: 1`` keeps its retries short)."""
    body = None
    if status == 403:
        message = shapes.key_vault_access_policy_message(
            f"appid={world.writer_app.app_id}", "set", world.vault.name)
        body = json.dumps(shapes.key_vault_error("Forbidden", message, "AccessDenied")).encode()
    world.cloud.inject_fault(rf"^{re.escape(version_path(world, version))}$", status=status,
                             count=10, method="PATCH", service=f"vault:{world.vault.name}",
                             retry_after=1 if status >= 500 else None, body=body)


def test_keep_over_fifty_versions_disables_exactly_the_older_ones(world: PartnerWorld) -> None:
    with_history(world, 50)
    world.cloud.clear_requests()
    result = world.invoke("rotate", "--keep", "5", "--format", "json")
    assert result.returncode == 0, result.stderr
    versions = world.vault.secret_versions(world.secret_name)
    assert enabled(world) == [False] * 46 + [True] * 5, "the newest 5 stay, the 46 older go"
    out = json.loads(result.stdout)
    assert set(out) == JSON_KEYS
    assert sorted(out["disabled_versions"]) == sorted(v.version for v in versions[:46])
    assert out["version"] == versions[-1].version and redeems(world, versions[-1].value)
    patches = vault_calls(world, "PATCH")
    assert sorted(patches) == sorted((version_path(world, v.version), 200) for v in versions[:46])
    assert len(vault_calls(world, "GET", "/versions")) == 3, "51 versions: 3 pages of 25"
    assert "Disabled 46 older version(s)" in result.stderr

    world.cloud.clear_requests()
    again = world.invoke("rotate", "--keep", "5")
    assert again.returncode == 0, again.stderr
    assert enabled(world) == [False] * 47 + [True] * 5
    assert vault_calls(world, "PATCH") == [(version_path(world, versions[46].version), 200)], \
        "versions already disabled must not be PATCHed again"
    quiet(world, result, again)


def test_every_refused_version_is_told_and_a_refusal_is_exit_3(world: PartnerWorld) -> None:
    with_history(world, 40)
    old = world.vault.secret_versions(world.secret_name)
    failing = {old[3].version: 403, old[17].version: 403, old[30].version: 500}
    for version, status in failing.items():
        refuse_patch(world, version, status)
    result = world.invoke("rotate", "--keep", "3")
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    versions = world.vault.secret_versions(world.secret_name)
    new = versions[-1]
    # The rotation stands: its result (the platform's new identifier) is on stdout all the same.
    assert result.stdout.startswith("Key Vault URL (new module setting)")
    assert f"/{new.version}?api-version=7.0" in result.stdout
    for v in versions[:-3]:
        assert v.enabled == (v.version in failing), v.version
    assert all(v.enabled for v in versions[-3:]) and redeems(world, new.value)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 + len(failing), "one line for the rotation, one per version"
    head, *told = errors
    assert f"rotated to version {new.version}" in head and kv_url(world, new.version) in head
    assert "35 older version(s) disabled" in head and "Fix:" in head
    for version, status in failing.items():
        [line] = [t for t in told if f"version {version} " in t]
        assert ("'set' permission" if status == 403 else "answered 500") in line
        assert "Fix:" in line
    assert f"{old[-1].version} -> {new.version}" in result.stderr, "the rotation is still told"
    quiet(world, result)


def test_versions_the_vault_keeps_failing_are_each_told_with_exit_5(world: PartnerWorld) -> None:
    with_history(world, 12)
    old = world.vault.secret_versions(world.secret_name)
    for v in (old[0], old[5]):
        refuse_patch(world, v.version, 500)
    result = world.invoke("rotate", "--keep", "2")
    assert result.returncode == 5, result.stderr
    assert enabled(world) == [True, False, False, False, False, True] + [False] * 5 + [True] * 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3 and "9 older version(s) disabled" in errors[0]
    assert {old[0].version, old[5].version} == {
        line.split("version ", 1)[1].split(" ", 1)[0] for line in errors[1:]}
    quiet(world, result)


def test_versions_written_while_listing_never_get_disabled(world: PartnerWorld) -> None:
    """Another writer adds versions between two list pages: the double's pages (by version id,
    not age; an offset for ``$skiptoken``) shift under the listing, so some version comes twice.
    The writer's versions, the newest among them, stay enabled; older ones are disabled, each
    with one PATCH."""
    with_history(world, 30)
    old = {v.version for v in world.vault.secret_versions(world.secret_name)}
    seeded = world.vault.secret_versions(world.secret_name)[-1].version
    later(world)  # the consented version must be older than the rotation's to be disabled
    world.cloud.inject_fault(rf"^/secrets/{world.secret_name}/versions$", method="GET",
                             service=f"vault:{world.vault.name}", skip=1, count=1, hang=3)
    world.cloud.clear_requests()
    cmd = [sys.executable, "-m", "scripts.cli", "rotate", "--keep", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=world.env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not vault_calls(world, "GET", "/versions") and time.monotonic() < deadline:
        time.sleep(0.01)
    mine = world.vault.secret_versions(world.secret_name)[-1]
    racing = [world.vault.set_secret(world.secret_name, mine.value, mine.content_type,
                                     mine.tags, mine.expires).version for _ in range(5)]
    out, errout = proc.communicate(timeout=90)
    assert proc.returncode == 0, errout
    versions = {v.version: v for v in world.vault.secret_versions(world.secret_name)}
    assert all(versions[v].enabled for v in [*racing, mine.version]), "never a newer one"
    assert world.vault.secret_versions(world.secret_name)[-1].enabled
    # A writer's version that landed on a page already read is not seen: then the consented
    # version may count among the newest 2 and stay enabled. Any other older one is disabled.
    still = {v for v in old if versions[v].enabled}
    assert still <= {seeded}, still
    patched = [path for path, _ in vault_calls(world, "PATCH")]
    assert sorted(patched) == sorted(version_path(world, v) for v in old - still), "each once"
    quiet(world, subprocess.CompletedProcess(cmd, 0, out, errout))


def test_ctrl_c_while_disabling_says_the_rotation_stands(world: PartnerWorld) -> None:
    """Ctrl-C after the new version is stored: the line must not claim nothing was stored; it
    names the stored version, and the newest version stays enabled."""
    import signal

    with_history(world, 300)
    world.vault.latency = 0.05  # a slow vault: the PATCHes are still going when Ctrl-C comes
    try:
        run = subprocess.Popen([sys.executable, "-m", "scripts.cli", "rotate", "--keep", "1"],
                               cwd=ROOT, env=world.env(), text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("Rotated:"):
                break
        time.sleep(0.3)
        run.send_signal(signal.SIGINT)
        rest = run.stderr.read()
        assert run.wait(timeout=30) == 130, rest
    finally:
        world.vault.latency = 0.0
    [problem] = [line for line in rest.splitlines() if line.startswith("error: ")]
    newest = world.vault.secret_versions(world.secret_name)[-1]
    assert "the rotation itself is done" in problem and newest.version in problem
    assert "nothing was stored" not in rest and "Traceback" not in rest
    assert newest.enabled
