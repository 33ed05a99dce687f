"""A Key Vault's secrets: versions, soft-deleted secrets, and their JSON shapes on the wire.

No HTTP or authorization here (that is ``vault.py``); this is the data the real service keeps,
with its rules: names ``^[0-9a-zA-Z-]{1,127}$`` (case-insensitive), every set makes a new 32-hex
version, a soft-deleted name cannot be set again until recovered or purged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25 * 1024
RETENTION_DAYS = 90


class VaultError(Exception):
    """A Key Vault error response: HTTP status, ``error.code``, message, optional inner code."""

    def __init__(self, status: int, code: str, message: str, inner: str | None = None) -> None:
        self.status, self.code, self.message, self.inner = status, code, message, inner
        super().__init__(message)

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


def not_found(name: str) -> VaultError:
    return VaultError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {name} was not found in this key vault. If you recently deleted "
        "this secret you may be able to recover it using the correct recovery command. For help "
        "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
    )


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise VaultError(
            400,
            "BadParameter",
            "The request URI contains an invalid name: "
            f"{name}. Secret names must match ^[0-9a-zA-Z-]+$ and be at most 127 characters.",
        )


@dataclass
class SecretVersion:
    name: str
    version: str
    value: str = field(repr=False)
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    not_before: datetime | None
    expires: datetime | None
    created: datetime
    updated: datetime


@dataclass
class DeletedSecret:
    versions: list[SecretVersion]
    deleted: datetime
    scheduled_purge: datetime


def _ts(value: datetime) -> int:
    return int(value.timestamp())


class SecretStore:
    """Secrets of one vault. The caller (``Vault``) holds the lock around every call."""

    def __init__(self, base_uri: str, purge_protection: bool) -> None:
        self.base_uri = base_uri.rstrip("/")
        self.purge_protection = purge_protection
        self.live: dict[str, list[SecretVersion]] = {}
        self.deleted: dict[str, DeletedSecret] = {}

    # -- wire shapes -----------------------------------------------------------------------------
    def attributes(self, v: SecretVersion) -> dict[str, Any]:
        attrs: dict[str, Any] = {"enabled": v.enabled}
        if v.not_before:
            attrs["nbf"] = _ts(v.not_before)
        if v.expires:
            attrs["exp"] = _ts(v.expires)
        attrs.update(
            created=_ts(v.created),
            updated=_ts(v.updated),
            recoveryLevel="Recoverable" if self.purge_protection else "Recoverable+Purgeable",
            recoverableDays=RETENTION_DAYS,
        )
        return attrs

    def bundle(
        self, v: SecretVersion, value: bool = True, versioned: bool = True
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if value:
            out["value"] = v.value
        out["id"] = f"{self.base_uri}/secrets/{v.name}" + (f"/{v.version}" if versioned else "")
        if v.content_type is not None:
            out["contentType"] = v.content_type
        out["attributes"] = self.attributes(v)
        if v.tags:
            out["tags"] = dict(v.tags)
        return out

    def deleted_bundle(self, name: str) -> dict[str, Any]:
        entry = self.deleted[name.lower()]
        latest = entry.versions[-1]
        out = self.bundle(latest, value=False)
        out.update(
            recoveryId=f"{self.base_uri}/deletedsecrets/{latest.name}",
            deletedDate=_ts(entry.deleted),
            scheduledPurgeDate=_ts(entry.scheduled_purge),
        )
        return out

    # -- operations ------------------------------------------------------------------------------
    def versions(self, name: str) -> list[SecretVersion]:
        found = self.live.get(name.lower())
        if not found:
            raise not_found(name)
        return found

    def get(self, name: str, version: str | None) -> SecretVersion:
        versions = self.versions(name)
        if not version:
            return versions[-1]
        for v in versions:
            if v.version == version.lower():
                return v
        raise not_found(name)

    def set(self, name: str, body: dict[str, Any], now: datetime) -> SecretVersion:
        if name.lower() in self.deleted:
            raise VaultError(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                "ObjectIsDeletedButRecoverable",
            )
        value = body.get("value")
        if not isinstance(value, str):
            raise VaultError(400, "BadParameter", "Property 'value' is required.")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise VaultError(400, "BadParameter", "Secret value is too large (max 25 KB).")
        tags = body.get("tags")
        if tags is not None and (not isinstance(tags, dict) or len(tags) > 15):
            raise VaultError(400, "BadParameter", "Tags must be an object of at most 15 entries.")
        attrs = body.get("attributes") or {}
        existing = self.live.get(name.lower())
        version = SecretVersion(
            name=existing[0].name if existing else name,
            version=uuid.uuid4().hex,
            value=value,
            content_type=body.get("contentType"),
            tags=dict(tags) if tags else None,
            enabled=bool(attrs.get("enabled", True)),
            not_before=_from_ts(attrs.get("nbf")),
            expires=_from_ts(attrs.get("exp")),
            created=now,
            updated=now,
        )
        self.live.setdefault(name.lower(), []).append(version)
        return version

    def add_history(self, name: str, count: int, every: timedelta) -> list[SecretVersion]:
        """``count`` versions older than the secret's oldest, one every ``every`` before it, each
        a copy of it (value, content type, tags; creation and expiry moved back by the same step):
        years of rotations in one call, without ``count`` round trips. Each gets its own 32-hex
        version id, as every set does."""
        versions = self.versions(name)
        first = versions[0]
        older = []
        for steps in range(count, 0, -1):
            back = every * steps
            older.append(replace(
                first,
                version=uuid.uuid4().hex,
                tags=dict(first.tags) if first.tags else None,
                created=first.created - back,
                updated=first.created - back,
                expires=first.expires - back if first.expires else None,
            ))
        versions[:0] = older
        return older

    def update(
        self, name: str, version: str | None, body: dict[str, Any], now: datetime
    ) -> SecretVersion:
        v = self.get(name, version)
        if "contentType" in body:
            v.content_type = body["contentType"]
        if "tags" in body:
            v.tags = dict(body["tags"]) if body["tags"] else None
        attrs = body.get("attributes") or {}
        if "enabled" in attrs:
            v.enabled = bool(attrs["enabled"])
        if "nbf" in attrs:
            v.not_before = _from_ts(attrs["nbf"])
        if "exp" in attrs:
            v.expires = _from_ts(attrs["exp"])
        v.updated = now
        return v

    def delete(self, name: str, now: datetime) -> None:
        versions = self.versions(name)
        del self.live[name.lower()]
        self.deleted[name.lower()] = DeletedSecret(
            versions, now, now + timedelta(days=RETENTION_DAYS)
        )

    def deleted_entry(self, name: str) -> DeletedSecret:
        entry = self.deleted.get(name.lower())
        if entry is None:
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return entry

    def recover(self, name: str) -> SecretVersion:
        entry = self.deleted_entry(name)
        del self.deleted[name.lower()]
        self.live[name.lower()] = entry.versions
        return entry.versions[-1]

    def purge(self, name: str) -> None:
        self.deleted_entry(name)
        if self.purge_protection:
            raise VaultError(
                403,
                "Forbidden",
                'Operation "purge" is not allowed because purge protection is enabled for this '
                "vault. Key Vault service will automatically purge it after the retention period "
                "has passed.",
                "PurgeProtectionEnabled",
            )
        del self.deleted[name.lower()]


def _from_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    from datetime import UTC

    return datetime.fromtimestamp(int(value), UTC)
