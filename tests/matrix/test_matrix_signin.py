"""Matrix, the sign-in and the people in it: consent cancelled, a user without MFA, a forged,
duplicated, junk-laden or late redirect, a code another sign-in asked for (PKCE), a busy port,
a browser that never returns, Ctrl-C while waiting, while reading the vault and while storing
(consent and rotate); the CPV secret wrong, expired or another app's; the token for another
tenant. Each row: exit code, one line
with cause and fix, the vault unchanged (or one new version), the token kept only when it could
not be stored.

Refused stored tokens (expired, revoked, MFA again) for rotate: tests/test_rotate_cli.py
(test_refused_token_is_one_line_of_advice_and_leaves_the_vault_alone); the device code flow:
tests/test_consent_cli.py.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from clouddouble import CloudDouble
from tests.matrix.runner import (
    Expect,
    Sandbox,
    interrupt,
    returning,
    seed,
    sign_in,
    wait_until,
)
from tests.support import deliver, redeems

Play = Callable[[Sandbox, str, "subprocess.Popen[str]"], None]


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    return Sandbox(cloud, tmp_path)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def junk_first(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
    """A favicon fetch and a reload without parameters reach the listener before the redirect."""
    redirect = sign_in(box, url)
    local = f"http://127.0.0.1:{box.world.port}"
    assert requests.get(f"{local}/favicon.ico", timeout=10).status_code == 404
    assert requests.get(f"{local}/?utm_source=mail", timeout=10).status_code == 200
    deliver(redirect)


def code_expired(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
    """The person finishes the sign-in, then the browser sits on it past the code's lifetime."""
    redirect = sign_in(box, url)
    box.cloud.advance_clock(dt.timedelta(minutes=11))
    deliver(redirect)


