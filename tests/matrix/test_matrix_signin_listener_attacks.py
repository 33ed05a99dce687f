"""Matrix, the sign-in listener under attack from this machine (issue 10): forged, duplicated,
cross-site and DNS-rebinding redirects are ignored and the real one is stored; slow clients
neither hold the sign-in nor stretch --timeout; a squatter on the redirect port stops consent
before the sign-in; the browser's command line (readable with ps) holds no state, nonce or
challenge, and a ps reader who opens the start address first ends the sign-in."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.matrix.runner import Expect, Sandbox, never_returns, sign_in, wait_until
from tests.support import deliver


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


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
