"""What the outlook checks share: the seen state of the setup, and Graph fetched once.

The outlook checks look ahead of a token check (issue 13): Partner Center's own MFA verdict,
the CPV app's consent in the partner tenant, the Conditional Access policies that would end a
stored token, and the day the token is forecast to die. Each is a function
``check(outlook) -> list[Check]`` named in ``scripts.flows.verify.CHECKS``; each can be skipped
by name (``--skip NAME``) where a tenant's licence or permission cannot serve it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from foundation.clouds import Endpoints
from foundation.errors import SecureAppError, ServiceError
from scripts.adapters import graph
from scripts.adapters import keyvault as vault
from scripts.adapters.identity import PartnerTokens
from scripts.flows.verify.report import Check, Status
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget

#: The Graph application permission that reads directory role assignments.
ROLE_READ = "RoleManagement.Read.Directory"


@dataclass
class Outlook:
    endpoints: Endpoints
    app: PartnerApp
    kv_client: KeyVaultReader
    target: VaultTarget
    #: The version the platform read, and the redemption's tokens: None when that failed (the
    #: checks that need them then say so instead of guessing).
    stored: vault.StoredToken | None
    tokens: PartnerTokens | None
    now: dt.datetime
    warn_days: int
    #: The runner's Graph token, asked for once in the run (the platform's view asked first
    #: when it read the client app's secret expiry); call it for the token.
    graph_token: graph.TokenOnce
    #: The shortest Conditional Access sign-in frequency (days; hours as a fraction) covering the
    #: consenting admin or the CPV app: the ``conditional-access`` check, which runs before
    #: ``liveness``, sets it when it finds one; None when none was found or it did not run.
    sign_in_frequency_days: float | None = None
    _roles: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def role_assignments(self, principal_id: str) -> list[dict[str, Any]]:
        """The directory role assignments of ``principal_id`` (RoleManagement.Read.Directory),
        read once for the consent check (is the admin still a Global Administrator?) and the
        conditional-access check (does a policy reach the admin through a role?)."""
        key = principal_id.lower()  # a GUID: the claims' and the directory's case may differ
        if key not in self._roles:
            self._roles[key] = graph.read_collection(
                self.endpoints, "/v1.0/roleManagement/directory/roleAssignments"
                f"?$filter=principalId eq '{principal_id}'", self.graph_token(),
                permission=ROLE_READ)
        return self._roles[key]


def could_not(name: str, exc: SecureAppError, *, skip_hint: bool = True) -> Check:
    """A check that could not be made: ``unavailable`` when a service is down, else
    ``unknown`` (a permission or licence the tenant lacks), with the fix and the way out."""
    status: Status = "unavailable" if isinstance(exc, ServiceError) else "unknown"
    fix = exc.fix or ""
    if skip_hint and status == "unknown":
        fix = f"{fix}; or pass --skip {name} where the tenant cannot serve it".lstrip("; ")
    return Check(name, status, exc.message, fix or None)
