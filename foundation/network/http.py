"""One HTTP session factory for the REST calls we make ourselves (Partner Center, Graph).

MSAL and the Azure SDKs bring their own retry policies; this gives our direct calls the same
behaviour: bounded timeouts, and retries with backoff for 429 (honouring Retry-After), 5xx and
connection resets, so a transient fault is not reported as a broken setup.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from foundation.errors import ServiceError
from foundation.network.discovery import DiscoverySession
from foundation.network.failures import connection_error, throttled, with_response_ids
from foundation.network.timeouts import http_timeouts

RETRIES = 3
#: The longest ``Retry-After`` we wait out before a retry. A service asking for longer is told
#: to the user ("wait N s and run again") instead of holding a pipeline for minutes.
MAX_RETRY_AFTER = 10.0


class BoundedRetry(Retry):
    """urllib3's retry, honouring ``Retry-After`` only up to ``MAX_RETRY_AFTER``: a longer
    advertised wait ends the retries at once, and the last answer goes back to the caller."""

    def increment(self, method: str | None = None, url: str | None = None,
                  response: BaseHTTPResponse | None = None, error: Exception | None = None,
                  _pool: ConnectionPool | None = None,
                  _stacktrace: TracebackType | None = None) -> Self:
        wait = self.get_retry_after(response) if response is not None else None
        if wait is not None and wait > MAX_RETRY_AFTER:
            raise MaxRetryError(_pool, url or "",  # type: ignore[arg-type]  # as urllib3 does
                                ResponseError(f"Retry-After {wait:.0f} s is too long to wait"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


class Session(DiscoverySession):
    """Every request gets our timeout (``foundation.network.timeouts``) unless the caller set one
    (MSAL sets none when given its own ``http_client``)."""

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = http_timeouts()
        return super().request(method, url, *args, **kwargs)


class IdentitySession(Session):
    """MSAL's ``http_client``. MSAL parses every token-endpoint answer as JSON and raises a bare
    ``ValueError`` when it is not (Entra's throttling front door answers ``429 Too Many
    Requests`` in plain text), and a 429 on the discovery document reads to MSAL as "no such
    tenant". So a 429 that outlived the retries, or an error status without a JSON body, is
    told here, while the answer (its status, ``Retry-After`` and the grant it refused) is still
    at hand: one typed error whatever the flow."""

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        status = response.status_code
        token_call = str(method).upper() == "POST"
        if status == 429 or (status >= (400 if token_call else 500) and not _is_json(response)):
            data = kwargs.get("data")
            grant = data.get("grant_type") if isinstance(data, dict) else None
            cause, fix = throttled(response.status_code, response.headers.get("Retry-After"),
                                   _origin(str(response.url or url)), grant)
            # Entra's x-ms-request-id / client-request-id, for a support case about the outage.
            raise with_response_ids(ServiceError(cause, fix=fix), response.headers)
        return response


def _is_json(response: requests.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def identity_session() -> requests.Session:
    """The retries and timeouts of ``session()``, and throttling told as a service problem."""
    sess = IdentitySession()
    sess.mount("https://", HTTPAdapter(max_retries=_retry()))
    return sess


def session() -> requests.Session:
    """Retries, timeouts and the shared discovery cache: for our REST calls."""
    sess = Session()
    sess.mount("https://", HTTPAdapter(max_retries=_retry()))
    return sess


def _retry() -> Retry:
    return BoundedRetry(
        total=RETRIES,
        connect=RETRIES,
        read=RETRIES,
        status=RETRIES,
        # Anything else (an untrusted certificate, above all) will not heal in seconds: say so
        # at once instead of after the backoff.
        other=0,
        backoff_factor=0.5,
        backoff_max=8,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "PUT", "PATCH", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def call_json(sess: requests.Session, url: str, *, token: str, service: str,
              method: str = "GET", body: Any = None) -> tuple[requests.Response, Any]:
    """One request with a bearer token (and ``body`` as JSON). Network failures become the one
    ServiceError naming the service (never the token: ``foundation.network.failures``); the
    caller interprets HTTP error statuses, which differ per service."""
    try:
        resp = sess.request(method, url, json=body,
                            headers={"Authorization": f"Bearer {token}",
                                     "Accept": "application/json"})
    except requests.exceptions.RequestException as exc:
        raise connection_error(exc, f"{service} at {_origin(url)}") from exc
    try:
        answer = resp.json() if resp.content else None
    except ValueError:
        answer = None
    return resp, answer


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
