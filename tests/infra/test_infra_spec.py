"""Request bodies checked against Microsoft's published API, not against ourselves.

The real program runs under Pulumi's mock engine in both access modes and every option; each Key
Vault and role-assignment registration becomes the PUT body the provider sends
(``scripts.offline.plan_engine.arm_request``) and is validated against the models generated from
Azure/azure-rest-api-specs: ``azure-mgmt-keyvault`` 14.0.0 (API 2026-02-01, TypeSpec-style
models: ``rest_field`` names, visibility, annotations) and ``azure-mgmt-authorization``'s
v2022_04_01 msrest models (``_attribute_map``, ``_validation``). Unknown property names at any
level, wrong enum values, missing required fields, read-only fields and wrong types all fail.

Then the rules the providers enforce before any call reaches Azure: redirect URIs as
terraform-provider-azuread's ``internal/helpers/tf/validation/uri.go`` checks them, and
ApplicationPassword end dates (RFC 3339, in the future).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.mgmt.authorization.v2022_04_01 import models as authorization_models
from azure.mgmt.keyvault import models as keyvault_models
from azure.mgmt.keyvault._utils.model_base import _RestField
from azure.mgmt.keyvault.models import _models as keyvault_model_module

from foundation import wellknown
from scripts.flows.plan import PlanResult
from scripts.offline.plan_engine import run_program
from scripts.offline.plan_mocks import RecordingMocks, ResourceRecord, arm_request
from scripts.policy import rules as t

TODAY = dt.date(2026, 11, 29)
TENANT = "11111111-2222-4333-8444-555555555555"
WRITER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
GROUP = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
ROBOT = "cccccccc-dddd-4eee-8fff-000000000000"
BREAK_GLASS = "99999999-8888-4777-8666-555555555555"
PIPELINE = json.dumps(
    {
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/csp-secure-app:ref:refs/heads/main",
    }
)
BASE = {
    "location": "westeurope",
    "vaultName": "kv-csp-token",
    "cspDomain": "contoso.onmicrosoft.com",
    "clientSecretRotation": "2026-11-01",
    "tenantId": TENANT,
    "allowedIpRanges": "198.51.100.0/24",
    "writerObjectIds": json.dumps(
        [
            WRITER,
            {"objectId": GROUP, "principalType": "Group"},
            {"objectId": ROBOT, "principalType": "ServicePrincipal"},
        ]
    ),
}
OPTIONS: dict[str, dict[str, str]] = {
    "plain": {},
    "in-house": {"inHouseApp": "true"},
    "pipeline": {"pipelineIdentity": PIPELINE},
    "security-defaults": {"mfaEnforcement": "securityDefaults"},
    "conditional-access": {
        "mfaEnforcement": "conditionalAccess",
        "mfaPolicyState": "enabled",
        "mfaExcludedObjectIds": BREAK_GLASS,
    },
    "everything": {
        "inHouseApp": "true",
        "pipelineIdentity": PIPELINE,
        "mfaEnforcement": "conditionalAccess",
        "deployerPrincipalType": "ServicePrincipal",
    },
    "open-network-china": {"allowedIpRanges": "", "cloud": "china", "location": "chinanorth3"},
}
#: Every access mode with every option: what "done" means in the issue.
SCENARIOS = [
    pytest.param(mode, name, id=f"{mode}-{name}")
    for mode in ("rbac", "accessPolicy")
    for name in OPTIONS
]


def scenario_config(mode: str, option: str) -> dict[str, str]:
    values = {**BASE, "accessMode": mode, **OPTIONS[option]}
    return {key: value for key, value in values.items() if value}


def run_scenario(mode: str, option: str, mocks: RecordingMocks | None = None) -> PlanResult:
    """The program's run of a scenario. Without mocks of the caller's, one run per process and
    scenario: the tests here only read it (a body to break is copied first)."""
    if mocks is not None:
        return run_program(scenario_config(mode, option), mocks, today=TODAY)
    return _recorded_run(mode, option)


@functools.cache
def _recorded_run(mode: str, option: str) -> PlanResult:
    return run_program(scenario_config(mode, option), None, today=TODAY)


# -- a validator over the generated models ------------------------------------------------------


def _rest_fields(model: type) -> dict[str, tuple[str, _RestField]]:
    """rest name -> (attribute, field), over the model's class hierarchy."""
    fields: dict[str, tuple[str, _RestField]] = {}
    for klass in reversed(model.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, _RestField):
                fields[value._rest_name_input or attr] = (attr, value)
    return fields


