"""The loopback redirect listener of the authorization-code sign-in, and the parser it shares with
``--paste``.

Why it is safe to listen, against the people on this machine and the pages in its browser:

* it listens on every address ``localhost`` may mean (127.0.0.1, and ::1 where the host has IPv6:
  browsers try ::1 first), and refuses to start when another program holds the port on either,
  since that program, not us, would receive the redirect;
* only a redirect carrying the ``state`` we generated ends the wait: a forged ``?error=x`` from a
  web page or another user is answered with a neutral page, counted, and the wait goes on;
* requests whose ``Host`` is not the loopback name and port are refused (DNS rebinding);
* one thread serves every connection at once, each with a deadline to send its request, and
  ``timeout`` is a hard deadline whatever clients do: a slow client cannot hold the sign-in;
* the browser is opened on a one-time local start address that redirects to the sign-in page, so
  no process's command line (readable by every user through ``ps``) holds the state, nonce or
  PKCE challenge; a second use of that address means someone else read it: the sign-in ends.

The code it receives is useless without the PKCE verifier and the CPV app's secret, both of which
never leave this process.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import html
import math
import secrets
import selectors
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from foundation.errors import ConfigError, SignInError

REDIRECT_PARAMS = ("code", "state", "error", "error_description", "session_state", "client_info")
#: Seconds a client has, from its connection, to send its whole request line and headers.
REQUEST_DEADLINE = 10.0
#: A browser's redirect fits easily; anything larger is refused unread.
MAX_REQUEST_BYTES = 16 * 1024
#: Open connections at once; past this the oldest is dropped, so a flood cannot lock out the
#: browser's redirect (which arrives complete in one packet and is answered at once).
MAX_CONNECTIONS = 64
#: Errors meaning "this host has no IPv6 loopback": then ::1 cannot be squatted either.
_NO_IPV6 = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


def parse_redirect(query: str, expected_state: str) -> dict[str, str] | None:
    """Validate the query of a redirect. ``None`` means "not a sign-in redirect" (e.g. a favicon
    request or a page reload without parameters). A redirect with a wrong state or repeated
    parameters raises: for ``--paste`` that is the answer; the listener ignores it and waits on."""
    values = parse_qs(query, keep_blank_values=True)
    if not any(name in values for name in ("code", "error")):
        return None
    repeated = sorted(name for name, items in values.items() if len(items) > 1)
    if repeated:
        raise SignInError(
            f"the sign-in redirect repeats the parameter(s) {', '.join(repeated)}; refusing it",
            fix="run consent again and use only the link this run printed",
            error="invalid_redirect",
        )
    params = {name: items[0] for name, items in values.items() if name in REDIRECT_PARAMS}
    if not hmac.compare_digest(params.get("state", "").encode(), expected_state.encode()):
        raise SignInError(
            "the sign-in redirect carries a state that this run did not issue (possible forgery "
            "or a redirect from an older attempt); nothing was stored",
            fix="run consent again and finish the sign-in from the link this run printed",
            error="state_mismatch",
        )
    return params


def parse_pasted_url(url: str, expected_state: str) -> dict[str, str]:
    """``--paste``: the URL the browser ended on, pasted back (the listener was out of reach).
    A person pasted it, so a wrong state is refused at once rather than waited past."""
    fix = ("copy the whole address from the browser's address bar after the sign-in finished, "
           "starting with http://localhost")
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # urlsplit refuses a malformed host ("A://[": an unclosed IPv6 bracket)
        raise ConfigError("the pasted text is not a URL (its host part is malformed)",
                          fix=fix) from None
    params = parse_redirect(parts.query, expected_state) if parts.query else None
    if params is None:
        raise ConfigError(
            "the pasted text is not the sign-in redirect URL (it has no code or error parameter)",
            fix=fix)
    return params


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1 id="result">{title}</h1>
<p id="detail">{detail}</p></body></html>"""
_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 421: "Misdirected Request",
            431: "Request Header Fields Too Large"}
_WAITING = ("Waiting for sign-in", "This address only receives the sign-in redirect of the "
            "running consent. Finish the sign-in in the other tab.")


