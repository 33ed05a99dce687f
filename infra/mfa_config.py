"""How the partner tenant enforces MFA (``mfaEnforcement`` and its two companion keys).

Partner Center refuses App+User tokens without ``mfa`` in ``amr``, and Microsoft's partner security
requirements ask for MFA on every user of the partner tenant. Entra offers two mutually exclusive
ways to require it, both tenant-wide:

* ``securityDefaults``: Microsoft's free baseline (MFA registration and challenges for everyone,
  legacy authentication blocked). No exclusions are possible.
* ``conditionalAccess``: a Conditional Access policy requiring MFA for all users except named
  break-glass accounts. Needs Entra ID P1. While security defaults are on, Entra refuses to turn
  on a Conditional Access policy; a report-only one (the default state here) can be created
  (Learn, "Security defaults in Microsoft Entra ID"; see ``infra.mfa``).

The default is ``none`` (this program leaves the tenant's setting alone): many partners already
enforce MFA with their own Conditional Access policies, and switching security defaults on in such
a tenant fails, while switching them off would remove protection the partner relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MfaMode = Literal["securityDefaults", "conditionalAccess", "none"]
PolicyState = Literal["enabled", "enabledForReportingButNotEnforced"]
MODES: tuple[MfaMode, ...] = ("securityDefaults", "conditionalAccess", "none")
STATES: tuple[PolicyState, ...] = ("enabled", "enabledForReportingButNotEnforced")
#: Report-only by default: an all-users policy switched on at once locks out every account
#: without a registered MFA method (and a forgotten break-glass account with them). Report-only
#: shows in the sign-in logs whom the policy would block; the plan warns until it is `enabled`.
DEFAULT_STATE: PolicyState = "enabledForReportingButNotEnforced"

Bad = Callable[[str, str], None]


@dataclass(frozen=True)
class MfaSettings:
    mode: MfaMode = "none"
    policy_state: PolicyState = DEFAULT_STATE
    #: Object ids of break-glass (emergency access) users the Conditional Access policy skips.
    excluded_object_ids: tuple[str, ...] = ()


def parse_mfa(
    mode_text: str, state_text: str, excluded: tuple[str, ...] | None, bad: Bad
) -> MfaSettings | None:
    """``excluded`` is ``None`` when the key is unset, else its (already GUID-checked) ids.
    Reports through ``bad(key, message)``; returns ``None`` when anything was wrong."""
    ok = True
    mode: MfaMode = "none"
    if mode_text:
        if mode_text in MODES:
            mode = mode_text
        else:
            bad(
                "mfaEnforcement",
                f"{mode_text!r} is not an MFA enforcement mode (rule: securityDefaults, "
                "conditionalAccess or none)",
            )
            ok = False
    conditional = mode == "conditionalAccess" or not ok

    state: PolicyState = DEFAULT_STATE
    if state_text:
        if not conditional:
            bad(
                "mfaPolicyState",
                f"is only read when mfaEnforcement is conditionalAccess, not {mode} (rule: "
                "remove it, or set mfaEnforcement: conditionalAccess)",
            )
            ok = False
        elif state_text in STATES:
            state = state_text
        else:
            bad(
                "mfaPolicyState",
                f"{state_text!r} is not a policy state (rule: enabled or "
                "enabledForReportingButNotEnforced)",
            )
            ok = False

    if excluded and not conditional:
        why = (
            "security defaults cannot exclude any account"
            if mode == "securityDefaults"
            else f"it is only read when mfaEnforcement is conditionalAccess, not {mode}"
        )
        bad("mfaExcludedObjectIds", f"is set but {why} (rule: remove it)")
        ok = False
    if not ok:
        return None
    return MfaSettings(mode=mode, policy_state=state, excluded_object_ids=excluded or ())
