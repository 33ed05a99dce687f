"""A local HTTPS double of the Microsoft cloud for the secure application model.

Identity platform (v2 authorize/token/devicecode with sign-in, MFA and consent pages), Partner
Center, Microsoft Graph and Key Vault data planes, speaking the wire protocols strictly enough that
the real ``msal``, ``azure-identity`` and ``azure-keyvault-secrets`` clients work against it
unmodified. Used by the test suite and by ``invoke demo``.

The house, bottom to top (each imports only what is below it):

* shared plumbing: ``server`` (TLS listeners, request log, faults), ``clock``, ``msids`` (the
  double's own copy of Microsoft's ids), ``shapes`` (the real services' error replies);
* ``identity/``: Entra ID, the v2 endpoints, sign-in pages and directory;
* the services that trust its tokens: ``graph``, ``partnercenter``, ``keyvault/``; and ``arm``,
  the in-process Resource Manager control plane for the Pulumi program;
* ``cloud``: ``CloudDouble``, which builds and starts them all.

Imports nothing of the product (``tests/test_double_catalog.py`` checks it).
"""

from .cloud import CloudDouble
from .faults import Fault
from .identity.browser import PageError
from .identity.directory import App, DirectoryError, Tenant, User
from .keyvault.store import SecretVersion
from .keyvault.vault import Vault
from .server import RequestRecord

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
