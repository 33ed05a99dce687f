"""Who gets vault access, as configured: ``writerObjectIds``, ``deployerPrincipalType`` and
``importSubscriptionId``. Pure parsing, used by ``infra.config_validation``.

Every Azure role assignment names the principal's type: ARM refuses a type that does not match
the principal with ``UnmatchedPrincipalType``, and pulumi-azure-native sends ``User`` when none is
given, which is wrong for a service principal or a group. So writers say what they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args

from foundation import naming as check

#: The principal types a role assignment may name for a writer (Microsoft.Authorization
#: 2022-04-01 ``PrincipalType``; ForeignGroup and Device never write a Key Vault secret).
PrincipalType = Literal["User", "Group", "ServicePrincipal"]
PRINCIPAL_TYPES: tuple[str, ...] = get_args(PrincipalType)
#: Who runs ``pulumi up``: a person (``az login``) or a service principal (a pipeline).
DeployerPrincipalType = Literal["User", "ServicePrincipal"]
DEPLOYER_PRINCIPAL_TYPES: tuple[str, ...] = get_args(DeployerPrincipalType)


@dataclass(frozen=True)
class Writer:
    """An identity besides the deployer that may write the token."""

    object_id: str
    principal_type: PrincipalType = "User"


def parse_writers(text: str) -> tuple[tuple[Writer, ...], list[str]]:
    """``writerObjectIds``: comma-separated GUIDs (users), or a YAML/JSON list whose entries are a
    GUID (a user) or ``{objectId: GUID, principalType: User|Group|ServicePrincipal}``. Returns the
    writers (each object id once) and one message per bad entry."""
    if not text:
        return (), []
    entries: list[object]
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return (), ["is not a list (rule: a YAML list or comma-separated values)"]
        if not isinstance(data, list):
            return (), ["is not a list (rule: a YAML list or comma-separated values)"]
        entries = data
    else:
        entries = [part.strip() for part in text.split(",") if part.strip()]
    writers: dict[str, Writer] = {}
    errors: list[str] = []
    for entry in entries:
        writer, error = _writer(entry)
        if error:
            errors.append(error)
        elif writer is not None:
            writers.setdefault(writer.object_id.lower(), writer)
    return tuple(writers.values()), errors


def _writer(entry: object) -> tuple[Writer | None, str | None]:
    rule = "rule: a GUID, or {objectId: GUID, principalType: " + " | ".join(PRINCIPAL_TYPES) + "}"
    if isinstance(entry, str):
        error = check.check_guid(entry.strip())
        return (None, error) if error else (Writer(entry.strip()), None)
    if not isinstance(entry, dict):
        return None, f"{entry!r} is not a writer ({rule})"
    unknown = sorted(set(entry) - {"objectId", "principalType"})
    if unknown:
        return None, f"entry {entry.get('objectId')!r} has unknown keys {unknown} ({rule})"
    object_id = entry.get("objectId")
    if not isinstance(object_id, str):
        return None, f"entry {entry!r} has no objectId ({rule})"
    error = check.check_guid(object_id.strip())
    if error:
        return None, error
    kind = entry.get("principalType", "User")
    if kind not in PRINCIPAL_TYPES:
        return None, (
            f"{object_id}: {kind!r} is not a principal type (rule: one of "
            f"{', '.join(PRINCIPAL_TYPES)}, exactly as ARM spells it)"
        )
    return Writer(object_id.strip(), kind), None


def check_deployer_principal_type(text: str) -> str | None:
    if text in DEPLOYER_PRINCIPAL_TYPES:
        return None
    return (
        f"{text!r} is not a deployer principal type (rule: User when you run `pulumi up` signed "
        "in as a person, ServicePrincipal for a pipeline or `az login --service-principal`)"
    )


def default_deployer_principal_type(provider_client_id: str | None) -> DeployerPrincipalType:
    """Without ``deployerPrincipalType``: a provider configured with a client id
    (``azure-native:clientId`` or ``ARM_CLIENT_ID``) signs in as a service principal; otherwise
    the deployer is taken to be a person signed in with the Azure CLI."""
    return "ServicePrincipal" if provider_client_id else "User"
