"""Matrix, the sign-in and the people in it: every way a browser sign-in for consent ends
(consent cancelled, a user without MFA, a junk-laden or late redirect, a code another sign-in
asked for (PKCE), a browser that never returns, another tenant's account), a busy redirect port,
and Ctrl-C while waiting, while reading the vault and while storing (consent and rotate). Each
row: exit code, one line with cause and fix, the vault unchanged (or one new version), the token
kept only when it could not be stored.

Wrong or foreign credentials: test_matrix_signin_credentials.py; the listener under attack
(issue 10): test_matrix_signin_listener_attacks.py. Refused stored tokens (expired, revoked, MFA
again) for rotate: tests/flows/test_rotate_cli.py
(test_refused_token_is_one_line_of_advice_and_leaves_the_vault_alone); the device code flow:
tests/flows/test_consent_cli.py.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.matrix.runner import (
    Expect,
    Sandbox,
    interrupt,
    never_returns,
    returning,
    seed,
    sign_in,
    wait_until,
)
from tests.support import deliver, redeems

Play = Callable[[Sandbox, str, "subprocess.Popen[str]"], None]


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


def after_the_listener_gave_up(box: Sandbox, url: str, proc: subprocess.Popen[str]) -> None:
    redirect = sign_in(box, url)
    proc.wait(timeout=60)
    with pytest.raises(requests.ConnectionError):
        deliver(redirect)


def ctrl_c(_box: Sandbox, _url: str, proc: subprocess.Popen[str]) -> None:
    interrupt(proc)


def entra_error(error: str, description: str) -> Callable[[str], str]:
    """The browser comes back with Entra's error instead of a code (this run's state kept), its
    description in Entra's shape: message, then trace id, correlation id and timestamp."""
    ids = (f"\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}"
           "\r\nTimestamp: 2026-12-01 09:30:00Z")

    def change(redirect: str) -> str:
        parts = urlsplit(redirect)
        state = dict(parse_qsl(parts.query))["state"]
        query = urlencode({"error": error, "error_description": description + ids,
                           "state": state})
        return urlunsplit(parts._replace(query=query))
    return change


#: What the line ends with when Entra sent its ids (tests/flows/test_support_ids.py has more).
ENTRA_IDS = re.compile(r" \(trace id [0-9a-f-]{36}, correlation id [0-9a-f-]{36}, "
                       r"timestamp [0-9: -]+Z\)\.$")


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
    ("junk-parameters", returning(lambda r: r + "&utm_source=mail&x=%3Cscript%3E"), [],
     Expect(0, vault="new")),
    ("junk-requests-first", junk_first, [], Expect(0, vault="new")),
    ("late-code", code_expired, [],
     Expect(3, ("expired or was revoked", "AADSTS70008"), ("csp-secure-app consent",))),
    ("browser-never-returns", never_returns, ["--timeout", "2"],
     Expect(3, ("no sign-in redirect arrived within 2 s",), ("--timeout", "--paste"))),
    ("redirect-after-timeout", after_the_listener_gave_up, ["--timeout", "2"],
     Expect(3, ("no sign-in redirect arrived",), ("run consent again",))),
    ("pkce-mismatch", pkce_mismatch, [],
     Expect(3, ("PKCE proof did not match", "AADSTS50148"),
            ("run `csp-secure-app consent` again",))),
    ("ctrl-c-while-waiting", ctrl_c, [],
     Expect(130, ("interrupted", "nothing was stored"), ("run the task again",))),
    # A guest or another tenant's admin signed in (Entra: AADSTS50020): the fix is the partner
    # tenant's own account and --csp-domain, not a flag that does not exist.
    ("account-of-another-tenant", returning(entra_error(
        "invalid_request", "AADSTS50020: User account 'admin@fabrikam.example' from identity "
        "provider 'https://sts.windows.net/x/' does not exist in tenant 'Contoso' and cannot "
        "access the application in that tenant.")), [],
     Expect(3, ("not a user of the partner tenant", "AADSTS50020"),
            ("sign in with an admin agent of the partner tenant that --csp-domain names",))),
]


@pytest.mark.parametrize(("play", "args", "expect"),
                         [pytest.param(*row[1:], id=row[0]) for row in SIGN_IN_ROWS])
def test_consent_sign_in_row(box: Sandbox, play: Play, args: list[str], expect: Expect) -> None:
    before = box.snapshot()
    run = box.consent(*args, play=play)
    box.check(run, expect, before)
    if "AADSTS" in " ".join(expect.cause):
        [line] = [line for line in run.lines if line.startswith("error: ")]
        assert ENTRA_IDS.search(line), f"Entra's ids end the line: {line}"
        assert "--tenant" not in line


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
