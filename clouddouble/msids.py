"""The double's own copy of the Microsoft ids it serves, written down from Microsoft's documents,
never imported from the product: a double that read the product's constants would agree with a
wrong one. ``tests/test_double_catalog.py`` compares the two copies; they must match.

Sources: Microsoft Graph permissions reference (permission ids), "Integrate with Partner Center"
/ secure application model (Partner Center API app id and ``user_impersonation``), Azure built-in
roles (Key Vault role definition ids), Microsoft identity platform first-party app ids.
"""

from __future__ import annotations

from typing import Final

PARTNER_CENTER_APP_ID: Final = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
PARTNER_CENTER_NAME: Final = "Partner Center API"
PARTNER_CENTER_RESOURCE: Final = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_USER_IMPERSONATION: Final = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"

MICROSOFT_GRAPH_APP_ID: Final = "00000003-0000-0000-c000-000000000000"
MICROSOFT_GRAPH_NAME: Final = "Microsoft Graph"
GRAPH_USER_READ: Final = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
GRAPH_DIRECTORY_ACCESS_AS_USER_ALL: Final = "0e263e50-5827-48a4-b97c-d940288653c7"
GRAPH_OFFLINE_ACCESS: Final = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
GRAPH_OPENID: Final = "37f7f235-527c-4136-accd-4a02d197296e"
GRAPH_PROFILE: Final = "14dad69e-099b-42c9-810b-d002981feec1"
GRAPH_APPLICATION_READ_ALL_ROLE: Final = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
GRAPH_POLICY_READ_WRITE_CONDITIONAL_ACCESS_ROLE: Final = "01c0a623-fc9b-48e9-b794-0756f8e8f067"

AZURE_SERVICE_MANAGEMENT_APP_ID: Final = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
AZURE_SERVICE_MANAGEMENT_NAME: Final = "Azure Service Management"
AZURE_SERVICE_MANAGEMENT_USER_IMPERSONATION: Final = "41094075-9dad-400e-a0bd-54e686782033"

#: Azure built-in roles: Key Vault Secrets User / Key Vault Secrets Officer.
KEY_VAULT_SECRETS_USER_ROLE: Final = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER_ROLE: Final = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
