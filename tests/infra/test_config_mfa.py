"""Stack config validation of MFA enforcement: the mode, the policy state and the break-glass
exclusions, whose companion keys only go with conditional access."""

from __future__ import annotations

import pytest

from tests.infra.base_config import WRITER
from tests.infra.config_parsing import parse, problems

BREAK_GLASS = "99999999-8888-4777-8666-555555555555"


def test_conditional_access_defaults_to_report_only_and_reads_break_glass_accounts() -> None:
    cfg = parse(mfaEnforcement="conditionalAccess", mfaExcludedObjectIds=f"{BREAK_GLASS},{WRITER}")
    assert cfg.mfa.mode == "conditionalAccess"
    assert cfg.mfa.policy_state == "enabledForReportingButNotEnforced"
    assert cfg.mfa.excluded_object_ids == (BREAK_GLASS, WRITER)
    enforced = parse(mfaEnforcement="conditionalAccess", mfaPolicyState="enabled")
    assert enforced.mfa.policy_state == "enabled"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"mfaEnforcement": "conditionalAccess", "mfaPolicyState": "on"},
            "rule: enabled or enabledForReportingButNotEnforced",
        ),
        ({"mfaPolicyState": "enabled"}, "only read when mfaEnforcement is conditionalAccess"),
        (
            {"mfaEnforcement": "securityDefaults", "mfaPolicyState": "enabled"},
            "not securityDefaults",
        ),
        (
            {"mfaEnforcement": "securityDefaults", "mfaExcludedObjectIds": BREAK_GLASS},
            "security defaults cannot exclude any account",
        ),
        (
            {"mfaExcludedObjectIds": BREAK_GLASS},
            "only read when mfaEnforcement is conditionalAccess",
        ),
    ],
)
def test_mfa_companion_keys_only_go_with_conditional_access(
    overrides: dict[str, str], message: str
) -> None:
    (line,) = problems(**overrides)
    key = "mfaPolicyState" if "mfaPolicyState" in overrides else "mfaExcludedObjectIds"
    assert line.startswith(f"csp-secure-app:{key}: ")
    assert message in line


def test_a_bad_mode_is_reported_once_not_again_for_its_companion_keys() -> None:
    lines = problems(
        mfaEnforcement="ca", mfaPolicyState="enabled", mfaExcludedObjectIds=BREAK_GLASS
    )
    assert [line.split(":")[1] for line in lines] == ["mfaEnforcement"]
