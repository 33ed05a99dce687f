"""Microsoft Graph as every caller reaches it: the deploying identity's token, one request with
our retries and timeouts, paging, and Graph's error shape.

The lifecycle tasks' reads (``scripts.adapters.graph``) and the security defaults provider
(``infra.mfa_enforcement``) each interpret the statuses in their own words; everything below
that (who signs in, how a request is sent and fails at the network level) is this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from foundation.clouds import Endpoints
from foundation.errors import ServiceError
from foundation.network import http
from foundation.network.credentials import deployer_credential
from foundation.network.failures import credential_error

SERVICE = "Microsoft Graph"
#: A generous bound: a tenant with more users than this has a report we should not page forever.
MAX_PAGES = 200

#: Judges one answer (status, JSON body or None): raises the caller's typed error, else returns.
Check = Callable[[int, Any], None]


def graph_token(endpoints: Endpoints, *, fix: str) -> str:
    """An app-only (or the signed-in admin's) Graph token from the deployer's credential;
    ``fix`` is what that identity should do when it was refused."""
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return deployer_credential(endpoints).get_token(endpoints.graph_scope).token
    except ClientAuthenticationError as exc:
        raise credential_error(exc, service=SERVICE, fix=fix) from None


def call(endpoints: Endpoints, method: str, path: str, token: str, body: Any = None, *,
         sess: requests.Session | None = None) -> tuple[int, Any]:
    """(status, JSON body or None) of one request to ``path`` (or a next link) on the Graph
    endpoint we were configured with. A URL on any other host is refused rather than sent the
    bearer token."""
    base = endpoints.graph.rstrip("/")
    url = path if "://" in path else f"{base}{path}"
    if _origin(url) != _origin(base):
        raise ServiceError(f"{SERVICE} sent a next page on another host ({_origin(url)})",
                           fix="check GRAPH_ENDPOINT; a proxy may be rewriting responses")
    resp, answer = http.call_json(sess or http.session(), url, token=token, service=SERVICE,
                                  method=method, body=body)
    return resp.status_code, answer


def get_pages(endpoints: Endpoints, path: str, token: str,
              check: Check) -> Iterator[dict[str, Any]]:
    """Every item of a Graph collection, following ``@odata.nextLink`` (on Graph's host only)."""
    sess = http.session()
    url: str | None = path
    for _ in range(MAX_PAGES):
        if url is None:
            return
        status, body = call(endpoints, "GET", url, token, sess=sess)
        check(status, body)
        yield from body.get("value", [])
        next_link = body.get("@odata.nextLink")
        url = str(next_link) if next_link else None
    raise ServiceError(f"{SERVICE} returned more than {MAX_PAGES} pages for {path}",
                       fix="report this; the tenant is larger than this report supports")


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


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
