"""The double's Partner Center MFA-compliance reports (REST "Security" group): their shapes, the
7-day window by the double's clock, paging through ``links.next`` + ``MS-ContinuationToken``,
App+User only, and every App+User call recorded (a refused token without MFA as non-compliant).
The product's reader of them (``scripts.adapters.partner_center_reports``) is run against them
too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from clouddouble import CloudDouble
from foundation import wellknown as wk
from scripts.adapters import partner_center_reports as pc
from tests.support import Partner, make_partner, sign_in_with_msal

PRINCIPALS = "/v1/nonMfaCompliantPartnerPrincipals"
ADOPTION = "/v1/applicationmfaadoptionstatus"
REQUESTS = "/v1/partnerRequests"


@pytest.fixture
def partner(cloud: CloudDouble) -> Partner:
    return make_partner(cloud)


@pytest.fixture
def token(partner: Partner) -> str:
    return str(sign_in_with_msal(partner)["access_token"])


def get(cloud: CloudDouble, path: str, token: str, **headers: str) -> requests.Response:
    return requests.get(f"{cloud.partner_center_endpoint}{path}", timeout=10,
                        headers={"Authorization": f"Bearer {token}", **headers})


def ago(cloud: CloudDouble, **delta: float) -> dt.datetime:
    return cloud.clock.now() - dt.timedelta(**delta)


def test_principals_without_mfa_in_the_last_7_days(cloud: CloudDouble, partner: Partner,
                                                   token: str) -> None:
    reports = cloud.partner_center.reports
    tenant, other = partner.tenant.id, "11111111-2222-3333-4444-555555555555"
    reports.record_non_mfa_request(tenant, other, "ops@example.test", ago(cloud, days=2))
    reports.record_non_mfa_request(tenant, other, "ops@example.test", ago(cloud, hours=1))
    reports.record_non_mfa_request(tenant, other, "old@example.test", ago(cloud, days=8))
    reports.record_request(tenant, other, partner.admin.upn, ago(cloud, days=1))
    response = get(cloud, PRINCIPALS, token)
    assert response.status_code == 200
    body = response.json()
    # Learn's response example: a Collection of objectId, tenantId, upn and the latest time.
    assert body["attributes"] == {"objectType": "Collection"}
    [item] = body["items"]
    assert body["totalCount"] == 1 and "next" not in body["links"]
    assert set(item) == {"objectId", "tenantId", "upn", "lastNonMfaCompliantRequestDateTime"}
    assert item["upn"] == "ops@example.test" and item["tenantId"] == partner.tenant.id
    latest = dt.datetime.fromisoformat(item["lastNonMfaCompliantRequestDateTime"])
    assert abs(latest.replace(tzinfo=dt.UTC) - ago(cloud, hours=1)) < dt.timedelta(minutes=5)


def test_the_window_follows_the_doubles_clock(cloud: CloudDouble, partner: Partner,
                                              token: str) -> None:
    cloud.partner_center.reports.record_non_mfa_request(
        partner.tenant.id, partner.app.app_id, partner.admin.upn, ago(cloud, days=6))
    assert len(get(cloud, PRINCIPALS, token).json()["items"]) == 1
    cloud.advance_clock(dt.timedelta(days=2))
    fresh = str(sign_in_with_msal(partner)["access_token"])
    assert get(cloud, PRINCIPALS, fresh).json()["items"] == []


def test_adoption_status_counts_each_day_and_app(cloud: CloudDouble, partner: Partner,
                                                 token: str) -> None:
    reports = cloud.partner_center.reports
    app = partner.app.app_id
    reports.record_non_mfa_request(partner.tenant.id, app, "ops@example.test", ago(cloud, days=3))
    reports.record_request(partner.tenant.id, app, partner.admin.upn, ago(cloud, days=3))
    reports.record_non_mfa_request(partner.tenant.id, app, "ops@example.test", ago(cloud, days=9))
    response = get(cloud, ADOPTION, token)
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list), "Learn's example is a bare array"
    day = ago(cloud, days=3).date().isoformat()
    [three_days_ago] = [r for r in rows if r["loginDate"] == day]
    assert three_days_ago == {"loginDate": day, "mfaCompliantRequestCount": 1,
                              "totalRequestCount": 2, "applicationId": app,
                              "applicationName": "Partner Center SAM app"}
    # Today's row is this test's own calls (the sign-in's token on the report), all with MFA.
    today = [r for r in rows if r["loginDate"] == cloud.clock.now().date().isoformat()]
    assert today and all(r["mfaCompliantRequestCount"] == r["totalRequestCount"] for r in today)
    assert ago(cloud, days=9).date().isoformat() not in {r["loginDate"] for r in rows}
    window = f"?startDate={day}&endDate={day}"
    assert [r["loginDate"] for r in get(cloud, ADOPTION + window, token).json()] == [day]
    bad = get(cloud, f"{ADOPTION}?startDate=last-week", token)
    assert bad.status_code == 400 and bad.json()["source"] == "PartnerFD"


def test_partner_requests_list_each_call_with_its_mfa(cloud: CloudDouble, partner: Partner,
                                                      token: str) -> None:
    assert get(cloud, "/v1/profiles/organization", token).status_code == 200
    items = get(cloud, REQUESTS, token).json()["items"]
    assert {"requestId", "correlationId", "operationName", "requestDateTime", "sourceIpAddress",
            "objectId", "tenantId", "upn", "applicationId", "mfaCompliant"} == set(items[0])
    profile = [i for i in items if i["operationName"] == "Get /v{version}/profiles/organization"]
    assert profile and profile[0]["upn"] == partner.admin.upn
    assert profile[0]["applicationId"] == partner.app.app_id and profile[0]["mfaCompliant"]


def test_a_refused_token_without_mfa_is_reported_non_compliant(cloud: CloudDouble,
                                                               partner: Partner,
                                                               token: str) -> None:
    user = partner.add_user("nomfa", mfa=False, admin=True)
    no_mfa = str(sign_in_with_msal(partner, user=user)["access_token"])
    assert get(cloud, "/v1/profiles/organization", no_mfa).status_code == 401
    assert get(cloud, PRINCIPALS, no_mfa).status_code == 401, "the reports need MFA too"
    [item] = get(cloud, PRINCIPALS, token).json()["items"]
    assert item["upn"] == user.upn and item["objectId"] == user.object_id
    rows = get(cloud, ADOPTION, token).json()
    assert sum(r["totalRequestCount"] - r["mfaCompliantRequestCount"] for r in rows) == 2


def test_paging_with_a_continuation_token(cloud: CloudDouble, partner: Partner, token: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloud.partner_center.reports, "page_size", 2)
    for n in range(5):
        cloud.partner_center.reports.record_non_mfa_request(
            partner.tenant.id, partner.app.app_id, f"user{n}@example.test", ago(cloud, hours=n))
    first = get(cloud, PRINCIPALS, token).json()
    nxt: dict[str, Any] = first["links"]["next"]
    assert nxt["uri"] == "/nonMfaCompliantPartnerPrincipals?seekOperation=Next"
    [header] = nxt["headers"]
    assert header["key"] == "MS-ContinuationToken"
    second = get(cloud, PRINCIPALS, token, **{"MS-ContinuationToken": header["value"]}).json()
    assert [i["upn"] for i in first["items"] + second["items"]] == [
        f"user{n}@example.test" for n in range(4)]
    assert get(cloud, PRINCIPALS, token, **{"MS-ContinuationToken": "bogus"}).status_code == 400
    # The product's reader follows every page, from the relative link, on our endpoint only.
    read = pc.non_mfa_compliant_principals(cloud.partner_center_endpoint, token)
    assert [p.upn for p in read] == [f"user{n}@example.test" for n in range(5)]
    assert all(p.last_seen and p.last_seen.tzinfo for p in read)


def test_the_products_adoption_reader(cloud: CloudDouble, partner: Partner, token: str) -> None:
    cloud.partner_center.reports.record_non_mfa_request(
        partner.tenant.id, partner.app.app_id, partner.admin.upn, ago(cloud, days=1))
    today = cloud.clock.now().date()
    rows = pc.application_mfa_adoption(cloud.partner_center_endpoint, token,
                                       today - dt.timedelta(days=7), today)
    [yesterday] = [r for r in rows if r.login_date == today - dt.timedelta(days=1)]
    assert (yesterday.application_id, yesterday.without_mfa) == (partner.app.app_id, 1)


def test_app_only_tokens_cannot_read_the_reports(cloud: CloudDouble, partner: Partner) -> None:
    cloud.add_service_principal(partner.tenant.id, partner.app.app_id)
    app_only = ClientSecretCredential(
        partner.tenant.id, partner.app.app_id, partner.secret,
        authority=cloud.authority_host, disable_instance_discovery=True,
    ).get_token(f"{wk.PARTNER_CENTER_RESOURCE}/.default").token
    for path in (PRINCIPALS, ADOPTION, REQUESTS):
        response = get(cloud, path, app_only)
        assert response.status_code == 403 and response.json()["code"] == 900403
