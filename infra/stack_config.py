"""The typed stack configuration: one frozen ``StackConfig`` and the defaults it starts from.

Kept apart from the rules that build it (``infra.config_validation``) and the readers that feed
them (``infra.config_sources``): what the program's components are given is read on its own,
without the parsing and reading they never use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from infra.access_config import DeployerPrincipalType, Writer
from infra.mfa_config import MfaSettings
from infra.permissions import DEFAULT_REQUIRED_RESOURCE_ACCESS, RequiredResourceAccess
from infra.pipeline_config import PipelineIdentity

#: The Pulumi project name (Pulumi.yaml); config keys are ``csp-secure-app:<key>``.
PROJECT = "csp-secure-app"

AccessMode = Literal["accessPolicy", "rbac"]
#: The national clouds this program deploys to (``foundation.clouds.PRESETS``).
CloudName = Literal["public", "usgov", "china"]

DEFAULT_RESOURCE_GROUP = "rg-csp-secure-app"
DEFAULT_SECRET_NAME = "PartnerCenterRefreshToken"  # noqa: S105 - a name, not a secret
DEFAULT_RETENTION_DAYS = 90
DEFAULT_SECRET_LIFETIME_DAYS = 365


@dataclass(frozen=True)
class StackConfig:
    location: str
    vault_name: str
    csp_domain: str
    #: The day the current client secret generation starts; changing it rotates the secrets.
    client_secret_rotation: date
    resource_group_name: str = DEFAULT_RESOURCE_GROUP
    #: True when ``resource_group_name`` names a group that exists already (not created here).
    existing_resource_group: bool = False
    secret_name: str = DEFAULT_SECRET_NAME
    tenant_id: str | None = None
    #: RBAC by default, as control-plane API 2026-02-01 creates vaults; accessPolicy is the
    #: partner guides' (legacy) model.
    access_mode: AccessMode = "rbac"
    soft_delete_retention_days: int = DEFAULT_RETENTION_DAYS
    allowed_ip_ranges: tuple[str, ...] = ()
    writer_ip_ranges: tuple[str, ...] = ()
    #: Identities besides the deployer that may write the token, each with its principal type.
    writers: tuple[Writer, ...] = ()
    #: The deployer's principal type, named in its role assignment (RBAC mode).
    deployer_principal_type: DeployerPrincipalType = "User"
    #: Set while migrating a stack of the previous program: the vault and the token secret are
    #: imported from this subscription instead of created (README "Upgrading").
    import_subscription_id: str | None = None
    client_secret_lifetime_days: int = DEFAULT_SECRET_LIFETIME_DAYS
    required_resource_access: tuple[RequiredResourceAccess, ...] = DEFAULT_REQUIRED_RESOURCE_ACCESS
    in_house_app: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Which national cloud the tenant lives in. ARM returns the vault URI, so the program only
    #: exports it (``invoke`` tasks default to it) and uses it for the federation audience.
    cloud: CloudName = "public"
    mfa: MfaSettings = field(default_factory=MfaSettings)
    #: The GitOps pipeline's federated identity (a vault writer), when configured.
    pipeline_identity: PipelineIdentity | None = None

    @property
    def client_secret_end_date(self) -> date:
        """Anchored on the rotation date, not on "now", so re-running ``pulumi up`` never
        computes a new end date (which would replace the password on every run)."""
        return self.client_secret_rotation + timedelta(days=self.client_secret_lifetime_days)

    @property
    def network_restricted(self) -> bool:
        return bool(self.allowed_ip_ranges)

    @property
    def writer_object_ids(self) -> tuple[str, ...]:
        return tuple(writer.object_id for writer in self.writers)
