"""A validator of ARM request bodies over the models generated from Azure/azure-rest-api-specs,
so the spec tests check the program against Microsoft's published API, not against ourselves.

``azure-mgmt-keyvault`` 14.0.0 (API 2026-02-01, TypeSpec-style models: ``rest_field`` names,
visibility, annotations) and ``azure-mgmt-authorization``'s v2022_04_01 msrest models
(``_attribute_map``, ``_validation``). Unknown property names at any level, wrong enum values,
missing required fields, read-only fields and wrong types all fail.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any

from azure.mgmt.authorization.v2022_04_01 import models as authorization_models
from azure.mgmt.keyvault import models as keyvault_models
from azure.mgmt.keyvault._utils.model_base import _RestField
from azure.mgmt.keyvault.models import _models as keyvault_model_module

from scripts.flows.plan import PlanResult
from scripts.offline.plan_mocks import ResourceRecord, arm_request
from scripts.policy import rules as t


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
