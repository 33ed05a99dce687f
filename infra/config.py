"""The stack configuration: one frozen, typed ``StackConfig``, read and validated in one place.

``parse_config`` is a pure function over a plain mapping (bare key -> string, as ``pulumi config``
stores them; structured values as JSON text) so the offline plan, the tests and ``pulumi up`` all
validate exactly the same way, before any resource is declared. It reports every bad value at once
(``InvalidConfig``, one line per value naming the key, what is wrong and the rule).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from foundation import naming as check
from foundation.clouds import PRESETS
from foundation.errors import ConfigError, InvalidConfig
from infra.access_config import (
    DeployerPrincipalType,
    Writer,
    check_deployer_principal_type,
    default_deployer_principal_type,
    parse_writers,
)
from infra.mfa_config import MfaSettings, parse_mfa
from infra.permissions import (
    DEFAULT_REQUIRED_RESOURCE_ACCESS,
    RequiredResourceAccess,
    parse_required_access,
)
from infra.pipeline_config import PipelineIdentity, parse_pipeline_identity

#: The Pulumi project name (Pulumi.yaml); config keys are ``csp-secure-app:<key>``.
PROJECT = "csp-secure-app"

AccessMode = Literal["accessPolicy", "rbac"]
#: The national clouds this program deploys to (``foundation.clouds.PRESETS``).
CloudName = Literal["public", "usgov", "china"]

DEFAULT_RESOURCE_GROUP = "rg-csp-secure-app"
DEFAULT_SECRET_NAME = "PartnerCenterRefreshToken"  # noqa: S105 - a name, not a secret
DEFAULT_RETENTION_DAYS = 90
DEFAULT_SECRET_LIFETIME_DAYS = 365
#: Microsoft's recommended ceiling for client secrets (the portal offers at most 24 months).
MAX_SECRET_LIFETIME_DAYS = 730
#: A vault holds "0 to 1024 identities" in accessPolicies (Microsoft.KeyVault's VaultProperties
#: in the ARM specification); ARM would refuse more only once `pulumi up` is under way.
MAX_ACCESS_POLICIES = 1024

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


@dataclass(frozen=True)
class StackConfig:
    location: str
    vault_name: str
    csp_domain: str
    #: The day the current client secret generation starts; changing it rotates the secrets.
    client_secret_rotation: date
    resource_group_name: str = DEFAULT_RESOURCE_GROUP
    #: True when ``resource_group_name`` names a group that exists already (not created here).
    existing_resource_group: bool = False
    secret_name: str = DEFAULT_SECRET_NAME
    tenant_id: str | None = None
    #: RBAC by default, as control-plane API 2026-02-01 creates vaults; accessPolicy is the
    #: partner guides' (legacy) model.
    access_mode: AccessMode = "rbac"
    soft_delete_retention_days: int = DEFAULT_RETENTION_DAYS
    allowed_ip_ranges: tuple[str, ...] = ()
    writer_ip_ranges: tuple[str, ...] = ()
    #: Identities besides the deployer that may write the token, each with its principal type.
    writers: tuple[Writer, ...] = ()
    #: The deployer's principal type, named in its role assignment (RBAC mode).
    deployer_principal_type: DeployerPrincipalType = "User"
    #: Set while migrating a stack of the previous program: the vault and the token secret are
    #: imported from this subscription instead of created (README "Upgrading").
    import_subscription_id: str | None = None
    client_secret_lifetime_days: int = DEFAULT_SECRET_LIFETIME_DAYS
    required_resource_access: tuple[RequiredResourceAccess, ...] = DEFAULT_REQUIRED_RESOURCE_ACCESS
    in_house_app: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Which national cloud the tenant lives in. ARM returns the vault URI, so the program only
    #: exports it (``invoke`` tasks default to it) and uses it for the federation audience.
    cloud: CloudName = "public"
    mfa: MfaSettings = field(default_factory=MfaSettings)
    #: The GitOps pipeline's federated identity (a vault writer), when configured.
    pipeline_identity: PipelineIdentity | None = None

    @property
    def client_secret_end_date(self) -> date:
        """Anchored on the rotation date, not on "now", so re-running ``pulumi up`` never
        computes a new end date (which would replace the password on every run)."""
        return self.client_secret_rotation + timedelta(days=self.client_secret_lifetime_days)

    @property
    def network_restricted(self) -> bool:
        return bool(self.allowed_ip_ranges)

    @property
    def writer_object_ids(self) -> tuple[str, ...]:
        return tuple(writer.object_id for writer in self.writers)


def parse_config(
    values: Mapping[str, str],
    *,
    today: date | None = None,
    provider_client_id: str | None = None,
) -> StackConfig:
    """Validate ``values`` (bare keys) and return the typed config, or raise ``InvalidConfig``
    listing every problem. ``today`` is for the secret expiry checks (default: today, UTC);
    ``provider_client_id`` (the azure-native provider's configured client id, if any) sets the
    default ``deployerPrincipalType``."""
    today = today or datetime.now(UTC).date()
    problems: list[str] = []
    parsed: dict[str, Any] = {}

    def bad(key: str, message: str) -> None:
        problems.append(f"{PROJECT}:{key}: {message}")

    # None of these settings is sensitive. A value stored encrypted (`--secret`) is refused
    # without ever echoing it, since whatever it is, its owner thought it secret.
    stored_secret = {key for key, value in values.items() if value == SECRET_MARKER}
    for key in sorted(stored_secret):
        bad(key, "is stored as a secret (rule: set it in plain text; no setting here is secret)")
    values = {key: value for key, value in values.items() if key not in stored_secret}

    for key in values:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            known = ", ".join(KNOWN_KEYS)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {known}"
            bad(key, f"unknown key (rule: {hint})")
    for key in REQUIRED_KEYS:
        if not _text(values.get(key)) and key not in stored_secret:
            bad(key, "is required and not set (rule: `pulumi config set " + key + " <value>`)")

    def single(key: str, checker: Callable[[str], str | None], target: str) -> None:
        text = _text(values.get(key))
        if text:
            error = checker(text)
            if error:
                bad(key, error)
            else:
                parsed[target] = text

    single("location", check.check_location, "location")
    single("vaultName", check.check_vault_name, "vault_name")
    single("cspDomain", check.check_domain, "csp_domain")
    single("secretName", check.check_secret_name, "secret_name")
    single("tenantId", check.check_guid, "tenant_id")
    single("resourceGroupName", check.check_resource_group_name, "resource_group_name")
    existing = _text(values.get("existingResourceGroup"))
    if existing:
        if _text(values.get("resourceGroupName")):
            bad(
                "existingResourceGroup",
                "is set together with resourceGroupName (rule: set resourceGroupName for a new "
                "group or existingResourceGroup to use one that exists, not both)",
            )
        else:
            single("existingResourceGroup", check.check_resource_group_name, "resource_group_name")
            parsed["existing_resource_group"] = True

    mode = _text(values.get("accessMode"))
    if mode:
        if mode in ("accessPolicy", "rbac"):
            parsed["access_mode"] = mode
        else:
            bad("accessMode", f"{mode!r} is not an access mode (rule: accessPolicy or rbac)")
    parsed["deployer_principal_type"] = default_deployer_principal_type(provider_client_id)
    single("deployerPrincipalType", check_deployer_principal_type, "deployer_principal_type")
    single("importSubscriptionId", check.check_guid, "import_subscription_id")
    writers, writer_errors = parse_writers(_text(values.get("writerObjectIds")))
    for writer_error in writer_errors:
        bad("writerObjectIds", writer_error)
    if not writer_errors:
        parsed["writers"] = writers

    for key, target, low, high in (
        ("softDeleteRetentionDays", "soft_delete_retention_days", 7, 90),
        ("clientSecretLifetimeDays", "client_secret_lifetime_days", 1, MAX_SECRET_LIFETIME_DAYS),
    ):
        text = _text(values.get(key))
        if text:
            number, error = check.check_int_range(text, low, high)
            if error:
                bad(key, error)
            else:
                parsed[target] = number

    for key, target, item_check in (
        ("allowedIpRanges", "allowed_ip_ranges", check.check_ipv4_range),
        ("writerIpRanges", "writer_ip_ranges", check.check_ipv4_range),
        ("mfaExcludedObjectIds", "mfa_excluded", check.check_guid),
    ):
        items, error = _parse_list(values.get(key))
        if error:
            bad(key, error)
            continue
        item_errors = [e for e in map(item_check, items) if e]
        for error in item_errors:
            bad(key, error)
        if not item_errors:
            parsed[target] = tuple(dict.fromkeys(items))
    # Judged on what was written, so an invalid allowedIpRanges is reported once, not twice.
    if parsed.get("writer_ip_ranges") and not _parse_list(values.get("allowedIpRanges"))[0]:
        bad(
            "writerIpRanges",
            "is set but allowedIpRanges is not (rule: writer ranges only widen a restricted "
            "vault; without allowedIpRanges the vault is open to every network)",
        )

    in_house = _text(values.get("inHouseApp"))
    if in_house:
        if in_house.lower() in ("true", "false"):
            parsed["in_house_app"] = in_house.lower() == "true"
        else:
            bad("inHouseApp", f"{in_house!r} is not a boolean (rule: true or false)")

    cloud = _text(values.get("cloud"))
    if cloud:
        if cloud in PRESETS:
            parsed["cloud"] = cloud
        else:
            bad("cloud", f"{cloud!r} is not a cloud (rule: one of {', '.join(PRESETS)})")
    mfa = parse_mfa(
        _text(values.get("mfaEnforcement")),
        _text(values.get("mfaPolicyState")),
        parsed.pop("mfa_excluded", None),
        bad,
    )
    if mfa is not None:
        parsed["mfa"] = mfa

    _parse_rotation(values, parsed, today, bad)
    _parse_structured(values, parsed, bad)
    if parsed.get("access_mode") == "accessPolicy":
        # The reader, the deployer and the pipeline identity take entries beside the writers.
        used = 2 + len(parsed.get("writers", ())) + bool(parsed.get("pipeline_identity"))
        if used > MAX_ACCESS_POLICIES:
            bad("writerObjectIds", f"needs {used} access policies with the reader, the deployer "
                f"and the pipeline, over Key Vault's {MAX_ACCESS_POLICIES} per vault (rule: "
                "grant a group instead of its members, or use accessMode rbac)")

    if problems:
        raise InvalidConfig(problems)
    return StackConfig(**parsed)


def _parse_rotation(
    values: Mapping[str, str],
    parsed: dict[str, Any],
    today: date,
    bad: Callable[[str, str], None],
) -> None:
    text = _text(values.get("clientSecretRotation"))
    if not text:
        return
    try:
        rotation = date.fromisoformat(text)
    except ValueError:
        bad(
            "clientSecretRotation",
            f"{text!r} is not a date (rule: YYYY-MM-DD, the day the current client secrets were "
            "issued; set it to today's date to rotate them)",
        )
        return
    if rotation > today:
        # A future date would push the end date past the lifetime ceiling counted from today.
        bad(
            "clientSecretRotation",
            f"{rotation} is in the future (rule: today or earlier; the secrets' end date is "
            "counted from it)",
        )
        return
    # An end date already past is *not* refused here: time alone gets every stack there, and a
    # config that stops validating on a calendar date breaks `pulumi up` for unrelated changes
    # and the example stack's offline plan. The policy rule `password_not_expired` warns instead
    # (in `csp-secure-app plan` and the CrossGuard pack), naming the one-line fix: a new rotation
    # date.
    parsed["client_secret_rotation"] = rotation


def _parse_structured(
    values: Mapping[str, str], parsed: dict[str, Any], bad: Callable[[str, str], None]
) -> None:
    raw_access = _text(values.get("requiredResourceAccess"))
    if raw_access:
        access, errors = parse_required_access(raw_access)
        for error in errors:
            bad("requiredResourceAccess", error)
        if not errors:
            parsed["required_resource_access"] = access

    raw_pipeline = _text(values.get("pipelineIdentity"))
    if raw_pipeline:
        # An invalid cloud key is reported already: then any cloud's audience is accepted.
        cloud_known = "cloud" in parsed or not _text(values.get("cloud"))
        cloud = parsed.get("cloud", "public") if cloud_known else None
        pipeline, errors = parse_pipeline_identity(raw_pipeline, cloud)
        for error in errors:
            bad("pipelineIdentity", error)
        if pipeline is not None:
            parsed["pipeline_identity"] = pipeline

    raw_tags = _text(values.get("tags"))
    if raw_tags:
        tags, errors = check.parse_tags(raw_tags)
        for error in errors:
            bad("tags", error)
        if not errors:
            parsed["tags"] = tags


def _text(value: object) -> str:
    """Config values arrive as strings; YAML loaders may hand over bools/ints. Normalise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value).strip()


