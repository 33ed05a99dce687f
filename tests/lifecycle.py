"""Helpers the rotate / verify / mfa-report CLI tests share, on top of ``PartnerWorld``: redeem a
token as the platform would, grant Graph application permissions through the double's admin API,
and get a token without MFA the way a careless consent would."""

from __future__ import annotations

import uuid
import warnings

import msal

from clouddouble import CloudDouble, Tenant
from foundation import wellknown as wk
from tests.helpers import query_params
from tests.partner_world import PartnerWorld

PC_SCOPE = [wk.PARTNER_CENTER_SCOPE]


def seed(world: PartnerWorld) -> PartnerWorld:
    """Store one version with a real ``invoke consent`` (the MFA admin signs in)."""
    result = world.consent()
    assert result.returncode == 0, result.stderr
    assert len(world.vault.secret_versions(world.secret_name)) == 1
    return world


def cpv_client(world: PartnerWorld) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        world.cpv.app_id, client_credential=world.cpv_secret,
        authority=f"{world.cloud.authority_host}/{world.domain}", instance_discovery=False)


def redeems(world: PartnerWorld, refresh_token: str) -> bool:
    """Whether the CPV app can still redeem this refresh token for Partner Center."""
    result = cpv_client(world).acquire_token_by_refresh_token(refresh_token, scopes=PC_SCOPE)
    return "access_token" in result


def token_without_mfa(world: PartnerWorld) -> str:
    """A refresh token from a sign-in without MFA (what a consent by the wrong admin yields)."""
    cca = cpv_client(world)
    with warnings.catch_warnings():  # the loopback redirect uses the query (see consent.py)
        warnings.filterwarnings("ignore", message="response_mode", category=UserWarning)
        flow = cca.initiate_auth_code_flow(scopes=PC_SCOPE,
                                           redirect_uri=f"http://localhost:{world.port}")
    redirect = world.cloud.sign_in(flow["auth_uri"], world.no_mfa.upn, world.password,
                                   mfa_code="auto")
    result = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    assert "refresh_token" in result, result.get("error_description")
    return str(result["refresh_token"])


def grant_graph_roles(cloud: CloudDouble, tenant_id: str, app_id: str, *names: str) -> None:
    """Give an app Graph application permissions with admin consent, as a portal admin would."""
    graph = cloud.catalog.graph
    ids = [(p.id, "Role") for p in graph.permissions if p.kind == "Role" and p.name in names]
    assert len(ids) == len(names), f"unknown Graph role among {names}"
    cloud.update_app(app_id, required_resource_access=[(wk.MICROSOFT_GRAPH_APP_ID, ids)])
    cloud.grant_admin_consent(tenant_id, app_id)


def graph_reader(cloud: CloudDouble, tenant: Tenant, *roles: str) -> tuple[dict[str, str], str]:
    """A pipeline identity in ``tenant`` with the given Graph roles: (its AZURE_* env, secret)."""
    app = cloud.register_app(tenant.id, f"graph reader {uuid.uuid4().hex[:6]}")
    cloud.add_service_principal(tenant.id, app.app_id)
    secret = cloud.add_password(app.app_id)
    grant_graph_roles(cloud, tenant.id, app.app_id, *roles)
    env = {"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": app.app_id,
           "AZURE_CLIENT_SECRET": secret}
    return env, secret


def snapshot(world: PartnerWorld) -> list[tuple[str, str, bool]]:
    """The secret's versions as (version, value, enabled), oldest first."""
    return [(v.version, v.value, v.enabled) for v in world.vault.secret_versions(world.secret_name)]
