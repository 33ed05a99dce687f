"""`verify --notify URL` end to end, as a subprocess against the cloud double: the report posted
to a local HTTPS receiver (its own trustme CA, trusted beside the double's) in each format, only
when it is not healthy unless --notify-always, never a secret in a body, and a receiver that is
down, slow or refusing leaves verify's exit code as it was, with one warning line.

The outlook checks are skipped by name in every run: these tests are about the alert, and a
healthy world here is the platform's view being healthy (Application.Read.All granted)."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from clouddouble import CloudDouble
from foundation.errors import EXIT_BAD_INPUT, EXIT_HEALTH_BROKEN, EXIT_HEALTH_WARNING, EXIT_OK
from scripts.flows.verify import CHECK_NAMES, HealthReport
from scripts.flows.verify.alerts import message, scrub, slack_message
from scripts.flows.verify.report import Check
from scripts.local.ports import free_port
from tests.support import PartnerWorld, grant_graph_roles, seed_in_process, token_without_mfa

SKIP_OUTLOOK = [arg for name in CHECK_NAMES for arg in ("--skip", name)]
#: What a webhook's address holds that grants posting: it must never be printed.
HOOK_SECRET = f"sig{uuid.uuid4().hex}"


@dataclass
class Receiver:
    """A local HTTPS webhook: records each post, answers ``status`` after ``delay`` s."""

    base_url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b"ok"
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"{self.base_url}/services/T0001/B0002/{HOOK_SECRET}?sig={HOOK_SECRET}"

    def bodies(self) -> list[Any]:
        return [json.loads(p["body"]) for p in self.posts]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            receiver.posts.append({"path": self.path, "body": body,
                                   "content_type": self.headers.get("Content-Type")})
            if receiver.delay:
                time.sleep(receiver.delay)  # past the client's timeout: it has gone by now
            try:
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the slow receiver) is expected, not news


@pytest.fixture
def receiver_ca() -> trustme.CA:
    return trustme.CA(organization_name="webhook receiver test CA")


@pytest.fixture
def receiver(receiver_ca: trustme.CA) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    receiver_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    # The handshake in the handler's thread, not the accept loop's.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    hook = Receiver(f"https://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def bundle(cloud: CloudDouble, receiver_ca: trustme.CA, tmp_path: Path) -> str:
    """One CA bundle trusting the double's CA and the receiver's."""
    path = tmp_path / "ca-bundle.pem"
    path.write_bytes(Path(cloud.ca_pem_path).read_bytes() + receiver_ca.cert_pem.bytes())
    return str(path)


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    world = seed_in_process(PartnerWorld(cloud, tmp_path / "home"))
    grant_graph_roles(cloud, world.tenant.id, world.writer_app.app_id, "Application.Read.All")
    return world


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def verify(world: PartnerWorld, bundle: str, *args: str, **env: str) -> Run:
    result = world.invoke("verify", *SKIP_OUTLOOK, *args,
                          env=world.env(REQUESTS_CA_BUNDLE=bundle, SSL_CERT_FILE=bundle, **env))
    assert "Traceback" not in result.stderr, result.stderr
    shown = result.stdout + result.stderr
    assert HOOK_SECRET not in shown and "/services/" not in shown, "the webhook was printed"
    return Run(result.returncode, result.stdout, result.stderr)


def assert_no_secret_posted(world: PartnerWorld, receiver: Receiver) -> None:
    """No secret of the world (client secrets, the admin's password), no stored refresh token
    and nothing token-shaped in any body the receiver got."""
    tokens = [v.value for v in world.vault.secret_versions(world.secret_name)]
    for post in receiver.posts:
        for secret in [*world.secrets(), *tokens]:
            assert secret not in post["body"], "a secret was posted"
        assert "eyJ" not in post["body"], "a token was posted"


def warnings(stderr: str) -> list[str]:
    """The alert's warning lines (the report's own problems are "warning: CHECK: ..." too)."""
    return [line for line in stderr.splitlines() if line.startswith("warning: the webhook")]


def expiring(world: PartnerWorld, bundle: str, receiver: Receiver, *args: str,
             **env: str) -> Run:
    """A run that warns: the token's 90 days are inside --warn-days 100 (exit 8)."""
    return verify(world, bundle, "--warn-days", "100", "--notify", receiver.url, *args, **env)


