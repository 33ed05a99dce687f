"""The pieces every app registration of this program is made of, declared one way.

The Key Vault client app, the in-house Partner Center app and the GitOps pipeline identity are
each an ``azuread.Application`` owned by the deploying identity plus its ``ServicePrincipal``
(the object Key Vault access and consent name); the first two also get a client secret
(``azuread.ApplicationPassword``) with the lifetime and rotation rules: the end date is counted
from the configured rotation date (stable across runs, so ``pulumi up`` does not replace the
password every time), and changing ``clientSecretRotation`` replaces the password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pulumi
import pulumi_azuread as azuread

from infra.permissions import RequiredResourceAccess


@dataclass(frozen=True)
class SecretSchedule:
    """A client secret generation: the day it was issued (``clientSecretRotation``; a new day
    replaces the password) and the day Entra stops accepting it."""

    rotation: date
    end_date: date


def declare_app(
    name: str,
    parent: pulumi.Resource,
    *,
    display_name: str,
    sign_in_audience: str,
    owner_object_id: pulumi.Input[str],
    required_access: Sequence[RequiredResourceAccess] = (),
    redirect_uris: Sequence[str] = (),
) -> tuple[azuread.Application, azuread.ServicePrincipal]:
    child = pulumi.ResourceOptions(parent=parent)
    application = azuread.Application(
        f"{name}-app",
        display_name=display_name,
        sign_in_audience=sign_in_audience,
        owners=[owner_object_id],
        required_resource_accesses=[
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=access.resource_app_id,
                resource_accesses=[
                    azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                        id=item.id, type=item.type
                    )
                    for item in access.resource_accesses
                ],
            )
            for access in required_access
        ],
        web=azuread.ApplicationWebArgs(redirect_uris=list(redirect_uris))
        if redirect_uris
        else None,
        opts=child,
    )
    service_principal = azuread.ServicePrincipal(
        f"{name}-sp", client_id=application.client_id, owners=[owner_object_id], opts=child
    )
    return application, service_principal


def end_date_rfc3339(day: date) -> str:
    """Entra ID wants RFC 3339; midnight UTC keeps the value the same on every run."""
    return f"{day.isoformat()}T00:00:00Z"


def declare_password(
    name: str,
    application: azuread.Application,
    schedule: SecretSchedule,
    parent: pulumi.Resource,
) -> azuread.ApplicationPassword:
    rotation = schedule.rotation.isoformat()
    return azuread.ApplicationPassword(
        name,
        # The provider wants the "/applications/{objectId}" resource id here, which is the
        # Application's Pulumi id, not its client id.
        application_id=application.id,
        display_name=f"csp-secure-app {rotation}",
        end_date=end_date_rfc3339(schedule.end_date),
        # Any change to this map forces a new password: bump clientSecretRotation to rotate.
        rotate_when_changed={"clientSecretRotation": rotation},
        # The value only exists in this resource's state: keep it encrypted there and in outputs.
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["value"]),
    )
