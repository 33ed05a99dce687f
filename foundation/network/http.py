"""Every HTTP client of this tool goes through here: our REST calls (Partner Center, Graph),
MSAL (``identity_session``) and the azure-core clients, azure-identity's credentials and the Key
Vault client (``azure_session``, via ``foundation.network.discovery.azure_transport``).

What they share, per process (:class:`PooledAdapter`):

* one trust store: the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``,
  else certifi's) is loaded once into one ``ssl.SSLContext``. requests otherwise hands urllib3 the
  bundle's path, and urllib3 loads it again for every new connection (a certifi-sized bundle costs
  tens of milliseconds each time);
* one connection pool per host: urllib3's ``PoolManager``, so the token endpoint MSAL reached
  is the same TLS connection azure-identity reuses, and a task makes one handshake per host;
* one verdict on an untrusted certificate: once a host's certificate failed verification, every
  later attempt to it in this process fails at once with the same error, without connecting.
  azure-core's RetryPolicy retries a connection error with back-off (seconds); it cannot be told
  otherwise for ``DefaultAzureCredential`` (azure-identity passes a retry policy class to
  ``ImdsCredential`` itself, so giving one ourselves is a TypeError), so the retries are made
  free instead: the transport skips the back-off after such a failure (``discovery``).

Retries differ per client and stay each one's own (the adapter's ``max_retries``): MSAL and our
REST calls retry 429 (honouring Retry-After), 5xx and connection resets here, with bounded
timeouts, so a transient fault is not reported as a broken setup; azure-core retries itself, so
its session retries nothing.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3 import PoolManager
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from foundation.errors import ServiceError
from foundation.network.discovery import DiscoverySession
from foundation.network.timeouts import http_timeouts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from requests.adapters import _HostParams, _PoolKwargs  # the stubs' names for these dicts

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
            from foundation.network.failures import throttled, with_response_ids  # failed only

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
    sess.mount("https://", PooledAdapter(max_retries=_retry()))
    return sess


def session() -> requests.Session:
    """Retries, timeouts and the shared discovery cache: for our REST calls."""
    sess = Session()
    sess.mount("https://", PooledAdapter(max_retries=_retry()))
    return sess


# --- one trust store, one pool per host, one verdict per untrusted host -------------------------

#: Hosts one process keeps pools for, and connections kept per host: requests' 10 per host, the
#: most that ``rotate --keep``'s workers use at once (``scripts.adapters.keyvault``).
POOLS: Final = 32
CONNECTIONS_PER_HOST: Final = 10
#: Guards the process-wide pieces below (re-entrant: building the azure-core session builds an
#: adapter, which takes the pool).
_lock = threading.RLock()
_pool: PoolManager | None = None
_azure_session: requests.Session | None = None
_contexts: dict[str, ssl.SSLContext] = {}
#: (scheme, host, port, CA bundle) -> the text of the first certificate failure there.
_untrusted: dict[tuple[str, str, int | None, str], str] = {}


def azure_session() -> requests.Session:
    """The one session under every azure-core client of the process (azure-core's
    ``RequestsTransport(session=..., session_owner=False)``). It retries nothing: azure-core's
    RetryPolicy does, as on the session azure-core would build itself."""
    global _azure_session
    with _lock:
        if _azure_session is None:
            sess = requests.Session()
            adapter = PooledAdapter(max_retries=Retry(total=False, redirect=False,
                                                      raise_on_status=False))
            for scheme in ("http://", "https://"):  # http: managed identity's IMDS endpoint
                sess.mount(scheme, adapter)
            _azure_session = sess
        return _azure_session


def trust_bundle() -> str:
    """The CA bundle every client trusts: requests' variables first (``REQUESTS_CA_BUNDLE``, then
    ``CURL_CA_BUNDLE``), then OpenSSL's ``SSL_CERT_FILE``, else certifi's bundle, requests' own
    default. Read at each use: it is the value of the process making the call."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    import certifi

    return str(certifi.where())


