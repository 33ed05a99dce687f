"""Key Vault's secrets data plane, one HTTPS listener per vault, as azure-keyvault-secrets meets it.

* ``vault``: the listener and its request checks, in the real service's order;
* ``guard``: throttling, the firewall (``networkAcls``), access policies and Azure RBAC role
  assignments with their propagation delay;
* ``store``: secret versions, soft delete and their JSON shapes on the wire.

It follows Microsoft Learn: "Azure Key Vault REST API error codes", "Azure Key Vault
throttling guidance", "Configure Azure Key Vault networking settings", "Azure built-in roles for
Key Vault data plane" and "Troubleshoot Azure RBAC" (propagation). Refusals use the replies
quoted in ``clouddouble.shapes``. The control plane (vaults and role assignments as ARM
resources) is ``clouddouble.arm``.
"""
