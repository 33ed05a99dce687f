"""Fixtures the split test files of the double share (a file that defines its own keeps it):

* ``partner``, one partner tenant with its app, for test_double_identity_tokens.py,
  test_double_identity_token_endpoint.py and test_double_identity_signin.py (their helpers are
  in identity_support.py);
* ``tenant_id``, ``caller`` and ``vault``, a tenant, a service principal in it and a vault that
  lets it do everything, for test_double_keyvault_secrets.py, test_double_keyvault_access.py and
  test_double_keyvault_faults.py (their helpers are in keyvault_support.py).
"""

from __future__ import annotations

import pytest

from clouddouble import CloudDouble, Vault
from tests.double.keyvault_support import Caller, make_caller, new_vault
from tests.support import Partner, make_partner, unique_domain


@pytest.fixture
def partner(cloud: CloudDouble) -> Partner:
    return make_partner(cloud)


@pytest.fixture
def tenant_id(cloud: CloudDouble) -> str:
    return cloud.add_tenant(domain=unique_domain()).id


@pytest.fixture
def caller(cloud: CloudDouble, tenant_id: str) -> Caller:
    return make_caller(cloud, tenant_id)


@pytest.fixture
def vault(cloud: CloudDouble, tenant_id: str, caller: Caller) -> Vault:
    vault = new_vault(cloud, tenant_id)
    vault.set_access_policy(caller.sp, secrets=["get", "list", "set", "delete", "recover", "purge"])
    return vault
