"""``csp-secure-app verify``: the automation platform's view of the setup, read-only.

It reads the secret exactly as the platform is configured (the Key Vault client app's
credentials), redeems the token, checks ``amr``, calls Partner Center, and reports each check
with its fix. Redeeming does not change anything stored: the old refresh token stays valid.

Exit codes: 0 healthy, 8 something expires within ``--warn-days``, 9 broken (a human must fix
the setup), 5 when a service (identity platform, Partner Center) is down or kept throttling.
"Down" is kept apart from "broken" on purpose: a scheduled verify that pages someone with 9
during a Partner Center outage would send them hunting for a fault in their own setup. When
something is broken *and* a service is down, broken wins: that part is theirs to fix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from foundation.clouds import Endpoints
from foundation.errors import (
    EXIT_HEALTH_BROKEN,
    EXIT_HEALTH_WARNING,
    EXIT_OK,
    EXIT_SERVICE,
    SecureAppError,
    ServiceError,
)
from foundation.wellknown import REFRESH_TOKEN_LIFETIME_DAYS
from scripts.adapters import graph
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import confidential_client, redeem
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

if TYPE_CHECKING:
    import msal

Status = Literal["ok", "warning", "unavailable", "broken"]
_RANK: dict[Status, int] = {"ok": 0, "warning": 1, "unavailable": 2, "broken": 3}
_EXIT: dict[Status, int] = {"ok": EXIT_OK, "warning": EXIT_HEALTH_WARNING,
                            "unavailable": EXIT_SERVICE, "broken": EXIT_HEALTH_BROKEN}
#: Graph shows the first three characters of each client secret ("hint"): enough to tell which
#: of the app's secrets the platform holds, without Graph ever seeing the secret.
_HINT_LENGTH = 3
#: The vault's generic advice is written for the writer (az login, AZURE_*, writerObjectIds);
#: here the identity is the platform's own Key Vault client app, so the fix names its settings.
_PLATFORM_FIXES = {
    "credential_unavailable": "check the platform's Key Vault Client App ID / Secret / CSP "
    "Domain (KV_CLIENT_APP_ID, KV_CLIENT_APP_SECRET, KV_CLIENT_CSP_DOMAIN)",
    "forbidden": "give the Key Vault client app secrets 'get' on the token secret (an access "
    "policy, or 'Key Vault Secrets User' with accessMode rbac): run 'pulumi up' on the stack",
}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class HealthReport:
    checks: list[Check] = field(default_factory=list)
    secret_version: str | None = None
    token_age_days: float | None = None
    token_days_to_expiry: float | None = None
    app_secret_days_to_expiry: float | None = None

    @property
    def status(self) -> Status:
        worst = max((_RANK[c.status] for c in self.checks), default=0)
        return next(s for s, r in _RANK.items() if r == worst)

    @property
    def exit_code(self) -> int:
        return _EXIT[self.status]

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "secretVersion": self.secret_version,
                "tokenAgeDays": self.token_age_days,
                "tokenDaysToExpiry": self.token_days_to_expiry,
                "appSecretDaysToExpiry": self.app_secret_days_to_expiry,
                "checks": [asdict(c) for c in self.checks]}

    def table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        lines = [f"{c.name:<{width}}  {c.status.upper():<11}  {c.detail}"
                 + (f"  Fix: {c.fix}" if c.fix and c.status != "ok" else "")
                 for c in self.checks]
        return "\n".join([*lines, f"overall: {self.status}"])

    def problems(self) -> list[str]:
        """One line per check that is not ok, with its fix (for stderr, beside the report)."""
        return [f"{c.status}: {c.name}: {c.detail}. Fix: {c.fix}"
                for c in self.checks if c.status != "ok"]


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def _expiry_check(name: str, days_left: float, warn_days: int, fix: str) -> Check:
    if days_left <= 0:
        return Check(name, "broken", "expired", fix)
    status: Status = "warning" if days_left <= warn_days else "ok"
    return Check(name, status, f"{days_left} days left", fix)


def _failed(name: str, exc: SecureAppError, fix: str | None = None) -> Check:
    status: Status = "unavailable" if isinstance(exc, ServiceError) else "broken"
    return Check(name, status, exc.message, fix or exc.fix)


def verify(kv_client: KeyVaultReader, app: PartnerApp, target: VaultTarget,
           endpoints: Endpoints, *, warn_days: int = 30,
           app_secret_expires: dt.datetime | None = None) -> HealthReport:
    report = HealthReport()
    now = dt.datetime.now(dt.UTC)
    partner_client = _partner_client(app, endpoints)
    cred = vault.platform_credential(endpoints, kv_client.csp_domain, kv_client.app_id,
                                     kv_client.app_secret)
    try:
        stored = vault.read_token(vault.secret_client(target.vault_url, cred), target.secret_name)
    except SecureAppError as exc:
        report.checks.append(_failed("vault read (as the platform)", exc,
                                     _PLATFORM_FIXES.get(getattr(exc, "error", None) or "")))
        _app_secret(report, app_secret_expires, now, warn_days, endpoints, kv_client)
        return report
    report.secret_version = stored.version
    report.checks.append(Check("vault read (as the platform)", "ok", f"version {stored.version}"))
    created = stored.created_on or now
    expires = stored.expires_on or created + dt.timedelta(days=REFRESH_TOKEN_LIFETIME_DAYS)
    report.token_age_days = _days(now - created)
    report.token_days_to_expiry = _days(expires - now)
    report.checks.append(_expiry_check(
        "refresh token expiry", report.token_days_to_expiry, warn_days,
        "run 'csp-secure-app rotate' (or consent again if it already expired)"))
    try:
        if isinstance(partner_client, SecureAppError):
            raise partner_client
        tokens = redeem(app, endpoints, stored.value,
                        stored.tags.get("tenantId") or app.csp_domain, client=partner_client)
        report.checks.append(Check("token redemption + MFA claim", "ok",
                                   f"amr={','.join(tokens.claims.amr)}"))
        report.checks.append(Check("Partner Center", "ok",
                                   tokens.profile.company_name or tokens.profile.tenant_id))
    except SecureAppError as exc:
        report.checks.append(_failed("token redemption + Partner Center", exc))
    _app_secret(report, app_secret_expires, now, warn_days, endpoints, kv_client)
    return report


def _partner_client(app: PartnerApp,
                    endpoints: Endpoints) -> msal.ConfidentialClientApplication | SecureAppError:
    """The CPV app's client, built before the vault is read so the tenant's metadata is fetched
    once (``scripts.adapters.identity.confidential_client``). A failure is reported by the
    redemption check it belongs to, after the vault's."""
    try:
        return confidential_client(app, endpoints)
    except SecureAppError as exc:
        return exc


