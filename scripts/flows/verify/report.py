"""What ``verify`` reports: one named check each, with its status and fix, and the worst of them
decides the exit code (``foundation.errors``' table)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

from foundation.errors import EXIT_HEALTH_BROKEN, EXIT_HEALTH_WARNING, EXIT_OK, EXIT_SERVICE

#: ``skipped``: the user asked (``--skip NAME``) for a check a tenant's licence or permissions
#: cannot serve; it is shown as skipped, never as ok, and changes nothing.
Status = Literal["ok", "skipped", "unknown", "warning", "unavailable", "broken"]
_RANK: dict[Status, int] = {"ok": 0, "skipped": 0, "unknown": 1, "warning": 2, "unavailable": 3,
                            "broken": 4}
_EXIT: dict[Status, int] = {"ok": EXIT_OK, "skipped": EXIT_OK, "unknown": EXIT_OK,
                            "warning": EXIT_HEALTH_WARNING, "unavailable": EXIT_SERVICE,
                            "broken": EXIT_HEALTH_BROKEN}
def rank(status: Status) -> int:
    """How bad a status is, 0 (ok, skipped) to 4 (broken): the overall status is the worst."""
    return _RANK[status]


def days(delta: dt.timedelta) -> float:
    """A span as the report states it: days, to a tenth."""
    return round(delta.total_seconds() / 86400, 1)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class HealthReport:
    checks: list[Check] = field(default_factory=list)
    #: The version read: the platform's (``--platform-url``), else the newest.
    secret_version: str | None = None
    #: The newest version, when ``--platform-url`` was compared with it.
    newest_version: str | None = None
    platform_key_vault_url: str | None = None
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
        """snake_case keys throughout, as the module settings and every other task's JSON;
        every key always present (null when unknown or not asked for)."""
        return {"status": self.status, "secret_version": self.secret_version,
                "newest_version": self.newest_version,
                "platform_key_vault_url": self.platform_key_vault_url,
                "token_age_days": self.token_age_days,
                "token_days_to_expiry": self.token_days_to_expiry,
                "app_secret_days_to_expiry": self.app_secret_days_to_expiry,
                "checks": [asdict(c) for c in self.checks]}

    def table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=4)
        lines = [f"{c.name:<{width}}  {c.status.upper():<11}  {c.detail}"
                 + (f"  Fix: {c.fix}" if c.fix and c.status not in ("ok", "skipped") else "")
                 for c in self.checks]
        return "\n".join([*lines, f"overall: {self.status}"])

    def problems(self) -> list[str]:
        """One line per check that is not ok, with its fix (for stderr, beside the report)."""
        return [f"{c.status}: {c.name}: {c.detail}" + (f". Fix: {c.fix}" if c.fix else "")
                for c in self.checks if c.status not in ("ok", "skipped")]


