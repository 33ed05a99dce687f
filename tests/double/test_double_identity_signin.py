"""The double's sign-in pages, proven with the real MSAL client: the authorize request's
error pages, refused passwords and MFA codes, consent, tenants (single, multi-tenant,
``organizations``) and redirect URIs."""

from __future__ import annotations

import msal
import pytest
import requests

from clouddouble import CloudDouble, PageError
from foundation import wellknown as wk
from tests.double.identity_support import _token_request, claims
from tests.support import REDIRECT_URI, Partner, make_partner, query_params, sign_in_with_msal


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