def _hints(model: type) -> dict[str, Any]:
    namespace = {**vars(keyvault_model_module), "_models": keyvault_models}
    return typing.get_type_hints(model, globalns=namespace)


def _optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
        return inner, optional
    return annotation, False


def check_value(annotation: Any, value: Any, path: str, field: _RestField | None) -> list[str]:
    annotation, _ = _optional(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums:  # Union[str, Enum]: the spec's known values, exactly as spelled
            allowed = {member.value for e in enums for member in e}
            return [] if value in allowed else [f"{path}: {value!r} not one of {sorted(allowed)}"]
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [
            problem
            for i, item in enumerate(value)
            for problem in check_value(args[0], item, f"{path}[{i}]", None)
        ]
    if origin is dict:
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object"]
        return [
            problem
            for k, item in value.items()
            for problem in check_value(args[1], item, f"{path}.{k}", None)
        ]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} not one of {list(args)}"]
    if isinstance(annotation, type) and hasattr(annotation, "_is_model"):
        return check_model(annotation, value, path)
    if annotation is dt.datetime and field is not None and field._format == "unix-timestamp":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not seconds since 1970"]
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    return [f"{path}: no rule for {annotation!r}"]


def check_model(model: type, value: Any, path: str) -> list[str]:
    """``value`` against a TypeSpec-generated model: names, nesting, enums, required, types."""
    if not isinstance(value, Mapping):
        return [f"{path}: expected a {model.__name__} object, got {value!r}"]
    fields = _rest_fields(model)
    hints = _hints(model)
    problems = [
        f"{path}.{key}: not a property of {model.__name__}" for key in value if key not in fields
    ]
    for rest_name, (attr, field) in fields.items():
        annotation = hints[attr]
        if rest_name not in value:
            if not _optional(annotation)[1]:
                problems.append(f"{path}.{rest_name}: required by {model.__name__}, missing")
            continue
        if field._visibility == ["read"]:
            problems.append(f"{path}.{rest_name}: read-only in {model.__name__}")
            continue
        problems += check_value(annotation, value[rest_name], f"{path}.{rest_name}", field)
    return problems


def check_role_assignment(body: Mapping[str, Any]) -> list[str]:
    """A role assignment PUT body against the msrest model RoleAssignmentCreateParameters
    (flattened ``properties.*`` keys in ``_attribute_map``; ``_validation``)."""
    model = authorization_models.RoleAssignmentCreateParameters
    problems = [f"body.{key}: not a top-level property" for key in body if key != "properties"]
    properties = body.get("properties")
    if not isinstance(properties, Mapping):
        return [*problems, "body.properties: missing"]
    by_rest = {
        spec["key"].split(".", 1)[1]: (attr, spec) for attr, spec in model._attribute_map.items()
    }
    for key, value in properties.items():
        if key not in by_rest:
            problems.append(f"body.properties.{key}: not a property of RoleAssignment")
            continue
        attr, spec = by_rest[key]
        if model._validation.get(attr, {}).get("readonly"):
            problems.append(f"body.properties.{key}: read-only")
        if spec["type"] == "str" and not isinstance(value, str):
            problems.append(f"body.properties.{key}: {value!r} is not a string")
    for attr, rules in model._validation.items():
        rest = model._attribute_map[attr]["key"].split(".", 1)[1]
        if rules.get("required") and rest not in properties:
            problems.append(f"body.properties.{rest}: required, missing")
    allowed = {member.value for member in authorization_models.PrincipalType}
    if properties.get("principalType") not in allowed:
        problems.append(
            f"body.properties.principalType: {properties.get('principalType')!r} "
            f"not one of {sorted(allowed)}"
        )
    return problems