def _bundle_of(verify: object, cert: object) -> str | None:
    """The bundle a request trusts when it is the process's own (``verify`` True, or the path
    requests took from the environment); None for anything else (verification off, a bundle
    a caller chose, a client certificate), which stays requests' business."""
    if cert or verify is False or verify is None:
        return None
    bundle = trust_bundle()
    return bundle if verify is True or verify == bundle else None


def trust_context(bundle: str) -> ssl.SSLContext | None:
    """One ``SSLContext`` per CA bundle, loaded once (urllib3's defaults: TLS 1.2 or later,
    certificates and host names verified). None when the bundle cannot be loaded: requests then
    reports the missing or broken file exactly as it always did."""
    with _lock:
        context = _contexts.get(bundle)
        if context is None:
            from urllib3.util.ssl_ import create_urllib3_context

            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            try:
                if os.path.isdir(bundle):
                    context.load_verify_locations(capath=bundle)
                else:
                    context.load_verify_locations(cafile=bundle)
            except (OSError, ssl.SSLError):
                return None
            _contexts[bundle] = context
        return context


def _shared_pool() -> PoolManager:
    global _pool
    with _lock:
        if _pool is None:
            _pool = PoolManager(num_pools=POOLS, maxsize=CONNECTIONS_PER_HOST)
        return _pool


def _origin_key(url: str, bundle: str) -> tuple[str, str, int | None, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, bundle


class PooledAdapter(HTTPAdapter):
    """requests' adapter over the process's one ``PoolManager`` and one ``SSLContext`` per CA
    bundle (requests' documented extension points: ``init_poolmanager``,
    ``build_connection_pool_key_attributes``, ``cert_verify``). Connections are pooled by host
    and context, so every adapter's requests to a host share its connections; each adapter keeps
    its own retries."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK,
                         **pool_kwargs: Any) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _shared_pool()

    def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: bool | str,
            cert: str | tuple[str, str] | None = None) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        bundle = _bundle_of(verify, cert)
        context = trust_context(bundle) if bundle else None
        if context is not None:
            # The context holds the trust store: no path, which urllib3 would load again.
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        bundle = _bundle_of(verify, cert)
        if url.lower().startswith("https") and bundle and trust_context(bundle) is not None:
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None
            return
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: bool | str = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        bundle = _bundle_of(verify, cert)
        key = _origin_key(str(request.url), bundle) if bundle else None
        with _lock:
            known = _untrusted.get(key) if key else None
        if known is not None:
            raise requests.exceptions.SSLError(known, request=request)
        try:
            return super().send(request, stream=stream, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        except requests.exceptions.SSLError as exc:
            from foundation.network.failures import UNTRUSTED  # a TLS error: loaded only then

            if key and re.search(UNTRUSTED, str(exc)):
                with _lock:
                    _untrusted.setdefault(key, str(exc))
            raise

    def close(self) -> None:
        """The pool is the process's: a client closing its session leaves it to the others."""
        for proxy in self.proxy_manager.values():
            proxy.clear()


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
              method: str = "GET", body: Any = None, headers: Mapping[str, str] | None = None,
              endpoint: str = "the endpoint") -> tuple[requests.Response, Any]:
    """One request with a bearer token (and ``body`` as JSON, ``headers`` beside ours). Network
    failures become the one ServiceError naming the service and ``endpoint``, the setting to
    check (never the token: ``foundation.network.failures``); the caller interprets HTTP error
    statuses, which differ per service."""
    try:
        resp = sess.request(method, url, json=body,
                            headers={"Authorization": f"Bearer {token}",
                                     "Accept": "application/json", **(headers or {})})
    except requests.exceptions.RequestException as exc:
        from foundation.network.failures import connection_error  # failed: its line only

        raise connection_error(exc, f"{service} at {_origin(url)}", endpoint) from exc
    try:
        answer = resp.json() if resp.content else None
    except ValueError:
        answer = None
    return resp, answer


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
