"""The double's identity platform, proven with the real MSAL and azure-identity clients: the
tokens it issues (claims, signing keys, the forging hook), rolling refresh tokens and what
ends them, client credentials and the device code flow."""

from __future__ import annotations

from datetime import timedelta

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble
from foundation import wellknown as wk
from tests.double.identity_support import claims, codes
from tests.support import REDIRECT_URI, Partner, make_partner, sign_in_with_msal


def test_auth_code_flow_gives_a_partner_center_token_with_mfa(partner: Partner) -> None:
    cca = partner.msal_app()
    result = sign_in_with_msal(partner, cca=cca)

    assert "access_token" in result, result.get("error_description")
    at = claims(result["access_token"])
    assert at["aud"] == wk.PARTNER_CENTER_RESOURCE
    assert at["amr"] == ["pwd", "mfa"]
    assert at["scp"] == "user_impersonation"
    assert at["tid"] == partner.tenant.id and at["oid"] == partner.admin.object_id
    assert at["appid"] == partner.app.app_id
    assert result["refresh_token"]
    # MSAL checked the nonce; it keys the account by client_info (uid.utid).
    assert result["id_token_claims"]["preferred_username"] == partner.admin.upn
    (account,) = cca.get_accounts()
    assert account["home_account_id"] == f"{partner.admin.object_id}.{partner.tenant.id}"
    silent = cca.acquire_token_silent([wk.PARTNER_CENTER_SCOPE], account=account)
    assert silent is not None and silent["access_token"] == result["access_token"]


def test_id_token_and_access_token_verify_against_the_published_keys(
    cloud: CloudDouble, partner: Partner
) -> None:
    result = sign_in_with_msal(partner)
    config = requests.get(
        f"{partner.authority}/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    assert config["issuer"] == f"{partner.authority}/v2.0"
    keys = requests.get(config["jwks_uri"], timeout=10).json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    id_claims = jwt.decode(
        result["id_token"],
        key,
        algorithms=["RS256"],
        audience=partner.app.app_id,
        issuer=config["issuer"],
    )
    assert id_claims["tid"] == partner.tenant.id
    jwt.decode(
        result["access_token"], key, algorithms=["RS256"], audience=wk.PARTNER_CENTER_RESOURCE
    )


def test_forged_claims_reach_only_the_tokens_of_the_forged_app(cloud: CloudDouble,
                                                               partner: Partner) -> None:
    """The test hook for the token checks: the access and id tokens issued to one app carry the
    forged claims (None removes one); another partner's app gets true tokens."""
    other = make_partner(cloud)
    cloud.issuer.forge(partner.app.app_id, "access", aud="https://graph.microsoft.com",
                       appid="0b1c2d3e-4f50-4617-8899-aabbccddeeff")
    cloud.issuer.forge(partner.app.app_id, "id", exp=1_000_000_000, preferred_username=None)
    result = sign_in_with_msal(partner)
    at, idt = claims(result["access_token"]), claims(result["id_token"])
    assert at["aud"] == "https://graph.microsoft.com"
    assert at["appid"] == "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
    assert idt["exp"] == 1_000_000_000 and "preferred_username" not in idt
    true = sign_in_with_msal(other)
    assert claims(true["access_token"])["aud"] == wk.PARTNER_CENTER_RESOURCE
    assert claims(true["id_token"])["preferred_username"] == other.admin.upn
    with pytest.raises(ValueError, match="unknown token kind"):
        cloud.issuer.forge(partner.app.app_id, "refresh", aud="x")


def test_user_without_mfa_signs_in_with_password_only(partner: Partner) -> None:
    user = partner.add_user("nomfa", mfa=False, admin=True)
    result = sign_in_with_msal(partner, user=user)
    assert claims(result["access_token"])["amr"] == ["pwd"]


def test_refresh_tokens_roll_and_the_old_one_stays_valid(partner: Partner) -> None:
    first = sign_in_with_msal(partner)["refresh_token"]
    cca = partner.msal_app()
    second = cca.acquire_token_by_refresh_token(first, [wk.PARTNER_CENTER_SCOPE])
    assert second["refresh_token"] != first
    assert claims(second["access_token"])["amr"] == ["pwd", "mfa"]
    again = cca.acquire_token_by_refresh_token(first, [wk.PARTNER_CENTER_SCOPE])
    assert "access_token" in again


def test_refresh_token_is_bound_to_its_client(cloud: CloudDouble, partner: Partner) -> None:
    rt = sign_in_with_msal(partner)["refresh_token"]
    other = cloud.register_app(partner.tenant.id, "other", redirect_uris=[REDIRECT_URI])
    other_secret = cloud.add_password(other.app_id)
    result = partner.msal_app(
        secret=other_secret, client_id=other.app_id
    ).acquire_token_by_refresh_token(rt, [wk.PARTNER_CENTER_SCOPE])
    assert result["error"] == "invalid_grant" and codes(result) == [700007]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ("expire", 700082),
        ("revoke", 50173),
        ("password", 50173),
        ("mfa_again", 50078),
    ],
)
def test_refresh_token_failures(
    cloud: CloudDouble, partner: Partner, event: str, code: int
) -> None:
    rt = sign_in_with_msal(partner)["refresh_token"]
    upn = partner.admin.upn
    {
        "expire": lambda: cloud.expire_refresh_tokens(upn),
        "revoke": lambda: cloud.revoke_grants(upn),
        "password": lambda: cloud.set_password(upn, partner.password),
        "mfa_again": lambda: cloud.require_mfa_again(upn),
    }[event]()
    result = partner.msal_app().acquire_token_by_refresh_token(rt, [wk.PARTNER_CENTER_SCOPE])
    assert result["error"] == "invalid_grant"
    assert codes(result) == [code]
    assert result["error_description"].startswith(f"AADSTS{code}:")
    assert "Trace ID:" in result["error_description"]
    # A fresh interactive sign-in works again.
    assert "access_token" in sign_in_with_msal(partner)


