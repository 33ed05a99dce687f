"""A client secret (``azuread.ApplicationPassword``) with the lifetime and rotation rules.

Shared by the Key Vault client app and the in-house app so both follow the same rules: the end
date is counted from the configured rotation date (stable across runs, so ``pulumi up`` does not
replace the password every time), and changing ``clientSecretRotation`` replaces the password.
"""

from __future__ import annotations

from datetime import date

import pulumi
import pulumi_azuread as azuread

from infra.config import StackConfig


def end_date_rfc3339(day: date) -> str:
    """Entra ID wants RFC 3339; midnight UTC keeps the value the same on every run."""
    return f"{day.isoformat()}T00:00:00Z"


def declare_password(
    name: str,
    application: azuread.Application,
    cfg: StackConfig,
    parent: pulumi.Resource,
) -> azuread.ApplicationPassword:
    rotation = cfg.client_secret_rotation.isoformat()
    return azuread.ApplicationPassword(
        name,
        # The provider wants the "/applications/{objectId}" resource id here, which is the
        # Application's Pulumi id, not its client id.
        application_id=application.id,
        display_name=f"csp-secure-app {rotation}",
        end_date=end_date_rfc3339(cfg.client_secret_end_date),
        # Any change to this map forces a new password: bump clientSecretRotation to rotate.
        rotate_when_changed={"clientSecretRotation": rotation},
        # The value only exists in this resource's state: keep it encrypted there and in outputs.
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["value"]),
    )
