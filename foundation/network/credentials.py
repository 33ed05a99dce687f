"""The azure-identity credentials every task and the ``infra`` program build: decided here, once.

Each one signs in at the stack's cloud (``Endpoints.authority_host``; instance discovery only for
Microsoft's own hosts, so a national-cloud override or the local double is never validated
against the public cloud) and sends its requests through our transport
(``foundation.network.discovery.azure_transport``): the process's one session (one connection
per host and one trust store, shared with MSAL and the Key Vault client), our timeouts instead of
azure-core's 300 s, the shared discovery cache, no back-off on an untrusted certificate, and the
last token reply ``credential_error`` needs to tell throttling from a refusal. azure-identity is
imported on use: ``invoke --list`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foundation.clouds import Endpoints
from foundation.network.discovery import azure_transport

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


def identity_options(endpoints: Endpoints) -> dict[str, Any]:
    """The keyword arguments every azure-identity credential of ours is built with."""
    return {
        "authority": endpoints.authority_host,
        "disable_instance_discovery": not endpoints.instance_discovery,
        "transport": azure_transport(),
    }


def deployer_credential(endpoints: Endpoints) -> TokenCredential:
    """Who acts for the admin or the pipeline: ``az login``, or a pipeline's ``AZURE_*``
    variables (secret, certificate or workload identity). Never a browser window: a task runs
    in a terminal or a pipeline, and the interactive sign-in it needs is consent's own."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True,
                                  **identity_options(endpoints))