def test_refresh_token_expires_after_90_days(cloud: CloudDouble, partner: Partner) -> None:
    rt = sign_in_with_msal(partner)["refresh_token"]
    cloud.advance_clock(timedelta(days=89))
    rolled = partner.msal_app().acquire_token_by_refresh_token(rt, [wk.PARTNER_CENTER_SCOPE])
    assert "access_token" in rolled
    cloud.advance_clock(timedelta(days=2))
    expired = partner.msal_app().acquire_token_by_refresh_token(rt, [wk.PARTNER_CENTER_SCOPE])
    assert codes(expired) == [700082]
    fresh = partner.msal_app().acquire_token_by_refresh_token(
        rolled["refresh_token"], [wk.PARTNER_CENTER_SCOPE]
    )
    assert "access_token" in fresh


def test_client_credentials_with_azure_identity(cloud: CloudDouble, partner: Partner) -> None:
    credential = ClientSecretCredential(
        partner.tenant.id,
        partner.app.app_id,
        partner.secret,
        authority=cloud.authority_host,
        disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError) as err:
        credential.get_token("https://vault.azure.net/.default")
    assert "AADSTS7000229" in str(err.value)  # no service principal yet
    sp = cloud.add_service_principal(partner.tenant.id, partner.app.app_id)
    token = ClientSecretCredential(
        partner.tenant.id,
        partner.app.app_id,
        partner.secret,
        authority=cloud.authority_host,
        disable_instance_discovery=True,
    ).get_token("https://vault.azure.net/.default")
    at = claims(token.token)
    assert at["aud"] == "https://vault.azure.net" and at["oid"] == sp
    assert "amr" not in at and "scp" not in at


def test_device_code_flow_for_a_public_client(cloud: CloudDouble) -> None:
    partner = make_partner(cloud, public_client=True)
    pca = msal.PublicClientApplication(
        partner.app.app_id, authority=partner.authority, instance_discovery=False
    )
    flow = pca.initiate_device_flow(scopes=[wk.PARTNER_CENTER_SCOPE])
    assert flow["verification_uri"] == f"{cloud.authority_host}/devicelogin"
    pending = requests.post(
        f"{partner.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": partner.app.app_id,
            "device_code": flow["device_code"],
        },
        timeout=10,
    )
    assert pending.json()["error"] == "authorization_pending"
    assert cloud.sign_in_device(flow["user_code"], partner.admin.upn, partner.password)
    result = pca.acquire_token_by_device_flow(flow)
    assert claims(result["access_token"])["amr"] == ["pwd", "mfa"]


def test_device_code_needs_a_secret_for_a_confidential_app(
    cloud: CloudDouble, partner: Partner
) -> None:
    pca = msal.PublicClientApplication(
        partner.app.app_id, authority=partner.authority, instance_discovery=False
    )
    flow = pca.initiate_device_flow(scopes=[wk.PARTNER_CENTER_SCOPE])
    cloud.sign_in_device(flow["user_code"], partner.admin.upn, partner.password)
    flow["expires_at"] = 0  # a single poll
    result = pca.acquire_token_by_device_flow(flow)
    assert result["error"] == "invalid_client" and codes(result) == [7000218]