def test_json_is_the_report_with_tool_tenant_summary_and_time(
        world: PartnerWorld, bundle: str, receiver: Receiver) -> None:
    run = expiring(world, bundle, receiver, "--format", "json")
    assert run.code == EXIT_HEALTH_WARNING, run.stderr
    [post] = receiver.posts
    assert post["path"] == f"/services/T0001/B0002/{HOOK_SECRET}?sig={HOOK_SECRET}"
    assert post["content_type"] == "application/json"
    [body] = receiver.bodies()
    printed = json.loads(run.stdout)
    assert {k: body[k] for k in printed} == printed, "the report as verify prints it"
    assert body["tool"] == "csp-secure-app" and body["tenant_domain"] == world.domain
    assert body["status"] == "warning" and body["exit_code"] == 8 and body["alert"] is True
    assert body["summary"].startswith(f"csp-secure-app verify for {world.domain}: warning")
    assert "refresh token expiry warning" in body["summary"]
    assert body["timestamp"].endswith("Z") and "T" in body["timestamp"]
    assert [line for line in run.stderr.splitlines() if line.startswith("note:")] == [
        "note: the report (warning) was posted to https://127.0.0.1:"
        f"{receiver.base_url.rsplit(':', 1)[1]}/*** (json)."]
    assert warnings(run.stderr) == []
    assert_no_secret_posted(world, receiver)


def test_teams_gets_an_adaptive_card_in_the_message_envelope(
        world: PartnerWorld, bundle: str, receiver: Receiver) -> None:
    run = expiring(world, bundle, receiver, "--notify-format", "teams")
    assert run.code == EXIT_HEALTH_WARNING, run.stderr
    [body] = receiver.bodies()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    kinds = [element["type"] for element in card["body"]]
    assert kinds[:3] == ["TextBlock", "TextBlock", "FactSet"] and "Container" in kinds
    assert card["body"][0]["text"] == "csp-secure-app verify: WARNING"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Tenant"] == world.domain and facts["Exit code"] == "8"
    assert facts["refresh token expiry"] == "WARNING" and facts["consent"] == "SKIPPED"
    [problem] = [e for e in card["body"] if e["type"] == "Container"]
    assert problem["items"][0]["text"] == "refresh token expiry: WARNING"
    assert problem["items"][-1]["text"].startswith("Fix: ")
    assert_no_secret_posted(world, receiver)


def test_slack_gets_text_and_blocks(world: PartnerWorld, bundle: str,
                                    receiver: Receiver) -> None:
    run = expiring(world, bundle, receiver, "--notify-format", "slack")
    assert run.code == EXIT_HEALTH_WARNING, run.stderr
    [body] = receiver.bodies()
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith(f"csp-secure-app verify for {world.domain}: warning")
    blocks = body["blocks"]
    assert blocks[0] == {"type": "header", "text": {
        "type": "plain_text", "text": "csp-secure-app verify: WARNING"}}
    assert {b["type"] for b in blocks[1:-1]} == {"section"}
    assert all(b["text"]["type"] == "mrkdwn" for b in blocks[1:-1])
    assert any(b["text"]["text"].startswith("*refresh token expiry*: warning")
               for b in blocks[1:-1])
    assert blocks[-1]["type"] == "context" and world.domain in blocks[-1]["elements"][0]["text"]
    assert len(blocks) <= 50
    assert_no_secret_posted(world, receiver)


def test_a_broken_setup_is_posted_and_keeps_exit_9(world: PartnerWorld, bundle: str,
                                                   receiver: Receiver) -> None:
    world.vault.set_secret(world.secret_name, token_without_mfa(world),
                           tags={"tenantId": world.tenant.id})
    run = verify(world, bundle, "--notify", receiver.url)
    assert run.code == EXIT_HEALTH_BROKEN, run.stderr
    [body] = receiver.bodies()
    assert body["status"] == "broken" and body["exit_code"] == 9
    assert_no_secret_posted(world, receiver)


def test_healthy_is_not_posted_without_notify_always(world: PartnerWorld, bundle: str,
                                                     receiver: Receiver) -> None:
    run = verify(world, bundle, "--notify", receiver.url)
    assert run.code == EXIT_OK, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "overall: ok"
    assert receiver.posts == []
    assert run.stderr == ""


def test_healthy_is_posted_with_notify_always(world: PartnerWorld, bundle: str,
                                              receiver: Receiver) -> None:
    run = verify(world, bundle, "--notify", receiver.url, "--notify-always")
    assert run.code == EXIT_OK, run.stderr
    [body] = receiver.bodies()
    assert body["status"] == "ok" and body["alert"] is False and body["exit_code"] == 0
    assert body["summary"].endswith("checks ok, 4 skipped")
    assert_no_secret_posted(world, receiver)