def _app_secret(report: HealthReport, expires: dt.datetime | None, now: dt.datetime,
                warn_days: int, endpoints: Endpoints, kv_client: KeyVaultReader) -> None:
    """The Key Vault client app's secret: from the caller (stack output) or from Graph. An
    unknown expiry is reported but not counted against the setup: Graph access is optional."""
    name = "Key Vault client app secret"
    if expires is None:
        try:
            app = graph.get_one(endpoints, f"/v1.0/applications(appId='{kv_client.app_id}')",
                                graph.graph_token(endpoints))
        except SecureAppError as exc:
            report.checks.append(Check(name, "ok", f"expiry unknown ({exc.message})"))
            return
        expires = secret_expiry(app.get("passwordCredentials") or [], kv_client.app_secret)
    if expires is None:
        report.checks.append(Check(name, "ok", "expiry unknown"))
        return
    report.app_secret_days_to_expiry = _days(expires - now)
    report.checks.append(_expiry_check(
        name, report.app_secret_days_to_expiry, warn_days,
        "change clientSecretRotation in the stack config, 'pulumi up', then update the "
        "platform's Key Vault Client App Secret"))


def secret_expiry(credentials: list[dict[str, Any]], secret: str) -> dt.datetime | None:
    """When the secret the platform holds expires. An app often has two secrets during a
    rotation; the one that matters is the one whose hint matches the platform's, not the
    newest. Without a match (hints hidden), the latest end date is the best guess."""
    def end(cred: dict[str, Any]) -> dt.datetime | None:
        raw = cred.get("endDateTime")
        if not isinstance(raw, str) or not raw:
            return None
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))

    hint = secret[:_HINT_LENGTH]
    matching = [c for c in credentials if hint and c.get("hint") == hint]
    ends = [e for e in map(end, matching or credentials) if e is not None]
    return max(ends, default=None)
