"""Disabling many versions of the token secret at once (``rotate --keep N``), over the one client.

Azure SDK clients are thread-safe and meant to be shared, their model objects are not (Learn,
"Thread safety and client lifetime management for Azure SDK objects", written for .NET, the
design every Azure SDK follows; azure-core's sync transport is a requests session over urllib3's
thread-safe connection pool). So a worker is handed a version string, never a
``SecretProperties``. Apart from ``scripts.adapters.keyvault`` because only ``--keep`` needs it
(and its threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from foundation.errors import SecureAppError
from scripts.adapters.keyvault import translate

if TYPE_CHECKING:
    from concurrent.futures import Future

    from azure.keyvault.secrets import SecretClient, SecretProperties

#: PATCHes in flight at once while disabling old versions: below the 10 connections per host
#: azure-core's requests transport pools (more would open and drop a TLS connection per call),
#: and enough to keep up :data:`DISABLE_RATE` with round trips of up to 40 ms.
DISABLE_WORKERS: Final = 8
#: PATCHes started per second, at most: half of the 4,000 secret transactions per 10 seconds
#: a vault allows (Learn, "Azure Key Vault service limits"; past it every caller gets 429). The
#: platform reads the token from the same vault, so a rotation's clean-up must never use up the
#: vault's budget; a 429 from other traffic is still waited out (``Retry-After``) by azure-core.
DISABLE_RATE: Final = 200.0


@dataclass(frozen=True)
class Disabled:
    """What :func:`disable_listed` did: the versions it disabled, in the order they were picked;
    each one it could not disable, with why; and why the listing stopped early, if it did."""

    versions: tuple[str, ...]
    failures: tuple[tuple[str, SecureAppError], ...] = ()
    listing_error: SecureAppError | None = None


def disable_listed(client: SecretClient, name: str,
                   pick: Callable[[SecretProperties], str | None], *,
                   workers: int = DISABLE_WORKERS, rate: float = DISABLE_RATE) -> Disabled:
    """List every version of ``name``; each one ``pick`` names is disabled at once, ``workers``
    at a time and at most ``rate`` a second, while the listing goes on (a PATCH never waits for
    the last list page).

    One failure stops nothing: every PATCH is tried, and every failure is kept with its version.
    A listing that fails part-way keeps what was already picked. ``pick`` runs in this thread
    only. Ctrl-C drops the PATCHes not yet started and waits for those in flight (at most
    ``workers`` round trips), so no thread outlives the call."""
    from concurrent.futures import ThreadPoolExecutor

    pending: list[tuple[str, Future[SecureAppError | None]]] = []
    listing_error: SecureAppError | None = None
    pace = _Pace(rate)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyvault-disable")
    try:
        try:
            for props in client.list_properties_of_secret_versions(name):
                version = pick(props)
                if version is not None:
                    pending.append((version, pool.submit(_disable, client, name, version,
                                                         pace)))
        except Exception as exc:
            listing_error = translate(exc, client.vault_url, name, "list")
        pool.shutdown(wait=True)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    outcomes = [(version, future.result()) for version, future in pending]
    return Disabled(versions=tuple(v for v, failed in outcomes if failed is None),
                    failures=tuple((v, failed) for v, failed in outcomes if failed is not None),
                    listing_error=listing_error)


class _Pace:
    """Spaces the starts of calls from any thread at least ``1 / rate`` seconds apart: each call
    takes the next start time under a lock, then sleeps until it outside the lock."""

    def __init__(self, rate: float) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._gap
        if start > now:
            time.sleep(start - now)


def _disable(client: SecretClient, name: str, version: str, pace: _Pace) -> SecureAppError | None:
    """One PATCH (``enabled: false``; Key Vault asks the secrets 'set' permission for it). Returns
    the failure instead of raising it: the caller reports every one, not the first."""
    pace.wait()
    try:
        client.update_secret_properties(name, version, enabled=False)
    except Exception as exc:
        return translate(exc, client.vault_url, name, "set")
    return None
