"""In-memory Entra ID directory: tenants, users, app registrations, service principals, client
secrets, delegated permission grants and app role assignments.

One ``RLock`` guards all of it; the HTTP handlers run on many threads. Objects handed out are the
live records: read them freely, change them only through methods here (or on ``CloudDouble``) so
the lock is held and side effects (a password reset revokes refresh tokens) happen.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from ..clock import Clock
from .catalog import Catalog
from .records import (
    App,
    DelegatedGrant,
    DirectoryError,
    PasswordCredential,
    PermissionDrift,
    ServicePrincipal,
    Tenant,
    User,
    new_mfa_code,
    new_secret_text,
)

__all__ = [
    "App",
    "DelegatedGrant",
    "Directory",
    "DirectoryError",
    "PasswordCredential",
    "PermissionDrift",
    "ServicePrincipal",
    "Tenant",
    "User",
    "new_mfa_code",
    "new_secret_text",
    "stored_redirect_uri",
]


def stored_redirect_uri(uri: str) -> str:
    """A redirect URI as Entra keeps and answers it: one with no path gets a trailing slash
    (Learn, "Redirect URI (reply URL) outline and restrictions": "Redirect URIs not configured
    with a path segment are returned with a trailing slash ('/') in the response", e.g.
    ``http://localhost:7071`` is returned as ``http://localhost:7071/``; one with a path is kept
    as it is). Registrations, authorize requests and code redemptions are compared in this
    form, so ``http://localhost:8400`` and ``http://localhost:8400/`` are the same URI and
    ``http://localhost:8400/cb`` is another."""
    parts = urlsplit(uri)
    if parts.scheme and parts.netloc and not parts.path:
        return urlunsplit(parts._replace(path="/"))
    return uri


