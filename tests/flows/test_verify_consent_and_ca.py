"""`csp-secure-app verify`'s `consent` and `conditional-access` checks, end to end as
subprocesses against the cloud double: healthy, warning, broken, skipped (no Graph request for
it) and unknown when Graph refuses the runner's identity a permission (named, with --skip)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from clouddouble import CloudDouble
from foundation import wellknown as wk
from tests.support import PartnerWorld, assert_no_secret, grant_graph_roles, seed_in_process

READERS = ("Application.Read.All", "DelegatedPermissionGrant.Read.All",
           "RoleManagement.Read.Directory", "GroupMember.Read.All", "Policy.Read.All")
#: The other outlook checks are other modules' business: kept out of these exit codes.
OTHERS = ("--skip", "partner-center-mfa", "--skip", "liveness")
CONSENT_READS = ("/v1.0/serviceprincipals", "/v1.0/oauth2permissiongrants",
                 "/v1.0/rolemanagement", "/v1.0/groups")
CA_READS = ("/v1.0/identity/conditionalaccess/policies",
            "/v1.0/policies/identitysecuritydefaultsenforcementpolicy")


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    world = seed_in_process(PartnerWorld(cloud, tmp_path / "home"))
    grant_graph_roles(cloud, world.tenant.id, world.writer_app.app_id, *READERS)
    return world


def runner_may_only(world: PartnerWorld, *roles: str) -> None:
    """The runner's identity keeps only ``roles`` (an admin removed the others' consent)."""
    world.cloud.revoke_consent(world.tenant.id, world.writer_app.app_id)
    grant_graph_roles(world.cloud, world.tenant.id, world.writer_app.app_id, *roles)


def verify(world: PartnerWorld, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                    dict[str, Any]]:
    result = world.invoke("verify", "--format", "json", *OTHERS, *args)
    tokens = [v.value for v in world.vault.secret_versions(world.secret_name)]
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *tokens])
    assert "Traceback" not in result.stderr
    return result, json.loads(result.stdout)


def named(report: dict[str, Any], name: str) -> dict[str, Any]:
    [check] = [c for c in report["checks"] if c["name"] == name]
    return check


def policy(world: PartnerWorld, name: str, *, state: str = "enabled", users: Any = None,
           apps: Any = None, grant: Any = None, session: Any = None,
           locations: Any = None, client_apps: tuple[str, ...] = ("all",)) -> dict[str, Any]:
    """A Conditional Access policy in the partner tenant, as an admin would create it (Graph's
    conditionalAccessPolicy shape), security defaults switched off first as Entra requires."""
    objects = world.cloud.graph.objects
    objects.set_security_defaults(world.tenant.id, False)
    conditions: dict[str, Any] = {
        "users": users or {"includeUsers": ["All"]},
        "applications": apps or {"includeApplications": ["All"]},
        "clientAppTypes": list(client_apps)}
    if locations:
        conditions["locations"] = locations
    return objects.add_ca_policy(world.tenant.id, {
        "displayName": name, "state": state, "conditions": conditions,
        "grantControls": grant, "sessionControls": session})


# -- consent -----------------------------------------------------------------------------------

def test_consent_healthy(world: PartnerWorld) -> None:
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    consent = named(report, "consent")
    assert consent["status"] == "ok", consent
    assert "user_impersonation granted" in consent["detail"]
    assert f"{world.admin.upn}, who consented, is a Global Administrator and an Admin Agent" in (
        consent["detail"])
    assert named(report, "conditional-access")["status"] == "ok"


def test_one_graph_token_serves_the_secret_expiry_and_both_checks(world: PartnerWorld) -> None:
    world.cloud.clear_requests()
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    assert named(report, "Key Vault client app secret")["status"] == "ok"
    assert named(report, "consent")["status"] == named(report, "conditional-access")["status"] \
        == "ok"
    tokens = [r for r in world.cloud.requests if r.path.endswith("/oauth2/v2.0/token")]
    # The Key Vault client app's (the vault read), the redemption, and one runner's Graph token.
    assert len(tokens) == 3, [(r.method, r.path) for r in tokens]


def test_an_admin_who_left_admin_agents_is_a_warning_naming_who_can_consent(
        world: PartnerWorld) -> None:
    objects = world.cloud.graph.objects
    objects.remove_member(world.tenant.id, wk.ADMIN_AGENTS_GROUP, world.admin.object_id)
    result, report = verify(world)
    assert result.returncode == 8, result.stdout + result.stderr
    consent = named(report, "consent")
    assert consent["status"] == "warning"
    assert "no longer an Admin Agent (a member of AdminAgents)" in consent["detail"]
    assert "the stored token still works" in consent["detail"]
    # The runner may not read users (no User.Read.All): the one who can is named by object id.
    assert f"someone who is both: {world.no_mfa.object_id}" in consent["detail"]
    assert consent["fix"].startswith(f"the next 'csp-secure-app consent' must be run by "
                                     f"{world.no_mfa.object_id}")
    assert "warning: consent:" in result.stderr


def test_an_admin_who_lost_global_admin_with_no_one_left_to_consent(world: PartnerWorld) -> None:
    objects = world.cloud.graph.objects
    objects.remove_role(world.tenant.id, world.admin.object_id)
    objects.remove_member(world.tenant.id, wk.ADMIN_AGENTS_GROUP, world.no_mfa.object_id)
    result, report = verify(world)
    assert result.returncode == 8
    consent = named(report, "consent")
    assert "is no longer a Global Administrator:" in consent["detail"]
    assert f"someone who is both (no one in {world.domain} is, now)" in consent["detail"]
    assert "make a Global Administrator an Admin Agent" in consent["fix"]


def disable_sp(world: PartnerWorld) -> None:
    world.cloud.graph.objects.disable_service_principal(world.tenant.id, world.cpv.app_id)


def delete_sp(world: PartnerWorld) -> None:
    world.cloud.graph.objects.delete_service_principal(world.tenant.id, world.cpv.app_id)


def revoke_grant(world: PartnerWorld) -> None:
    world.cloud.revoke_consent(world.tenant.id, world.cpv.app_id)


@pytest.mark.parametrize(("breaks", "details", "fix"), [
    (disable_sp, ("is disabled", "AADSTS7000112"),
     "Enterprise applications > CPV automation platform"),
    (delete_sp, ("the CPV app {app} has no service principal", "AADSTS65001"),
     "runs 'csp-secure-app consent' again"),
    (revoke_grant, ("delegated grant on Partner Center is gone", "AADSTS65001"),
     "csp-secure-app consent"),
], ids=["disabled service principal", "deleted service principal", "grant revoked"])
def test_a_consent_the_next_redemption_fails_on_is_broken(
        world: PartnerWorld, breaks: Any, details: tuple[str, ...], fix: str) -> None:
    breaks(world)
    result, report = verify(world)
    assert result.returncode == 9, result.stdout + result.stderr
    consent = named(report, "consent")
    assert consent["status"] == "broken"
    for detail in details:
        assert detail.format(app=world.cpv.app_id) in consent["detail"]
    assert fix in consent["fix"]
    assert "broken: consent:" in result.stderr


def test_without_a_redemption_who_consented_is_not_guessed(world: PartnerWorld) -> None:
    """The redemption fails (MFA must be redone): the grant and the service principal can still
    be read, the consenting admin's roles cannot, and the check says so instead of "ok"."""
    world.cloud.require_mfa_again(world.admin.upn)
    made = policy(world, "Contoso baseline",
                  session={"signInFrequency": {"isEnabled": True, "type": "hours", "value": 8}})
    result, report = verify(world)
    assert result.returncode == 9  # the redemption's own check
    consent = named(report, "consent")
    assert consent["status"] == "unknown"
    assert "who consented is not known" in consent["detail"]
    check = named(report, "conditional-access")
    assert check["status"] == "broken" and made["id"] in check["detail"]
    assert "the consenting admin (unknown: the token could not be redeemed)" in check["detail"]


