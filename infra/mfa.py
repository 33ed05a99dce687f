"""MFA enforcement for the partner tenant (``mfaEnforcement``; see ``infra.mfa_config``).

``securityDefaults`` switches Entra's security defaults on (``infra.mfa_enforcement``).
``conditionalAccess`` declares one Conditional Access policy requiring MFA for all users and all
cloud apps, except the configured break-glass accounts. The two are mutually exclusive in Entra:
a Conditional Access policy can only be switched on while security defaults are off (Learn,
"Security defaults in Microsoft Entra ID": organisations implementing Conditional Access "must
disable security defaults"; the admin center says "You must first disable Security defaults
before enabling a Conditional Access policy"), while a report-only one may be created with them
on, and security defaults cannot be switched back on while a policy is enabled. So when the
policy is ``enabled`` this component also declares security defaults *off*, and the policy
depends on that; ``pulumi destroy`` removes the policy first and then restores the previous
security defaults setting, so the tenant is never left without both. A report-only policy
enforces nothing, so security defaults are left as they are until the policy is enabled.
"""

from __future__ import annotations

import pulumi
import pulumi_azuread as azuread

from foundation.resource_types import MFA_CONTROL
from infra.mfa_config import MfaSettings
from infra.mfa_enforcement import SecurityDefaults


class MfaEnforcement(pulumi.ComponentResource):
    security_defaults: SecurityDefaults | None
    policy: azuread.ConditionalAccessPolicy | None

    def __init__(
        self,
        name: str,
        mfa: MfaSettings,
        *,
        cloud: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``cloud`` is the tenant's national cloud: where the security defaults call goes."""
        super().__init__("csp-secure-app:index:MfaEnforcement", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_defaults = None
        self.policy = None

        if mfa.mode == "securityDefaults":
            self.security_defaults = SecurityDefaults(
                f"{name}-security-defaults", enabled=True, cloud=cloud, opts=child
            )
        elif mfa.mode == "conditionalAccess":
            depends_on: list[pulumi.Resource] = []
            if mfa.policy_state == "enabled":
                self.security_defaults = SecurityDefaults(
                    f"{name}-security-defaults-off", enabled=False, cloud=cloud, opts=child
                )
                depends_on.append(self.security_defaults)
            self.policy = azuread.ConditionalAccessPolicy(
                f"{name}-require-mfa",
                display_name=(
                    f"{pulumi.get_project()}-{pulumi.get_stack()}: require MFA for all users"
                ),
                state=mfa.policy_state,
                conditions=azuread.ConditionalAccessPolicyConditionsArgs(
                    client_app_types=["all"],
                    applications=azuread.ConditionalAccessPolicyConditionsApplicationsArgs(
                        included_applications=["All"]
                    ),
                    users=azuread.ConditionalAccessPolicyConditionsUsersArgs(
                        included_users=["All"],
                        # Emergency access accounts: the way back in when MFA itself breaks.
                        excluded_users=list(mfa.excluded_object_ids) or None,
                    ),
                ),
                grant_controls=azuread.ConditionalAccessPolicyGrantControlsArgs(
                    operator="OR", built_in_controls=[MFA_CONTROL]
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )
        self.register_outputs({})
