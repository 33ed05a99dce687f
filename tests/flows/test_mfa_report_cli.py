"""`invoke mfa-report` end to end, as a subprocess, against the cloud double's Graph: who in the
partner tenant can satisfy MFA, admins first, exit 9 while an admin cannot. The double pages the
report two users at a time, so every run here follows ``@odata.nextLink``; Graph picks the page
size, so the scale tests (issue 12) make it 1 for thousands of pages, and read 10,000 users at
the double's default. 100,000 users are measured in bench/mfa_scale.py, not here."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from clouddouble import CloudDouble
from clouddouble.graph import UNSUPPORTED_ROLE, graph_error_body
from tests.support import PartnerWorld, assert_no_secret, grant_graph_roles, graph_reader

URD = "/v1.0/reports/authenticationMethods/userRegistrationDetails"


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    """The partner tenant: the MFA admin and the no-MFA admin of PartnerWorld, plus two members
    with and without MFA; the pipeline identity may read the report."""
    world = PartnerWorld(cloud, tmp_path / "home")
    for name, mfa in (("zoe", True), ("bob", False)):
        cloud.add_user(world.tenant.id, f"{name}@{world.domain}", mfa=mfa, admin=False)
    grant_graph_roles(cloud, world.tenant.id, world.writer_app.app_id, "AuditLog.Read.All")
    return world


def report(world: PartnerWorld, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = world.invoke("mfa-report", *args, env=world.env(**env))
    extra = [v for k, v in env.items() if k.endswith("SECRET")]
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *extra])
    assert "Traceback" not in result.stderr
    return result


def users_in_table(stdout: str) -> list[list[str]]:
    header, *rows = stdout.strip().splitlines()
    assert header.split() == ["USER", "ADMIN", "MFA", "METHODS"]
    return [row.split() for row in rows]


def test_admin_without_mfa_is_exit_9_and_listed_first(world: PartnerWorld) -> None:
    world.cloud.clear_requests()
    result = report(world)
    assert result.returncode == 9, result.stderr
    rows = users_in_table(result.stdout)
    d = world.domain
    assert [r[0] for r in rows] == [f"nomfa@{d}", f"admin@{d}", f"bob@{d}", f"zoe@{d}"]
    assert [r[1:3] for r in rows] == [["yes", "NO"], ["yes", "yes"], ["no", "NO"], ["no", "yes"]]
    assert rows[0][3] == "-" and "microsoftAuthenticatorPush" in rows[1][3]
    [line] = result.stderr.strip().splitlines()
    assert f"nomfa@{d}" in line and f"admin@{d}" not in line
    assert "Fix:" in line and "aka.ms/mfasetup" in line
    pages = [r for r in world.cloud.requests if r.service == "graph" and r.path == URD]
    assert len(pages) == 2, "four users, two per page: the second page must be followed"
    assert "$skiptoken" in unquote(pages[1].query)


def test_json_lists_every_user_and_the_admins_to_fix(world: PartnerWorld) -> None:
    result = report(world, "--format", "json")
    assert result.returncode == 9, result.stderr
    out = json.loads(result.stdout)
    d = world.domain
    assert out["admins_without_mfa"] == [f"nomfa@{d}"]
    assert "adminsWithoutMfa" not in out, "one key casing in every JSON result (issue 11)"
    users = {u["user"]: u for u in out["users"]}
    assert set(users) == {f"nomfa@{d}", f"admin@{d}", f"bob@{d}", f"zoe@{d}"}
    assert users[f"admin@{d}"] == {"user": f"admin@{d}", "admin": True, "mfa_registered": True,
                                   "methods": users[f"admin@{d}"]["methods"]}
    assert users[f"admin@{d}"]["methods"] and users[f"bob@{d}"]["methods"] == []
    assert [u["admin"] for u in out["users"]] == [True, True, False, False]


def test_tenant_whose_admins_all_have_mfa_is_exit_0(cloud: CloudDouble, tmp_path: Path) -> None:
    world = PartnerWorld(cloud, tmp_path / "home")
    tenant = cloud.add_tenant(domain=f"fabrikam{uuid.uuid4().hex[:8]}.onmicrosoft.com")
    d = tenant.initial_domain
    for name, mfa, admin in [("ann", True, True), ("ben", True, True), ("cat", False, False),
                             ("dan", True, False), ("eve", False, False)]:
        cloud.add_user(tenant.id, f"{name}@{d}", mfa=mfa, admin=admin)
    env, secret = graph_reader(cloud, tenant, "AuditLog.Read.All")
    result = report(world, "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [u["user"] for u in out["users"]] == [f"{n}@{d}" for n in
                                                  ("ann", "ben", "cat", "eve", "dan")]
    assert out["admins_without_mfa"] == []
    assert result.stderr == ""
    table = report(world, **env)
    assert table.returncode == 0 and len(users_in_table(table.stdout)) == 5
    assert secret not in table.stdout + table.stderr


def test_identity_without_the_report_permission_gets_the_fix(cloud: CloudDouble,
                                                              tmp_path: Path) -> None:
    world = PartnerWorld(cloud, tmp_path / "home")
    result = report(world)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "403" in line and "AuditLog.Read.All" in line and "admin consent" in line
    assert result.stdout == ""


def test_throttled_page_is_retried_and_the_report_is_complete(world: PartnerWorld) -> None:
    world.cloud.inject_fault(URD, status=429, count=1, service="graph", retry_after=1)
    result = report(world, "--format", "json")
    assert result.returncode == 9, result.stderr
    assert len(json.loads(result.stdout)["users"]) == 4
    statuses = [r.status for r in world.cloud.requests if r.service == "graph"]
    assert 429 in statuses


def test_tenant_without_an_entra_premium_licence_is_told_so_not_sent_for_permissions(
        world: PartnerWorld) -> None:
    world.cloud.graph.set_premium(world.tenant.id, False)
    try:
        result = report(world)
    finally:
        world.cloud.graph.set_premium(world.tenant.id)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    cause, _, fix = line.partition(" Fix: ")
    assert "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in cause
    assert "Microsoft Entra ID P1 or P2" in cause and "P1 or P2" in fix
    assert "AuditLog.Read.All" not in line, "the permission is granted; it is the licence"
    assert result.stdout == ""


def test_signed_in_account_without_a_reporting_role_is_told_which_roles(
        world: PartnerWorld) -> None:
    """What Graph answers a delegated caller (e.g. `az login` as a member) without a reporting
    role; the double's own role check is in tests/double/test_double_graph.py."""
    body, content_type = graph_error_body(*UNSUPPORTED_ROLE)
    world.cloud.inject_fault(URD, status=403, count=1, retry_after=None, service="graph",
                             body=body, content_type=content_type)
    result = report(world)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    cause, _, fix = line.partition(" Fix: ")
    assert "Authentication_RequestFromUnsupportedUserRole" in cause
    assert all(role in fix for role in ("Reports Reader", "Security Reader",
                                        "Security Administrator"))
    assert result.stdout == ""


