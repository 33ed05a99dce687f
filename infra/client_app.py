"""The Key Vault client app: the identity an automation platform uses to read the token secret.

Platforms (CPV automation, PSA/RMM integrations) are given this app's client id and secret as
"Key Vault client" module settings and read the refresh token with them. It is a single-tenant
app: only the partner's own tenant signs in to it.
"""

from __future__ import annotations

import pulumi
import pulumi_azuread as azuread

from infra.app_registration import declare_app, declare_password
from infra.config import StackConfig


class KeyVaultClientApp(pulumi.ComponentResource):
    """Application + service principal + client secret.

    ``service_principal_object_id`` is what Key Vault access must name: access policies and role
    assignments take the service principal's object id, never the client id or the application
    object id (those look alike but Key Vault silently grants nobody).
    """

    application: azuread.Application
    service_principal: azuread.ServicePrincipal
    password: azuread.ApplicationPassword
    client_id: pulumi.Output[str]
    service_principal_object_id: pulumi.Output[str]
    client_secret: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        owner_object_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:KeyVaultClientApp", name, None, opts)
        self.application, self.service_principal = declare_app(
            name,
            self,
            display_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-keyvault-client",
            sign_in_audience="AzureADMyOrg",
            owner_object_id=owner_object_id,
            required_access=cfg.required_resource_access,
        )
        self.password = declare_password(f"{name}-secret", self.application, cfg, self)

        self.client_id = self.application.client_id
        self.service_principal_object_id = self.service_principal.object_id
        self.client_secret = pulumi.Output.secret(self.password.value)
        self.register_outputs(
            {
                "clientId": self.client_id,
                "servicePrincipalObjectId": self.service_principal_object_id,
            }
        )
