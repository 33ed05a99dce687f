"""Matrix, the sign-in and the people in it: consent cancelled, a user without MFA, a junk-laden
or late redirect (forged, duplicated, slow and squatting attempts on the listener: issue 10, at
the end of this file), a code another sign-in asked for (PKCE), a busy port,
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

import contextlib
import datetime as dt
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
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


# -- the listener under attack from this machine (issue 10) -----------------------------------

#: Issue 10 changed these two rows: a redirect with a forged state or repeated parameters used to
#: end consent at once (exit 3, "state that this run did not issue" / "repeats the parameter(s)");
#: anyone on the machine or any web page could send one, so now each is answered with the neutral
#: page, the wait goes on and the real redirect that follows is stored.
FORGED: list[tuple[str, Callable[[str], str], dict[str, str]]] = [
    ("state-mismatch", lambda r: with_query(r, state="forged"), {}),
    ("duplicate-parameters", lambda r: r + "&code=second", {}),
    ("web-page-error", lambda r: f"http://localhost:{urlsplit(r).port}/?error=x",
     {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image",
      "Referer": "https://evil.example/"}),
    ("forged-error-description", lambda r: f"http://localhost:{urlsplit(r).port}/?error=x"
     "&error_description=%1B%5D0%3Bowned%07%1B%5B2J&state=guessed", {}),
    ("dns-rebinding", lambda r: r, {"Host": "rebind.evil.example"}),
]


@pytest.mark.parametrize(("forge", "headers"),
                         [pytest.param(*row[1:], id=row[0]) for row in FORGED])
def test_forged_redirect_is_ignored_and_the_real_one_is_stored(
        box: Sandbox, forge: Callable[[str], str], headers: dict[str, str]) -> None:
    def forged_then_real(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
        redirect = sign_in(box, url)
        parts = urlsplit(forge(redirect))
        local = f"http://127.0.0.1:{parts.port}{parts.path or '/'}?{parts.query}"
        extra = {**headers}
        if "Host" in extra:
            extra["Host"] = f"{extra['Host']}:{parts.port}"
        answer = requests.get(local, headers=extra, timeout=10)
        assert answer.status_code in (200, 421) and "Signed in" not in answer.text
        deliver(redirect)

    before = box.snapshot()
    run = box.consent(play=forged_then_real)
    box.check(run, Expect(0, vault="new"), before)
    assert "note: ignored 1 request(s) to the sign-in listener" in run.stderr
    assert "\x1b" not in run.stderr and "owned" not in run.stderr


def test_slow_clients_do_not_hold_the_sign_in_and_the_real_redirect_wins(box: Sandbox) -> None:
    """Clients sending a byte every 4 s held the old listener (one connection at a time, 5 s per
    read); the real redirect arrives while they dribble and is stored at once."""
    port = box.world.port
    stop = threading.Event()

    def dribble() -> None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as sock:
            for byte in b"GET /?code=x&state=y HTTP/1.1\r\n":
                sock.send(bytes([byte]))
                if stop.wait(4):
                    return

    def slow_then_real(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
        for thread in slow:
            thread.start()
        redirect = sign_in(box, url)
        started = time.monotonic()
        assert "Signed in" in deliver(redirect).text
        assert time.monotonic() - started < 4, "the slow clients delayed the redirect"

    slow = [threading.Thread(target=dribble) for _ in range(3)]
    before = box.snapshot()
    try:
        run = box.consent(play=slow_then_real)
    finally:
        stop.set()
        for thread in slow:
            thread.join()
    box.check(run, Expect(0, vault="new"), before)


def test_timeout_is_a_hard_deadline_whatever_clients_do(box: Sandbox) -> None:
    port = box.world.port
    stop = threading.Event()

    def hold(_box: Sandbox, _url: str, _proc: subprocess.Popen[str]) -> None:
        def dribble() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", port), timeout=2) as sock:
                    while not stop.wait(1):
                        sock.send(b"G")

        for _ in range(3):
            threading.Thread(target=dribble, daemon=True).start()

    before = box.snapshot()
    started = time.monotonic()
    try:
        run = box.consent("--timeout", "3", play=hold)
    finally:
        stop.set()
    box.check(run, Expect(3, ("no sign-in redirect arrived within 3 s",), ("--timeout",)), before)
    assert time.monotonic() - started < 20
    assert "note: ignored" in run.stderr  # the held connections are reported


@pytest.mark.parametrize("address", ["::1", "127.0.0.1"])
def test_a_squatter_on_the_redirect_port_stops_consent_before_the_sign_in(
        box: Sandbox, address: str) -> None:
    """Another local user listens on localhost's other address (a second process, as that user
    would): consent refuses to start rather than let the browser hand it the code."""
    port = box.world.port
    squat = ("import socket,sys,time\n"
             "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n"
             "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,1)\n"
             "s.bind((sys.argv[1],int(sys.argv[2])));s.listen();print('up',flush=True)\n"
             "time.sleep(60)\n")
    other = subprocess.Popen([sys.executable, "-c", squat, address, str(port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "up"
        before = box.snapshot()
        run = box.consent(play=never_returns)
    finally:
        other.kill()
        other.wait()
    box.check(run, Expect(2, (f"port {port} on {address}", "already in use"),
                          ("--redirect-port",)), before)
    assert "https://" not in run.stderr, "no sign-in link before the port is known to be ours"


def browser_record(box: Sandbox) -> dict[str, Any]:
    wait_until(lambda: bool(box.records("browser")), "the browser to start")
    [record] = box.records("browser")
    return record


def test_the_browser_command_line_holds_no_state_nonce_or_challenge(box: Sandbox) -> None:
    """Every user can read a command line (ps): the browser gets the one-time start address,
    which redirects to the sign-in page; the person then signs in as usual."""
    world = box.world
    seen: dict[str, str] = {}

    def follow_start(box: Sandbox, url: str, _proc: subprocess.Popen[str]) -> None:
        start = browser_record(box)["cmdline"][-1]
        seen["start"], seen["url"] = start, url
        answer = requests.get(start, allow_redirects=False, timeout=10)
        assert answer.status_code == 302
        deliver(sign_in(box, answer.headers["Location"]))

    before = box.snapshot()
    run = box.consent(env=box.env(BROWSER=str(box.root / "bin" / "browser")), browser=True,
                      play=follow_start)
    box.check(run, Expect(0, vault="new"), before)
    start, query = seen["start"], dict(parse_qsl(urlsplit(seen["url"]).query))
    assert start.startswith(f"http://localhost:{world.port}/start/")
    for name in ("state", "nonce", "code_challenge"):
        assert name not in start and query[name] not in start


def test_a_ps_reader_who_opens_the_start_address_first_ends_the_sign_in(box: Sandbox) -> None:
    """Someone read the start address from ps and opened it before the browser: the browser's
    use is the second, the sign-in link is known to someone else, so nothing is stored."""
    def reader_then_browser(box: Sandbox, _url: str, _proc: subprocess.Popen[str]) -> None:
        start = browser_record(box)["cmdline"][-1]
        stolen = requests.get(start, allow_redirects=False, timeout=10)
        assert stolen.status_code == 302
        assert requests.get(start, allow_redirects=False, timeout=10).status_code == 400

    before = box.snapshot()
    run = box.consent(env=box.env(BROWSER=str(box.root / "bin" / "browser")), browser=True,
                      play=reader_then_browser)
    box.check(run, Expect(3, ("start address was opened twice", "nothing was stored"),
                          ("--no-browser",)), before)
