"""The double as a server: silent, secret-free request log, fault injection semantics, clean
stop, concurrency, and the form_post response mode."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msal
import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from clouddouble import CloudDouble
from foundation import wellknown as wk
from tests.support import (
    REDIRECT_URI,
    make_partner,
    query_params,
    sign_in_with_msal,
    unique_domain,
)


def test_the_double_prints_nothing_and_logs_no_secret(
    cloud: CloudDouble, capfd: pytest.CaptureFixture[str]
) -> None:
    partner = make_partner(cloud)
    result = sign_in_with_msal(partner)
    wrong = partner.msal_app(secret="wrong-secret-value").acquire_token_by_refresh_token(
        result["refresh_token"], [wk.PARTNER_CENTER_SCOPE]
    )
    assert wrong["error"] == "invalid_client"
    cloud.inject_fault(r"/oauth2/v2.0/token", reset=True)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{partner.authority}/oauth2/v2.0/token", data={}, timeout=10)
    requests.get(f"{cloud.authority_host}/nothing/here", timeout=10)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    log = repr(cloud.requests)
    for secret in (
        partner.secret,
        partner.password,
        result["refresh_token"],
        result["access_token"],
        "wrong-secret-value",
    ):
        assert secret not in log


def test_faults_match_method_service_and_count(cloud: CloudDouble) -> None:
    url = f"{cloud.partner_center_endpoint}/v1/profiles/organization"
    cloud.inject_fault(r"/profiles/", status=500, count=2, method="GET", service="partnercenter")
    cloud.inject_fault(r"/profiles/", status=503, count=1, service="graph")  # other listener
    statuses = [requests.get(url, timeout=10).status_code for _ in range(3)]
    assert statuses == [500, 500, 401]  # then the real answer: no token
    assert requests.post(url, timeout=10).status_code == 405


def test_hang_outlasts_a_client_timeout_then_service_resumes(cloud: CloudDouble) -> None:
    url = f"{cloud.partner_center_endpoint}/v1/profiles/organization"
    cloud.inject_fault(r"/profiles/", hang=2.0)
    with pytest.raises(requests.ReadTimeout):
        requests.get(url, timeout=0.3)
    assert requests.get(url, timeout=10).status_code == 401


def test_a_request_held_past_a_cleared_log_is_served_but_not_logged_as_new(
        cloud: CloudDouble) -> None:
    """A request held by a ``hang`` fault is still answered when the hang ends (a slow service
    still does the work), but one that arrived before ``clear_requests`` (the next test's
    ``cloud`` fixture clears it) does not show up in the new log as if it were the next test's."""
    url = f"{cloud.partner_center_endpoint}/v1/profiles/organization"
    held = cloud.inject_fault(r"/profiles/", hang=1.0, count=1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(requests.get, url, timeout=10)
        while held.remaining:  # until the request has arrived and is being held
            time.sleep(0.01)
        cloud.clear_requests()
        assert answer.result().status_code == 401  # served after the hang: no token
    assert requests.get(url, timeout=10).status_code == 401
    assert [r.status for r in cloud.requests if r.service == "partnercenter"] == [401]


def test_stopped_double_stops_answering_pooled_connections(tmp_path: Path) -> None:
    own = CloudDouble().start()
    ca = tmp_path / "ca.pem"  # stop() deletes the double's own copy
    shutil.copy(own.ca_pem_path, ca)
    with requests.Session() as session:
        session.verify = str(ca)
        session.trust_env = False  # the machine's REQUESTS_CA_BUNDLE must not win
        url = f"{own.partner_center_endpoint}/v1/profiles/organization"
        assert session.get(url, timeout=10).status_code == 401  # keep-alive connection pooled
        other = CloudDouble().start()
        assert other.authority_host != own.authority_host
        other.stop()
        own.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=10)


def test_concurrent_clients(cloud: CloudDouble) -> None:
    tenant = cloud.add_tenant(domain=unique_domain())
    app = cloud.register_app(tenant.id, "writer")
    sp = cloud.add_service_principal(tenant.id, app.app_id)
    secret = cloud.add_password(app.app_id)
    vault = cloud.create_vault(f"kv-conc-{tenant.id[:8]}", tenant.id)
    vault.set_access_policy(sp, secrets=["set", "get"])

    def write(i: int) -> str:
        credential = ClientSecretCredential(
            tenant.id,
            app.app_id,
            secret,
            authority=cloud.authority_host,
            disable_instance_discovery=True,
        )
        client = SecretClient(vault.uri, credential, verify_challenge_resource=False)
        return client.set_secret("token", f"value-{i}").value or ""

    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(write, range(16)))
    assert sorted(values) == sorted(f"value-{i}" for i in range(16))
    assert len(vault.secret_versions("token")) == 16


def test_form_post_response_mode(cloud: CloudDouble) -> None:
    partner = make_partner(cloud)
    cca = partner.msal_app()
    flow = cca.initiate_auth_code_flow(
        scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    with requests.Session() as session:
        page = session.get(flow["auth_uri"], timeout=10)
        assert 'id="username"' in page.text
    redirect = cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    assert redirect.startswith(f"{REDIRECT_URI}?")
    result = cca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
    assert "access_token" in result


def test_public_client_application_with_a_loopback_redirect(cloud: CloudDouble) -> None:
    partner = make_partner(cloud, public_client=True)
    pca = msal.PublicClientApplication(
        partner.app.app_id, authority=partner.authority, instance_discovery=False
    )
    flow = pca.initiate_auth_code_flow(scopes=[wk.PARTNER_CENTER_SCOPE], redirect_uri=REDIRECT_URI)
    redirect = cloud.sign_in(flow["auth_uri"], partner.admin.upn, partner.password)
    assert "access_token" in pca.acquire_token_by_auth_code_flow(flow, query_params(redirect))
