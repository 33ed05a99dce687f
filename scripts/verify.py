"""``invoke verify``: the automation platform's view of the setup, read-only.

It reads the secret exactly as the platform is configured (the Key Vault client app's
credentials), redeems the token, checks ``amr``, calls Partner Center, and reports each check
with its fix. Redeeming does not change anything stored: the old refresh token stays valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

from scripts import consent, graph, vault
from scripts.clouds import Endpoints
from scripts.errors import (
    EXIT_HEALTH_BROKEN,
    EXIT_HEALTH_WARNING,
    EXIT_OK,
    SecureAppError,
)
from scripts.inputs import KeyVaultClientApp, PartnerApp, VaultTarget
from scripts.wellknown import REFRESH_TOKEN_LIFETIME_DAYS

Status = Literal["ok", "warning", "broken"]
_RANK: dict[Status, int] = {"ok": 0, "warning": 1, "broken": 2}


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
        return {"ok": EXIT_OK, "warning": EXIT_HEALTH_WARNING,
                "broken": EXIT_HEALTH_BROKEN}[self.status]

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "secretVersion": self.secret_version,
                "tokenAgeDays": self.token_age_days,
                "tokenDaysToExpiry": self.token_days_to_expiry,
                "appSecretDaysToExpiry": self.app_secret_days_to_expiry,
                "checks": [asdict(c) for c in self.checks]}

    def table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        lines = [f"{c.name:<{width}}  {c.status.upper():<7}  {c.detail}"
                 + (f"  Fix: {c.fix}" if c.fix and c.status != "ok" else "")
                 for c in self.checks]
        return "\n".join([*lines, f"overall: {self.status}"])


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def _expiry_check(name: str, days_left: float, warn_days: int, fix: str) -> Check:
    if days_left <= 0:
        return Check(name, "broken", "expired", fix)
    status: Status = "warning" if days_left <= warn_days else "ok"
    return Check(name, status, f"{days_left} days left", fix)


def verify(kv_client: KeyVaultClientApp, app: PartnerApp, target: VaultTarget,
           endpoints: Endpoints, *, warn_days: int = 30,
           app_secret_expires: dt.datetime | None = None) -> HealthReport:
    report = HealthReport()
    now = dt.datetime.now(dt.UTC)
    cred = vault.platform_credential(endpoints, kv_client.csp_domain, kv_client.app_id,
                                     kv_client.app_secret)
    try:
        stored = vault.read_token(vault.secret_client(target.vault_url, cred), target.secret_name)
    except SecureAppError as exc:
        report.checks.append(Check("vault read (as the platform)", "broken", exc.message,
                                   exc.fix or "grant the Key Vault client app secrets get"))
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
        "run 'invoke rotate' (or consent again if it already expired)"))
    try:
        result = consent.confidential_client(app, endpoints).acquire_token_by_refresh_token(
            stored.value, scopes=[endpoints.partner_center_scope])
        tokens = consent.check_partner_result(
            result, app, endpoints, stored.tags.get("tenantId") or app.csp_domain)
        report.checks.append(Check("token redemption + MFA claim", "ok",
                                   f"amr={','.join(tokens.claims.amr)}"))
        report.checks.append(Check("Partner Center", "ok",
                                   tokens.profile.company_name or tokens.profile.tenant_id))
    except SecureAppError as exc:
        report.checks.append(Check("token redemption + Partner Center", "broken", exc.message,
                                   exc.fix))
    _app_secret(report, app_secret_expires, now, warn_days, endpoints, kv_client)
    return report


def _app_secret(report: HealthReport, expires: dt.datetime | None, now: dt.datetime,
                warn_days: int, endpoints: Endpoints, kv_client: KeyVaultClientApp) -> None:
    """The Key Vault client app's secret: from the caller (stack output) or from Graph."""
    if expires is None:
        try:
            app = graph.get_one(endpoints, f"/v1.0/applications(appId='{kv_client.app_id}')",
                                graph.graph_token(endpoints))
            ends = [c.get("endDateTime") for c in app.get("passwordCredentials", [])]
            latest = max((dt.datetime.fromisoformat(e.replace("Z", "+00:00"))
                          for e in ends if e), default=None)
            expires = latest
        except SecureAppError as exc:
            report.checks.append(Check("Key Vault client app secret", "ok",
                                       f"expiry unknown ({exc.message})"))
            return
    if expires is None:
        report.checks.append(Check("Key Vault client app secret", "ok", "expiry unknown"))
        return
    report.app_secret_days_to_expiry = _days(expires - now)
    report.checks.append(_expiry_check(
        "Key Vault client app secret", report.app_secret_days_to_expiry, warn_days,
        "change clientSecretRotation in the stack config, 'pulumi up', then update the "
        "platform's Key Vault Client App Secret"))