def check_request(record: ResourceRecord) -> list[str]:
    request = arm_request(record)
    assert request is not None, record.type
    api_version, body = request
    kind = t.kind(record)
    if kind == t.VAULT:
        assert api_version == keyvault_models_api_version()
        return check_model(keyvault_models.VaultCreateOrUpdateParameters, body, "body")
    if kind == t.SECRET:
        assert api_version == keyvault_models_api_version()
        return check_model(keyvault_models.SecretCreateOrUpdateParameters, body, "body")
    assert record.type == t.ROLE_ASSIGNMENT and api_version == "2022-04-01"
    return check_role_assignment(body)


def keyvault_models_api_version() -> str:
    from azure.mgmt.keyvault._configuration import KeyVaultManagementClientConfiguration

    config = KeyVaultManagementClientConfiguration(credential=object(), subscription_id="s")
    return str(config.api_version)


def arm_records(result: PlanResult) -> list[ResourceRecord]:
    return [r for r in result.resources if arm_request(r) is not None]


# -- the tests ---------------------------------------------------------------------------------


def test_the_models_are_for_the_api_version_the_program_uses() -> None:
    assert keyvault_models_api_version() == "2026-02-01"


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_every_key_vault_and_role_assignment_body_matches_the_published_api(
    mode: str, option: str
) -> None:
    result = run_scenario(mode, option)
    records = arm_records(result)
    kinds = sorted(t.kind(r).rsplit(":", 1)[-1] for r in records)
    # The reader, the deployer, three writers and, when configured, the pipeline.
    expected_roles = 5 + ("pipelineIdentity" in OPTIONS[option])
    if mode == "rbac":
        assert kinds == ["RoleAssignment"] * expected_roles + ["Secret", "Vault"]
    else:
        assert kinds == ["Secret", "Vault"]
    for record in records:
        assert check_request(record) == [], record.name


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda b: b["properties"].update(enableRbacAuthorisation=True),
            "body.properties.enableRbacAuthorisation: not a property of VaultProperties",
        ),
        (
            lambda b: b["properties"]["sku"].update(name="Standard"),
            "body.properties.sku.name: 'Standard' not one of ['premium', 'standard']",
        ),
        (
            lambda b: b["properties"]["networkAcls"].update(defaultAction="deny"),
            "body.properties.networkAcls.defaultAction: 'deny' not one of ['Allow', 'Deny']",
        ),
        (
            lambda b: b["properties"]["networkAcls"]["ipRules"][0].update(address="1.2.3.4"),
            "body.properties.networkAcls.ipRules[0].address: not a property of IPRule",
        ),
        (
            lambda b: b["properties"].pop("tenantId"),
            "body.properties.tenantId: required by VaultProperties, missing",
        ),
        (
            lambda b: b.pop("location"),
            "body.location: required by VaultCreateOrUpdateParameters, missing",
        ),
        (
            lambda b: b["properties"].update(softDeleteRetentionInDays="90"),
            "body.properties.softDeleteRetentionInDays: '90' is not an integer",
        ),
        (
            lambda b: b["properties"].update(hsmPoolResourceId="x"),
            "body.properties.hsmPoolResourceId: read-only in VaultProperties",
        ),
    ],
)
def test_the_vault_check_fails_a_body_that_breaks_the_spec(mutate: Any, expected: str) -> None:
    """The check can fail: each spec rule, broken once in an otherwise valid body."""
    vault = next(r for r in run_scenario("accessPolicy", "plain").resources if t.kind(r) == t.VAULT)
    request = arm_request(vault)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    mutate(body)
    assert check_model(keyvault_models.VaultCreateOrUpdateParameters, body, "body") == [expected]


