"""The program's two client apps, one component with a preset each.

* ``ClientAppArgs.key_vault_reader``: the identity an automation platform uses to read the token
  secret. Platforms (CPV automation, PSA/RMM integrations) are given this app's client id and
  secret as "Key Vault client" module settings and read the refresh token with them. It is a
  single-tenant app: only the partner's own tenant signs in to it.
* ``ClientAppArgs.in_house``: the optional in-house app, the partner's own multi-tenant app for
  Partner Center sign-in. Partners who do not use a platform's app register their own:
  multi-tenant, requesting Partner Center ``user_impersonation`` (delegated), with the loopback
  redirect URI the consent sign-in listens on: ``http://localhost:8400/``, with the trailing
  slash. Entra treats a URI without a path as one with the slash (Learn, "Redirect URI (reply URL)
  restrictions": such URIs "are returned with a trailing slash"), and the provider behind
  pulumi-azuread refuses the spelling without it before any call ("URI must have a trailing slash
  when there is no path segment", hashicorp/terraform-provider-azuread
  ``internal/helpers/tf/validation/uri.go``), so ``http://localhost:8400`` cannot be registered
  through Pulumi at all.

Each preset keeps the type token its component had when they were two classes
(``KeyVaultClientApp``, ``InHouseApp``) and the same child names, so existing stacks' URNs do not
change (``tests/infra/test_infra_program_upgrade.py`` pins them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

from foundation import wellknown
from infra.app_registration import SecretSchedule, declare_app, declare_password
from infra.permissions import RequiredResourceAccess, ResourceAccess

KEY_VAULT_READER_TYPE = "csp-secure-app:index:KeyVaultClientApp"
IN_HOUSE_TYPE = "csp-secure-app:index:InHouseApp"
REDIRECT_URIS = (wellknown.loopback_redirect_uri(),)
PARTNER_CENTER_ACCESS = RequiredResourceAccess(
    resource_app_id=wellknown.PARTNER_CENTER_APP_ID,
    resource_accesses=(
        ResourceAccess(id=wellknown.PARTNER_CENTER_USER_IMPERSONATION, type="Scope"),
    ),
)


@dataclass(frozen=True)
class ClientAppArgs:
    """What one client app is: build it with a preset, which fixes the type token and the shape
    (audience, permissions, redirect URIs) for its role."""

    type_token: str
    #: The display name is ``{project}-{stack}-{display_suffix}``.
    display_suffix: str
    sign_in_audience: str
    owner_object_id: pulumi.Input[str]
    secret: SecretSchedule
    required_access: Sequence[RequiredResourceAccess] = ()
    redirect_uris: Sequence[str] = ()
    #: Its service principal is granted vault access, so the object id is a component output.
    vault_grantee: bool = False

    @classmethod
    def key_vault_reader(
        cls,
        *,
        owner_object_id: pulumi.Input[str],
        secret: SecretSchedule,
        required_access: Sequence[RequiredResourceAccess],
    ) -> ClientAppArgs:
        return cls(
            type_token=KEY_VAULT_READER_TYPE,
            display_suffix="keyvault-client",
            sign_in_audience="AzureADMyOrg",
            owner_object_id=owner_object_id,
            secret=secret,
            required_access=required_access,
            vault_grantee=True,
        )

    @classmethod
    def in_house(
        cls, *, owner_object_id: pulumi.Input[str], secret: SecretSchedule
    ) -> ClientAppArgs:
        return cls(
            type_token=IN_HOUSE_TYPE,
            display_suffix="partner-center",
            # Multi-tenant: customers' admins consent to it through the partner relationship.
            sign_in_audience="AzureADMultipleOrgs",
            owner_object_id=owner_object_id,
            secret=secret,
            required_access=(PARTNER_CENTER_ACCESS,),
            redirect_uris=REDIRECT_URIS,
        )


class ClientApp(pulumi.ComponentResource):
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
        self, name: str, args: ClientAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(args.type_token, name, None, opts)
        self.application, self.service_principal = declare_app(
            name,
            self,
            display_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{args.display_suffix}",
            sign_in_audience=args.sign_in_audience,
            owner_object_id=args.owner_object_id,
            required_access=args.required_access,
            redirect_uris=args.redirect_uris,
        )
        self.password = declare_password(f"{name}-secret", self.application, args.secret, self)

        self.client_id = self.application.client_id
        self.service_principal_object_id = self.service_principal.object_id
        self.client_secret = pulumi.Output.secret(self.password.value)
        outputs: dict[str, pulumi.Output[str]] = {"clientId": self.client_id}
        if args.vault_grantee:
            outputs["servicePrincipalObjectId"] = self.service_principal_object_id
        self.register_outputs(outputs)
