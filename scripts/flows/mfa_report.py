"""Who in the partner tenant can satisfy MFA: Partner Center refuses App+User tokens without it,
so an admin without a registered method is one sign-in away from a broken integration.

Source: Graph's authentication-method registration report (``userRegistrationDetails``,
application permission AuditLog.Read.All), read page by page. Graph serves it only to tenants with
Microsoft Entra ID P1 or P2 and, to a signed-in user, only with the Reports Reader, Security Reader
or Security Administrator role (Learn, "Get userRegistrationDetails"); each refusal is its own
error with its own fix (``scripts.adapters.graph``), all exit 3: a human must act, retrying cannot
help.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from foundation.clouds import Endpoints
from foundation.errors import EXIT_HEALTH_BROKEN, EXIT_OK
from scripts.adapters import graph

REPORT_PATH = "/v1.0/reports/authenticationMethods/userRegistrationDetails"


@dataclass(frozen=True)
class UserMfa:
    user: str
    admin: bool
    mfa_registered: bool
    methods: tuple[str, ...]


@dataclass(frozen=True)
class MfaReport:
    users: tuple[UserMfa, ...]

    @property
    def admins_without_mfa(self) -> tuple[UserMfa, ...]:
        return tuple(u for u in self.users if u.admin and not u.mfa_registered)

    @property
    def exit_code(self) -> int:
        """9 (broken) while an admin lacks MFA: their next consent would fail."""
        return EXIT_HEALTH_BROKEN if self.admins_without_mfa else EXIT_OK

    def problem(self) -> str | None:
        """What is wrong and the fix, in one line; None when every admin has a method."""
        missing = self.admins_without_mfa
        if not missing:
            return None
        return (f"{len(missing)} admin(s) without an MFA method: "
                f"{', '.join(u.user for u in missing)}. Fix: have them register one "
                "(https://aka.ms/mfasetup) before the next consent.")

    def as_json(self) -> dict[str, object]:
        """snake_case keys, as every JSON result of the tool (issue 11), fields as named here."""
        return {"users": [asdict(u) for u in self.users],
                "admins_without_mfa": [u.user for u in self.admins_without_mfa]}

    def table(self) -> str:
        rows = [("USER", "ADMIN", "MFA", "METHODS")]
        rows += [(u.user, "yes" if u.admin else "no", "yes" if u.mfa_registered else "NO",
                  ",".join(u.methods) or "-") for u in self.users]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}"
                         for r in rows)


def mfa_report(endpoints: Endpoints) -> MfaReport:
    token = graph.graph_token(endpoints)
    users = [
        UserMfa(user=str(item.get("userPrincipalName") or item.get("id") or "?"),
                admin=bool(item.get("isAdmin")), mfa_registered=bool(item.get("isMfaRegistered")),
                methods=tuple(str(m) for m in item.get("methodsRegistered") or ()))
        for item in graph.get_pages(endpoints, REPORT_PATH, token)
    ]
    # Admins first (they are the ones whose sign-in consent needs), those without MFA at the
    # top of each group (what needs action), then by name.
    users.sort(key=lambda u: (not u.admin, u.mfa_registered, u.user.lower()))
    return MfaReport(users=tuple(users))