def _response(status: int, title: str, detail: str, location: str | None = None) -> bytes:
    body = _PAGE.format(title=html.escape(title), detail=html.escape(detail)).encode()
    head = [f"HTTP/1.1 {status} {_REASONS[status]}", "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(body)}", "Cache-Control: no-store",
            # The address bar holds the code: no page we serve may pass it on.
            "Referrer-Policy: no-referrer", "X-Content-Type-Options: nosniff",
            "Connection: close"]
    if location:
        head.append(f"Location: {location}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class _Connection:
    sock: socket.socket
    deadline: float
    data: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    hosts: tuple[str, ...]


def _parse_request(raw: bytes) -> _Request | None:
    """The request line and the Host headers of an HTTP/1.x request; None if malformed."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    line, *headers = head.split("\r\n")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None
    hosts = tuple(value.strip().lower() for name, sep, value in
                  (header.partition(":") for header in headers)
                  if sep and name.strip().lower() == "host")
    return _Request(parts[0], parts[1], hosts)


def _listening_socket(family: socket.AddressFamily, address: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform == "win32":
            # Windows' SO_REUSEADDR lets another program bind the same port over us.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            # Only to re-listen over our own last run's TIME_WAIT: Linux still refuses the bind
            # while anyone listens there (we never set SO_REUSEPORT, which would share it).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(16)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _held_by_another(port: int, address: str, exc: OSError) -> ConfigError:
    family = "localhost over IPv6" if ":" in address else "localhost over IPv4"
    if exc.errno in _IN_USE:
        cause = (f"port {port} on {address} ({family}) is already in use by another program, "
                 "which could receive the sign-in redirect instead of this run; no sign-in "
                 "was started")
    else:
        cause = (f"cannot listen on port {port} on {address} ({exc.strerror}); no sign-in "
                 "was started")
    return ConfigError(cause, fix=f"close the program using port {port}, or pass --redirect-port "
                       "N with a free port registered as http://localhost:N on the CPV app")


def _slice(left: float) -> float:
    """Seconds until the whole seconds left change (0:42 -> 0:41), at most 1: a countdown woken
    then shows every second, without drifting past one."""
    return min(1.0, left - math.ceil(left) + 1.0 + 0.005)


class RedirectListener:
    """Listens on ``localhost:port`` (every loopback address) for the one redirect of this
    sign-in; binds at construction, so a busy port fails before anyone signs in."""

    def __init__(self, port: int, expected_state: str, path: str = "/",
                 request_deadline: float = REQUEST_DEADLINE) -> None:
        self.port = port
        self.expected_state = expected_state
        self.expected_path = (path or "/").rstrip("/")
        self.request_deadline = request_deadline
        #: Requests that tried to end or stall the wait and were not ours (forged redirects,
        #: wrong Host, malformed or never finished): the sign-in reports the count.
        self.ignored = 0
        self.addresses: list[str] = []
        self._outcome: dict[str, str] | SignInError | None = None
        self._start_path: str | None = None
        self._start_target = ""
        self._start_uses = 0
        self._connections: dict[socket.socket, _Connection] = {}
        self._selector = selectors.DefaultSelector()
        try:
            self._listen(socket.AF_INET, "127.0.0.1")
            if socket.has_ipv6:
                self._listen(socket.AF_INET6, "::1")
        except BaseException:
            self.close()
            raise
        self._hosts = {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}

    def _listen(self, family: socket.AddressFamily, address: str) -> None:
        try:
            sock = _listening_socket(family, address, self.port)
        except OSError as exc:
            if family == socket.AF_INET6 and exc.errno in _NO_IPV6:
                return  # no IPv6 loopback here: nobody can listen on ::1 either
            raise _held_by_another(self.port, address, exc) from exc
        self._selector.register(sock, selectors.EVENT_READ, None)
        self.addresses.append(address)

    def start_address(self, target: str) -> str:
        """A one-time local address that redirects (302) to ``target``, the sign-in page: what
        the browser is opened on, so its command line carries no state, nonce or challenge."""
        self._start_path = f"/start/{secrets.token_urlsafe(24)}"
        self._start_target = target
        return f"http://localhost:{self.port}{self._start_path}"

    def wait(self, timeout: float,
             tick: Callable[[float], None] | None = None) -> dict[str, str]:
        """Serve requests until our redirect arrives; give up after ``timeout`` seconds, a hard
        deadline whatever clients do.

        ``tick`` (the terminal's countdown) is called with the seconds left before each wait on
        the sockets, at least once a second: the wait is cut into slices that end when the
        whole seconds left change, never longer. A redirect still ends a slice the moment it
        arrives, so the countdown never delays a sign-in."""
        deadline = time.monotonic() + timeout
        try:
            while self._outcome is None:
                now = time.monotonic()
                if tick is not None and now < deadline:
                    tick(deadline - now)
                if now >= deadline:
                    raise SignInError(
                        f"no sign-in redirect arrived within {int(timeout)} s",
                        fix="run consent again and finish the sign-in sooner (or pass "
                        "--timeout N); if the browser cannot reach this machine use --paste",
                        error="timeout",
                    )
                self._drop_late(now)
                wake = min([deadline, *(c.deadline for c in self._connections.values())])
                for key, _events in self._selector.select(max(0.0, min(wake - now,
                                                                       _slice(deadline - now)))):
                    if key.data is None:
                        self._accept(key.fileobj)  # type: ignore[arg-type]
                    else:
                        self._receive(key.data)
                    if self._outcome is not None:
                        break
        finally:
            self.close()
        if isinstance(self._outcome, SignInError):
            raise self._outcome
        return self._outcome

    def close(self) -> None:
        for conn in list(self._connections.values()):
            self._give_up_on(conn)  # one still sending its request at the end is counted too
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    # -- connections ---------------------------------------------------------------------------
    def _accept(self, listening: socket.socket) -> None:
        try:
            sock, _peer = listening.accept()
        except OSError:
            return
        sock.setblocking(False)
        if len(self._connections) >= MAX_CONNECTIONS:
            oldest = min(self._connections.values(), key=lambda c: c.deadline)
            self._give_up_on(oldest)
        conn = _Connection(sock, time.monotonic() + self.request_deadline)
        self._connections[sock] = conn
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _receive(self, conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._give_up_on(conn)
            return
        conn.data += chunk
        if b"\r\n\r\n" in conn.data:
            self._answer(conn, self._handle(bytes(conn.data)))
        elif len(conn.data) > MAX_REQUEST_BYTES:
            self.ignored += 1
            self._answer(conn, _response(431, "Refused", "The request is too large."))

    def _drop_late(self, now: float) -> None:
        for conn in [c for c in self._connections.values() if c.deadline <= now]:
            self._give_up_on(conn)

    def _give_up_on(self, conn: _Connection) -> None:
        """A connection closed or dropped before its request was complete: a browser's unused
        pre-connection sends nothing; one that sent part of a request is counted."""
        if conn.data:
            self.ignored += 1
        self._drop(conn)

    def _answer(self, conn: _Connection, response: bytes) -> None:
        with contextlib.suppress(OSError):  # fits the socket buffer: never blocks this loop
            conn.sock.send(response)
            conn.sock.shutdown(socket.SHUT_WR)
        self._drop(conn)

    def _drop(self, conn: _Connection) -> None:
        self._connections.pop(conn.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()

    # -- requests ------------------------------------------------------------------------------
    def _handle(self, raw: bytes) -> bytes:
        request = _parse_request(raw)
        if request is None:
            self.ignored += 1
            return _response(400, "Refused", "This is not a request this address answers.")
        if len(request.hosts) != 1 or request.hosts[0] not in self._hosts:
            # A DNS-rebinding page reaches us under its own name: refuse it, whatever it asks.
            self.ignored += 1
            return _response(421, "Refused", "This address only answers as localhost.")
        if request.method not in ("GET", "HEAD"):
            self.ignored += 1
            return _response(405, *_WAITING)
        parts = urlsplit(request.target)
        if self._start_path and parts.path.startswith("/start/"):
            return self._start(parts.path)
        if parts.path.rstrip("/") != self.expected_path:
            return _response(404, "Not found", "This address only receives the sign-in redirect.")
        try:
            params = parse_redirect(parts.query, self.expected_state)
        except SignInError:
            params, looks_like_a_redirect = None, True
        else:
            looks_like_a_redirect = "state" in parse_qs(parts.query)
        if params is None:
            # Not our redirect (a forgery, an older attempt, a reload): the wait goes on.
            self.ignored += looks_like_a_redirect
            return _response(200, *_WAITING)
        self._outcome = params
        if "error" in params:
            return _response(200, "Sign-in did not complete", "The identity platform reported "
                             "an error; see the terminal for advice.")
        return _response(200, "Signed in", "Consent received. You can close this window and "
                         "return to the terminal.")

    def _start(self, path: str) -> bytes:
        if self._start_path is None or not hmac.compare_digest(path.encode(),
                                                                self._start_path.encode()):
            self.ignored += 1
            return _response(404, "Not found", "This address only receives the sign-in redirect.")
        self._start_uses += 1
        if self._start_uses > 1:
            # Its one use was the browser's or someone else's: either way another program
            # has seen the sign-in link with our state, so this sign-in cannot be trusted.
            self._outcome = SignInError(
                "the sign-in start address was opened twice: another program on this machine "
                "may have read it from the browser's command line and taken this sign-in's "
                "link; nothing was stored",
                fix="run consent again (or with --no-browser and open the printed link yourself)",
                error="start_reused",
            )
            return _response(400, "Sign-in stopped", "This sign-in link was already used. "
                             "See the terminal.")
        return _response(302, "Sign-in", "Continue to the sign-in page.",
                         location=self._start_target)
