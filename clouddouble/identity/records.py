"""The directory's records: tenants, users, app registrations, service principals, client
secrets and delegated permission grants (plain dataclasses; ``Directory`` owns the lock)."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime


class DirectoryError(ValueError):
    """An administrative call the real directory would refuse (duplicate name, unknown app...)."""


class PermissionDrift(DirectoryError):
    """An app requires a permission id its resource no longer exposes (AADSTS650051)."""

    def __init__(self, resource_app_id: str, permission_id: str) -> None:
        self.resource_app_id = resource_app_id
        self.permission_id = permission_id
        super().__init__(f"permission {permission_id} does not exist on resource {resource_app_id}")


@dataclass
class Tenant:
    id: str
    domains: list[str]
    display_name: str
    is_partner: bool = True
    security_defaults: bool = True
    profile_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ca_policies: list[dict[str, object]] = field(default_factory=list)

    @property
    def initial_domain(self) -> str:
        return self.domains[0]


@dataclass
class User:
    object_id: str
    upn: str
    tenant_id: str
    display_name: str
    mfa: bool
    mfa_registered: bool
    admin: bool
    created: datetime
    password: str = field(repr=False)
    enabled: bool = True
    #: Refresh tokens issued before this are revoked (password reset, "revoke sessions").
    tokens_valid_from: datetime | None = None
    #: Refresh tokens whose MFA is older than this need a fresh MFA (AADSTS50078).
    mfa_valid_from: datetime | None = None
    mfa_code: str = field(default="", repr=False)


@dataclass
class PasswordCredential:
    key_id: str
    display_name: str | None
    start: datetime
    end: datetime
    hint: str
    secret: str = field(repr=False)


@dataclass
class App:
    app_id: str
    object_id: str
    tenant_id: str
    display_name: str
    multi_tenant: bool
    redirect_uris: list[str]
    required_resource_access: list[tuple[str, list[tuple[str, str]]]]
    public_client: bool
    passwords: list[PasswordCredential] = field(default_factory=list)


@dataclass
class ServicePrincipal:
    object_id: str
    app_id: str
    tenant_id: str


@dataclass
class DelegatedGrant:
    tenant_id: str
    client_app_id: str
    resource_app_id: str
    principal_id: str | None  # None: AllPrincipals (admin consent for the organization)
    scopes: set[str]


def new_secret_text() -> str:
    """A client secret shaped like Entra's: 40 characters with ``Q~`` after a 3-char prefix."""
    alphabet = string.ascii_letters + string.digits + "_-.~"
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


def new_mfa_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"
