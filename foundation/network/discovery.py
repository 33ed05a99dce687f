"""One fetch of each OpenID discovery document per process, shared by every client we build.

A consent run uses two OAuth clients (MSAL for the CPV app, azure-identity for the vault
writer), and verify three; each would fetch the same tenant's public
``/.well-known/openid-configuration`` again. The document is public, static metadata, so one
process-wide copy serves them all: one round trip instead of one per client (see bench/).
Only successful GETs of discovery documents are kept; nothing else passes through the cache.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

_SUFFIX = "/.well-known/openid-configuration"
_cache: dict[str, requests.Response] = {}
_lock = threading.Lock()
#: The last token-endpoint answer azure-identity's transport received: (status, Retry-After,
#: origin). azure-identity reports a persistent 429 or a plain-text body as a
#: ``ClientAuthenticationError`` with no status; this is how the failure is told apart from bad
#: credentials (``foundation.network.failures.credential_error``).
_last_token_reply: tuple[int, str | None, str] | None = None


def last_token_reply() -> tuple[int, str | None, str] | None:
    with _lock:
        return _last_token_reply


def _note_token_reply(url: str, status: int, retry_after: str | None) -> None:
    global _last_token_reply
    if urlsplit(url).path.endswith("/token"):
        parts = urlsplit(url)
        with _lock:
            _last_token_reply = (status, retry_after, f"{parts.scheme}://{parts.netloc}")


def _cached(url: str) -> requests.Response | None:
    if not url.split("?", 1)[0].endswith(_SUFFIX):
        return None
    with _lock:
        return _cache.get(url)


def _remember(url: str, response: requests.Response) -> None:
    if response.status_code == 200 and url.split("?", 1)[0].endswith(_SUFFIX):
        _ = response.content  # read it now, so every reader gets the whole body
        with _lock:
            _cache[url] = response
            alias = _tenant_id_alias(url, response)
            if alias:
                _cache.setdefault(alias, response)


def _tenant_id_alias(url: str, response: requests.Response) -> str | None:
    """The same document under the tenant's GUID. Consent signs in by the partner's domain
    (``/contoso.onmicrosoft.com/v2.0/...``), the vault's challenge names the tenant by id: Entra
    serves one document for both, whose endpoints carry the id."""
    try:
        token_endpoint = str(response.json()["token_endpoint"])
    except (ValueError, KeyError, TypeError):
        return None
    tenant_id = urlsplit(token_endpoint).path.strip("/").split("/")[0]
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) < 3 or not tenant_id or segments[1] == tenant_id:
        return None
    segments[1] = tenant_id
    return urlunsplit(parts._replace(path="/".join(segments)))


class DiscoverySession(requests.Session):
    """MSAL's ``http_client``: a requests session that serves discovery documents from the cache."""

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:
        key = url.decode() if isinstance(url, bytes) else url
        hit = _cached(key)
        if hit is not None:
            return hit
        response = super().get(key, **kwargs)
        _remember(key, response)
        return response


#: Per thread: whether the last attempt azure-core's transport made ended on a certificate that
#: failed verification (``foundation.network.http``). RetryPolicy sleeps through the transport,
#: in the thread that sent, right after the failed attempt: that back-off is skipped.
_untrusted_attempt = threading.local()


def azure_transport() -> Any:
    """azure-identity's and the Key Vault client's ``transport``: azure-core's requests transport
    over the process's one session (``foundation.network.http.azure_session``: one trust store,
    one connection per host, shared with MSAL and our REST calls), with the discovery cache and
    our timeouts (azure-core's own default is 300 s per attempt).

    An untrusted certificate fails every client at once: the adapter fails a host it already
    found untrusted without connecting, and the back-off azure-core's RetryPolicy would sleep
    between those attempts is skipped, so its retries cost nothing and one connection attempt
    is all a host sees."""
    from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse

    from foundation.network.http import azure_session
    from foundation.network.timeouts import http_timeouts

    class DiscoveryTransport(RequestsTransport):  # type: ignore[misc]
        def send(self, request: Any, **kwargs: Any) -> Any:
            _untrusted_attempt.failed = False
            hit = _cached(request.url) if request.method == "GET" else None
            if hit is not None:
                return RequestsTransportResponse(request, hit)
            try:
                response = super().send(request, **kwargs)
            except Exception as exc:
                from foundation.network.failures import is_untrusted  # failed: loaded only then

                _untrusted_attempt.failed = is_untrusted(exc)
                raise
            if request.method == "GET":
                _remember(request.url, response.internal_response)
            else:
                _note_token_reply(request.url, response.status_code,
                                  response.headers.get("Retry-After"))
            return response

        def sleep(self, duration: float) -> None:
            if getattr(_untrusted_attempt, "failed", False):
                return  # no wait heals a certificate this machine does not trust
            super().sleep(duration)

    connect, read = http_timeouts()
    return DiscoveryTransport(session=azure_session(), session_owner=False,
                              connection_timeout=connect, read_timeout=read)


def clear() -> None:
    """Forget every document (a new process starts empty; benchmarks emulate that)."""
    global _last_token_reply
    with _lock:
        _cache.clear()
        _last_token_reply = None