def test_consent_skipped_makes_no_graph_request_for_it(world: PartnerWorld) -> None:
    world.cloud.clear_requests()
    result, report = verify(world, "--skip", "consent")
    assert result.returncode == 0, result.stdout + result.stderr
    assert named(report, "consent") == {"name": "consent", "status": "skipped",
                                        "detail": "skipped (--skip consent)", "fix": None}
    graph = [r.path.lower() for r in world.cloud.requests if r.service == "graph"]
    assert not [p for p in graph if p.startswith(CONSENT_READS)], graph
    assert any(p.startswith(CA_READS) for p in graph)


# -- conditional-access ------------------------------------------------------------------------

def test_no_policy_and_security_defaults_on_is_healthy(world: PartnerWorld) -> None:
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    check = named(report, "conditional-access")
    assert check["status"] == "ok", check
    assert "no Conditional Access policy would end the stored token" in check["detail"]
    assert "security defaults on" in check["detail"]


def test_policies_that_do_not_reach_the_token_are_healthy(world: PartnerWorld) -> None:
    group = world.cloud.graph.objects.add_group(world.tenant.id, "Break glass",
                                                [world.admin.object_id])
    policy(world, "admins excluded", users={"includeUsers": ["All"],
                                           "excludeGroups": [group.id]},
           session={"signInFrequency": {"isEnabled": True, "type": "hours", "value": 4}})
    policy(world, "MFA or compliant", grant={"operator": "OR",
                                             "builtInControls": ["mfa", "compliantDevice"]})
    policy(world, "Partner Center excluded",
           apps={"includeApplications": ["All"],
                 "excludeApplications": [wk.PARTNER_CENTER_APP_ID]},
           grant={"operator": "OR", "builtInControls": ["block"]})
    policy(world, "legacy clients", grant={"operator": "OR", "builtInControls": ["block"]},
           client_apps=("exchangeActiveSync", "other"))
    policy(world, "long frequency",
           session={"signInFrequency": {"isEnabled": True, "type": "days", "value": 180}})
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    check = named(report, "conditional-access")
    assert check["status"] == "ok", check
    assert "(5 enabled, 2 covering the admin for Partner Center)" in check["detail"]
    assert "sign-in frequency 180 days: the token ends 180 days after the consent" in (
        check["detail"])
    assert "security defaults off" in check["detail"]