# -- scale (issue 12): any number of pages, a loop told in one line ------------------------------

@pytest.fixture(scope="module")
def big_cloud() -> Iterator[CloudDouble]:
    """A double of this module's own for the large tenants, so the session's stays small."""
    with CloudDouble() as double:
        yield double


@pytest.fixture
def big(big_cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    """PartnerWorld's two admins (one without MFA) on the module's double, a reader identity."""
    big_cloud.reset()
    world = PartnerWorld(big_cloud, tmp_path / "home")
    grant_graph_roles(big_cloud, world.tenant.id, world.writer_app.app_id, "AuditLog.Read.All")
    return world


def report_pages(world: PartnerWorld) -> int:
    return sum(1 for r in world.cloud.requests if r.service == "graph" and r.path == URD)


@pytest.mark.parametrize("pages", [200, 201])
def test_exactly_200_and_201_pages_are_all_read(big: PartnerWorld, monkeypatch: pytest.MonkeyPatch,
                                                pages: int) -> None:
    """The old bound was 200 pages, and exactly 200 already failed."""
    big.cloud.graph.add_users(big.tenant.id, pages - 2)
    monkeypatch.setattr(big.cloud.graph, "page_size", 1)
    result = report(big, "--format", "json")
    assert result.returncode == 9, result.stderr
    out = json.loads(result.stdout)
    assert len(out["users"]) == pages and out["admins_without_mfa"] == [big.no_mfa.upn]
    assert report_pages(big) == pages


def test_one_user_a_page_over_2000_users_is_read_whole(big: PartnerWorld,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    big.cloud.graph.add_users(big.tenant.id, 1_000, mfa=True)
    big.cloud.graph.add_users(big.tenant.id, 998, prefix="nomfa", mfa=False)
    monkeypatch.setattr(big.cloud.graph, "page_size", 1)
    result = report(big)
    assert result.returncode == 9, result.stderr
    rows = users_in_table(result.stdout)
    assert len(rows) == len({r[0] for r in rows}) == 2_000
    assert [r[0] for r in rows[:2]] == [big.no_mfa.upn, big.admin.upn]
    assert [r[2] for r in rows[2:1_000]] == ["NO"] * 998, "members without MFA before the rest"
    [line] = result.stderr.strip().splitlines()
    assert big.no_mfa.upn in line
    assert report_pages(big) == 2_000


def test_10000_users_at_the_default_page_size_are_read_whole(big: PartnerWorld) -> None:
    big.cloud.graph.add_users(big.tenant.id, 10_000, mfa=True)
    result = report(big, "--format", "json")
    assert result.returncode == 9, result.stderr
    out = json.loads(result.stdout)
    assert len(out["users"]) == len({u["user"] for u in out["users"]}) == 10_002
    assert out["admins_without_mfa"] == [big.no_mfa.upn]
    assert report_pages(big) == 5_001, "two users a page"


def test_a_next_link_already_followed_is_exit_5_in_one_line(world: PartnerWorld) -> None:
    """A cache or proxy that ignores the query answers every link with the same page: the
    report must stop at the repeated link, not page forever nor for 200 pages."""
    page = {"value": [{"userPrincipalName": f"admin@{world.domain}", "isAdmin": True}],
            "@odata.nextLink": f"{world.cloud.graph_endpoint}{URD}?$skiptoken=stuck"}
    world.cloud.inject_fault(URD, status=200, count=50, retry_after=None, service="graph",
                             body=json.dumps(page).encode())
    world.cloud.clear_requests()
    result = report(world)
    assert result.returncode == 5, result.stderr
    [line] = result.stderr.strip().splitlines()
    cause, _, fix = line.partition(" Fix: ")
    assert "Microsoft Graph" in cause and "already sent" in cause and "loops" in cause
    assert "proxy or cache" in fix and "GRAPH_ENDPOINT" in fix
    assert "stuck" not in line and result.stdout == ""
    assert report_pages(world) == 2, "the first page, then the link it repeats"
