"""The ARM double refuses what Azure Resource Manager refuses, with ARM's error shapes."""

from __future__ import annotations

import threading
from datetime import date

from clouddouble.arm import ArmDouble, ArmResponse

SUB = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333"
VAULT = f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
SECRET = f"{VAULT}/secrets/token"
API = "2026-02-01"
SP = "5f3c1a2b-0000-4000-8000-00000000000a"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
VAULT_BODY = {
    "location": "westeurope",
    "properties": {"tenantId": "t", "sku": {"family": "A", "name": "standard"}},
}
SECRET_BODY = {"properties": {"value": "placeholder", "contentType": "text/plain"}}


def assignment(name: str = "1", scope: str = SECRET) -> str:
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"


def grant(principal: str, principal_type: str | None = None) -> dict[str, object]:
    properties: dict[str, object] = {"roleDefinitionId": ROLE, "principalId": principal}
    if principal_type:
        properties["principalType"] = principal_type
    return {"properties": properties}


def in_parallel(arm: ArmDouble, *calls: tuple[str, dict[str, object]]) -> list[ArmResponse]:
    barrier = threading.Barrier(len(calls))
    answers: list[ArmResponse] = []

    def run(resource_id: str, body: dict[str, object]) -> None:
        barrier.wait()
        answers.append(arm.put(resource_id, API, body))

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_parallel_operations_on_one_vault_get_409_conflict_error() -> None:
    arm = ArmDouble(operation_seconds=0.2)
    assert arm.put(VAULT, API, VAULT_BODY).ok
    answers = in_parallel(arm, (VAULT, VAULT_BODY), (SECRET, SECRET_BODY))
    assert sorted(a.status for a in answers) == [200, 409]
    (conflict,) = [a for a in answers if a.status == 409]
    assert conflict.code == "ConflictError"
    assert "serialize the operations" in conflict.body["error"]["message"]
    assert "Key Vault 'kv'" in conflict.body["error"]["message"]


def test_one_after_another_is_accepted_and_other_vaults_do_not_conflict() -> None:
    arm = ArmDouble(operation_seconds=0.1)
    assert arm.put(VAULT, API, VAULT_BODY).ok
    assert arm.put(SECRET, API, SECRET_BODY).ok
    other = VAULT.replace("/kv", "/kv2")
    answers = in_parallel(arm, (other, VAULT_BODY), (SECRET, SECRET_BODY))
    assert all(a.ok for a in answers)
    # The control plane never returns a secret's value.
    assert "value" not in arm.resources[SECRET.lower()]["properties"]


def test_a_secret_needs_its_vault() -> None:
    answer = ArmDouble(operation_seconds=0).put(SECRET, API, SECRET_BODY)
    assert (answer.status, answer.code) == (404, "ParentResourceNotFound")


def test_retired_api_versions_stop_being_served_on_2027_02_27() -> None:
    before = ArmDouble(operation_seconds=0, today=date(2027, 2, 26))
    assert before.put(VAULT, "2024-11-01", VAULT_BODY).ok
    after = ArmDouble(operation_seconds=0, today=date(2027, 2, 27))
    refused = after.put(VAULT, "2024-11-01", VAULT_BODY)
    assert (refused.status, refused.code) == (400, "NoRegisteredProviderFound")
    assert "'2024-11-01'" in refused.body["error"]["message"]
    assert after.put(VAULT, "2026-02-01", VAULT_BODY).ok


def test_a_principal_type_that_does_not_match_is_refused() -> None:
    arm = ArmDouble(operation_seconds=0)
    arm.add_principal(SP, "ServicePrincipal")
    refused = arm.put(assignment(), "2022-04-01", grant(SP, "User"))
    assert (refused.status, refused.code) == (400, "UnmatchedPrincipalType")
    assert refused.body["error"]["message"] == (
        f"The PrincipalId '{SP}' has type 'ServicePrincipal' , which is different from specified "
        "PrinciaplType 'User'."
    )
    accepted = arm.put(assignment(), "2022-04-01", grant(SP, "ServicePrincipal"))
    assert accepted.status == 201


def test_an_unknown_principal_needs_a_type_and_a_known_one_is_looked_up() -> None:
    arm = ArmDouble(operation_seconds=0)
    missing = arm.put(assignment("1"), "2022-04-01", grant(SP))
    assert (missing.status, missing.code) == (400, "PrincipalNotFound")
    # With a type ARM does not look the principal up (one created seconds ago is fine).
    assert arm.put(assignment("1"), "2022-04-01", grant(SP, "ServicePrincipal")).status == 201
    arm.add_principal("u", "User")
    looked_up = arm.put(assignment("2"), "2022-04-01", grant("u"))
    assert looked_up.body["properties"]["principalType"] == "User"


def test_the_same_grant_twice_is_role_assignment_exists() -> None:
    arm = ArmDouble(operation_seconds=0)
    assert arm.put(assignment("1"), "2022-04-01", grant(SP, "ServicePrincipal")).ok
    again = arm.put(assignment("2"), "2022-04-01", grant(SP, "ServicePrincipal"))
    assert (again.status, again.code) == (409, "RoleAssignmentExists")
    elsewhere = arm.put(assignment("3", VAULT), "2022-04-01", grant(SP, "ServicePrincipal"))
    assert elsewhere.ok