@pytest.mark.parametrize(("controls", "code", "what"), [
    ({"session": {"signInFrequency": {"isEnabled": True, "type": "hours", "value": 12}}},
     "AADSTS70043", "sets sign-in frequency 12 hours"),
    ({"session": {"signInFrequency": {"isEnabled": True, "frequencyInterval": "everyTime"}}},
     "AADSTS70043", "sets sign-in frequency 'every time'"),
    ({"grant": {"operator": "OR", "builtInControls": ["compliantDevice"]}},
     "AADSTS53000", "requires a compliant device (AADSTS53000), which the platform's server"),
    ({"grant": {"operator": "AND", "builtInControls": ["mfa", "domainJoinedDevice"]}},
     "AADSTS53001", "requires a hybrid Microsoft Entra joined device (AADSTS53001)"),
    ({"grant": {"operator": "OR", "builtInControls": ["block"]},
      "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}},
     "AADSTS53003", "blocks access (AADSTS53003) from any location except trusted locations"),
    ({"session": {"secureSignInSession": {"isEnabled": True}}},
     "AADSTS530084", "requires token protection"),
])
def test_a_covering_policy_that_ends_the_token_is_broken(world: PartnerWorld,
                                                         controls: dict[str, Any], code: str,
                                                         what: str) -> None:
    made = policy(world, "Contoso baseline", **controls)
    result, report = verify(world)
    assert result.returncode == 9, result.stdout + result.stderr
    check = named(report, "conditional-access")
    assert check["status"] == "broken"
    assert f"policy 'Contoso baseline' ({made['id']}) {what}" in check["detail"]
    assert code in check["detail"]
    assert check["fix"].startswith(f"exclude {world.admin.upn} from policy 'Contoso baseline' "
                                   f"({made['id']}), or exclude Partner Center "
                                   f"({wk.PARTNER_CENTER_APP_ID})")
    assert f"excluding only the CPV app {world.cpv.app_id} does not help" in check["fix"]


def test_a_policy_reaching_the_admin_through_a_role_and_naming_the_cpv_app(
        world: PartnerWorld) -> None:
    global_admins = {"includeRoles": [wk.GLOBAL_ADMINISTRATOR_ROLE_TEMPLATE]}
    made = policy(world, "CPV app devices", users=global_admins,
                  apps={"includeApplications": [world.cpv.app_id]},
                  grant={"operator": "OR", "builtInControls": ["compliantDevice"]})
    world.cloud.clear_requests()
    result, report = verify(world)
    assert result.returncode == 9
    # Both checks need the admin's roles: Graph is asked once.
    roles = [r for r in world.cloud.requests if "rolemanagement" in r.path.lower()
             and "principalId" in unquote(r.query)]
    assert len(roles) == 1, roles
    check = named(report, "conditional-access")
    assert "AADSTS53000" in check["detail"]
    assert check["fix"] == (f"remove the CPV app {world.cpv.app_id} from the target resources "
                            f"of policy 'CPV app devices' ({made['id']})")
    assert check["detail"].startswith(f"1 enabled policy covers {world.admin.upn} for Partner "
                                      f"Center: policy 'CPV app devices' ({made['id']}) requires "
                                      "a compliant device (AADSTS53000)")


def test_excluding_only_the_cpv_app_still_leaves_the_token_covered(world: PartnerWorld) -> None:
    policy(world, "All but the CPV app",
           apps={"includeApplications": ["All"], "excludeApplications": [world.cpv.app_id]},
           session={"signInFrequency": {"isEnabled": True, "type": "days", "value": 7}})
    result, report = verify(world)
    assert result.returncode == 9
    assert "sets sign-in frequency 7 days" in named(report, "conditional-access")["detail"]


def test_report_only_and_persistent_browser_are_warnings(world: PartnerWorld) -> None:
    made = policy(world, "Frequency trial", state="enabledForReportingButNotEnforced",
                  session={"signInFrequency": {"isEnabled": True, "type": "hours", "value": 1}})
    policy(world, "No persistent browser",
           session={"persistentBrowser": {"isEnabled": True, "mode": "never"}})
    result, report = verify(world)
    assert result.returncode == 8, result.stdout + result.stderr
    check = named(report, "conditional-access")
    assert check["status"] == "warning"
    assert check["detail"].startswith("1 enabled policy covers")
    assert (f"report-only policy 'Frequency trial' ({made['id']}) (not enforced; once enabled "
            "it) sets sign-in frequency 1 hours") in check["detail"]
    assert "persistent browser session 'never'" in check["detail"]
    assert "warning: conditional-access:" in result.stderr


def test_conditional_access_skipped_makes_no_graph_request_for_it(world: PartnerWorld) -> None:
    policy(world, "Contoso baseline", grant={"operator": "OR", "builtInControls": ["block"]})
    world.cloud.clear_requests()
    result, report = verify(world, "--skip", "conditional-access")
    assert result.returncode == 0, result.stdout + result.stderr
    assert named(report, "conditional-access")["status"] == "skipped"
    graph = [r.path.lower() for r in world.cloud.requests if r.service == "graph"]
    assert not [p for p in graph if p.startswith(CA_READS)], graph
    assert named(report, "consent")["status"] == "ok"


# -- both ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("permission", "name", "other"), [
    ("DelegatedPermissionGrant.Read.All", "consent", "conditional-access"),
    ("Policy.Read.All", "conditional-access", "consent"),
])
def test_a_refused_read_is_unknown_naming_the_permission(world: PartnerWorld, permission: str,
                                                         name: str, other: str) -> None:
    runner_may_only(world, *(r for r in READERS if r != permission))
    result, report = verify(world)
    assert result.returncode == 0, result.stdout + result.stderr
    check = named(report, name)
    assert check["status"] == "unknown"
    assert "(403 Authorization_RequestDenied)" in check["detail"]
    assert f"needs {permission}" in check["detail"]
    assert f"application permission {permission}, with admin consent" in check["fix"]
    assert check["fix"].endswith(f"or pass --skip {name} where the tenant cannot serve it")
    assert f"unknown: {name}:" in result.stderr
    assert named(report, other)["status"] == "ok"
