"""``csp-secure-app verify``: the automation platform's view of the setup, read-only.

It reads the secret exactly as the platform is configured (the Key Vault client app's
credentials), redeems the token, checks ``amr``, calls Partner Center, and reports each check
with its fix. Redeeming does not change anything stored: the old refresh token stays valid.

``--platform-url`` (the module setting "Key Vault URL" the platform holds) makes the read the
platform's own: that vault, that secret, that version, and every later check runs on the token
found there. Its own check ("platform's Key Vault URL") says whether the platform would read the
newest version: a versioned identifier that rotation left behind is a warning (the old token
still works, until its own 90 days are over), one pinned to a disabled or missing version is
broken. Without it, verify reads the newest version, which proves nothing about a pinned one.

A check that could not be made is ``unknown``, never ``ok`` (an expiry Graph would not tell):
it is shown as such, with how to make it known, and it ranks above ok and below warning. It
does not change the exit code (0: nothing found wrong): 8 promises "something expires within
--warn-days", and a pipeline that opens an issue on 8 would cry wolf every week for a Graph
permission the partner chose not to grant.

Exit codes: 0 healthy, 8 something expires within ``--warn-days``, 9 broken (a human must fix
the setup), 5 when a service (identity platform, Partner Center) is down or kept throttling.
"Down" is kept apart from "broken" on purpose: a scheduled verify that pages someone with 9
during a Partner Center outage would send them hunting for a fault in their own setup. When
something is broken *and* a service is down, broken wins: that part is theirs to fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from foundation.clouds import Endpoints
from foundation.errors import ConfigError
from scripts.adapters import graph
from scripts.flows.verify import conditional_access, consent_grant, liveness, partner_center_mfa
from scripts.flows.verify.core import platform_view, secret_expiry
from scripts.flows.verify.outlook import Outlook
from scripts.flows.verify.report import Check, HealthReport, Status
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

if TYPE_CHECKING:
    from scripts.flows.platform_url import PlatformUrl

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "Check",
    "HealthReport",
    "Status",
    "check_skips",
    "secret_expiry",
    "verify",
]

#: The outlook checks, by the name the table, the JSON and ``--skip`` use, in report order.
CHECKS: dict[str, Callable[[Outlook], list[Check]]] = {}
CHECK_NAMES = ("partner-center-mfa", "consent", "conditional-access", "liveness")
CHECKS["partner-center-mfa"] = partner_center_mfa.check
CHECKS["consent"] = consent_grant.check
CHECKS["conditional-access"] = conditional_access.check
CHECKS["liveness"] = liveness.check


def check_skips(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """``--skip`` values, each one of :data:`CHECK_NAMES` (a typo would silently skip nothing)."""
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise ConfigError(f"--skip {unknown[0]!r} names no check",
                          fix=f"use one of {', '.join(CHECK_NAMES)}")
    return frozenset(names)


def verify(kv_client: KeyVaultReader, app: PartnerApp, target: VaultTarget,
           endpoints: Endpoints, *, warn_days: int = 30,
           app_secret_expires: dt.datetime | None = None, platform: PlatformUrl | None = None,
           skip: frozenset[str] = frozenset(), now: dt.datetime | None = None) -> HealthReport:
    """The platform's view (``core``), then each outlook check not skipped."""
    graph_token = graph.TokenOnce(endpoints)
    view = platform_view(kv_client, app, target, endpoints, graph_token, warn_days=warn_days,
                         app_secret_expires=app_secret_expires, platform=platform, now=now)
    outlook = Outlook(endpoints=endpoints, app=app, kv_client=kv_client, target=target,
                      stored=view.stored, tokens=view.tokens, now=view.now, warn_days=warn_days,
                      graph_token=graph_token)
    for name in CHECK_NAMES:
        if name in skip:
            view.report.checks.append(Check(name, "skipped", f"skipped (--skip {name})"))
        elif name in CHECKS:
            view.report.checks.extend(CHECKS[name](outlook))
    return view.report
