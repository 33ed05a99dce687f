"""The ids Microsoft support asks for end every refusal's line, without SECURE_APP_DEBUG: Entra's
trace id, correlation id and timestamp (its token endpoint's error JSON, and the error_description
of a sign-in's error redirect), Partner Center's MS-RequestId / MS-CorrelationId response headers,
Graph's request-id / client-request-id. Each run is the CLI as a subprocess against the double;
the ids it prints are the double's random ones, so the test checks their shape and place: at the
end of the one error line, after the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clouddouble import CloudDouble
from tests.matrix.runner import Expect, Run, Sandbox, returning, seed

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Entra's ids as the line ends with them.
ENTRA_IDS = re.compile(rf" \(trace id {GUID}, correlation id {GUID}, "
                       r"timestamp \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)\.$")


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    return Sandbox(cloud, tmp_path)


def error_line(run: Run) -> str:
    [line] = [line for line in run.lines if line.startswith("error: ")]
    return line


def test_an_entra_refusal_ends_with_its_trace_and_correlation_ids(box: Sandbox) -> None:
    """rotate with a wrong CPV app secret: the token endpoint's AADSTS7000215, as MSAL has it."""
    before = seed(box)
    run = box.invoke("rotate", env=box.env(CPV_APP_SECRET="not-the-secret-at-all"))
    box.check(run, Expect(3, ("token redemption", "AADSTS7000215"), ("CPV_APP_SECRET",)), before)
    line = error_line(run)
    assert ENTRA_IDS.search(line), line
    assert line.index(" Fix: ") < line.index("(trace id "), "the ids end the line, after the fix"
    assert "SECURE_APP_DEBUG" not in box.env(), "shown without debug output"


def test_a_sign_in_error_redirect_ends_with_entras_ids(box: Sandbox) -> None:
    """The admin declines consent: Entra redirects with error_description "AADSTS65004: ...
    Trace ID: ... Correlation ID: ... Timestamp: ..." (Learn, the authorization code flow's error
    response), and those ids end the line."""
    before = box.snapshot()
    run = box.consent(play=returning(lambda r: r, accept=False))
    box.check(run, Expect(3, ("declined", "AADSTS65004"), ("accept the permissions",)), before)
    assert ENTRA_IDS.search(error_line(run)), run.stderr


def test_a_forged_id_in_an_error_redirect_is_not_printed(box: Sandbox) -> None:
    """The redirect's text comes from outside (here: rewritten in the browser): a "trace id" that
    is an escape sequence is dropped, not shown."""
    def forged(redirect: str) -> str:
        state = re.search(r"state=([^&]+)", redirect)
        assert state
        return (f"http://localhost:{box.world.port}/?error=access_denied&state={state.group(1)}"
                "&error_description=AADSTS65004%3A+declined.%0D%0ATrace+ID%3A+%1B%5D0%3Bowned%07")

    before = box.snapshot()
    run = box.consent(play=returning(forged, accept=False))
    box.check(run, Expect(3, ("declined", "AADSTS65004"), ("accept the permissions",)), before)
    line = error_line(run)
    assert "trace id" not in line and "owned" not in line and "\x1b" not in run.stderr


def test_a_partner_center_failure_ends_with_its_request_and_correlation_ids(
        box: Sandbox) -> None:
    """Partner Center is down (503 after the retries): its MS-RequestId and MS-CorrelationId end
    the line."""
    before = seed(box)
    box.cloud.partner_center_down()
    run = box.invoke("rotate")
    box.check(run, Expect(5, ("Partner Center answered 503",), ("PARTNER_CENTER_ENDPOINT",)),
              before)
    line = error_line(run)
    assert re.search(rf" \(request id {GUID}, correlation id {GUID}\)\.$", line), line


def test_a_graph_refusal_ends_with_its_request_ids(box: Sandbox) -> None:
    """mfa-report without AuditLog.Read.All: Graph's 403 names request-id and client-request-id
    in its innerError."""
    before = box.snapshot()
    run = box.invoke("mfa-report")
    box.check(run, Expect(3, ("Microsoft Graph refused", "403"), ("AuditLog.Read.All",)), before)
    line = error_line(run)
    assert re.search(rf" \(request id {GUID}, client request id {GUID}\)\.$", line), line
