"""The optional in-house app: the partner's own multi-tenant app for Partner Center sign-in.

Partners who do not use a platform's app register their own: multi-tenant, requesting Partner
Center ``user_impersonation`` (delegated), with the loopback redirect URIs the consent sign-in
listens on: ``http://localhost:8400/``, with the trailing slash. Entra treats a URI without a
path as one with the slash (Learn, "Redirect URI (reply URL) restrictions": such URIs "are
returned with a trailing slash"), and the provider behind pulumi-azuread refuses the spelling
without it before any call ("URI must have a trailing slash when there is no path segment",
hashicorp/terraform-provider-azuread ``internal/helpers/tf/validation/uri.go``), so
``http://localhost:8400`` cannot be registered through Pulumi at all.
"""

from __future__ import annotations

import pulumi
import pulumi_azuread as azuread

from foundation import wellknown
from infra.app_registration import declare_app, declare_password
from infra.config import StackConfig
from infra.permissions import RequiredResourceAccess, ResourceAccess

REDIRECT_BASE = f"http://localhost:{wellknown.DEFAULT_REDIRECT_PORT}"
REDIRECT_URIS = (f"{REDIRECT_BASE}/",)
PARTNER_CENTER_ACCESS = RequiredResourceAccess(
    resource_app_id=wellknown.PARTNER_CENTER_APP_ID,
    resource_accesses=(
        ResourceAccess(id=wellknown.PARTNER_CENTER_USER_IMPERSONATION, type="Scope"),
    ),
)


class InHouseApp(pulumi.ComponentResource):
    application: azuread.Application
    service_principal: azuread.ServicePrincipal
    password: azuread.ApplicationPassword
    client_id: pulumi.Output[str]
    client_secret: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        owner_object_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:InHouseApp", name, None, opts)
        self.application, self.service_principal = declare_app(
            name,
            self,
            display_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-partner-center",
            # Multi-tenant: customers' admins consent to it through the partner relationship.
            sign_in_audience="AzureADMultipleOrgs",
            owner_object_id=owner_object_id,
            required_access=[PARTNER_CENTER_ACCESS],
            redirect_uris=REDIRECT_URIS,
        )
        self.password = declare_password(f"{name}-secret", self.application, cfg, self)

        self.client_id = self.application.client_id
        self.client_secret = pulumi.Output.secret(self.password.value)
        self.register_outputs({"clientId": self.client_id})
