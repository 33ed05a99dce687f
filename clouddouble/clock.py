"""The double's clock: real UTC time plus an offset tests can advance.

Server-side expiry (authorization codes, refresh tokens, client secrets, access tokens checked by
Key Vault / Partner Center / Graph) reads this clock, so a test can jump 91 days ahead without
sleeping. Tokens are minted with the same clock, so their ``exp`` stays consistent.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
