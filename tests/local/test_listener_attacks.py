"""The redirect listener under attack from this machine (issue 10): another local user squatting
the port on ::1, forged redirects from other users or web pages, a DNS-rebinding page, junk and
slow clients. Each attacker is a separate client (a second process for the squatter); after the
forged and slow attempts the real redirect must still succeed."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests

from foundation.errors import ConfigError, SignInError
from scripts.local.loopback import RedirectListener
from tests.support import free_port

#: What Chromium sends for an <img src=http://localhost:PORT/...> on a web page.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36",
    "Accept": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "Referer": "https://evil.example/", "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Site": "cross-site",
}
SQUATTER = """
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
sock = socket.socket(family, socket.SOCK_STREAM)
if sys.argv[3] == "reuse":
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind((sys.argv[1], int(sys.argv[2])))
sock.listen()
print("listening", flush=True)
time.sleep(60)
"""


@contextmanager
def squatter(address: str, port: int, mode: str = "plain") -> Iterator[None]:
    """Another local user's program listening on ``address``:``port`` (a second process)."""
    proc = subprocess.Popen([sys.executable, "-c", SQUATTER, address, str(port), mode],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "listening"
        yield
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("mode", ["plain", "reuse"])
def test_a_squatter_on_ipv6_loopback_stops_the_listener_before_the_sign_in(mode: str) -> None:
    """Browsers try ::1 first for localhost: a program there would get the code and the state."""
    port = free_port()
    with squatter("::1", port, mode), pytest.raises(ConfigError) as caught:
        RedirectListener(port, expected_state="s1")
    line = caught.value.one_line()
    assert f"port {port} on ::1" in line and "already in use" in line
    assert "\n" not in line and caught.value.exit_code == 2
    # Nothing of ours was left listening: the port is free again once the squatter is gone.
    RedirectListener(port, expected_state="s1").close()


def test_a_squatter_on_ipv4_loopback_is_named_too() -> None:
    port = free_port()
    with squatter("127.0.0.1", port, "reuse"), pytest.raises(ConfigError,
                                                             match=f"port {port} on 127.0.0.1"):
        RedirectListener(port, expected_state="s1")


def test_the_redirect_is_received_on_ipv6_loopback() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    answers: list[requests.Response] = []
    thread = threading.Thread(target=lambda: answers.append(requests.get(
        f"http://[::1]:{port}/?code=c1&state=s1", timeout=5)))
    thread.start()
    try:
        assert listener.wait(10) == {"code": "c1", "state": "s1"}
    finally:
        thread.join()
    assert "Signed in" in answers[0].text


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


FORGERIES: list[tuple[str, Callable[[int], int]]] = [
    # (what, how it is sent) -> each gets an answer and the wait goes on.
    ("a web page's error", lambda p: requests.get(f"http://127.0.0.1:{p}/?error=x",
                                                  headers=BROWSER_HEADERS, timeout=5).status_code),
    ("a code with a guessed state", lambda p: requests.get(
        f"http://127.0.0.1:{p}/?code=a&state=b", timeout=5).status_code),
    ("an error with a guessed state", lambda p: requests.get(
        f"http://127.0.0.1:{p}/?error=access_denied&error_description=%1B%5D0;x%07&state=b",
        timeout=5).status_code),
    ("repeated parameters", lambda p: requests.get(
        f"http://127.0.0.1:{p}/?code=a&code=b&state=s1", timeout=5).status_code),
    ("a DNS-rebinding page with our real redirect", lambda p: requests.get(
        f"http://127.0.0.1:{p}/?code=real&state=s1",
        headers={**BROWSER_HEADERS, "Host": f"evil.example:{p}"}, timeout=5).status_code),
    ("no Host at all", lambda p: int(raw(p, b"GET /?code=real&state=s1 HTTP/1.1\r\n\r\n")[9:12])),
    ("junk bytes", lambda p: int(raw(p, b"\x16\x03\x01junk\r\n\r\n")[9:12])),
    ("a POST", lambda p: requests.post(f"http://127.0.0.1:{p}/?code=a&state=s1",
                                       timeout=5).status_code),
]


def test_forged_requests_are_ignored_and_the_real_redirect_still_wins() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    statuses: list[int] = []
    final: list[requests.Response] = []

    def attackers_then_browser() -> None:
        for _what, send in FORGERIES:
            statuses.append(send(port))
        final.append(requests.get(f"http://localhost:{port}/?code=real&state=s1", timeout=5))

    thread = threading.Thread(target=attackers_then_browser)
    thread.start()
    try:
        assert listener.wait(20) == {"code": "real", "state": "s1"}
    finally:
        thread.join()
    assert statuses == [200, 200, 200, 200, 421, 421, 400, 405]
    assert "Signed in" in final[0].text
    assert listener.ignored == len(FORGERIES)  # each one is counted for the closing note


def test_a_slow_client_cannot_hold_the_listener_from_the_real_redirect() -> None:
    """A byte every few seconds kept the old one-connection listener busy: now the redirect is
    answered while the slow client still dribbles, and the slow client is cut at its deadline."""
    port = free_port()
    listener = RedirectListener(port, expected_state="s1", request_deadline=2)
    slow = socket.create_connection(("127.0.0.1", port), timeout=5)
    stop = threading.Event()

    def dribble() -> None:
        try:
            for byte in b"GET /?code=a&state=s1 HTTP/1.1\r\nHost: localhost\r\n":
                if stop.wait(0.5):
                    return
                slow.send(bytes([byte]))
        except OSError:
            return  # cut off by the listener

    dribbler = threading.Thread(target=dribble)
    dribbler.start()
    answers: list[requests.Response] = []

    def browser() -> None:
        time.sleep(0.3)
        answers.append(requests.get(f"http://127.0.0.1:{port}/?code=real&state=s1", timeout=5))

    thread = threading.Thread(target=browser)
    started = time.monotonic()
    thread.start()
    try:
        assert listener.wait(20)["code"] == "real"
    finally:
        thread.join()
        stop.set()
        dribbler.join()
        slow.close()
    assert time.monotonic() - started < 2, "the slow client delayed the redirect"


def test_the_slow_client_is_dropped_at_its_deadline() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1", request_deadline=1)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.send(b"GET /?code=a")
        with pytest.raises(SignInError, match="within 3 s"):
            listener.wait(3)
        slow.settimeout(1)
        assert slow.recv(10) == b"", "the listener closed the slow connection"
    assert listener.ignored == 1


def test_timeout_is_a_hard_deadline_whatever_clients_do() -> None:
    """A client sending a byte every second (under any per-read timeout) and fresh connections
    all along: the wait still ends on time."""
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    for _ in range(3):
                        sock.send(b"G")
                        if stop.wait(1):
                            return
            except OSError:
                return

    holders = [threading.Thread(target=hold) for _ in range(3)]
    for holder in holders:
        holder.start()
    started = time.monotonic()
    try:
        with pytest.raises(SignInError, match="within 2 s"):
            listener.wait(2)
    finally:
        stop.set()
        for holder in holders:
            holder.join()
    assert time.monotonic() - started < 3


def test_a_flood_of_connections_cannot_lock_out_the_redirect() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    flood: list[socket.socket] = []
    answers: list[requests.Response] = []

    def attacker_then_browser() -> None:
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.send(b"GET / HTTP/1.1\r\n")
            flood.append(sock)
        answers.append(requests.get(f"http://127.0.0.1:{port}/?code=real&state=s1", timeout=5))

    thread = threading.Thread(target=attacker_then_browser)
    thread.start()
    try:
        assert listener.wait(20)["code"] == "real"
    finally:
        thread.join()
        for sock in flood:
            sock.close()
    assert "Signed in" in answers[0].text


def test_the_start_address_redirects_once_and_a_second_use_ends_the_sign_in() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    target = "https://login.example/authorize?state=s1&nonce=n&code_challenge=c"
    start = listener.start_address(target)
    assert start.startswith(f"http://localhost:{port}/start/")
    assert "s1" not in start and "nonce" not in start and "challenge" not in start
    answers: list[requests.Response] = []

    def browser_then_reader() -> None:
        for _ in range(2):
            answers.append(requests.get(start, allow_redirects=False, timeout=5))

    thread = threading.Thread(target=browser_then_reader)
    thread.start()
    try:
        with pytest.raises(SignInError, match="opened twice") as caught:
            listener.wait(10)
    finally:
        thread.join()
    assert caught.value.exit_code == 3
    assert answers[0].status_code == 302 and answers[0].headers["Location"] == target
    assert answers[1].status_code == 400 and "Location" not in answers[1].headers


def test_a_guessed_start_address_reveals_nothing() -> None:
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    start = listener.start_address("https://login.example/authorize?state=s1")
    answers: list[requests.Response] = []

    def guesser_then_browser() -> None:
        answers.append(requests.get(f"{start}x", allow_redirects=False, timeout=5))
        answers.append(requests.get(start, allow_redirects=False, timeout=5))
        answers.append(requests.get(f"http://127.0.0.1:{port}/?code=c&state=s1", timeout=5))

    thread = threading.Thread(target=guesser_then_browser)
    thread.start()
    try:
        assert listener.wait(10)["code"] == "c"
    finally:
        thread.join()
    assert answers[0].status_code == 404 and "s1" not in answers[0].text
    assert answers[1].status_code == 302
    assert listener.ignored == 1
