"""``CloudDouble``: the local Microsoft cloud (identity platform, Partner Center, Graph, Key Vaults)
that the real msal / azure-identity / azure-keyvault-secrets clients talk to over HTTPS.

Start it, point a client at it with ``cloud.env()`` (endpoint overrides plus trust of the
throwaway CA), and administer the directory in-process: tenants, users, apps, consent, vaults,
faults. Everything listens on 127.0.0.1 with ephemeral ports and nothing is printed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import trustme

from .clock import Clock
from .faults import Fault, FaultTable
from .graph import Graph
from .identity.authstate import AuthState
from .identity.browser import SignInBot
from .identity.catalog import Catalog
from .identity.context import IdentityContext
from .identity.directory import App, Directory, Tenant, User
from .identity.endpoints import IdentityPlatform
from .identity.tokens import TokenIssuer
from .keyvault.vault import Vault
from .messages import Request, Response
from .partnercenter import PartnerCenter
from .server import Listener, RequestLog, RequestRecord, Route, make_ssl_context


class CloudDouble:
    def __init__(self, device_code_interval: int = 5) -> None:
        self.clock = Clock()
        self.catalog = Catalog()
        self.directory = Directory(self.clock, self.catalog)
        self._log = RequestLog()
        self._faults = FaultTable()
        self._device_code_interval = device_code_interval
        self._vaults: dict[str, Vault] = {}
        self._listeners: list[Listener] = []
        self._tmp: str | None = None
        self._identity: IdentityPlatform | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> CloudDouble:
        if self._tmp is not None:
            raise RuntimeError("the cloud double is already running")
        self._tmp = tempfile.mkdtemp(prefix="clouddouble-")
        ca = trustme.CA(organization_name="clouddouble test CA")
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca.cert_pem.write_to_path(str(Path(self._tmp) / "ca.pem"))
        self._ssl = make_ssl_context(
            cert.cert_chain_pems[0].bytes(), cert.private_key_pem.bytes(), self._tmp
        )
        self._identity_listener = self._listener("identity", self._route_identity)
        self.issuer = TokenIssuer(self.clock, self._identity_listener.base_url)
        self.auth_state = AuthState()
        self.identity_context = IdentityContext(
            self.directory, self.clock, self.issuer, self.auth_state, self._device_code_interval
        )
        self._identity = IdentityPlatform(self.identity_context)
        self.partner_center = PartnerCenter(self.directory, self.issuer)
        self.graph = Graph(self.directory, self.issuer)
        self._pc_listener = self._listener("partnercenter", self.partner_center.route)
        self._graph_listener = self._listener("graph", self.graph.route)
        self._bot = SignInBot(self.ca_pem_path, self.authority_host, self.mfa_code)
        for listener in self._listeners:
            listener.start()
        return self

    def stop(self) -> None:
        # In parallel: each stop waits for the accept loop to let go of its listener.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(Listener.stop, self._listeners))
        self._listeners.clear()
        self._vaults.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> CloudDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _route_identity(self, request: Request) -> Response:
        # The token issuer needs the identity listener's port, so the platform is built after it.
        assert self._identity is not None  # nosec B101
        return self._identity.route(request)

    def _listener(self, name: str, route: Route) -> Listener:
        listener = Listener(name, route, self._ssl, self._log, self._faults)
        self._listeners.append(listener)
        return listener

    def reset(self) -> None:
        """Clear per-test transient state: faults, request log, outage flag, clock offset and the
        device-code poll interval. Directory objects stay: isolate tests with fresh tenants."""
        self._faults.clear()
        self._log.clear()
        self.partner_center.down = False
        self.clock.reset()
        self.identity_context.device_code_interval = self._device_code_interval

    # -- endpoints -------------------------------------------------------------------------------
    @property
    def ca_pem_path(self) -> str:
        if self._tmp is None:
            raise RuntimeError("start the cloud double first")
        return str(Path(self._tmp) / "ca.pem")

    @property
    def authority_host(self) -> str:
        return self._identity_listener.base_url

    @property
    def partner_center_endpoint(self) -> str:
        return self._pc_listener.base_url

    @property
    def graph_endpoint(self) -> str:
        return self._graph_listener.base_url

    def env(self) -> dict[str, str]:
        """Environment a client process needs to use the double instead of Azure."""
        return {
            "AZURE_AUTHORITY_HOST": self.authority_host,
            "PARTNER_CENTER_ENDPOINT": self.partner_center_endpoint,
            "GRAPH_ENDPOINT": self.graph_endpoint,
            "REQUESTS_CA_BUNDLE": self.ca_pem_path,
            "SSL_CERT_FILE": self.ca_pem_path,
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
        }

    # -- directory administration ----------------------------------------------------------------
    def add_tenant(
        self,
        domain: str,
        tenant_id: str | None = None,
        display_name: str | None = None,
        partner: bool = True,
    ) -> Tenant:
        return self.directory.add_tenant(domain, tenant_id, display_name, partner)

    def add_user(
        self,
        tenant_id: str,
        upn: str,
        password: str | None = None,
        mfa: bool = True,
        admin: bool = False,
        display_name: str | None = None,
        mfa_registered: bool | None = None,
    ) -> User:
        return self.directory.add_user(
            tenant_id, upn, password, mfa, admin, display_name, mfa_registered
        )

    def mfa_code(self, upn: str) -> str:
        """The one-time code the MFA page currently expects for this user (single use)."""
        with self.directory.lock:
            return self.directory.require_user(upn).mfa_code

    def set_password(self, upn: str, password: str) -> None:
        """Reset a password; like Entra, this revokes the user's refresh tokens (AADSTS50173)."""
        self.directory.set_password(upn, password)

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
        return self.directory.register_app(
            tenant_id,
            name,
            multi_tenant,
            redirect_uris,
            required_resource_access,
            public_client,
            app_id,
            object_id,
        )

    def update_app(self, app_id: str, **changes: object) -> App:
        return self.directory.update_app(app_id, **changes)

    def add_service_principal(
        self, tenant_id: str, app_id: str, object_id: str | None = None
    ) -> str:
        return self.directory.add_service_principal(tenant_id, app_id, object_id)

    def add_password(
        self,
        app_id: str,
        value: str | None = None,
        end: datetime | None = None,
        display_name: str | None = None,
    ) -> str:
        return self.directory.add_password(app_id, value, end, display_name)

    def grant_admin_consent(self, tenant_id: str, app_id: str) -> None:
        self.directory.grant_admin_consent(tenant_id, app_id)

    def revoke_consent(self, tenant_id: str, app_id: str) -> None:
        self.directory.revoke_consent(tenant_id, app_id)

    def retire_permission(self, resource_app_id: str, permission_id: str) -> None:
        """Make a resource stop exposing a permission: apps still requiring it hit AADSTS650051."""
        resource = self.catalog.by_app_id(resource_app_id)
        if resource is None:
            raise ValueError(f"unknown resource {resource_app_id}")
        resource.retired.add(permission_id)

    # -- key vaults ------------------------------------------------------------------------------
    def create_vault(
        self, name: str, tenant_id: str, rbac: bool = False, purge_protection: bool = False
    ) -> Vault:
        if self._tmp is None:
            raise RuntimeError("start the cloud double first")
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", name) or "--" in name:
            raise ValueError(f"invalid vault name {name!r} (3-24 letters, digits, hyphens)")
        if name.lower() in self._vaults:
            raise ValueError(f"vault {name} already exists")
        tenant = self.directory.require_tenant(tenant_id)
        vault = Vault(
            name,
            tenant.id,
            rbac,
            self.issuer,
            self.clock,
            self._ssl,
            self._log,
            self._faults,
            purge_protection,
        )
        self._listeners.append(vault.listener)
        vault.listener.start()
        self._vaults[name.lower()] = vault
        return vault

    def vault(self, name: str) -> Vault:
        return self._vaults[name.lower()]

    # -- observation and faults ------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        return self._log.snapshot()

    def connections(self) -> dict[str, int]:
        """Connections accepted per listener (``host:port``), handshake or not, since the last
        ``clear_requests``: every listener writes to the one log."""
        return self._log.connections()

    def clear_requests(self) -> None:
        self._log.clear()

    def inject_fault(
        self,
        path_regex: str,
        status: int = 429,
        count: int = 1,
        retry_after: float | None = 1,
        method: str | None = None,
        hang: float | None = None,
        reset: bool = False,
        service: str | None = None,
        skip: int = 0,
        body: bytes | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> Fault:
        """The next ``count`` requests whose path matches fail, after ``skip`` matching ones
        went through. ``service`` limits it to one listener: "identity", "partnercenter",
        "graph" or "vault:<name>". ``body``/``content_type`` give the reply a real service's
        own shape (``clouddouble.shapes``)."""
        return self._faults.add(
            Fault(re.compile(path_regex), count, status, retry_after, method, hang, reset, service,
                  skip, body, content_type)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def partner_center_down(self, down: bool = True) -> None:
        self.partner_center.down = down

    def advance_clock(self, delta: timedelta) -> None:
        """Move the double's clock forward (expiry of codes, refresh tokens, secrets, tokens)."""
        self.clock.advance(delta)

    # -- token lifecycle events ------------------------------------------------------------------
    def expire_refresh_tokens(self, upn: str | None = None) -> None:
        """Existing refresh tokens (of one user, or all) now fail with AADSTS700082."""
        now = self.clock.now()
        with self.auth_state.lock:
            for token in self.auth_state.refresh_tokens_of(upn):
                token.expires = now

    def revoke_grants(self, upn: str) -> None:
        """Revoke the user's sessions: refresh tokens issued until now fail with AADSTS50173."""
        with self.directory.lock:
            self.directory.require_user(upn).tokens_valid_from = self.clock.now()

    def require_mfa_again(self, upn: str) -> None:
        """Refresh tokens from sign-ins until now fail with AADSTS50078 (MFA must be redone)."""
        with self.directory.lock:
            self.directory.require_user(upn).mfa_valid_from = self.clock.now()

    # -- playing the user ------------------------------------------------------------------------
    def sign_in(
        self,
        authorize_url: str,
        upn: str,
        password: str,
        mfa_code: str | None = "auto",
        consent: bool = True,
        consent_org: bool = True,
    ) -> str:
        """Fill in the sign-in pages; return the final redirect URL without calling it.
        Raises ``clouddouble.PageError`` when a page shows an AADSTS error instead."""
        return self._bot.sign_in(authorize_url, upn, password, mfa_code, consent, consent_org)

    def sign_in_device(
        self,
        user_code: str,
        upn: str,
        password: str,
        mfa_code: str | None = "auto",
        consent: bool = True,
        consent_org: bool = True,
    ) -> bool:
        return self._bot.sign_in_device(user_code, upn, password, mfa_code, consent, consent_org)

    def set_device_code_interval(self, seconds: int) -> None:
        self.identity_context.device_code_interval = seconds
