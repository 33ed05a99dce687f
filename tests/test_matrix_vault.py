"""Matrix, the vault's own answers: 403 (no 'set', no 'get'), 404 (no such secret), 409 (the
secret is soft-deleted: recovered when the writer may, else the line says how and the token
waits in the fallback file), and a current version that is disabled or expired.

Elsewhere: the platform's missing access policy (tests/test_verify_cli.py), two rotations at once
(tests/test_rotate_cli.py::test_two_rotations_at_once_leave_a_working_newest_version), the
vault's TLS, outages and throttling (tests/test_matrix_services.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from tests.lifecycle import redeems
from tests.matrix import Expect, Run, Sandbox, kept_token, seed

WRITER = ["get", "list", "set"]
NO_SET = Expect(4, ("not stored", "no secrets 'set' permission", "kept in"),
                ("writerObjectIds", "store-token"), kept=True)
MISSING = Expect(2, ("does not exist",), ("--secret-name", "az keyvault secret recover"))


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    return Sandbox(cloud, tmp_path)


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
                        ("invoke consent", "invoke rotate"))),
    ("verify", Expect(9, ("refresh token expiry", "expired"), ("consent again",),
                      prefix="broken: ")),
    # The token inside still redeems (someone set the expiry by hand): rotation repairs it.
    ("rotate", Expect(0, vault="new")),
])
def test_current_version_expired(box: Sandbox, task: str, expect: Expect) -> None:
    before = seed(box, days=-1)
    box.check(box.invoke(task), expect, before)