class Directory:
    def __init__(self, clock: Clock, catalog: Catalog) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.catalog = catalog
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[str, User] = {}  # by lower-case UPN
        self.apps: dict[str, App] = {}  # by app id
        self.service_principals: list[ServicePrincipal] = []
        self.grants: list[DelegatedGrant] = []
        self.app_roles: set[tuple[str, str, str, str]] = set()  # tenant, client, resource, role

    # -- tenants -------------------------------------------------------------------------------
    def add_tenant(
        self,
        domain: str,
        tenant_id: str | None = None,
        display_name: str | None = None,
        partner: bool = True,
    ) -> Tenant:
        with self.lock:
            tid = (tenant_id or str(uuid.uuid4())).lower()
            if tid in self.tenants or self.tenant(domain):
                raise DirectoryError(f"tenant {tid} / {domain} already exists")
            name = display_name or domain.split(".")[0].capitalize()
            tenant = Tenant(tid, [domain.lower()], name, is_partner=partner)
            self.tenants[tid] = tenant
            return tenant

    def tenant(self, ref: str) -> Tenant | None:
        """By GUID or by any verified domain, as the identity platform resolves path tenants."""
        with self.lock:
            ref = ref.lower()
            if ref in self.tenants:
                return self.tenants[ref]
            for tenant in self.tenants.values():
                if ref in tenant.domains:
                    return tenant
            return None

    def require_tenant(self, ref: str) -> Tenant:
        tenant = self.tenant(ref)
        if tenant is None:
            raise DirectoryError(f"unknown tenant {ref}")
        return tenant

    # -- users ---------------------------------------------------------------------------------
    def add_user(
        self,
        tenant_id: str,
        upn: str,
        password: str | None = None,
        mfa: bool = True,
        admin: bool = False,
        display_name: str | None = None,
        mfa_registered: bool | None = None,
        object_id: str | None = None,
    ) -> User:
        with self.lock:
            tenant = self.require_tenant(tenant_id)
            if upn.lower() in self.users:
                raise DirectoryError(f"user {upn} already exists")
            user = User(
                object_id=object_id or str(uuid.uuid4()),
                upn=upn,
                tenant_id=tenant.id,
                display_name=display_name or upn.split("@")[0].replace(".", " ").title(),
                mfa=mfa,
                mfa_registered=mfa if mfa_registered is None else mfa_registered,
                admin=admin,
                created=self.clock.now(),
                password=password if password is not None else secrets.token_urlsafe(12),
                mfa_code=new_mfa_code(),
            )
            self.users[upn.lower()] = user
            return user

    def user(self, upn: str) -> User | None:
        with self.lock:
            return self.users.get(upn.lower())

    def require_user(self, upn: str) -> User:
        user = self.user(upn)
        if user is None:
            raise DirectoryError(f"unknown user {upn}")
        return user

    def user_by_id(self, object_id: str) -> User | None:
        with self.lock:
            for user in self.users.values():
                if user.object_id == object_id:
                    return user
            return None

    def users_in(self, tenant_id: str) -> list[User]:
        with self.lock:
            return [u for u in self.users.values() if u.tenant_id == tenant_id]

    def set_password(self, upn: str, password: str) -> None:
        """A password reset revokes the user's refresh tokens (AADSTS50173), as in Entra."""
        with self.lock:
            user = self.require_user(upn)
            user.password = password
            user.tokens_valid_from = self.clock.now()

    # -- applications ----------------------------------------------------------------------------
    def register_app(
        self,
        tenant_id: str,
        name: str,
        multi_tenant: bool = False,
        redirect_uris: list[str] | None = None,
        required_resource_access: list[tuple[str, list[tuple[str, str]]]] | None = None,
        public_client: bool = False,
        app_id: str | None = None,
        object_id: str | None = None,
    ) -> App:
        with self.lock:
            tenant = self.require_tenant(tenant_id)
            aid = (app_id or str(uuid.uuid4())).lower()
            if aid in self.apps or self.catalog.by_app_id(aid):
                raise DirectoryError(f"application {aid} already exists")
            app = App(
                app_id=aid,
                object_id=object_id or str(uuid.uuid4()),
                tenant_id=tenant.id,
                display_name=name,
                multi_tenant=multi_tenant,
                redirect_uris=[stored_redirect_uri(u) for u in redirect_uris or []],
                required_resource_access=[(r, list(p)) for r, p in required_resource_access or []],
                public_client=public_client,
            )
            self.apps[aid] = app
            return app

    def app(self, app_id: str) -> App | None:
        with self.lock:
            return self.apps.get(app_id.lower())

    def require_app(self, app_id: str) -> App:
        app = self.app(app_id)
        if app is None:
            raise DirectoryError(f"unknown application {app_id}")
        return app

    def update_app(self, app_id: str, **changes: object) -> App:
        """Change registration fields (``redirect_uris``, ``required_resource_access``,
        ``multi_tenant``, ``public_client``, ``display_name``), as a PATCH would."""
        allowed = {
            "redirect_uris",
            "required_resource_access",
            "multi_tenant",
            "public_client",
            "display_name",
        }
        with self.lock:
            app = self.require_app(app_id)
            for key, value in changes.items():
                if key not in allowed:
                    raise DirectoryError(f"cannot change {key}")
                if key == "redirect_uris" and isinstance(value, list):
                    value = [stored_redirect_uri(str(u)) for u in value]
                setattr(app, key, value)
            return app

    def delete_app(self, app_id: str) -> None:
        with self.lock:
            self.require_app(app_id)
            del self.apps[app_id.lower()]
            self.service_principals = [
                sp for sp in self.service_principals if sp.app_id != app_id.lower()
            ]

    def add_password(
        self,
        app_id: str,
        value: str | None = None,
        end: datetime | None = None,
        display_name: str | None = None,
        start: datetime | None = None,
    ) -> str:
        with self.lock:
            app = self.require_app(app_id)
            text = value or new_secret_text()
            now = self.clock.now()
            app.passwords.append(
                PasswordCredential(
                    key_id=str(uuid.uuid4()),
                    display_name=display_name,
                    start=start or now,
                    end=end or now + timedelta(days=730),
                    hint=text[:3],
                    secret=text,
                )
            )
            return text

    def remove_password(self, app_id: str, key_id: str) -> None:
        with self.lock:
            app = self.require_app(app_id)
            app.passwords = [p for p in app.passwords if p.key_id != key_id]

    def check_secret(self, app: App, secret: str) -> str:
        """``"ok"``, ``"expired"`` (AADSTS7000222) or ``"invalid"`` (AADSTS7000215)."""
        with self.lock:
            now = self.clock.now()
            for cred in app.passwords:
                if secrets.compare_digest(cred.secret.encode(), secret.encode()):
                    return "expired" if cred.end <= now else "ok"
            return "invalid"

    # -- service principals ----------------------------------------------------------------------
    def add_service_principal(
        self, tenant_id: str, app_id: str, object_id: str | None = None
    ) -> str:
        with self.lock:
            tenant = self.require_tenant(tenant_id)
            app = self.require_app(app_id)
            if app.tenant_id != tenant.id and not app.multi_tenant:
                raise DirectoryError(
                    f"application {app_id} is single-tenant; it cannot be added to {tenant.id}"
                )
            existing = self.service_principal(tenant.id, app.app_id)
            if existing:
                return existing.object_id
            sp = ServicePrincipal(object_id or str(uuid.uuid4()), app.app_id, tenant.id)
            self.service_principals.append(sp)
            return sp.object_id

    def service_principal(self, tenant_id: str, app_id: str) -> ServicePrincipal | None:
        with self.lock:
            for sp in self.service_principals:
                if sp.tenant_id == tenant_id and sp.app_id == app_id.lower():
                    return sp
            return None

    # -- consent -------------------------------------------------------------------------------
    def grant_delegated(
        self,
        tenant_id: str,
        client_app_id: str,
        resource_app_id: str,
        scopes: set[str],
        principal_id: str | None = None,
    ) -> None:
        with self.lock:
            for grant in self.grants:
                if (grant.tenant_id, grant.client_app_id, grant.resource_app_id) == (
                    tenant_id,
                    client_app_id,
                    resource_app_id,
                ) and grant.principal_id == principal_id:
                    grant.scopes |= scopes
                    return
            self.grants.append(
                DelegatedGrant(tenant_id, client_app_id, resource_app_id, principal_id, set(scopes))
            )

    def granted_scopes(
        self, tenant_id: str, client_app_id: str, resource_app_id: str, principal_id: str | None
    ) -> set[str]:
        """Scopes consented for this user: the organization's grant plus the user's own."""
        with self.lock:
            found: set[str] = set()
            for grant in self.grants:
                if (
                    grant.tenant_id == tenant_id
                    and grant.client_app_id == client_app_id
                    and grant.resource_app_id == resource_app_id
                    and grant.principal_id in (None, principal_id)
                ):
                    found |= grant.scopes
            return found

    def revoke_consent(self, tenant_id: str, app_id: str) -> None:
        with self.lock:
            self.grants = [
                g
                for g in self.grants
                if not (g.tenant_id == tenant_id and g.client_app_id == app_id.lower())
            ]
            self.app_roles = {
                a for a in self.app_roles if not (a[0] == tenant_id and a[1] == app_id.lower())
            }

    def roles_for(self, tenant_id: str, client_app_id: str, resource_app_id: str) -> set[str]:
        with self.lock:
            return {
                role
                for (tid, client, res, role) in self.app_roles
                if (tid, client, res) == (tenant_id, client_app_id, resource_app_id)
            }

    def static_permissions(self, app: App, resource_app_id: str, kind: str) -> set[str]:
        """Names of the ``kind`` permissions the registration requires on a resource (what
        ``/.default`` means). Raises :class:`PermissionDrift` for an id the resource lacks."""
        resource = self.catalog.by_app_id(resource_app_id)
        names: set[str] = set()
        if resource is None:
            return names
        for res_id, perms in app.required_resource_access:
            if res_id.lower() != resource.app_id:
                continue
            for perm_id, perm_kind in perms:
                if perm_kind != kind:
                    continue
                perm = resource.by_id(perm_id)
                if perm is not None and perm.kind == kind:
                    names.add(perm.name)
                elif resource.complete or perm_id in resource.retired:
                    raise PermissionDrift(resource.app_id, perm_id)
        return names

    def grant_admin_consent(self, tenant_id: str, app_id: str) -> None:
        """What "Grant admin consent for <org>" does: a service principal in the tenant, an
        AllPrincipals grant for every delegated permission, an assignment for every app role."""
        with self.lock:
            tenant = self.require_tenant(tenant_id)
            app = self.require_app(app_id)
            self.add_service_principal(tenant.id, app.app_id)
            for res_id, _ in app.required_resource_access:
                resource = self.catalog.by_app_id(res_id)
                if resource is None:
                    continue
                scopes = self.static_permissions(app, resource.app_id, "Scope")
                if scopes:
                    self.grant_delegated(tenant.id, app.app_id, resource.app_id, scopes)
                for role in self.static_permissions(app, resource.app_id, "Role"):
                    self.app_roles.add((tenant.id, app.app_id, resource.app_id, role))