def _parse_list(value: object) -> tuple[list[str], str | None]:
    """A list key accepts structured config (a YAML/JSON list) or comma-separated text, which is
    what `pulumi config set key a,b` gives."""
    text = _text(value)
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


#: A stack file is a few dozen lines; anything this big is not one (and is not read whole).
STACK_FILE_MAX_BYTES = 1_000_000
#: YAML aliases expand on load: a handful of nested ones (a "billion laughs") is gigabytes once
#: rendered. A hand-written stack file needs none; a few are tolerated, never enough to blow up.
STACK_FILE_MAX_ALIASES = 16


def read_stack_document(path: Path) -> object:
    """The parsed ``Pulumi.<stack>.yaml``, refused (``ConfigError``, exit 2) when it is over the
    size cap or uses more aliases than the bound, before anything is expanded. Syntax errors
    surface as ``yaml.YAMLError`` for the caller to name the line."""
    import yaml

    with path.open("rb") as file:
        raw = file.read(STACK_FILE_MAX_BYTES + 1)
    if len(raw) > STACK_FILE_MAX_BYTES:
        raise ConfigError(f"{path} is over {STACK_FILE_MAX_BYTES} bytes, too big for a stack "
                          "file", fix="point --stack at the Pulumi.<stack>.yaml of this project")
    text = raw.decode("utf-8", errors="replace")
    # The event stream names each alias without expanding it: counting costs one pass.
    aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, yaml.SafeLoader))
    if aliases > STACK_FILE_MAX_ALIASES:
        raise ConfigError(f"{path} uses {aliases} YAML aliases (at most "
                          f"{STACK_FILE_MAX_ALIASES} are accepted, so the file cannot expand "
                          "to exhaust memory)", fix="write the values out instead of *aliases")
    return yaml.safe_load(text)


