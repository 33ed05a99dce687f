"""Fault injection: the next requests matching a pattern fail the way real services fail (a
status with ``Retry-After``, a hang, a TCP reset), shared by every listener of the double
(``server``), armed by ``cloud.inject_fault(...)``."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass


@dataclass
class Fault:
    """The next ``remaining`` requests matching ``pattern`` (and ``method``/``service`` if set)
    fail: with ``status`` (plus ``Retry-After``), after ``hang`` seconds, or by a TCP reset.
    ``skip`` lets that many matching requests through first (e.g. to hit the second call to the
    token endpoint of a flow, not the first)."""

    pattern: re.Pattern[str]
    remaining: int
    status: int = 429
    retry_after: float | None = 1
    method: str | None = None
    hang: float | None = None
    reset: bool = False
    service: str | None = None
    skip: int = 0
    #: The reply's body and type, for the real services' own shapes (e.g. Entra's plain-text 429,
    #: Key Vault's ``Throttled``); None gives a generic JSON error.
    body: bytes | None = None
    content_type: str = "application/json; charset=utf-8"

    def matches(self, method: str, service: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.service and self.service != service:
            return False
        return self.pattern.search(path) is not None


class FaultTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, service: str, path: str) -> Fault | None:
        """The first armed fault for this request, counted down atomically (so N means N)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, service, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def fault_body(status: int) -> bytes:
    """A generic JSON error for an injected status, when the fault brings no body of its own."""
    code = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
    payload = {"error": {"code": code.get(status, "Error"), "message": "Injected fault."}}
    return json.dumps(payload).encode()
