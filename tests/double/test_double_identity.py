"""The double's identity platform, proven with the real MSAL and azure-identity clients: the
sign-in pages, authorization codes, rolling refresh tokens and the AADSTS errors partners meet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble, PageError, shapes
from foundation import wellknown as wk
from tests.support import (
    REDIRECT_URI,
    Partner,
    make_partner,
    query_params,
    sign_in_with_msal,
)


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def codes(result: dict[str, Any]) -> list[int]:
    return list(result.get("error_codes", []))


@pytest.fixture
def partner(cloud: CloudDouble) -> Partner:
    return make_partner(cloud)


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


@pytest.mark.parametrize("case", ["wrong", "expired", "other_app"])
def test_client_secret_is_checked(cloud: CloudDouble, partner: Partner, case: str) -> None:
    if case == "wrong":
        secret = "not-the-secret"
    elif case == "expired":
        secret = cloud.add_password(partner.app.app_id, end=cloud.clock.now() - timedelta(days=1))
    else:
        other = cloud.register_app(partner.tenant.id, "other")
        secret = cloud.add_password(other.app_id)
    result = sign_in_with_msal(partner, cca=partner.msal_app(secret=secret))
    assert result["error"] == "invalid_client"
    assert codes(result) == [7000222 if case == "expired" else 7000215]
    assert secret not in result["error_description"]


def _token_request(partner: Partner, **form: str) -> requests.Response:
    body = {"client_id": partner.app.app_id, "client_secret": partner.secret, **form}
    return requests.post(f"{partner.authority}/oauth2/v2.0/token", data=body, timeout=10)


def _raw_code(partner: Partner) -> tuple[dict[str, Any], str]:
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI)
    redirect = partner.cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    params = query_params(redirect)
    assert params["state"] == flow["state"]
    return flow, params["code"]


def test_authorization_code_is_single_use(partner: Partner) -> None:
    flow, code = _raw_code(partner)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["code_verifier"],
        "scope": wk.PARTNER_CENTER_SCOPE,
    }
    assert _token_request(partner, **form).status_code == 200
    second = _token_request(partner, **form)
    assert second.status_code == 400
    assert second.json()["error_codes"] == [54005]


def test_authorization_code_checks_pkce_redirect_and_lifetime(
    cloud: CloudDouble, partner: Partner
) -> None:
    flow, code = _raw_code(partner)
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["code_verifier"],
    }
    bad_pkce = _token_request(partner, **{**base, "code_verifier": "x" * 43})
    assert bad_pkce.json()["error_codes"] == [50148]
    bad_redirect = _token_request(partner, **{**base, "redirect_uri": "http://localhost:9999"})
    assert bad_redirect.json()["error_codes"] == [500112]
    cloud.advance_clock(timedelta(minutes=11))
    late = _token_request(partner, **base)
    assert late.status_code == 400 and late.json()["error_codes"] == [70008]


def test_client_secret_may_come_by_http_basic(partner: Partner) -> None:
    flow, code = _raw_code(partner)
    response = requests.post(
        f"{partner.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow["code_verifier"],
        },
        auth=(partner.app.app_id, partner.secret),
        timeout=10,
    )
    assert response.status_code == 200 and "access_token" in response.json()


def test_wrong_secret_is_http_401_in_entra_shape(partner: Partner) -> None:
    response = _token_request(
        partner,
        grant_type="refresh_token",
        refresh_token="x",
        scope=wk.PARTNER_CENTER_SCOPE,
        client_secret="wrong",
    )
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert "\r\nTrace ID: " in body["error_description"]


def _authorize_url(partner: Partner, **override: str) -> str:
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(
        scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=override.pop("redirect_uri", REDIRECT_URI)
    )
    url: str = flow["auth_uri"]
    for key, value in override.items():
        url = (
            url.replace(f"{key}=", f"{key}={value}", 1)
            if key != "client_id"
            else url.replace(partner.app.app_id, value)
        )
    return url


def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(
    partner: Partner,
) -> None:
    url = _authorize_url(partner, redirect_uri="http://localhost:8401")
    with pytest.raises(PageError) as err:
        partner.cloud.sign_in(url, partner.admin.upn, partner.password)
    assert err.value.code == 50011


def test_unknown_client_id_shows_700016(partner: Partner) -> None:
    url = _authorize_url(partner, client_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(PageError) as err:
        partner.cloud.sign_in(url, partner.admin.upn, partner.password)
    assert err.value.code == 700016


def test_user_of_another_tenant_cannot_use_a_single_tenant_app(
    cloud: CloudDouble, partner: Partner
) -> None:
    stranger = make_partner(cloud)
    with pytest.raises(PageError) as err:
        sign_in_with_msal(partner, user=stranger.admin, password=stranger.password)
    assert err.value.code == 50020


@pytest.mark.parametrize(("field", "code"), [("password", 50126), ("mfa", 500121)])
def test_wrong_password_or_code_is_refused(partner: Partner, field: str, code: int) -> None:
    url = _authorize_url(partner)
    with pytest.raises(PageError) as err:
        if field == "password":
            partner.cloud.sign_in(url, partner.admin.upn, "wrong")
        else:
            wrong = f"{(int(partner.cloud.mfa_code(partner.admin.upn)) + 1) % 1_000_000:06d}"
            partner.cloud.sign_in(url, partner.admin.upn, partner.password, mfa_code=wrong)
    assert err.value.code == code


def test_declining_consent_redirects_with_access_denied(partner: Partner) -> None:
    result = sign_in_with_msal(partner, consent=False)
    assert result["error"] == "access_denied"
    assert result["error_description"].startswith("AADSTS65004")


def test_consent_is_remembered_unless_prompt_consent(cloud: CloudDouble, partner: Partner) -> None:
    sign_in_with_msal(partner)  # consents for the organization
    # Without a consent page, "consent=False" has nothing to decline: the code comes back.
    assert "access_token" in sign_in_with_msal(partner, consent=False)
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(
        scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI, prompt="consent"
    )
    redirect = cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password, consent=False)
    assert query_params(redirect)["error"] == "access_denied"


def test_non_admin_cannot_consent_to_admin_only_permissions(
    cloud: CloudDouble, partner: Partner
) -> None:
    user = partner.add_user("member", admin=False)
    with pytest.raises(PageError) as err:
        sign_in_with_msal(
            partner, scopes=["https://graph.microsoft.com/Directory.AccessAsUser.All"], user=user
        )
    assert err.value.code == 90094


def test_cpv_multi_tenant_app_is_consented_into_the_partner_tenant(cloud: CloudDouble) -> None:
    vendor = make_partner(cloud, multi_tenant=True)
    partner = make_partner(cloud)
    assert cloud.directory.service_principal(partner.tenant.id, vendor.app.app_id) is None
    cca = msal.ConfidentialClientApplication(
        vendor.app.app_id,
        client_credential=vendor.secret,
        authority=f"{cloud.authority_host}/{partner.tenant.initial_domain}",
        instance_discovery=False,
    )
    flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI)
    redirect = cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    tokens = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    assert claims(tokens["access_token"])["tid"] == partner.tenant.id
    assert cloud.directory.service_principal(partner.tenant.id, vendor.app.app_id) is not None


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


def test_unknown_tenant_is_aadsts90002(cloud: CloudDouble) -> None:
    response = requests.get(
        f"{cloud.authority_host}/nowhere.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error_codes"] == [90002]


def test_retired_permission_is_permission_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its own double: retiring a permission changes the resource catalog for everyone.
    with CloudDouble() as own:
        for name, value in own.env().items():
            monkeypatch.setenv(name, value)
        own_partner = make_partner(own)
        own.retire_permission(wk.PARTNER_CENTER_APP_ID, wk.PARTNER_CENTER_USER_IMPERSONATION)
        cca = msal.ConfidentialClientApplication(
            own_partner.app.app_id,
            client_credential=own_partner.secret,
            authority=own_partner.authority,
            instance_discovery=False,
        )
        flow = cca.initiate_auth_code_flow(
            scopes=[f"{wk.PARTNER_CENTER_RESOURCE}/.default"], redirect_uri=REDIRECT_URI
        )
        with requests.Session() as session:
            session.verify = own.ca_pem_path
            session.trust_env = False
            response = session.get(flow["auth_uri"], allow_redirects=False, timeout=10)
        assert response.status_code == 302
        params = query_params(response.headers["Location"])
        assert params["error_description"].startswith("AADSTS650051")


def test_organizations_endpoint_needs_a_multi_tenant_app(cloud: CloudDouble) -> None:
    single = make_partner(cloud)
    url = (
        single.msal_app()
        .get_authorization_request_url([wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI)
        .replace(single.tenant.id, "organizations")
    )
    with pytest.raises(PageError) as err:
        cloud.sign_in(url, single.admin.upn, single.password)
    assert err.value.code == 50194

    multi = make_partner(cloud, multi_tenant=True)
    cca = msal.ConfidentialClientApplication(
        multi.app.app_id,
        client_credential=multi.secret,
        authority=f"{cloud.authority_host}/organizations",
        instance_discovery=False,
    )
    result = sign_in_with_msal(multi, cca=cca)
    assert claims(result["access_token"])["tid"] == multi.tenant.id


def test_a_redirect_uri_without_a_path_is_kept_and_answered_with_a_trailing_slash(
    cloud: CloudDouble,
) -> None:
    """Learn, "Redirect URI (reply URL) outline and restrictions": a redirect URI with no path
    is returned with a trailing slash; the same URI with or without it matches the
    registration, and the code is redeemed with either form. Another path is another URI."""
    partner = make_partner(cloud, redirect_uris=["http://localhost:8765"])
    assert cloud.directory.require_app(partner.app.app_id).redirect_uris == [
        "http://localhost:8765/"]
    for asked, redeemed in [("http://localhost:8765", "http://localhost:8765/"),
                            ("http://localhost:8765/", "http://localhost:8765")]:
        cca = partner.msal_app()
        flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=asked)
        redirect = cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
        assert redirect.startswith("http://localhost:8765/?")
        result = _token_request(partner, grant_type="authorization_code",
                                code=query_params(redirect)["code"], redirect_uri=redeemed,
                                code_verifier=flow["code_verifier"])
        assert result.status_code == 200, result.text
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE],
                                       redirect_uri="http://localhost:8765/callback")
    with pytest.raises(PageError) as refused:
        cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    assert refused.value.code == 50011


def test_pkce_mismatch_is_entras_invalid_grant_50148(partner: Partner) -> None:
    _flow, code = _raw_code(partner)
    refused = _token_request(partner, grant_type="authorization_code", code=code,
                             redirect_uri=REDIRECT_URI, code_verifier="y" * 43)
    body = refused.json()
    assert refused.status_code == 400 and body["error"] == "invalid_grant"
    assert body["error_codes"] == [50148]
    assert body["error_description"].startswith(
        "AADSTS50148: The code_verifier does not match the code_challenge supplied in the "
        "authorization request for PKCE.\r\nTrace ID: ")


def test_the_token_endpoint_can_answer_entras_plain_text_429(partner: Partner) -> None:
    body, content_type = shapes.entra_plain_text_429()
    partner.cloud.inject_fault(r"/oauth2/v2\.0/token$", status=429, count=1, retry_after=7,
                               service="identity", body=body, content_type=content_type)
    reply = _token_request(partner, grant_type="refresh_token", refresh_token="x",
                           scope=wk.PARTNER_CENTER_SCOPE)
    assert reply.status_code == 429 and reply.text == "Too Many Requests"
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert reply.headers["Retry-After"] == "7"
