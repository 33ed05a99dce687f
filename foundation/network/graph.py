"""Microsoft Graph as every caller reaches it: the deploying identity's token, one request with
our retries and timeouts, paging, and Graph's error shape.

The lifecycle tasks' reads (``scripts.adapters.graph``) and the security defaults provider
(``infra.mfa_enforcement``) each interpret the statuses in their own words; everything below
that (who signs in, how a request is sent and fails at the network level) is this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from foundation.clouds import Endpoints
from foundation.errors import ServiceError
from foundation.network import http
from foundation.network.credentials import deployer_credential
from foundation.network.timeouts import LIMITS

SERVICE = "Microsoft Graph"
#: Seconds one collection may take to read, all its pages and their retries. The bound is time,
#: not a page count, because Graph picks the page size: 100,000 users are 1,000 pages at 100 a
#: page and 100,000 at 1 a page, both correct answers. The longest this tool lets a service hold
#: a pipeline (``timeouts.LIMITS``, ten minutes) reads 1,000 pages at 0.6 s each, and ends well
#: inside an access token's hour; each attempt keeps its own timeout (``http_timeouts``).
PAGING_DEADLINE: Final = LIMITS[1]

#: Judges one answer (status, JSON body or None): raises the caller's typed error, else returns.
Check = Callable[[int, Any], None]


def graph_token(endpoints: Endpoints, *, fix: str) -> str:
    """An app-only (or the signed-in admin's) Graph token from the deployer's credential;
    ``fix`` is what that identity should do when it was refused."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return deployer_credential(endpoints).get_token(endpoints.graph_scope).token
    except ClientAuthenticationError as exc:
        from foundation.network.failures import credential_error  # refused: its line only

        raise credential_error(exc, service=SERVICE, fix=fix) from None


def call(endpoints: Endpoints, method: str, path: str, token: str, body: Any = None, *,
         sess: requests.Session | None = None) -> tuple[int, Any]:
    """(status, JSON body or None) of one request to ``path`` (or a next link) on the Graph
    endpoint we were configured with. A URL on any other host is refused rather than sent the
    bearer token."""
    base = endpoints.graph.rstrip("/")
    url = _absolute(endpoints, path)
    if _origin(url) != _origin(base):
        raise ServiceError(f"{SERVICE} sent a next page on another host ({_origin(url)})",
                           fix="check GRAPH_ENDPOINT; a proxy may be rewriting responses")
    resp, answer = http.call_json(sess or http.session(), url, token=token, service=SERVICE,
                                  method=method, body=body)
    return resp.status_code, answer


def get_pages(endpoints: Endpoints, path: str, token: str, check: Check, *,
              deadline: float = PAGING_DEADLINE) -> Iterator[dict[str, Any]]:
    """Every item of a Graph collection, following ``@odata.nextLink`` (on Graph's host only)
    through one session, so every page reuses the connection.

    Two things end a chain that would not: a link already followed (a loop: Graph's, or a
    cache or proxy answering every page with the same body) and ``deadline`` seconds since the
    first request, checked before each next page. Either is a ServiceError naming the
    collection, never the link (its ``$skiptoken`` is Graph's business)."""
    sess = http.session()
    what = path.split("?")[0]
    ends = time.monotonic() + deadline
    seen: set[str] = set()
    pages = 0
    url: str | None = path
    while url is not None:
        absolute = _absolute(endpoints, url)
        if absolute in seen:
            raise ServiceError(
                f"{SERVICE} sent a next-page link for {what} that it had already sent (after "
                f"{pages} pages): the paging loops",
                fix="check that no proxy or cache between this machine and GRAPH_ENDPOINT "
                "answers every link with the same page, then run again; if it still loops, "
                "report it to Microsoft")
        if pages and time.monotonic() > ends:
            raise ServiceError(
                f"{SERVICE} was still sending pages of {what} after {deadline:g} s "
                f"({pages} pages read)", fix="run again later: Graph may be slow or throttling")
        seen.add(absolute)
        status, body = call(endpoints, "GET", url, token, sess=sess)
        check(status, body)
        pages += 1
        yield from body.get("value", [])
        next_link = body.get("@odata.nextLink")
        url = str(next_link) if next_link else None


def error_code(body: Any) -> str:
    """``error.code`` of Graph's error shape; callers print only codes they know."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else ""


def error_message(body: Any) -> str:
    """Graph's own error text (never a credential), shortened to one line."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return " ".join(str(message).split())[:200] if message is not None else "no details"


def _absolute(endpoints: Endpoints, path: str) -> str:
    """``path`` on the configured Graph endpoint; a next link (already absolute) as it is."""
    return path if "://" in path else f"{endpoints.graph.rstrip('/')}{path}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
