"""The loopback redirect listener of the authorization-code sign-in, and the parser it shares with
``--paste``.

Why it is safe to listen: it binds 127.0.0.1 only (never 0.0.0.0), answers exactly one redirect
that carries the ``state`` we generated, then closes; the code it receives is useless without the
PKCE verifier and the CPV app's secret, both of which never leave this process.
"""

from __future__ import annotations

import errno
import html
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from foundation.errors import ConfigError, SignInError

REDIRECT_PARAMS = ("code", "state", "error", "error_description", "session_state", "client_info")


def parse_redirect(query: str, expected_state: str) -> dict[str, str] | None:
    """Validate the query of a redirect. ``None`` means "not a sign-in redirect" (e.g. a favicon
    request or a page reload without parameters): the listener ignores those and keeps waiting.
    A redirect with a wrong state or repeated parameters is refused outright: it is not ours."""
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
    if params.get("state") != expected_state:
        raise SignInError(
            "the sign-in redirect carries a state that this run did not issue (possible forgery "
            "or a redirect from an older attempt); nothing was stored",
            fix="run consent again and finish the sign-in from the link this run printed",
            error="state_mismatch",
        )
    return params


def parse_pasted_url(url: str, expected_state: str) -> dict[str, str]:
    """``--paste``: the URL the browser ended on, pasted back (the listener was out of reach)."""
    url = url.strip()
    parts = urlsplit(url)
    params = parse_redirect(parts.query, expected_state) if parts.query else None
    if params is None:
        raise ConfigError(
            "the pasted text is not the sign-in redirect URL (it has no code or error parameter)",
            fix="copy the whole address from the browser's address bar after the sign-in "
            "finished, starting with http://localhost",
        )
    return params


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1 id="result">{title}</h1>
<p id="detail">{detail}</p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: _RedirectServer
    #: A browser may open a connection and send nothing (pre-connect); don't block on it forever.
    timeout = 5

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        srv = self.server
        if parts.path.rstrip("/") != srv.expected_path.rstrip("/"):
            self._answer(404, "Not found", "This address only receives the sign-in redirect.")
            return
        try:
            params = parse_redirect(parts.query, srv.expected_state)
        except SignInError as exc:
            self._answer(400, "Sign-in refused", exc.message)
            srv.outcome = exc
            return
        if params is None:
            self._answer(200, "Waiting for sign-in", "Finish the sign-in in the other tab.")
            return
        if "error" in params:
            self._answer(200, "Sign-in did not complete",
                         "The identity platform reported an error; see the terminal for advice.")
        else:
            self._answer(200, "Signed in", "Consent received. You can close this window and "
                         "return to the terminal.")
        srv.outcome = params

    def _answer(self, status: int, title: str, detail: str) -> None:
        body = _PAGE.format(title=html.escape(title), detail=html.escape(detail)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request line carries the authorization code."""


class _RedirectServer(HTTPServer):
    expected_state: str
    expected_path: str
    outcome: dict[str, str] | SignInError | None = None


class RedirectListener:
    """Listens on 127.0.0.1:``port`` for the one redirect of this sign-in."""

    def __init__(self, port: int, expected_state: str, path: str = "/") -> None:
        self.port = port
        try:
            self._server = _RedirectServer(("127.0.0.1", port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on 127.0.0.1 is already in use, so the sign-in redirect "
                    "cannot be received",
                    fix=f"close the program using port {port}, or pass --redirect-port N with a "
                    "free port registered as http://localhost:N on the CPV app",
                ) from exc
            raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})",
                              fix="pass --redirect-port N with a free port") from exc
        self._server.expected_state = expected_state
        self._server.expected_path = path or "/"

    def wait(self, timeout: float) -> dict[str, str]:
        """Serve requests until the redirect arrives; give up after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        srv = self._server
        try:
            while srv.outcome is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SignInError(
                        f"no sign-in redirect arrived within {int(timeout)} s",
                        fix="run consent again and finish the sign-in sooner (or pass "
                        "--timeout N); if the browser cannot reach this machine use --paste",
                        error="timeout",
                    )
                srv.timeout = min(remaining, 1.0)
                srv.handle_request()
        finally:
            self.close()
        if isinstance(srv.outcome, SignInError):
            raise srv.outcome
        return srv.outcome

    def close(self) -> None:
        self._server.server_close()
