"""What ``parse_config`` reads: the keys this project knows, and config values as they arrive.

Both readers of a stack (``infra.config_sources``: the stack file and the Pulumi engine) and the
validation (``infra.config_validation``) share these, so a key list or a normalisation rule
cannot drift between the offline plan and ``pulumi up``.
"""

from __future__ import annotations

import json

REQUIRED_KEYS = ("location", "vaultName", "cspDomain", "clientSecretRotation")
OPTIONAL_KEYS = (
    "resourceGroupName",
    "existingResourceGroup",
    "secretName",
    "tenantId",
    "accessMode",
    "softDeleteRetentionDays",
    "allowedIpRanges",
    "writerIpRanges",
    "writerObjectIds",
    "clientSecretLifetimeDays",
    "requiredResourceAccess",
    "inHouseApp",
    "tags",
    "cloud",
    "mfaEnforcement",
    "mfaPolicyState",
    "mfaExcludedObjectIds",
    "pipelineIdentity",
    "deployerPrincipalType",
    "importSubscriptionId",
)
KNOWN_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
#: Stands in for a value that is stored encrypted, so it is never parsed or printed.
SECRET_MARKER = "\x00stored-as-secret\x00"  # noqa: S105 - a marker, not a secret


def config_text(value: object) -> str:
    """Config values arrive as strings; YAML loaders may hand over bools/ints. Normalise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value).strip()


def config_list(value: object) -> tuple[list[str], str | None]:
    """A list key accepts structured config (a YAML/JSON list) or comma-separated text, which is
    what `pulumi config set key a,b` gives."""
    text = config_text(value)
    if not text:
        return [], None
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return [], "is not a list (rule: a YAML list or comma-separated values)"
        if not isinstance(data, list) or not all(isinstance(i, str) for i in data):
            return [], "is not a list of strings (rule: a YAML list or comma-separated values)"
        return [i.strip() for i in data], None
    return [part.strip() for part in text.split(",") if part.strip()], None
