"""Microsoft Graph's tenant sign-in policies, routed from ``graph.Graph`` (which authenticates the
caller and resolves its tenant first):

* ``GET/PATCH /v1.0/policies/identitySecurityDefaultsEnforcementPolicy`` (Policy.Read.All /
  Policy.ReadWrite.SecurityDefaults or .ConditionalAccess);
* ``GET/POST /v1.0/identity/conditionalAccess/policies`` (Policy.Read.All /
  Policy.ReadWrite.ConditionalAccess).

Delegated calls to policies also need an admin user, like Entra's role checks.

Security defaults and Conditional Access (Learn, "Security defaults in Microsoft Entra ID"):
organisations that implement Conditional Access policies that replace security defaults "must
disable security defaults", and the admin center refuses to switch a policy on while they are
on ("You must first disable Security defaults before enabling a Conditional Access policy");
report-only and off policies can be created. Conversely, "if you have Conditional Access
policies enabled ... security defaults won't be available" (the article's earlier text,
MicrosoftDocs/azure-docs#41233). Graph's own wording for either refusal is not documented.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from .graph_errors import METADATA, GraphError, Require
from .identity.directory import Directory, Tenant
from .messages import Request, Response, empty, json_response

_SD = "/v1.0/policies/identitysecuritydefaultsenforcementpolicy"
_CA = "/v1.0/identity/conditionalaccess/policies"
SECURITY_DEFAULTS_ON = (
    "You must first disable security defaults before enabling a Conditional Access policy."
)
CA_POLICIES_ON = (
    "Security defaults cannot be enabled while Conditional Access policies are enabled."
)


class SignInPolicies:
    def __init__(self, directory: Directory, require: Require) -> None:
        self.directory = directory
        self._require = require

    def route(self, request: Request, claims: dict[str, Any], tenant: Tenant) -> Response | None:
        """The answer for either policy path (any method: a wrong one is a 405), else None."""
        lowered = request.path.rstrip("/").lower()
        if lowered == _SD:
            return self._security_defaults(request, claims, tenant)
        if lowered == _CA:
            return self._conditional_access(request, claims, tenant)
        return None

    def _security_defaults(
        self, request: Request, claims: dict[str, Any], tenant: Tenant
    ) -> Response:
        writers = {"Policy.ReadWrite.SecurityDefaults", "Policy.ReadWrite.ConditionalAccess"}
        if request.method == "GET":
            self._require(
                claims, writers | {"Policy.Read.All"}, writers | {"Policy.Read.All"}, True
            )
            return json_response(
                200,
                {
                    "@odata.context": f"{METADATA}#policies/"
                    "identitySecurityDefaultsEnforcementPolicy/$entity",
                    "id": "00000000-0000-0000-0000-000000000005",
                    "displayName": "Security Defaults",
                    "description": "Security defaults is a set of basic identity security "
                    "mechanisms recommended by Microsoft. When enabled, these recommendations "
                    "will be automatically enforced in your organization.",
                    "isEnabled": tenant.security_defaults,
                },
            )
        if request.method == "PATCH":
            self._require(claims, writers, writers, True)
            body = request.json() or {}
            if not isinstance(body.get("isEnabled"), bool):
                raise GraphError(400, "BadRequest", "Property 'isEnabled' must be a boolean.")
            with self.directory.lock:
                if body["isEnabled"] and any(p.get("state") == "enabled"
                                             for p in tenant.ca_policies):
                    raise GraphError(400, "BadRequest", CA_POLICIES_ON)
                tenant.security_defaults = body["isEnabled"]
            return empty(204)
        raise GraphError(405, "Request_BadRequest", "Method not allowed.")

    def _conditional_access(
        self, request: Request, claims: dict[str, Any], tenant: Tenant
    ) -> Response:
        writers = {"Policy.ReadWrite.ConditionalAccess"}
        if request.method == "GET":
            self._require(
                claims, writers | {"Policy.Read.All"}, writers | {"Policy.Read.All"}, True
            )
            with self.directory.lock:
                return json_response(
                    200,
                    {
                        "@odata.context": f"{METADATA}#identity/conditionalAccess/policies",
                        "value": list(tenant.ca_policies),
                    },
                )
        if request.method != "POST":
            raise GraphError(405, "Request_BadRequest", "Method not allowed.")
        self._require(claims, writers, writers, True)
        body = request.json()
        if not isinstance(body, dict) or not body.get("displayName"):
            raise GraphError(400, "BadRequest", "Property 'displayName' is required.")
        if body.get("state") not in ("enabled", "disabled", "enabledForReportingButNotEnforced"):
            raise GraphError(400, "BadRequest", "Property 'state' has an invalid value.")
        if not isinstance(body.get("conditions"), dict):
            raise GraphError(400, "BadRequest", "Property 'conditions' is required.")
        with self.directory.lock:
            # Report-only and off policies enforce nothing and may coexist with security
            # defaults; only switching one on needs them off (see the module docstring).
            if tenant.security_defaults and body["state"] == "enabled":
                raise GraphError(400, "BadRequest", SECURITY_DEFAULTS_ON)
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            policy = {
                **body,
                "id": str(uuid.uuid4()),
                "createdDateTime": now,
                "modifiedDateTime": None,
            }
            tenant.ca_policies.append(policy)
        context = f"{METADATA}#identity/conditionalAccess/policies/$entity"
        return json_response(201, {"@odata.context": context, **policy})
