"""How long one HTTP attempt may take, for every client this tool builds (our REST calls, MSAL,
azure-identity and the Key Vault client): decided here, once.

The defaults suit a real, sometimes slow, service: 10 s to connect, 30 s to read. Each client
retries a timed-out attempt a few times, so "the service hangs" costs minutes at these values.
``SECURE_APP_HTTP_TIMEOUT=N`` (seconds, connect and read alike) shortens that: for a pipeline
that must fail fast, and for tests that make a service hang on purpose. Read at each use, not
at import, so it is the value of the process that makes the call.
"""

from __future__ import annotations

import math
import os
from typing import Final

from foundation.errors import ConfigError

TIMEOUT_ENV: Final = "SECURE_APP_HTTP_TIMEOUT"
#: (connect, read) seconds. Generous for a slow service, short enough for a pipeline to fail fast.
DEFAULT: Final = (10.0, 30.0)
#: Below this nothing completes a TLS handshake; above it a hung service blocks a pipeline.
LIMITS: Final = (0.1, 600.0)


def http_timeouts() -> tuple[float, float]:
    """(connect, read) seconds: ``SECURE_APP_HTTP_TIMEOUT`` for both, else the defaults."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low, high = LIMITS
    if not low <= value <= high:  # also refuses nan and inf
        raise ConfigError(
            f"{TIMEOUT_ENV}={raw!r} is not a number of seconds from {low:g} to {high:g}",
            fix=f"set {TIMEOUT_ENV} to e.g. 5, or unset it for the defaults (10 s connect, "
            "30 s read)",
        )
    return value, value