def test_unknown_alone_pages_no_one_but_is_in_notify_always(
        cloud: CloudDouble, tmp_path: Path, bundle: str, receiver: Receiver) -> None:
    """Without Graph access the app secret's expiry is unknown: nothing is known to be wrong
    (exit 0), so no alert; an every-run post lists it."""
    world = seed_in_process(PartnerWorld(cloud, tmp_path / "home"))
    run = verify(world, bundle, "--notify", receiver.url)
    assert run.code == EXIT_OK and receiver.posts == [], run.stderr
    run = verify(world, bundle, "--notify", receiver.url, "--notify-always")
    assert run.code == EXIT_OK, run.stderr
    [body] = receiver.bodies()
    assert body["status"] == "unknown" and body["alert"] is False
    assert "Key Vault client app secret unknown" in body["summary"]
    assert_no_secret_posted(world, receiver)


@pytest.mark.parametrize("fault", ["down", "slow", "refusing", "failing"])
def test_a_failed_post_is_one_warning_and_leaves_the_exit_code(
        world: PartnerWorld, bundle: str, receiver: Receiver, fault: str) -> None:
    hook = receiver.url
    if fault == "down":  # nobody listens there
        hook = f"https://127.0.0.1:{free_port()}/services/T0001/B0002/{HOOK_SECRET}"
    elif fault == "slow":
        receiver.delay = 3.0
    elif fault == "refusing":
        receiver.status, receiver.answer = 404, b"no_service"
    else:
        receiver.status, receiver.answer = 502, b"<html>Bad Gateway</html>"
    run = verify(world, bundle, "--warn-days", "100", "--notify", hook,
                 SECURE_APP_NOTIFY_TIMEOUT="1")
    assert run.code == EXIT_HEALTH_WARNING, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "overall: warning"
    [line] = warnings(run.stderr)
    assert "the report was not posted" in line and "/***" in line
    assert line.endswith("The exit code is the report's.")
    expected = {"down": "could not be reached", "slow": "did not answer within 1 s",
                "refusing": "refused the post (HTTP 404 no_service)",
                "failing": "failed (HTTP 502)"}[fault]
    assert expected in line, line
    assert "Bad Gateway" not in line and "html" not in line
    assert len(receiver.posts) == (0 if fault == "down" else 1), "one attempt, no retry"


@pytest.mark.parametrize(("args", "said"), [
    (["--notify", f"http://hooks.example.test/services/{HOOK_SECRET}"],
     "--notify must be an https:// address (the one given has http://)"),
    (["--notify", f"hooks.example.test/services/{HOOK_SECRET}"],
     "--notify must be an https:// address"),
    (["--notify", "https:///nohost"], "--notify has no host name"),
    (["--notify-always"], "--notify-always needs --notify URL"),
    (["--notify", "https://hooks.example.test/x", "--notify-format", "messagecard"],
     "--notify-format 'messagecard' is not known"),
])
def test_bad_notify_flags_are_one_line_and_exit_2_before_any_work(
        world: PartnerWorld, bundle: str, args: list[str], said: str) -> None:
    world.cloud.clear_requests()
    run = verify(world, bundle, *args)
    assert run.code == EXIT_BAD_INPUT, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"error: {said}") and "Fix:" in line, line
    assert run.stdout == ""
    assert world.cloud.requests == [], "nothing was read before the flags were checked"


def test_a_bad_notify_timeout_is_refused_up_front(world: PartnerWorld, bundle: str,
                                                  receiver: Receiver) -> None:
    run = verify(world, bundle, "--notify", receiver.url, SECURE_APP_NOTIFY_TIMEOUT="soon")
    assert run.code == EXIT_BAD_INPUT
    [line] = run.stderr.splitlines()
    assert line.startswith("error: SECURE_APP_NOTIFY_TIMEOUT='soon' is not a number of seconds")
    assert receiver.posts == []


def test_what_a_detail_carries_is_scrubbed_and_escaped() -> None:
    """Defence in depth, for a detail quoting a server's text: a token-shaped string or a
    secret of the run never leaves; Slack's control sequences (<!channel>) are escaped."""
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    refresh = "1.A" + "x" * 120
    report = HealthReport(checks=[Check("Partner Center", "broken",
                                        f"said {jwt} and {refresh} <!channel> with s3cret-value",
                                        "ask <https://evil.example|here>")])
    for fmt in ("json", "teams", "slack"):
        text = json.dumps(scrub(message(report, fmt, domain="contoso.onmicrosoft.com"),
                                ["s3cret-value"]))
        assert jwt not in text and refresh[3:] not in text and "s3cret-value" not in text
        assert "***" in text
    slack = json.dumps(slack_message(report, "contoso.onmicrosoft.com", "2026-12-04T03:00:00Z"))
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert "<https://evil" not in slack