def test_the_secret_and_access_policy_checks_fail_what_the_spec_refuses() -> None:
    result = run_scenario("accessPolicy", "plain")
    secret = next(r for r in result.resources if t.kind(r) == t.SECRET)
    request = arm_request(secret)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    # The typed resource's spelling `expires` is not ARM's `exp`.
    body["properties"]["attributes"]["expires"] = body["properties"]["attributes"].pop("exp")
    assert check_model(keyvault_models.SecretCreateOrUpdateParameters, body, "body") == [
        "body.properties.attributes.expires: not a property of SecretAttributes"
    ]
    vault = next(r for r in result.resources if t.kind(r) == t.VAULT)
    request = arm_request(vault)
    assert request is not None
    vault_body = json.loads(json.dumps(request[1]))
    vault_body["properties"]["accessPolicies"][0]["permissions"]["secrets"] = ["read"]
    (problem,) = check_model(keyvault_models.VaultCreateOrUpdateParameters, vault_body, "body")
    assert problem.startswith("body.properties.accessPolicies[0].permissions.secrets[0]: 'read'")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"principalType": "Service Principal"}, "principalType: 'Service Principal' not one of"),
        ({"principalID": "x"}, "body.properties.principalID: not a property of RoleAssignment"),
        ({"scope": "/x"}, "body.properties.scope: read-only"),
    ],
)
def test_the_role_assignment_check_fails_what_the_spec_refuses(
    change: dict[str, str], expected: str
) -> None:
    record = next(r for r in run_scenario("rbac", "plain").resources if r.type == t.ROLE_ASSIGNMENT)
    request = arm_request(record)
    assert request is not None
    body = json.loads(json.dumps(request[1]))
    body["properties"].update(change)
    (problem,) = check_role_assignment(body)
    assert expected in problem
    del body["properties"]["roleDefinitionId"]
    assert "body.properties.roleDefinitionId: required, missing" in check_role_assignment(body)


# -- provider rules that fail before Azure -----------------------------------------------------

#: Schemes terraform-provider-azuread's IsRedirectUriFunc allows when not every scheme is.
REDIRECT_SCHEMES = ("http", "https", "ms-appx-web", "brk-multihub")


def redirect_uri_problem(uri: str, urn_allowed: bool = False) -> str | None:
    """terraform-provider-azuread ``validation.IsRedirectUriFunc`` (IsUriFunc with
    allowTrailingSlash and forceTrailingSlash), the check behind pulumi-azuread."""
    if not uri:
        return "URI must not be empty"
    if urn_allowed and len(uri.split(":")) >= 3 and uri.startswith("urn:"):
        return None
    parts = urlsplit(uri)
    if not parts.hostname:
        return "URI has no host"
    if parts.path == "":
        return "URI must have a trailing slash when there is no path segment"
    if parts.scheme not in REDIRECT_SCHEMES:
        return f"unexpected URI scheme, expected one of: {', '.join(REDIRECT_SCHEMES)}"
    if len(uri) > 256:
        return "URI must be 256 characters or less"
    return None


def test_the_redirect_rule_is_the_providers() -> None:
    assert redirect_uri_problem("http://localhost:8400") == (
        "URI must have a trailing slash when there is no path segment"
    )
    assert redirect_uri_problem("http://localhost:8400/") is None
    assert redirect_uri_problem("https://app.contoso.com/callback") is None
    assert redirect_uri_problem("ftp://x/") is not None
    assert redirect_uri_problem("https://x/" + "a" * 250) is not None


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_every_registered_redirect_uri_passes_the_provider_rule(mode: str, option: str) -> None:
    result = run_scenario(mode, option)
    for app in result.find(t.APPLICATION):
        for section in ("web", "publicClient", "singlePageApplication"):
            for uri in (app.inputs.get(section) or {}).get("redirectUris") or []:
                assert redirect_uri_problem(uri) is None, (app.name, uri)


def test_the_demo_registers_a_redirect_uri_the_provider_accepts() -> None:
    uri = wellknown.loopback_redirect_uri(8400)
    assert redirect_uri_problem(uri) is None


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.mark.parametrize(("mode", "option"), SCENARIOS)
def test_password_end_dates_are_rfc3339_and_in_the_future(mode: str, option: str) -> None:
    """The azuread provider validates end_date as RFC 3339 (validation.IsRFC3339Time); Entra
    refuses a credential that has already ended."""
    passwords = run_scenario(mode, option).find(t.APPLICATION_PASSWORD)
    assert passwords
    for password in passwords:
        end = str(password.inputs["endDate"])
        assert _RFC3339.match(end), end
        assert dt.datetime.fromisoformat(end.replace("Z", "+00:00")).date() > TODAY
