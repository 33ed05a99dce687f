"""The owner-only fallback file: where a refresh token waits when it could not reach Key Vault.

A refresh token costs a human an MFA sign-in; losing it is never acceptable. Every store
(``scripts.storage``: consent, rotate, store-token) writes the token here *before* it talks to
the vault and deletes the file only after the vault confirmed the new version, so a vault error,
a crash or Ctrl-C while storing all leave it recoverable with ``invoke store-token --from-file
PATH``. This module is the file alone; where its folder is (``$SECURE_APP_HOME``) is decided by
``scripts.inputs`` and passed in.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from foundation.errors import ConfigError


@dataclass(frozen=True)
class PendingToken:
    refresh_token: str
    tenant_id: str
    app_id: str
    vault_url: str
    secret_name: str
    user: str
    obtained_at: str

    def __repr__(self) -> str:  # never let a debugger or log line print the token
        return f"PendingToken(tenant_id={self.tenant_id!r}, secret_name={self.secret_name!r})"


def pending_dir(home: Path) -> Path:
    """``HOME/pending``, mode 0700 (and ``home`` itself 0700: ``~/.secure-app`` by default)."""
    folder = home / "pending"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    os.chmod(folder, 0o700)
    return folder


def keep(pending: PendingToken, home: Path) -> Path:
    """Write the token to a new owner-only file (0600, created exclusively: never over another)."""
    folder = pending_dir(home)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = folder / f"refresh-token-{pending.tenant_id or 'tenant'}-{stamp}-{os.getpid()}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(pending), handle)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def load(path: Path) -> PendingToken:
    """Read a fallback file, refusing one that others could have read or written."""
    try:
        info = path.lstat()
    except FileNotFoundError as exc:
        raise ConfigError(f"no fallback file at {path}",
                          fix="pass the path that consent printed") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file", fix="pass the path that consent printed")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(
            f"{path} is readable or writable by others (mode {stat.S_IMODE(info.st_mode):o}); "
            "the token in it must be treated as exposed",
            fix="run consent again to get a new token, and revoke the exposed one by resetting "
            "the consent in Partner Center",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PendingToken(**{k: str(data[k]) for k in PendingToken.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a fallback file written by consent",
                          fix="pass the path that consent printed") from exc


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
