"""The redirect listener: what a browser (or an attacker on this machine) can send it."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from foundation.errors import ConfigError, SignInError
from scripts.local.loopback import RedirectListener, parse_pasted_url, parse_redirect
from tests.support import free_port


def listen_and_send(requests_to_send: list[str], timeout: float = 10.0):
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    answers: list[requests.Response] = []

    def browser() -> None:
        for path in requests_to_send:
            answers.append(requests.get(f"http://127.0.0.1:{port}{path}", timeout=5))

    thread = threading.Thread(target=browser)
    thread.start()
    try:
        return listener.wait(timeout), answers
    finally:
        thread.join()


def test_stray_requests_are_ignored_until_the_redirect_arrives():
    params, answers = listen_and_send(["/favicon.ico", "/", "/?code=c1&state=s1"])
    assert params == {"code": "c1", "state": "s1"}
    assert [a.status_code for a in answers] == [404, 200, 200]
    assert "Signed in" in answers[-1].text and "c1" not in answers[-1].text


def test_wrong_state_is_ignored_and_the_wait_goes_on():
    """Issue 10 changed this: a forged state used to end the wait (exit 3); anyone could send
    one, so it is now answered with the neutral page, counted, and our redirect still wins."""
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    answers: list[requests.Response] = []

    def browser() -> None:
        for path in ("/?code=c1&state=forged", "/?code=c1&state=s1"):
            answers.append(requests.get(f"http://127.0.0.1:{port}{path}", timeout=5))

    thread = threading.Thread(target=browser)
    thread.start()
    try:
        assert listener.wait(10)["state"] == "s1"
    finally:
        thread.join()
    assert "Waiting for sign-in" in answers[0].text
    assert listener.ignored == 1


def test_error_redirect_is_returned_for_advice():
    redirect = "/?error=access_denied&error_description=AADSTS65004&state=s1"
    params, answers = listen_and_send([redirect])
    assert params["error"] == "access_denied"
    assert "did not complete" in answers[0].text


def test_listener_gives_up_after_its_timeout():
    listener = RedirectListener(free_port(), expected_state="s1")
    with pytest.raises(SignInError, match="within 1 s"):
        listener.wait(1)


def test_listener_binds_loopback_only():
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    try:
        assert listener.addresses == ["127.0.0.1", "::1"]  # this host has IPv6 loopback
        bound = [key.fileobj.getsockname()[0] for key in listener._selector.get_map().values()]
        assert sorted(bound) == ["127.0.0.1", "::1"]
    finally:
        listener.close()


def test_busy_port_is_a_config_error_naming_the_fix():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match="--redirect-port"):
            RedirectListener(port, expected_state="s1")


@pytest.mark.parametrize("query", ["code=a&code=b&state=s1", "code=a&state=s1&state=s1"])
def test_repeated_parameters_are_refused(query):
    """The parser (and so --paste) refuses them; the listener ignores them and waits on
    (tests/local/test_listener_attacks.py)."""
    with pytest.raises(SignInError, match="repeats"):
        parse_redirect(query, "s1")
    with pytest.raises(SignInError, match="repeats"):
        parse_pasted_url(f"http://localhost:8400/?{query}", "s1")


def test_pasted_url_with_a_wrong_state_is_still_refused_at_once():
    with pytest.raises(SignInError, match="did not issue"):
        parse_pasted_url("http://localhost:8400/?code=x&state=forged", "s1")


@pytest.mark.parametrize("query", ["", "foo=bar", "state=s1"])
def test_queries_without_code_or_error_are_not_redirects(query):
    assert parse_redirect(query, "s1") is None


def test_pasted_url_must_be_the_redirect():
    assert parse_pasted_url(" http://localhost:8400/?code=x&state=s1 \n", "s1")["code"] == "x"
    with pytest.raises(ConfigError, match="not the sign-in redirect"):
        parse_pasted_url("https://example.com/", "s1")


def test_pasted_text_that_urlsplit_refuses_is_one_config_error():
    """Hypothesis found it (tests/foundation/test_properties.py, issue 12): an unclosed IPv6
    bracket made urlsplit raise ValueError, which escaped as "unexpected error (a bug)"."""
    with pytest.raises(ConfigError, match="not a URL") as refused:
        parse_pasted_url("A://[", "s1")
    assert "\n" not in refused.value.one_line() and "Fix: " in refused.value.one_line()
    assert refused.value.exit_code == 2


def test_the_wait_tells_the_countdown_the_seconds_left_and_the_redirect_still_ends_it():
    port = free_port()
    listener = RedirectListener(port, expected_state="s1")
    left: list[float] = []
    ticked = threading.Event()

    def tick(seconds: float) -> None:
        left.append(seconds)
        ticked.set()

    def browser() -> None:
        ticked.wait(10)
        requests.get(f"http://127.0.0.1:{port}/?code=c1&state=s1", timeout=5)

    thread = threading.Thread(target=browser)
    thread.start()
    try:
        assert listener.wait(30, tick=tick) == {"code": "c1", "state": "s1"}
    finally:
        thread.join()
    assert left and all(0 < s <= 30 for s in left) and left == sorted(left, reverse=True)
