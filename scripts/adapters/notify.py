"""The webhook ``verify --notify URL`` posts its report to: one HTTPS POST of a JSON body.

An alert must never hold the run it reports on, nor change its verdict: one attempt, no retry
(a scheduled verify runs again next week, and the report is in this run's output anyway), a
short bound on connecting and on each read (``SECURE_APP_NOTIFY_TIMEOUT``, default 10 s), no
redirect followed (the body goes only where the user said). Every failure (unreachable, too
slow, an untrusted certificate, a refusal) is one ``ServiceError`` in our words, never the
exception's text: requests quotes the URL's path in its messages, and a webhook's address is
its credential (Slack's ``/services/T…/B…/SECRET``, a Teams workflow's ``sig=`` query
parameter: whoever holds it can post to the channel). So the address is only ever shown as
:attr:`Webhook.masked`, its host alone.

The session is ``foundation.network.http``'s (the process's one trust store and connection
pool, proxies and ``REQUESTS_CA_BUNDLE`` honoured), with its retries replaced by none.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from foundation.errors import ConfigError, ServiceError
from foundation.network.failures import TLS_FIX, is_timeout, is_tls
from foundation.network.timeouts import seconds_setting

TIMEOUT_ENV: Final = "SECURE_APP_NOTIFY_TIMEOUT"
#: Seconds to connect, and to wait for each read of the answer. A webhook answers in well under
#: a second; a run must not sit out the 30 s read timeout of the service calls for its alert.
DEFAULT_TIMEOUT: Final = 10.0
TIMEOUT_LIMITS: Final = (0.1, 120.0)
#: Far above any real webhook address, far below what a pasted file would be.
_MAX_URL: Final = 4096
#: Enough of a refusal to find its error code; the rest is not read.
_ANSWER_PREFIX: Final = 2048
#: The error codes webhooks answer with, quoted in the warning only when shaped like a code:
#: Slack answers in plain text (``invalid_payload``, ``no_service``, ``channel_is_archived``:
#: docs.slack.dev, "Sending messages using incoming webhooks", Handling errors); a Teams
#: workflow (Power Automate / Logic Apps trigger) in JSON ``{"error": {"code": ...}}``.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{2,63}")


@dataclass(frozen=True)
class Webhook:
    """A checked webhook address. Its ``repr`` and every message show :attr:`masked` only."""

    url: str = field(repr=False)
    masked: str

    def __str__(self) -> str:
        return self.masked


def masked(url: str) -> str:
    """``https://host[:port]/***``: which service, never the path or query that grant posting
    (nor a ``user:password@``)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{origin}/***" if hidden else origin


def check_webhook_url(raw: str) -> Webhook:
    """The ``--notify`` value as a :class:`Webhook`, or a ``ConfigError`` (exit 2) before any
    work. HTTPS only, loopback included: the body is a health report of the partner's tenant,
    and the address is a credential that plain HTTP would show to every hop on the way."""
    url = raw.strip()
    fix = ("give the https:// address of the webhook: a Teams workflow's \"Post to a channel "
           "when a webhook request is received\", a Slack app's incoming webhook, or your own "
           "receiver")
    if not url:
        raise ConfigError("--notify needs a webhook address", fix=fix)
    if len(url) > _MAX_URL or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigError("--notify is not a webhook address (it holds spaces or control "
                          "characters, or is far too long)", fix=fix)
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is no number raises here
    except ValueError:
        raise ConfigError("--notify is not a webhook address", fix=fix) from None
    scheme = parts.scheme.lower()
    if scheme != "https":
        # The scheme is shown (short, ours to name), the rest of the value never is.
        shown = f"{scheme}://" if scheme.isalnum() and len(scheme) <= 10 and parts.netloc \
            else "no https://"
        raise ConfigError(f"--notify must be an https:// address (the one given has {shown}): "
                          "the address grants posting, and the report names your tenant",
                          fix=fix)
    if not parts.hostname:
        raise ConfigError("--notify has no host name after https://", fix=fix)
    return Webhook(url=url, masked=masked(url))


def notify_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds for connecting and for each read: ``SECURE_APP_NOTIFY_TIMEOUT``, else 10.
    Checked before any work (a bad value is exit 2), read again at the post."""
    value = seconds_setting(
        os.environ if environ is None else environ, TIMEOUT_ENV, TIMEOUT_LIMITS,
        fix=f"set {TIMEOUT_ENV} to e.g. 5, or unset it for the default (10 s)")
    return DEFAULT_TIMEOUT if value is None else value


def post_json(hook: Webhook, body: Mapping[str, Any], *, timeout: float | None = None) -> int:
    """POST ``body`` as JSON to ``hook``, once; the HTTP status of a 2xx answer (Slack: 200,
    a Teams workflow: 202 Accepted). Anything else raises one ``ServiceError``."""
    from foundation.network.http import PooledAdapter, Session

    seconds = notify_timeout() if timeout is None else timeout
    data = json.dumps(body, ensure_ascii=True, allow_nan=False).encode("ascii")
    sess = Session()
    # One attempt: no retry on a connection error, a read timeout or any status.
    sess.mount("https://", PooledAdapter(max_retries=Retry(
        total=0, connect=0, read=False, redirect=False, status=0, other=0,
        raise_on_status=False)))
    try:
        with sess.post(hook.url, data=data, timeout=(seconds, seconds), allow_redirects=False,
                       stream=True, headers={"Content-Type": "application/json",
                                             "Accept": "application/json, text/plain, */*",
                                             "User-Agent": "csp-secure-app"}) as resp:
            status = resp.status_code
            if 200 <= status < 300:
                return status
            answer = resp.raw.read(_ANSWER_PREFIX, decode_content=True) or b""
            raise _refused(hook, status, answer, resp.headers.get("Retry-After"))
    except (requests.exceptions.RequestException, HTTPError, OSError, ValueError) as exc:
        # Never the exception's text: it quotes the address's path.
        raise _unreachable(hook, exc, seconds) from None
    finally:
        sess.close()


