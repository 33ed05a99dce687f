"""Matrix, the vault's own answers: 403 (no 'set', no 'get'), 404 (no such secret), 409 (the
secret is soft-deleted: recovered when the writer may, else the line says how and the token
waits in the fallback file), and a current version that is disabled or expired.

Then the refusals a real vault tells apart by the inner code of its 403: the firewall
(``ForbiddenByFirewall``: the line names the address and allowedIpRanges/writerIpRanges), Azure
RBAC (``ForbiddenByRbac``: consent waits for a new role assignment to propagate, bounded by
SECURE_APP_RBAC_WAIT), and Key Vault's 429 ``Throttled`` (exit 5, after waiting the Retry-After).

Elsewhere: the platform's missing access policy (tests/test_verify_cli.py), two rotations at once
(tests/test_rotate_cli.py::test_two_rotations_at_once_leave_a_working_newest_version), the
vault's TLS, outages and throttling (tests/test_matrix_services.py).
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from clouddouble import shapes
from foundation import wellknown as wk
from tests.matrix.runner import Expect, Run, Sandbox, kept_token, seed, wait_until
from tests.support import redeems

WRITER = ["get", "list", "set"]
NO_SET = Expect(4, ("not stored", "no secrets 'set' permission", "kept in"),
                ("writerObjectIds", "store-token"), kept=True)
MISSING = Expect(2, ("does not exist",), ("--secret-name", "az keyvault secret recover"))


def writer_may(box: Sandbox, *permissions: str) -> None:
    box.world.vault.set_access_policy(box.world.writer_sp, secrets=list(permissions))


def run_task(box: Sandbox, task: str, *args: str) -> Run:
    return box.consent(*args) if task == "consent" else box.invoke(task, *args)


@pytest.mark.parametrize("task", ["consent", "rotate"])
def test_writer_without_set_keeps_the_new_token_and_store_token_recovers_it(
        box: Sandbox, task: str) -> None:
    before = seed(box) if task == "rotate" else box.snapshot()
    writer_may(box, "get", "list")
    box.check(run_task(box, task), NO_SET, before)
    [kept] = box.kept_files()
    assert redeems(box.world, json.loads(kept.read_text())["refresh_token"])

    again = box.invoke("store-token", "--from-file", str(kept))
    box.check(again, NO_SET, before)  # still not allowed: the file stays
    writer_may(box, *WRITER)
    stored = box.invoke("store-token", "--from-file", str(kept))
    box.check(stored, Expect(0, vault="new"), before)
    assert redeems(box.world, box.snapshot()[-1][1])


@pytest.mark.parametrize("task", ["settings", "rotate"])
def test_writer_without_get_is_told_which_permission(box: Sandbox, task: str) -> None:
    before = seed(box)
    writer_may(box, "list", "set")
    box.check(box.invoke(task), Expect(3, ("no secrets 'get' permission",),
                                       ("writerObjectIds", "pulumi up")), before)


@pytest.mark.parametrize(("task", "expect"), [
    ("settings", MISSING),
    ("rotate", MISSING),
    ("verify", Expect(9, ("vault read", "does not exist"), ("az keyvault secret recover",),
                      prefix="broken: ")),
    ("consent", Expect(0, vault="new")),
])
def test_secret_that_does_not_exist(box: Sandbox, task: str, expect: Expect) -> None:
    """Before the first consent (or with a mistyped name) there is nothing to read; consent
    creates the secret."""
    before = box.snapshot()
    box.check(run_task(box, task), expect, before)


SOFT_DELETED = [
    ("consent-may-recover", "consent", True,
     Expect(0, vault="new")),
    ("consent-may-not-recover", "consent", False,
     Expect(4, ("soft-deleted", "may not recover", "kept in"),
            ("az keyvault secret recover --vault-name", "store-token"), kept=True)),
    ("store-token-may-recover", "store-token", True, Expect(0, vault="new")),
    ("settings", "settings", False, MISSING),
    ("rotate", "rotate", False, MISSING),
    ("verify", "verify", False,
     Expect(9, ("does not exist",), ("az keyvault secret recover",), prefix="broken: ")),
]


@pytest.mark.parametrize(("task", "may_recover", "expect"),
                         [pytest.param(*row[1:], id=row[0]) for row in SOFT_DELETED])
def test_soft_deleted_secret(box: Sandbox, task: str, may_recover: bool,
                             expect: Expect) -> None:
    """Someone deleted the secret: Key Vault keeps it (soft delete) and refuses the name (409)
    until it is recovered or purged. Recovered, every old version comes back."""
    world = box.world
    seed(box)
    old = box.snapshot()
    world.vault.soft_delete(world.secret_name)
    if may_recover:
        writer_may(box, *WRITER, "recover")
    kept = kept_token(box) if task == "store-token" else None
    args = ("--from-file", str(kept)) if kept else ()
    run = run_task(box, task, *args)
    if expect.code == 0:
        box.check(run, expect, old)  # recovered: the old versions are back, plus the new one
        assert not world.vault.is_deleted(world.secret_name)
    else:
        box.check(run, expect, [])
        assert world.vault.is_deleted(world.secret_name), "the deleted secret must stay intact"
        deleted = world.vault.store.deleted[world.secret_name.lower()].versions
        assert [(v.version, v.value, v.enabled) for v in deleted] == old


@pytest.mark.parametrize(("task", "expect"), [
    ("settings", Expect(2, ("current version", "is disabled"), ("enable it", "consent"))),
    ("rotate", Expect(2, ("current version", "is disabled"), ("enable it", "consent"))),
    ("verify", Expect(9, ("vault read", "is disabled"), ("enable it",), prefix="broken: ")),
])
def test_current_version_disabled(box: Sandbox, task: str, expect: Expect) -> None:
    seed(box)
    box.world.vault.secret_versions(box.world.secret_name)[-1].enabled = False
    before = box.snapshot()
    box.check(box.invoke(task), expect, before)


@pytest.mark.parametrize(("task", "expect"), [
    ("settings", Expect(3, ("current version", "expired on", "no longer works"),
                        ("csp-secure-app consent", "csp-secure-app rotate"))),
    ("verify", Expect(9, ("refresh token expiry", "expired"), ("consent again",),
                      prefix="broken: ")),
    # The token inside still redeems (someone set the expiry by hand): rotation repairs it.
    ("rotate", Expect(0, vault="new")),
])
def test_current_version_expired(box: Sandbox, task: str, expect: Expect) -> None:
    before = seed(box, days=-1)
    box.check(box.invoke(task), expect, before)


# -- refusals told apart: the vault firewall, Azure RBAC (and its propagation), throttling -----

FIREWALL_CAUSE = ("refused this machine's address 127.0.0.1", "firewall", "ForbiddenByFirewall")
FIREWALL_FIX = ("add 127.0.0.1 to writerIpRanges", "allowedIpRanges", "pulumi up",
                "self-hosted runner")
FIREWALL_KEPT = Expect(4, ("not stored", *FIREWALL_CAUSE, "kept in"),
                       (*FIREWALL_FIX, "store-token --from-file"), kept=True)
THROTTLED = Expect(5, ("Key Vault", "throttled", "429"), ("try again",))
THROTTLED_KEPT = Expect(4, ("not stored", "throttled", "429", "kept in"),
                        ("try again", "store-token --from-file"), kept=True)


def firewalled(box: Sandbox) -> None:
    """The vault's networkAcls allow the platform's range only: this machine (127.0.0.1) is out."""
    box.world.vault.set_network_rules(["203.0.113.0/24"])


def rbac_vault(box: Sandbox) -> None:
    """The vault in RBAC mode (API 2026-02-01's default): access policies no longer count."""
    box.world.vault.rbac = True
    box.world.vault.grant_role(box.world.kv_sp, wk.KEY_VAULT_SECRETS_USER_ROLE)


def vault_statuses(box: Sandbox, method: str) -> list[int]:
    name = f"vault:{box.world.vault.name}"
    return [r.status for r in box.cloud.requests if r.service == name and r.method == method]


@pytest.mark.parametrize(("task", "expect"), [
    ("consent", FIREWALL_KEPT),
    ("store-token", FIREWALL_KEPT),
    ("settings", Expect(3, FIREWALL_CAUSE, FIREWALL_FIX)),
    ("rotate", Expect(3, FIREWALL_CAUSE, FIREWALL_FIX)),
    ("verify", Expect(9, ("vault read", *FIREWALL_CAUSE), FIREWALL_FIX, prefix="broken: ")),
])
def test_vault_firewall_refusal_names_the_address_and_the_config_keys(
        box: Sandbox, task: str, expect: Expect) -> None:
    """Not a missing permission: the line names the address the vault saw and the keys that
    allow it, never writerObjectIds."""
    before = box.snapshot() if task in ("consent", "store-token") else seed(box)
    kept = kept_token(box) if task == "store-token" else None
    firewalled(box)
    run = run_task(box, task, *(("--from-file", str(kept)) if kept else ()))
    box.check(run, expect, before)
    assert "writerObjectIds" not in run.stderr
    if expect.kept:  # once the address is allowed, the kept token goes in
        box.world.vault.set_network_rules(["203.0.113.0/24", "127.0.0.1"])
        [path] = box.kept_files()
        box.check(box.invoke("store-token", "--from-file", str(path)), Expect(0, vault="new"),
                  before)


@pytest.mark.parametrize(("task", "expect"), [
    ("consent", THROTTLED_KEPT),
    ("store-token", THROTTLED_KEPT),
    ("settings", THROTTLED),
    ("rotate", THROTTLED),
    ("verify", Expect(5, THROTTLED.cause, THROTTLED.fix, prefix="unavailable: ")),
])
def test_vault_throttled_beyond_the_retries(box: Sandbox, task: str, expect: Expect) -> None:
    """Key Vault's own 429 Throttled on every attempt: a service problem (5), or the token kept."""
    before = box.snapshot() if task in ("consent", "store-token") else seed(box)
    kept = kept_token(box) if task == "store-token" else None
    box.world.vault.throttle(count=1000, retry_after=1)
    run = run_task(box, task, *(("--from-file", str(kept)) if kept else ()))
    box.check(run, expect, before)
    assert "it asked to wait 1 s" in run.stderr


@pytest.mark.parametrize("shape", ["plain-text", "generic-json"])
def test_vault_throttled_in_any_body_format(box: Sandbox, shape: str) -> None:
    """Something in front of the vault may throttle with its own body: still 429, still 5."""
    before = seed(box)
    body, content_type = ((b"Too Many Requests", shapes.TEXT) if shape == "plain-text"
                          else (b'{"error":{"code":"TooManyRequests","message":"slow down"}}',
                                shapes.JSON))
    box.cloud.inject_fault(r"^/secrets", status=429, count=1000, retry_after=1, body=body,
                           content_type=content_type, service=f"vault:{box.world.vault.name}")
    box.check(box.invoke("settings"), THROTTLED, before)


@pytest.mark.parametrize(("task", "method"), [("consent", "PUT"), ("settings", "GET"),
                                              ("rotate", "GET")])
def test_vault_throttled_once_waits_the_retry_after_and_succeeds(
        box: Sandbox, task: str, method: str) -> None:
    """The vault refuses a request that comes back before its Retry-After is over, so exactly
    one 429 in the log proves the retry came after the advertised wait."""
    before = box.snapshot() if task == "consent" else seed(box)
    box.world.vault.throttle(count=1, retry_after=3)
    box.cloud.clear_requests()
    run = run_task(box, task)
    box.check(run, Expect(0, vault="same" if task == "settings" else "new"), before)
    statuses = vault_statuses(box, method)
    assert statuses.count(429) == 1 and statuses[-1] == 200, statuses


def test_rbac_vault_without_a_role_is_told_which_role(box: Sandbox) -> None:
    before = seed(box)
    rbac_vault(box)  # the writer's access policy is ignored now
    box.check(box.invoke("settings"), Expect(
        3, ("no secrets 'get' permission", "ForbiddenByRbac"),
        ("Key Vault Secrets Officer", "writerObjectIds", "access policies do nothing")), before)


def test_first_consent_waits_for_the_role_assignment_to_take_effect(box: Sandbox) -> None:
    """`pulumi up` assigned the writer its role a moment ago: Key Vault answers 403 until the
    assignment propagates. Consent says so, retries, and stores the token."""
    rbac_vault(box)
    vault, writer = box.world.vault, box.world.writer_sp

    def assign_when_refused() -> None:
        wait_until(lambda: 403 in vault_statuses(box, "PUT"), "the first refused write", 90)
        vault.grant_role(writer, wk.KEY_VAULT_SECRETS_OFFICER_ROLE,
                         effective_after=dt.timedelta(seconds=3))

    assigner = threading.Thread(target=assign_when_refused, daemon=True)
    assigner.start()
    run = box.consent(env=box.env(SECURE_APP_RBAC_WAIT="60"))
    assigner.join(timeout=5)
    box.check(run, Expect(0, vault="new"), [])
    assert ("waiting for the role assignment to take effect (Azure RBAC can take a few minutes);"
            " retrying for up to 60 s") in run.stderr
    assert redeems(box.world, box.snapshot()[-1][1])


def test_role_that_never_takes_effect_in_time_keeps_the_token(box: Sandbox) -> None:
    rbac_vault(box)
    box.world.vault.grant_role(box.world.writer_sp, wk.KEY_VAULT_SECRETS_OFFICER_ROLE,
                               effective_after=dt.timedelta(hours=1))
    run = box.consent(env=box.env(SECURE_APP_RBAC_WAIT="3"))
    box.check(run, Expect(4, ("not stored", "after waiting 3 s", "ForbiddenByRbac", "kept in"),
                          ("Key Vault Secrets Officer", "SECURE_APP_RBAC_WAIT",
                           "store-token --from-file"), kept=True), [])
    assert "retrying for up to 3 s" in run.stderr
    [kept] = box.kept_files()
    assert redeems(box.world, json.loads(kept.read_text())["refresh_token"])


def test_bad_rbac_wait_is_refused_before_the_vault_is_touched(box: Sandbox) -> None:
    before = seed(box)
    run = box.invoke("settings", env=box.env(SECURE_APP_RBAC_WAIT="soon"))
    box.check(run, Expect(2, ("SECURE_APP_RBAC_WAIT='soon'",), ("unset it",)), before)


def test_firewall_reply_with_a_hostile_address_prints_no_server_text(box: Sandbox) -> None:
    """Something posing as the vault puts terminal escapes where the address goes: the line
    names no address rather than echo server text."""
    before = seed(box)
    body, content_type = shapes.key_vault_firewall("\x1b[31m6.6.6.6", box.world.vault.name)
    box.cloud.inject_fault(r"^/secrets", status=403, count=1000, retry_after=None, body=body,
                           content_type=content_type, service=f"vault:{box.world.vault.name}")
    run = box.invoke("settings")
    box.check(run, Expect(3, ("refused this machine's address", "ForbiddenByFirewall"),
                          ("this machine's public address", "writerIpRanges")), before)
    assert "\x1b" not in run.stderr and "6.6.6.6" not in run.stderr
