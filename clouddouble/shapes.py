"""The real services' own error replies, byte for byte where Microsoft documents them, for
``CloudDouble.inject_fault(body=..., content_type=...)`` and the services' own refusals. Each
shape quotes its source; the product must recognise them as the real cloud sends them, not as we
would have written them.
"""

from __future__ import annotations

import json

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def entra_plain_text_429() -> tuple[bytes, str]:
    """Entra's token endpoint, throttled at the front door, answers ``429 Too Many Requests`` with
    a plain-text body, not OAuth JSON (facts: "Added 2026-12-03"; MSAL Python then fails its JSON
    parse with ``ValueError``)."""
    return b"Too Many Requests", TEXT


def key_vault_throttled(reason: str = "Too many requests for this vault.") -> tuple[bytes, str]:
    """Key Vault service limits (Learn, "Azure Key Vault throttling guidance"): 429 with
    ``{"error":{"code":"Throttled","message":"Request was not processed because too many requests
    were received. Reason: ..."}}`` and a ``Retry-After`` header."""
    message = f"Request was not processed because too many requests were received. Reason: {reason}"
    return json.dumps({"error": {"code": "Throttled", "message": message}}).encode(), JSON


#: The ``Reason`` real Key Vault names when one vault's per-type request limit was hit, e.g.
#: "Reason: VaultRequestTypeLimitReached   Status: 429 (Too Many Requests)" (reported by signing
#: pipelines bursting a vault; Learn "Azure Key Vault service limits" for the limits themselves).
KEY_VAULT_THROTTLE_REASON = "VaultRequestTypeLimitReached"
#: Where the double's vaults say they live (real messages carry ``Vault: NAME;location=REGION``).
KEY_VAULT_LOCATION = "westeurope"


def key_vault_error(code: str, message: str, inner: str | None = None) -> dict[str, object]:
    """Key Vault's error envelope (Learn, "Azure Key Vault REST API error codes"):
    ``{"error": {"code": ..., "message": ..., "innererror": {"code": ...}}}``; the outer code of
    every 403 is ``Forbidden``, the inner code tells firewall, access policy and RBAC apart."""
    error: dict[str, object] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return {"error": error}


def key_vault_firewall_message(client_address: str, caller: str, vault: str) -> str:
    """A caller outside the vault's ``networkAcls`` (403, inner ``ForbiddenByFirewall``). Real
    copies: courselabs/azure ``labs/vnet-apps/README.md``; hashicorp/terraform-provider-azurerm
    #4553; hashicorp/packer-plugin-azure #384::

        {"error":{"code":"Forbidden","message":"Client address is not authorized and caller is
        not a trusted service.\\r\\nClient address: 20.126.176.160\\r\\nCaller: appid=...;oid=...;
        iss=https://sts.windows.net/.../\\r\\nVault: labsvnetappses;location=westeurope",
        "innererror":{"code":"ForbiddenByFirewall"}}}
    """
    return ("Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {client_address}\r\nCaller: {caller}\r\n"
            f"Vault: {vault};location={KEY_VAULT_LOCATION}")


def key_vault_access_policy_message(caller: str, permission: str, vault: str) -> str:
    """An access-policy vault without the permission (403, inner ``AccessDenied``). Real copies:
    turbot/steampipe-plugin-azure #127 ("does not have secrets list permission on key vault
    'diskvault001;location=southindia'. For help resolving this issue, please see
    https://go.microsoft.com/fwlink/?linkid=2125287" InnerError={"code":"AccessDenied"}) and
    MicrosoftDocs/azure-docs #57072 (the same for ``set``, as raw JSON)."""
    return (f"The user, group or application '{caller}' does not have secrets {permission} "
            f"permission on key vault '{vault};location={KEY_VAULT_LOCATION}'. For help resolving "
            "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287")


def key_vault_rbac_message(caller: str, action: str, resource: str, vault: str) -> str:
    """An RBAC vault where no role assignment grants the action (403, inner ``ForbiddenByRbac``),
    also what a caller sees while a new assignment propagates. Real copy:
    piyushsachdeva/Terraform_AKS #2 ("Caller is not authorized to perform action on
    resource.\\r\\nIf role assignments, deny assignments or role definitions were changed
    recently, please observe propagation time.\\r\\nCaller: ...\\r\\nAction: 'Microsoft.KeyVault/
    vaults/secrets/getSecret/action'\\r\\nResource: '...'\\r\\nAssignment: (not found)\\r\\n
    DenyAssignmentId: null\\r\\nDecisionReason: 'DeniedWithNoValidRBAC' \\r\\nVault: ...")."""
    return ("Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently, "
            "please observe propagation time.\r\n"
            f"Caller: {caller}\r\nAction: 'Microsoft.KeyVault/vaults/{action}'\r\n"
            f"Resource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\n"
            "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
            f"Vault: {vault};location={KEY_VAULT_LOCATION}\r\n")


def key_vault_firewall(client_address: str = "203.0.113.9", vault: str = "kv-contoso",
                       caller: str = "appid=00000000-0000-0000-0000-000000000000;"
                       "oid=00000000-0000-0000-0000-000000000000") -> tuple[bytes, str]:
    """The firewall refusal as a whole reply body (with status 403), for ``inject_fault``."""
    body = key_vault_error("Forbidden", key_vault_firewall_message(client_address, caller, vault),
                           "ForbiddenByFirewall")
    return json.dumps(body).encode(), JSON
