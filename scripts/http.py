"""One HTTP session factory for the REST calls we make ourselves (Partner Center, Graph).

MSAL and the Azure SDKs bring their own retry policies; this gives our direct calls the same
behaviour: bounded timeouts, and retries with backoff for 429 (honouring Retry-After), 5xx and
connection resets, so a transient fault is not reported as a broken setup.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from scripts.discovery import DiscoverySession
from scripts.errors import ServiceError
from scripts.network_errors import TLS_FIX, unreachable
from scripts.timeouts import http_timeouts

RETRIES = 3


class Session(DiscoverySession):
    """Every request gets our timeout (``scripts.timeouts``) unless the caller set one (MSAL sets
    none when given its own ``http_client``)."""

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = http_timeouts()
        return super().request(method, url, *args, **kwargs)


def session() -> requests.Session:
    """Retries, timeouts and the shared discovery cache: for our REST calls and for MSAL."""
    retry = Retry(
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
    sess = Session()
    sess.mount("https://", HTTPAdapter(max_retries=retry))
    return sess


def get_json(sess: requests.Session, url: str, *, token: str,
             service: str) -> tuple[requests.Response, Any]:
    """GET with a bearer token. Network failures become ServiceError naming the service (never
    the token); the caller interprets HTTP error statuses, which differ per service."""
    try:
        resp = sess.get(url, headers={"Authorization": f"Bearer {token}",
                                      "Accept": "application/json"})
    except requests.exceptions.SSLError as exc:
        raise ServiceError(
            f"{service} at {_origin(url)} presented a certificate this machine does not trust",
            fix=TLS_FIX,
        ) from exc
    except requests.exceptions.RequestException as exc:
        cause, fix = unreachable(exc, f"{service} at {_origin(url)}")
        raise ServiceError(cause, fix=fix) from exc
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
    return resp, body


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
