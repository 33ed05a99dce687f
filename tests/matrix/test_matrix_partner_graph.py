"""Matrix, Partner Center's MFA refusal and Graph's report refusals, each told apart.

Partner Center: since 2026-04-01 every App+User call needs MFA, and a token without it is refused
with 401 and code 900421 (the double's ``clouddouble.partnercenter.mfa_refusal_body``), text that
need not say "MFA"; the older form said "MFA required" (code 10001). The product's own ``amr``
check cannot catch every case (a federated sign-in whose MFA Partner Center does not accept, a
policy change after the token was issued), so Partner Center's answer is what counts. consent
stores nothing then (a token Partner Center refuses is useless, and keeping it would only hide
the problem); rotate leaves the stored token alone; verify calls the setup broken.

Graph's registration report: a tenant without Microsoft Entra ID P1/P2, a signed-in account
without a reporting role, an identity without AuditLog.Read.All: three refusals, three fixes.

Each line ends with the ids the service's support asks for when its answer carried them: Graph's
``request-id`` / ``client-request-id`` (its error's ``innerError``), Partner Center's
``MS-RequestId`` / ``MS-CorrelationId`` headers (the double sends them on its own answers; the
injected refusals above are bare bodies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from clouddouble.graph import UNSUPPORTED_ROLE, graph_error_body
from clouddouble.partnercenter import mfa_refusal_body
from tests.matrix.runner import Expect, Sandbox, seed
from tests.support import grant_graph_roles

Arrange = Callable[[Sandbox], None]
PROFILE = r"^/v1/profiles/organization$"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
GRAPH_IDS = re.compile(rf" \(request id {GUID}, client request id {GUID}\)\.$")
PARTNER_CENTER_IDS = re.compile(rf" \(request id {GUID}, correlation id {GUID}\)\.?$")
URD = r"^/v1\.0/reports/authenticationMethods/userRegistrationDetails$"


def reader(box: Sandbox) -> None:
    """The writer identity may read the report (what mfa-report needs)."""
    grant_graph_roles(box.cloud, box.world.tenant.id, box.world.writer_app.app_id,
                      "AuditLog.Read.All")


def partner_center_refuses(body: tuple[bytes, str], status: int = 401) -> Arrange:
    def arrange(box: Sandbox) -> None:
        box.cloud.inject_fault(PROFILE, status=status, count=10, retry_after=None,
                               service="partnercenter", body=body[0], content_type=body[1])
    return arrange


def legacy_body() -> tuple[bytes, str]:
    """The pre-2026 refusal (see clouddouble.partnercenter): "MFA required", code 10001."""
    body = {"code": 10001, "description": "MFA required", "data": [], "source": "PartnerFD"}
    return json.dumps(body).encode(), "application/json; charset=utf-8"


def without_premium(box: Sandbox) -> None:
    reader(box)
    box.cloud.graph.set_premium(box.world.tenant.id, False)


def without_role(box: Sandbox) -> None:
    """Graph's answer to a signed-in account (say, `az login` as a member) without a role."""
    reader(box)
    body, content_type = graph_error_body(*UNSUPPORTED_ROLE)
    box.cloud.inject_fault(URD, status=403, count=10, retry_after=None, service="graph",
                           body=body, content_type=content_type)


def without_permission(_box: Sandbox) -> None:
    """The writer identity was never granted AuditLog.Read.All."""


def partner_center_down(box: Sandbox) -> None:
    """A Partner Center outage: 503, in its own error shape and headers, after the retries."""
    box.cloud.partner_center_down()


PC_MFA = Expect(3, ("Partner Center refused the token", "did not satisfy MFA"),
                ("enforce MFA for the admin account", "csp-secure-app consent"))
PC_MFA_BROKEN = Expect(9, ("token redemption", "Partner Center refused the token",
                           "did not satisfy MFA"),
                       ("enforce MFA for the admin account", "csp-secure-app consent"),
                       prefix="broken: ")

#: (id, task, arrange, expect). rotate and verify start from a stored token.
ROWS: list[tuple[str, str, Arrange, Expect]] = [
    ("partner-center-900421", "consent", partner_center_refuses(mfa_refusal_body()),
     Expect(3, (*PC_MFA.cause, "code 900421"), PC_MFA.fix)),
    ("partner-center-900421-403", "consent", partner_center_refuses(mfa_refusal_body(), 403),
     PC_MFA),
    ("partner-center-10001", "consent", partner_center_refuses(legacy_body()), PC_MFA),
    ("partner-center-900421", "rotate", partner_center_refuses(mfa_refusal_body()), PC_MFA),
    ("partner-center-900421", "verify", partner_center_refuses(mfa_refusal_body()),
     PC_MFA_BROKEN),
    ("graph-no-premium-licence", "mfa-report", without_premium,
     Expect(3, ("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "no Microsoft Entra ID P1 or P2 licence"), ("P1 or P2",))),
    ("graph-no-reporting-role", "mfa-report", without_role,
     Expect(3, ("Authentication_RequestFromUnsupportedUserRole", "no role"),
            ("Reports Reader", "Security Reader", "Security Administrator"))),
    ("graph-no-permission", "mfa-report", without_permission,
     Expect(3, ("Microsoft Graph refused", "403"), ("AuditLog.Read.All", "admin consent"))),
    ("partner-center-down", "rotate", partner_center_down,
     Expect(5, ("Partner Center answered 503",), ("PARTNER_CENTER_ENDPOINT",))),
    ("partner-center-down", "verify", partner_center_down,
     Expect(5, ("Partner Center answered 503",), ("PARTNER_CENTER_ENDPOINT",),
            prefix="unavailable: ")),
]


@pytest.mark.parametrize(("task", "arrange", "expect"),
                         [pytest.param(*row[1:], id=f"{row[0]}-{row[1]}") for row in ROWS])
def test_refusal_row(box: Sandbox, task: str, arrange: Arrange, expect: Expect) -> None:
    if task in ("rotate", "verify"):
        seed(box)
    before = box.snapshot()
    arrange(box)
    run = box.consent() if task == "consent" else box.invoke(task)
    box.check(run, expect, before)
    [line] = [line for line in run.lines if line.startswith(expect.prefix)]
    if task == "mfa-report":
        assert run.stdout == "", "no half report on stdout"
        assert GRAPH_IDS.search(line), f"Graph's ids end the line: {line}"
    elif arrange is partner_center_down:
        assert PARTNER_CENTER_IDS.search(line), f"Partner Center's ids end the line: {line}"
