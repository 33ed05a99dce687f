"""The validation rules of the stack config: plain key/value text in, a ``StackConfig`` or every
problem at once out.

``parse_config`` is a pure function over a plain mapping (bare key -> string, as ``pulumi config``
stores them; structured values as JSON text) so the offline plan, the tests and ``pulumi up`` all
validate exactly the same way, before any resource is declared. It reports every bad value at once
(``InvalidConfig``, one line per value naming the key, what is wrong and the rule), so a user with
several mistakes fixes them in one pass rather than one `pulumi up` per mistake.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from foundation import naming as check
from foundation.clouds import PRESETS
from foundation.errors import InvalidConfig
from infra.access_config import (
    check_deployer_principal_type,
    default_deployer_principal_type,
    parse_writers,
)
from infra.config_input import KNOWN_KEYS, REQUIRED_KEYS, SECRET_MARKER, config_list, config_text
from infra.mfa_config import parse_mfa
from infra.permissions import parse_required_access
from infra.pipeline_config import parse_pipeline_identity
from infra.stack_config import PROJECT, StackConfig

#: Microsoft's recommended ceiling for client secrets (the portal offers at most 24 months).
MAX_SECRET_LIFETIME_DAYS = 730
#: A vault holds "0 to 1024 identities" in accessPolicies (Microsoft.KeyVault's VaultProperties
#: in the ARM specification); ARM would refuse more only once `pulumi up` is under way.
MAX_ACCESS_POLICIES = 1024


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
        if not config_text(values.get(key)) and key not in stored_secret:
            bad(key, "is required and not set (rule: `pulumi config set " + key + " <value>`)")

    def single(key: str, checker: Callable[[str], str | None], target: str) -> None:
        text = config_text(values.get(key))
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
    existing = config_text(values.get("existingResourceGroup"))
    if existing:
        if config_text(values.get("resourceGroupName")):
            bad(
                "existingResourceGroup",
                "is set together with resourceGroupName (rule: set resourceGroupName for a new "
                "group or existingResourceGroup to use one that exists, not both)",
            )
        else:
            single("existingResourceGroup", check.check_resource_group_name, "resource_group_name")
            parsed["existing_resource_group"] = True

    mode = config_text(values.get("accessMode"))
    if mode:
        if mode in ("accessPolicy", "rbac"):
            parsed["access_mode"] = mode
        else:
            bad("accessMode", f"{mode!r} is not an access mode (rule: accessPolicy or rbac)")
    parsed["deployer_principal_type"] = default_deployer_principal_type(provider_client_id)
    single("deployerPrincipalType", check_deployer_principal_type, "deployer_principal_type")
    single("importSubscriptionId", check.check_guid, "import_subscription_id")
    writers, writer_errors = parse_writers(config_text(values.get("writerObjectIds")))
    for writer_error in writer_errors:
        bad("writerObjectIds", writer_error)
    if not writer_errors:
        parsed["writers"] = writers

    for key, target, low, high in (
        ("softDeleteRetentionDays", "soft_delete_retention_days", 7, 90),
        ("clientSecretLifetimeDays", "client_secret_lifetime_days", 1, MAX_SECRET_LIFETIME_DAYS),
    ):
        text = config_text(values.get(key))
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
        items, error = config_list(values.get(key))
        if error:
            bad(key, error)
            continue
        item_errors = [e for e in map(item_check, items) if e]
        for error in item_errors:
            bad(key, error)
        if not item_errors:
            parsed[target] = tuple(dict.fromkeys(items))
    # Judged on what was written, so an invalid allowedIpRanges is reported once, not twice.
    if parsed.get("writer_ip_ranges") and not config_list(values.get("allowedIpRanges"))[0]:
        bad(
            "writerIpRanges",
            "is set but allowedIpRanges is not (rule: writer ranges only widen a restricted "
            "vault; without allowedIpRanges the vault is open to every network)",
        )

    in_house = config_text(values.get("inHouseApp"))
    if in_house:
        if in_house.lower() in ("true", "false"):
            parsed["in_house_app"] = in_house.lower() == "true"
        else:
            bad("inHouseApp", f"{in_house!r} is not a boolean (rule: true or false)")

    cloud = config_text(values.get("cloud"))
    if cloud:
        if cloud in PRESETS:
            parsed["cloud"] = cloud
        else:
            bad("cloud", f"{cloud!r} is not a cloud (rule: one of {', '.join(PRESETS)})")
    mfa = parse_mfa(
        config_text(values.get("mfaEnforcement")),
        config_text(values.get("mfaPolicyState")),
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
    """``clientSecretRotation``: a real date, today or earlier, because the secrets' end date
    is counted from it (and a new date is how they are rotated)."""
    text = config_text(values.get("clientSecretRotation"))
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
    """The keys given as structured config (JSON text): each is judged by the module that owns
    its shape, which returns every problem rather than stopping at the first."""
    raw_access = config_text(values.get("requiredResourceAccess"))
    if raw_access:
        access, errors = parse_required_access(raw_access)
        for error in errors:
            bad("requiredResourceAccess", error)
        if not errors:
            parsed["required_resource_access"] = access

    raw_pipeline = config_text(values.get("pipelineIdentity"))
    if raw_pipeline:
        # An invalid cloud key is reported already: then any cloud's audience is accepted.
        cloud_known = "cloud" in parsed or not config_text(values.get("cloud"))
        cloud = parsed.get("cloud", "public") if cloud_known else None
        pipeline, errors = parse_pipeline_identity(raw_pipeline, cloud)
        for error in errors:
            bad("pipelineIdentity", error)
        if pipeline is not None:
            parsed["pipeline_identity"] = pipeline

    raw_tags = config_text(values.get("tags"))
    if raw_tags:
        tags, errors = check.parse_tags(raw_tags)
        for error in errors:
            bad("tags", error)
        if not errors:
            parsed["tags"] = tags
