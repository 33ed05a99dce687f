"""How long one HTTP attempt may take, for every client this tool builds (our REST calls, MSAL,
azure-identity and the Key Vault client): decided here, once.

The defaults suit a real, sometimes slow, service: 10 s to connect, 30 s to read. Each client
retries a timed-out attempt a few times, so "the service hangs" costs minutes at these values.
``SECURE_APP_HTTP_TIMEOUT=N`` (seconds, connect and read alike) shortens that: for a pipeline
that must fail fast, and for tests that make a service hang on purpose. Read at each use, not
at import, so it is the value of the process that makes the call; ``scripts.inputs`` passes the
environment it resolves every other input from, to refuse a bad value before any work starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Final

from foundation.errors import ConfigError

TIMEOUT_ENV: Final = "SECURE_APP_HTTP_TIMEOUT"
#: (connect, read) seconds. Generous for a slow service, short enough for a pipeline to fail fast.
DEFAULT: Final = (10.0, 30.0)
#: Below this nothing completes a TLS handshake; above it a hung service blocks a pipeline.
LIMITS: Final = (0.1, 600.0)


def http_timeouts(environ: Mapping[str, str] | None = None) -> tuple[float, float]:
    """(connect, read) seconds: ``SECURE_APP_HTTP_TIMEOUT`` for both, else the defaults.

    ``environ``: None for this process's (the HTTP clients ask at each attempt, with none)."""
    value = seconds_setting(
        os.environ if environ is None else environ, TIMEOUT_ENV, LIMITS,
        fix=f"set {TIMEOUT_ENV} to e.g. 5, or unset it for the defaults (10 s connect, 30 s read)")
    return DEFAULT if value is None else (value, value)


def seconds_setting(environ: Mapping[str, str], name: str, limits: tuple[float, float], *,
                    fix: str) -> float | None:
    """A number of seconds from the variable ``name``, within ``limits``; None when it is unset.
    One rule for every such setting (this one, ``SECURE_APP_RBAC_WAIT``), one message shape."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low, high = limits
    if not low <= value <= high:  # also refuses nan and inf
        raise ConfigError(f"{name}={raw!r} is not a number of seconds from {low:g} to {high:g}",
                          fix=fix)
    return value
