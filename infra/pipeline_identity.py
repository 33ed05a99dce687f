"""The GitOps pipeline's identity: an app registration and service principal that sign in with
OpenID Connect workload identity federation, so the CI system stores no secret.

The pipeline's OIDC token (issuer, subject, audience from ``pipelineIdentity``) is exchanged for
an Entra token of this app; its service principal is a vault *writer* (``infra.vault_access``),
so the pipeline can run the token lifecycle tasks. What ``azure/login`` needs is exported:
``pipelineClientId`` and ``pipelineTenantId`` (no subscription: it only talks to the vault).

The app requests the Microsoft Graph application permissions ``verify`` reads with
(``infra.permissions.VERIFY_GRAPH_ACCESS``). A request is not a grant: application permissions
need an admin's consent, which this program does not give (it would need the deploying identity
to hold Privileged Role Administrator); README "Day 2" has the one step.
"""

from __future__ import annotations

import pulumi
import pulumi_azuread as azuread

from infra.app_registration import declare_app
from infra.permissions import VERIFY_GRAPH_ACCESS
from infra.pipeline_config import PipelineIdentity

#: The federated credential's name: unique per app, immutable, URL-friendly.
CREDENTIAL_NAME = "gitops-pipeline"


class GitOpsPipelineIdentity(pulumi.ComponentResource):
    application: azuread.Application
    service_principal: azuread.ServicePrincipal
    credential: azuread.ApplicationFederatedIdentityCredential
    client_id: pulumi.Output[str]
    service_principal_object_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        identity: PipelineIdentity,
        owner_object_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("csp-secure-app:index:GitOpsPipelineIdentity", name, None, opts)
        self.application, self.service_principal = declare_app(
            name,
            self,
            display_name=identity.name or f"{pulumi.get_project()}-{pulumi.get_stack()}-pipeline",
            sign_in_audience="AzureADMyOrg",
            owner_object_id=owner_object_id,
            required_access=(VERIFY_GRAPH_ACCESS,),
        )
        self.credential = azuread.ApplicationFederatedIdentityCredential(
            f"{name}-federation",
            # The "/applications/{objectId}" resource id, as for ApplicationPassword.
            application_id=self.application.id,
            display_name=CREDENTIAL_NAME,
            description=f"GitOps pipeline: tokens from {identity.issuer} for {identity.subject}",
            issuer=identity.issuer,
            subject=identity.subject,
            audiences=[identity.audience],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.client_id = self.application.client_id
        self.service_principal_object_id = self.service_principal.object_id
        self.register_outputs(
            {
                "clientId": self.client_id,
                "servicePrincipalObjectId": self.service_principal_object_id,
            }
        )