def config_values_from_stack_file(raw: Mapping[str, Any]) -> dict[str, str]:
    """Turn the ``config:`` block of a ``Pulumi.<stack>.yaml`` into ``parse_config`` input:
    keep this project's keys, strip the ``csp-secure-app:`` prefix, and render structured values
    as JSON text, the way ``pulumi.Config.get`` returns them."""
    prefix = f"{PROJECT}:"
    return {
        key[len(prefix) :]: SECRET_MARKER if _is_secure(value) else _text(value)
        for key, value in raw.items()
        if key.startswith(prefix) and value is not None
    }


def _is_secure(value: object) -> bool:
    """Pulumi writes encrypted values as ``{secure: <ciphertext>}`` in the stack file."""
    return isinstance(value, dict) and set(value) == {"secure"}


def read_config() -> StackConfig:
    """What ``infra/__main__.py`` calls under the Pulumi engine: every key this project has in
    the stack (including mistyped ones, so they are reported), through ``pulumi.Config``."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    present = [*runtime_config.CONFIG.get(), *runtime_config.get_config_env()]
    keys = sorted({key[len(prefix) :] for key in present if key.startswith(prefix)})
    stack_config = pulumi.Config(PROJECT)
    values = {
        key: SECRET_MARKER if runtime_config.is_config_secret(f"{prefix}{key}") else text
        for key in keys
        if (text := stack_config.get(key)) is not None
    }
    client_id = pulumi.Config("azure-native").get("clientId") or os.environ.get("ARM_CLIENT_ID")
    return parse_config(values, provider_client_id=client_id)
