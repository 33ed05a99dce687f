"""The security defaults dynamic provider against the cloud double's Microsoft Graph, with the real
azure-identity credential and HTTP stack: what a partner's tenant looks like after ``pulumi up``,
``pulumi refresh`` and ``pulumi destroy``."""

from __future__ import annotations

import base64
import subprocess
import sys
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from pulumi.dynamic.dynamic import serialize_provider

from clouddouble import CloudDouble
from foundation import wellknown as wk
from foundation.errors import ConfigError, ServiceError, SignInError
from infra.mfa_enforcement import RESOURCE_ID, SecurityDefaultsProvider
from tests.support import Partner, make_partner

POLICY_WRITER = (
    wk.MICROSOFT_GRAPH_APP_ID,
    [(wk.GRAPH_POLICY_READ_WRITE_CONDITIONAL_ACCESS_ROLE, "Role")],
)
GRAPH_POLICY_PATH = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
CA_PATH = "/v1.0/identity/conditionalAccess/policies"


def deployer(cloud: CloudDouble, monkeypatch: pytest.MonkeyPatch, *, allowed: bool) -> Partner:
    """A partner tenant whose deploying identity (a pipeline app, through the AZURE_* variables
    DefaultAzureCredential reads) may or may not manage policies."""
    partner = make_partner(cloud, access=[POLICY_WRITER] if allowed else [])
    cloud.grant_admin_consent(partner.tenant.id, partner.app.app_id)
    monkeypatch.setenv("AZURE_TENANT_ID", partner.tenant.id)
    monkeypatch.setenv("AZURE_CLIENT_ID", partner.app.app_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", partner.secret)
    return partner


@pytest.fixture
def partner(cloud: CloudDouble, monkeypatch: pytest.MonkeyPatch) -> Partner:
    return deployer(cloud, monkeypatch, allowed=True)


def state(outs: dict[str, Any]) -> dict[str, Any]:
    """What the engine keeps and hands back to diff/update/delete: the outputs."""
    return dict(outs)


def test_up_switches_security_defaults_on_and_destroy_switches_them_back_off(
    partner: Partner,
) -> None:
    provider = SecurityDefaultsProvider()
    partner.tenant.security_defaults = False

    created = provider.create({"enabled": True, "cloud": "public"})
    assert created.id == RESOURCE_ID
    assert partner.tenant.security_defaults is True
    assert created.outs == {
        "enabled": True,
        "cloud": "public",
        "isEnabled": True,
        "previousIsEnabled": False,
    }

    provider.delete(created.id, state(created.outs or {}))
    assert partner.tenant.security_defaults is False


def test_destroy_leaves_security_defaults_on_when_they_were_on_before(
    partner: Partner, cloud: CloudDouble
) -> None:
    provider = SecurityDefaultsProvider()
    assert partner.tenant.security_defaults is True  # Entra's default for new tenants
    created = provider.create({"enabled": True, "cloud": "public"})
    assert (created.outs or {})["previousIsEnabled"] is True
    cloud.clear_requests()
    provider.delete(created.id, state(created.outs or {}))
    assert partner.tenant.security_defaults is True
    patches = [r for r in cloud.requests if r.method == "PATCH"]
    assert patches == []


def test_switching_off_for_conditional_access_is_undone_on_destroy(partner: Partner) -> None:
    provider = SecurityDefaultsProvider()
    created = provider.create({"enabled": False, "cloud": "public"})
    assert partner.tenant.security_defaults is False
    provider.delete(created.id, state(created.outs or {}))
    assert partner.tenant.security_defaults is True


def test_refresh_sees_a_portal_change_and_the_next_up_reverts_it(partner: Partner) -> None:
    provider = SecurityDefaultsProvider()
    partner.tenant.security_defaults = False
    created = provider.create({"enabled": True, "cloud": "public"})
    inputs = {"enabled": True, "cloud": "public"}
    assert provider.diff(created.id, state(created.outs or {}), inputs).changes is False

    partner.tenant.security_defaults = False  # someone turned them off in the portal
    refreshed = provider.read(created.id, state(created.outs or {}))
    assert (refreshed.outs or {})["isEnabled"] is False
    assert (refreshed.outs or {})["previousIsEnabled"] is False
    diff = provider.diff(created.id, state(refreshed.outs or {}), inputs)
    assert diff.changes is True and not diff.replaces

    updated = provider.update(created.id, state(refreshed.outs or {}), inputs)
    assert partner.tenant.security_defaults is True
    # Still the value from before the stack existed: destroy restores that, not the drift.
    assert (updated.outs or {})["previousIsEnabled"] is False


def test_a_cloud_change_replaces_the_resource(partner: Partner) -> None:
    provider = SecurityDefaultsProvider()
    olds = {"enabled": True, "cloud": "public", "isEnabled": True, "previousIsEnabled": False}
    diff = provider.diff(RESOURCE_ID, olds, {"enabled": True, "cloud": "usgov"})
    assert diff.changes is True and diff.replaces == ["cloud"]
    assert diff.delete_before_replace is True


def test_check_refuses_inputs_the_provider_cannot_apply() -> None:
    result = SecurityDefaultsProvider().check({}, {"enabled": "yes", "cloud": "germany"})
    assert sorted(f.property for f in result.failures) == ["cloud", "enabled"]
    assert SecurityDefaultsProvider().check({}, {"enabled": True, "cloud": "china"}).failures == []


def test_an_identity_without_policy_rights_gets_the_permission_to_ask_for(
    cloud: CloudDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = deployer(cloud, monkeypatch, allowed=False)
    with pytest.raises(SignInError) as caught:
        SecurityDefaultsProvider().create({"enabled": True, "cloud": "public"})
    message = caught.value.one_line()
    assert "refused GET security defaults (403)" in message
    assert "Policy.ReadWrite.SecurityDefaults" in message
    assert partner.secret not in message
    assert partner.tenant.security_defaults is True


def test_graph_outage_is_a_service_error_after_retries(
    partner: Partner, cloud: CloudDouble
) -> None:
    cloud.inject_fault(GRAPH_POLICY_PATH, status=503, count=10, retry_after=0, service="graph")
    with pytest.raises(ServiceError) as caught:
        SecurityDefaultsProvider().create({"enabled": True, "cloud": "public"})
    assert "answered 503" in caught.value.one_line()
    assert partner.tenant.security_defaults is True


def test_the_provider_unpickles_by_reference_in_a_fresh_process(tmp_path: Any) -> None:
    """Pulumi's dynamic-provider host is another process: it must find the class by import
    (``infra`` is an installed package), not need this test's sys.path."""
    blob = serialize_provider(SecurityDefaultsProvider())
    code = (
        "import base64, sys, dill; "
        "p = dill.loads(base64.b64decode(sys.argv[1])); "
        "print(type(p).__module__, type(p).__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, blob],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["infra.mfa_enforcement", "SecurityDefaultsProvider"]
    # By reference: the pickle names the class; it does not carry its code.
    assert b"GraphPolicyClient" not in base64.b64decode(blob)


def test_a_refusal_graph_explains_is_passed_on_with_its_reason(
    partner: Partner, cloud: CloudDouble
) -> None:
    cloud.inject_fault(GRAPH_POLICY_PATH, status=400, count=1, method="PATCH", service="graph")
    partner.tenant.security_defaults = False
    with pytest.raises(ConfigError) as caught:
        SecurityDefaultsProvider().create({"enabled": True, "cloud": "public"})
    message = caught.value.one_line()
    assert "refused PATCH security defaults (400" in message
    assert "choose mfaEnforcement conditionalAccess" in message
    assert partner.tenant.security_defaults is False


def test_security_defaults_cannot_be_switched_on_over_an_enabled_policy(
    partner: Partner, cloud: CloudDouble
) -> None:
    """The tenant already enforces MFA with its own Conditional Access policy: Entra refuses
    security defaults (the double as Learn documents it), and the user learns which choice to
    make instead of a retry that cannot work."""
    partner.tenant.security_defaults = False
    partner.tenant.ca_policies.append(
        {"id": "existing", "displayName": "Partner's own MFA policy", "state": "enabled"}
    )
    with pytest.raises(ConfigError) as caught:
        SecurityDefaultsProvider().create({"enabled": True, "cloud": "public"})
    message = caught.value.one_line()
    assert "refused PATCH security defaults (400" in message
    assert "Conditional Access policies are enabled" in message
    assert "choose mfaEnforcement conditionalAccess" in message
    assert partner.tenant.security_defaults is False


def test_the_program_order_report_only_then_defaults_off_then_enabled_is_what_entra_allows(
    partner: Partner, cloud: CloudDouble
) -> None:
    """infra.mfa's order against the double's Entra rules: the default report-only policy is
    created with security defaults still on; switching it to `enabled` first turns them off
    (SecurityDefaults(enabled=False), which the policy depends on). Without that step Entra
    refuses the enabled policy."""
    token = ClientSecretCredential(
        partner.tenant.id, partner.app.app_id, partner.secret,
        authority=cloud.authority_host, disable_instance_discovery=True,
    ).get_token("https://graph.microsoft.com/.default").token

    def create_policy(state: str) -> requests.Response:
        body = {"displayName": f"require MFA ({state})", "state": state,
                "conditions": {"users": {"includeUsers": ["All"]}},
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
        return requests.post(f"{cloud.graph_endpoint}{CA_PATH}", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})

    assert partner.tenant.security_defaults is True
    assert create_policy("enabledForReportingButNotEnforced").status_code == 201
    assert create_policy("enabled").status_code == 400
    created = SecurityDefaultsProvider().create({"enabled": False, "cloud": "public"})
    assert partner.tenant.security_defaults is False
    assert create_policy("enabled").status_code == 201
    # pulumi destroy removes the policies first, then restores what was there before.
    partner.tenant.ca_policies.clear()
    SecurityDefaultsProvider().delete(created.id, state(created.outs or {}))
    assert partner.tenant.security_defaults is True