def _unreachable(hook: Webhook, exc: BaseException, seconds: float) -> ServiceError:
    if is_tls(exc):
        return ServiceError(f"the webhook {hook} presented a certificate this machine does not "
                            "trust; the report was not posted", fix=TLS_FIX)
    if is_timeout(exc):
        return ServiceError(f"the webhook {hook} did not answer within {seconds:g} s; the report "
                            "was not posted (it is in this run's output)",
                            fix=f"check the receiver; if it is only slow, raise {TIMEOUT_ENV} "
                            "(seconds)")
    return ServiceError(f"the webhook {hook} could not be reached; the report was not posted "
                        "(it is in this run's output)",
                        fix="check the --notify address and this machine's network or proxy "
                        "(HTTPS_PROXY)")


def _refused(hook: Webhook, status: int, answer: bytes, retry_after: str | None) -> ServiceError:
    code = _error_code(answer)
    said = f"HTTP {status}" + (f" {code}" if code else "")
    if 300 <= status < 400:
        return ServiceError(f"the webhook {hook} answered with a redirect ({said}), which is not "
                            "followed: the report goes only to the address given",
                            fix="give --notify the address the receiver redirects to")
    if status == 429:
        wait = f" (it asked to wait {retry_after.strip()} s)" \
            if retry_after and retry_after.strip().isdigit() else ""
        return ServiceError(f"the webhook {hook} throttled the post ({said}){wait}; the report "
                            "was not posted", fix="nothing to change: the next run posts again; "
                            "fewer runs posting to one webhook avoid it")
    if status >= 500:
        return ServiceError(f"the webhook {hook} failed ({said}); the report was not posted",
                            fix="the receiver is down or failing: check it, the next run posts "
                            "again")
    return ServiceError(
        f"the webhook {hook} refused the post ({said}); the report was not posted",
        fix="check the --notify address (the webhook may have been deleted, or its workflow "
        "turned off) and that --notify-format suits the receiver (teams for a Teams workflow, "
        "slack for a Slack incoming webhook, json for your own)")


def _error_code(answer: bytes) -> str | None:
    """A refusal's error code, when the answer has one shaped like a code (it comes from
    outside: nothing else of it is shown)."""
    text = answer.decode("utf-8", "replace").strip()
    candidate: object = text
    try:
        parsed = json.loads(text)
    except ValueError:
        pass
    else:
        error = parsed.get("error") if isinstance(parsed, dict) else None
        candidate = error.get("code") if isinstance(error, dict) else error
    if isinstance(candidate, str) and _CODE.fullmatch(candidate):
        return candidate
    return None
