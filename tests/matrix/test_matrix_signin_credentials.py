"""Matrix, the credentials a sign-in or a token redemption depends on: the CPV app's secret
wrong, expired or another app's (consent, rotate, verify), the vault writer's and the platform's
secrets refused, and CSP_DOMAIN naming a customer tenant, whose token must never replace the
partner's. Each row: exit code, one line with cause and fix (whose secret it is, and where),
the vault unchanged, the secret never printed."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest

from tests.matrix.runner import Expect, Sandbox, seed


def another_apps_secret(box: Sandbox) -> str:
    return str(box.world.kv_secret)


def expired_secret(box: Sandbox) -> str:
    end = box.cloud.clock.now() - dt.timedelta(days=1)
    return box.cloud.add_password(box.world.cpv.app_id, end=end)


CPV_SECRETS: list[tuple[str, Callable[[Sandbox], str], str, str]] = [
    ("wrong", lambda _box: f"not-the-secret-{uuid.uuid4().hex}", "AADSTS7000215", "value"),
    ("another-apps", another_apps_secret, "AADSTS7000215", "value"),
    ("expired", expired_secret, "AADSTS7000222", "new secret"),
]


@pytest.mark.parametrize(("make", "code", "fix"),
                         [pytest.param(*row[1:], id=row[0]) for row in CPV_SECRETS])
@pytest.mark.parametrize("task", ["consent", "rotate", "verify"])
def test_cpv_secret_refused(box: Sandbox, task: str, make: Callable[[Sandbox], str], code: str,
                            fix: str) -> None:
    if task != "consent":
        seed(box)
    env = box.env(CPV_APP_SECRET=make(box))
    before = box.snapshot()
    if task == "consent":
        run = box.consent(env=env)
        expect = Expect(3, (code,), (fix,))
    elif task == "rotate":
        run = box.invoke(task, env=env)
        expect = Expect(3, (code,), (fix,))
    else:
        run = box.invoke(task, env=env)
        expect = Expect(9, ("token redemption", code), (fix,), prefix="broken: ")
    box.check(run, expect, before)
    assert env["CPV_APP_SECRET"] not in run.stdout + run.stderr
    [line] = [line for line in run.lines if line.startswith(expect.prefix)]
    assert "CPV_APP_SECRET" in line and "CPV vendor" in line, "whose secret it is, and where"
    assert re.search(r"\(trace id [0-9a-f-]{36}, correlation id [0-9a-f-]{36}, ", line), line


@pytest.mark.parametrize(("task", "expect"), [
    ("rotate", Expect(3, ("not the CSP tenant",), ("--csp-domain",))),
    ("verify", Expect(9, ("not the CSP tenant",), ("--csp-domain",), prefix="broken: ")),
])
def test_token_for_another_tenant_is_refused(box: Sandbox, task: str, expect: Expect) -> None:
    """CSP_DOMAIN names a customer tenant the CPV app is installed in: redeeming there yields a
    token for that tenant, which must never replace the partner's."""
    before = seed(box)
    customer = box.cloud.add_tenant(domain=f"customer{uuid.uuid4().hex[:8]}.onmicrosoft.com")
    box.cloud.add_service_principal(customer.id, box.world.cpv.app_id)
    box.cloud.grant_admin_consent(customer.id, box.world.cpv.app_id)
    run = box.invoke(task, env=box.env(CSP_DOMAIN=customer.initial_domain))
    box.check(run, expect, before)


@pytest.mark.parametrize(("task", "expect"), [
    ("consent", Expect(4, ("not stored", "AADSTS7000215"), ("AZURE_CLIENT_SECRET",), kept=True)),
    ("settings", Expect(3, ("token for Key Vault", "AADSTS7000215"), ("AZURE_CLIENT_SECRET",))),
    ("rotate", Expect(3, ("token for Key Vault", "AADSTS7000215"), ("AZURE_CLIENT_SECRET",))),
    ("mfa-report", Expect(3, ("Microsoft Graph", "AADSTS7000215"), ("AZURE_CLIENT_SECRET",))),
])
def test_writer_credential_refused(box: Sandbox, task: str, expect: Expect) -> None:
    """The vault writer's (pipeline's) secret is wrong: for consent the token must survive."""
    if task in ("settings", "rotate"):
        seed(box)
    env = box.env(AZURE_CLIENT_SECRET=f"wrong-{uuid.uuid4().hex}")
    before = box.snapshot()
    run = box.consent(env=env) if task == "consent" else box.invoke(task, env=env)
    box.check(run, expect, before)


def test_platform_credential_refused_is_broken_with_the_platform_fix(box: Sandbox) -> None:
    before = seed(box)
    run = box.invoke("verify", env=box.env(KV_CLIENT_APP_SECRET=f"wrong-{uuid.uuid4().hex}"))
    box.check(run, Expect(9, ("vault read", "AADSTS7000215"), ("KV_CLIENT_APP_SECRET",),
                          prefix="broken: "), before)