def without_mfa(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
    """An admin whose account has no MFA signs in (password only)."""
    deliver(sign_in(box, url, user=box.world.no_mfa.upn))


def never_returns(_box: Sandbox, _url: str, _proc: subprocess.Popen[str]) -> None:
    """The person closes the tab."""


def after_the_listener_gave_up(box: Sandbox, url: str, proc: subprocess.Popen[str]) -> None:
    redirect = sign_in(box, url)
    proc.wait(timeout=60)
    with pytest.raises(requests.ConnectionError):
        deliver(redirect)


def ctrl_c(_box: Sandbox, _url: str, proc: subprocess.Popen[str]) -> None:
    interrupt(proc)


def pkce_mismatch(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
    """The redirect carries this run's state but a code another sign-in attempt asked for: Entra
    refuses the redemption with invalid_grant AADSTS50148 (clouddouble/identity/errors.py quotes
    the shape)."""
    redirect = sign_in(box, url)
    box.cloud.auth_state.bind_to_another_challenge(dict(parse_qsl(urlsplit(redirect).query))["code"])
    deliver(redirect)


SIGN_IN_ROWS: list[tuple[str, Play, list[str], Expect]] = [
    ("consent-cancelled", returning(lambda r: r, accept=False), [],
     Expect(3, ("declined", "AADSTS65004"), ("accept the permissions",))),
    ("user-without-mfa", without_mfa, [],
     Expect(3, ("did not use MFA",), ("enforce MFA",))),
    ("state-mismatch", returning(lambda r: with_query(r, state="forged")), [],
     Expect(3, ("state that this run did not issue",), ("run consent again",))),
    ("duplicate-parameters", returning(lambda r: r + "&code=second"), [],
     Expect(3, ("repeats the parameter(s) code",), ("only the link this run printed",))),
    ("junk-parameters", returning(lambda r: r + "&utm_source=mail&x=%3Cscript%3E"), [],
     Expect(0, vault="new")),
    ("junk-requests-first", junk_first, [], Expect(0, vault="new")),
    ("late-code", code_expired, [],
     Expect(3, ("expired or was revoked", "AADSTS70008"), ("invoke consent",))),
    ("browser-never-returns", never_returns, ["--timeout", "2"],
     Expect(3, ("no sign-in redirect arrived within 2 s",), ("--timeout", "--paste"))),
    ("redirect-after-timeout", after_the_listener_gave_up, ["--timeout", "2"],
     Expect(3, ("no sign-in redirect arrived",), ("run consent again",))),
    ("pkce-mismatch", pkce_mismatch, [],
     Expect(3, ("PKCE proof did not match", "AADSTS50148"), ("run `invoke consent` again",))),
    ("ctrl-c-while-waiting", ctrl_c, [],
     Expect(130, ("interrupted", "nothing was stored"), ("run the task again",))),
]


@pytest.mark.parametrize(("play", "args", "expect"),
                         [pytest.param(*row[1:], id=row[0]) for row in SIGN_IN_ROWS])
def test_consent_sign_in_row(box: Sandbox, play: Play, args: list[str], expect: Expect) -> None:
    before = box.snapshot()
    run = box.consent(*args, play=play)
    box.check(run, expect, before)


def test_busy_redirect_port_is_refused_before_the_sign_in(box: Sandbox) -> None:
    before = box.snapshot()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", box.world.port))
        busy.listen()
        run = box.consent(play=never_returns)
    box.check(run, Expect(2, (f"port {box.world.port}", "already in use"),
                          ("--redirect-port",)), before)
    assert "https://" not in run.stderr, "no sign-in link before the port is known to work"


def test_ctrl_c_while_storing_keeps_the_token_and_store_token_recovers_it(box: Sandbox) -> None:
    world = box.world
    # The vault's first PUT (the SDK's unauthenticated challenge request) hangs: the token was
    # redeemed and kept, the vault has not answered yet, and the person presses Ctrl-C.
    hung = box.cloud.inject_fault(r"/secrets/", method="PUT", hang=10, count=1,
                                  service=f"vault:{world.vault.name}")

    def sign_in_then_interrupt(box: Sandbox, url: str, proc: subprocess.Popen[str]) -> None:
        deliver(sign_in(box, url))
        wait_until(lambda: hung.remaining == 0, "the vault PUT to hang")
        interrupt(proc)

    before = box.snapshot()
    run = box.consent(play=sign_in_then_interrupt)
    box.check(run, Expect(4, ("interrupted while storing", "kept in"), ("store-token",),
                          kept=True), before)
    [kept] = box.kept_files()
    recovered = box.invoke("store-token", "--from-file", str(kept))
    box.check(recovered, Expect(0, vault="new"), before)
    assert str(kept) in recovered.stderr and "deleted" in recovered.stderr


def test_ctrl_c_while_partner_center_confirms_keeps_the_token(box: Sandbox) -> None:
    # The token is redeemed and its claims checked; Partner Center's confirmation hangs and the
    # person presses Ctrl-C: the MFA sign-in must not be lost.
    hung = box.cloud.inject_fault(r"/v1/profiles/organization", hang=10, count=1,
                                  service="partnercenter")

    def sign_in_then_interrupt(box: Sandbox, url: str, proc: subprocess.Popen[str]) -> None:
        deliver(sign_in(box, url))
        wait_until(lambda: hung.remaining == 0, "the Partner Center call to hang")
        interrupt(proc)

    before = box.snapshot()
    run = box.consent(play=sign_in_then_interrupt)
    box.check(run, Expect(4, ("interrupted before the token was stored", "kept in"),
                          ("store-token",), kept=True), before)


def test_ctrl_c_while_rotate_stores_keeps_the_new_token(box: Sandbox) -> None:
    """rotate redeemed the stored token (a new one came back) and is writing it when Ctrl-C
    arrives: the new token is kept, the old version is untouched and still works."""
    world = box.world
    before = seed(box)
    hung = box.cloud.inject_fault(r"/secrets/", method="PUT", hang=10, count=1,
                                  service=f"vault:{world.vault.name}")
    run = box.interrupted("rotate", when=lambda: hung.remaining == 0)
    box.check(run, Expect(4, ("interrupted while storing", "kept in"), ("store-token",),
                          kept=True), before)
    assert redeems(world, before[-1][1]), "the old version keeps working"


@pytest.mark.parametrize("task", ["settings", "verify", "rotate"])
def test_ctrl_c_while_reading_the_vault_is_130_and_changes_nothing(box: Sandbox,
                                                                    task: str) -> None:
    world = box.world
    before = seed(box)
    hung = box.cloud.inject_fault(r"/secrets/", method="GET", hang=10, count=1,
                                  service=f"vault:{world.vault.name}")
    run = box.interrupted(task, when=lambda: hung.remaining == 0)
    box.check(run, Expect(130, ("interrupted", "nothing was stored"), ("run the task again",)),
              before)


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
