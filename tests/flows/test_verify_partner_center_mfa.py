"""`csp-secure-app verify`'s `partner-center-mfa` check, end to end as subprocesses against the
cloud double: Partner Center's own verdict on the last 7 days (its MFA-compliance reports, read
with the redemption's App+User token). Healthy, a warning for other principals, broken for the
CPV app's own requests without MFA (8 days ago no longer counts), skipped (no report requested),
unknown when Partner Center does not offer the reports (403) or the redemption failed."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from tests.support import PartnerWorld, assert_no_secret, seed_in_process

NAME = "partner-center-mfa"
#: The other outlook checks are other modules' business: kept out of these exit codes.
OTHERS = ("--skip", "consent", "--skip", "conditional-access", "--skip", "liveness")
REPORTS = ("/v1/nonmfacompliantpartnerprincipals", "/v1/applicationmfaadoptionstatus")
OTHER_APP = "9b0c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


def run(world: PartnerWorld, *args: str) -> subprocess.CompletedProcess[str]:
    result = world.invoke("verify", *OTHERS, *args)
    tokens = [v.value for v in world.vault.secret_versions(world.secret_name)]
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *tokens])
    assert not JWT.search(result.stdout + result.stderr), "a token appeared in the output"
    assert "Traceback" not in result.stderr
    return result


def verify(world: PartnerWorld, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                    dict[str, Any]]:
    result = run(world, "--format", "json", *args)
    return result, json.loads(result.stdout)


def mfa_check(report: dict[str, Any]) -> dict[str, Any]:
    [check] = [c for c in report["checks"] if c["name"] == NAME]
    return check


def ago(world: PartnerWorld, **delta: float) -> dt.datetime:
    return world.cloud.clock.now() - dt.timedelta(**delta)


def report_requests(cloud: CloudDouble) -> list[str]:
    return [r.path for r in cloud.requests if r.path.lower().startswith(REPORTS)]


def test_healthy_when_partner_center_saw_nothing_without_mfa(world: PartnerWorld) -> None:
    # Earlier MFA requests of the CPV app (the consent's own Partner Center call among them).
    world.cloud.partner_center.reports.record_request(
        world.tenant.id, world.cpv.app_id, world.admin.upn, ago(world, days=2))
    world.cloud.clear_requests()
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    check = mfa_check(report)
    assert check["status"] == "ok", check
    assert check["detail"].startswith("Partner Center saw no sign-in or App+User request "
                                      "without MFA in the last 7 days")
    assert "App+User requests in the last 7 days all carried MFA" in check["detail"]
    assert sorted(p.lower() for p in report_requests(world.cloud)) == sorted(REPORTS)
    assert NAME not in result.stderr


def test_other_principals_without_mfa_are_a_warning_naming_them(world: PartnerWorld) -> None:
    reports = world.cloud.partner_center.reports
    for n in range(5):
        reports.record_non_mfa_request(world.tenant.id, OTHER_APP, f"ops{n}@{world.domain}",
                                       ago(world, days=1, minutes=n))
    reports.record_non_mfa_request(world.tenant.id, OTHER_APP, world.no_mfa.upn,
                                   ago(world, days=3))
    result, report = verify(world)
    assert result.returncode == 8, result.stdout + result.stderr
    check = mfa_check(report)
    assert check["status"] == "warning"
    detail = check["detail"]
    assert "the CPV app's" in detail and "all carried MFA" in detail
    # Counted, the first few named (most recent first), the rest counted.
    assert (f"6 users (ops0@{world.domain}, ops1@{world.domain}, ops2@{world.domain}, and 3 "
            "more)") in detail
    assert f"1 other app ({OTHER_APP}: 6 requests)" in detail
    assert "900421" in detail
    assert "require MFA for these users" in check["fix"]
    assert f"warning: {NAME}:" in result.stderr


def test_the_cpv_apps_requests_without_mfa_are_broken(world: PartnerWorld) -> None:
    world.cloud.partner_center.reports.record_non_mfa_request(
        world.tenant.id, world.cpv.app_id, world.no_mfa.upn, ago(world, days=2))
    result, report = verify(world)
    assert result.returncode == 9, result.stdout + result.stderr
    check = mfa_check(report)
    assert check["status"] == "broken"
    day = ago(world, days=2).date().isoformat()
    assert re.search(r"Partner Center counted 1 of the CPV app's \d+ App\+User requests in the "
                     rf"last 7 days without MFA, the latest on {day}", check["detail"])
    assert f"users Partner Center saw without MFA: {world.no_mfa.upn}" in check["detail"]
    assert "csp-secure-app consent" in check["fix"] and "/v1/partnerRequests" in check["fix"]
    assert f"broken: {NAME}:" in result.stderr
    table = run(world)
    assert table.returncode == 9
    assert re.search(rf"^{NAME}\s+BROKEN\s+Partner Center counted 1 ", table.stdout, re.M)


def test_a_request_without_mfa_8_days_ago_no_longer_counts(world: PartnerWorld) -> None:
    world.cloud.partner_center.reports.record_non_mfa_request(
        world.tenant.id, world.cpv.app_id, world.no_mfa.upn, ago(world, days=8))
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mfa_check(report)["status"] == "ok"


def test_skipped_asks_partner_center_for_no_report(world: PartnerWorld) -> None:
    world.cloud.partner_center.reports.record_non_mfa_request(
        world.tenant.id, world.cpv.app_id, world.no_mfa.upn, ago(world, days=1))
    world.cloud.clear_requests()
    result, report = verify(world, "--skip", NAME)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mfa_check(report) == {"name": NAME, "status": "skipped",
                                 "detail": f"skipped (--skip {NAME})", "fix": None}
    assert report_requests(world.cloud) == []


def test_reports_partner_center_does_not_offer_are_unknown(world: PartnerWorld) -> None:
    body = json.dumps({"code": "403", "description": "Forbidden", "data": [],
                       "source": "PartnerFD"}).encode()
    world.cloud.inject_fault(r"(?i)^/v1/(nonmfacompliantpartnerprincipals|"
                             r"applicationmfaadoptionstatus)", status=403, count=10,
                             service="partnercenter", body=body, retry_after=None)
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    check = mfa_check(report)
    assert check["status"] == "unknown"
    assert "Partner Center refused /v1/applicationmfaadoptionstatus (403 Forbidden)" in (
        check["detail"])
    assert check["fix"].endswith(f"or pass --skip {NAME} where the tenant cannot serve it")


def test_without_a_redemption_the_reports_are_not_asked(world: PartnerWorld) -> None:
    world.cloud.require_mfa_again(world.admin.upn)
    world.cloud.clear_requests()
    result, report = verify(world)
    assert result.returncode == 9, "the redemption's own check is broken"
    check = mfa_check(report)
    assert check["status"] == "unknown"
    assert check["detail"] == ("Partner Center's MFA reports need a working token; see the "
                               "redemption check")
    assert report_requests(world.cloud) == []
