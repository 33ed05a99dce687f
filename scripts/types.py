"""The plain values the flows, the adapters and storage hand each other: no behaviour, no I/O.

They live apart from ``scripts.inputs`` (which builds most of them from flags, the environment
and stack outputs) so that an adapter can take a ``PartnerApp`` without importing the module
that reads the environment. Every value holding a secret keeps it out of its ``repr``: a debugger,
a log line or an exception's arguments must never show it (``field(repr=False)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Where a flow's progress lines go (stderr in the tasks: stdout carries only a task's result).
Say = Callable[[str], None]


@dataclass(frozen=True)
class PartnerApp:
    """The CSP tenant and the CPV (automation platform) app that acts for it."""

    csp_domain: str
    app_id: str
    app_secret: str = field(repr=False)


@dataclass(frozen=True)
class VaultTarget:
    """Where the refresh token is stored: the vault and the secret's name."""

    vault_url: str
    secret_name: str


@dataclass(frozen=True)
class KeyVaultReader:
    """The app the platform reads the vault with (module settings "Key Vault Client ...").

    Not the Pulumi component that creates that app (``infra.client_app``): this is the
    credential a flow signs in with, as the platform is configured."""

    app_id: str
    app_secret: str = field(repr=False)
    csp_domain: str = field(repr=False)


@dataclass(frozen=True)
class StorageOptions:
    """What storing a token depends on besides the token: decided once, from the environment
    (``scripts.inputs.storage_options``), so ``scripts.storage`` reads nothing itself."""

    #: ``$SECURE_APP_HOME`` (default ``~/.secure-app``): the fallback files go under it.
    pending_home: Path
    #: How long a write refused while a new role assignment propagates is retried (seconds).
    rbac_wait: float
