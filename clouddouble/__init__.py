"""A local HTTPS double of the Microsoft cloud for the secure application model.

Identity platform (v2 authorize/token/devicecode with sign-in, MFA and consent pages), Partner
Center, Microsoft Graph and Key Vault data planes, speaking the wire protocols strictly enough that
the real ``msal``, ``azure-identity`` and ``azure-keyvault-secrets`` clients work against it
unmodified. Used by the test suite and by ``invoke demo``.
"""

from .browser import PageError
from .cloud import CloudDouble
from .directory import App, DirectoryError, Tenant, User
from .keyvault import Vault
from .server import Fault, RequestRecord
from .vaultstore import SecretVersion

__all__ = [
    "App",
    "CloudDouble",
    "DirectoryError",
    "Fault",
    "PageError",
    "RequestRecord",
    "SecretVersion",
    "Tenant",
    "User",
    "Vault",
]
