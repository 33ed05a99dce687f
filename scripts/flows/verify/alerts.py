"""``verify --notify URL``: the report as an alert, in the receiver's own format.

When: a report that is ``warning``, ``unavailable`` or ``broken`` (exit 8, 5, 9) is posted;
``ok`` is not, and neither is ``unknown`` alone: it means a check could not be made (a Graph
permission or licence the partner chose not to grant), nothing was found wrong, and an alert
for it would page someone every week for a decision already taken, as exit 8 would
(``scripts.flows.verify``). ``--notify-always`` posts every run, ``ok`` and ``unknown``
included: a heartbeat that shows the schedule still runs, and that lists the unknown checks.

What: ``json`` (default) is ``verify --format json``'s object with ``tool``, ``tenant_domain``,
``summary`` (one line), ``timestamp`` (UTC, ISO 8601), ``exit_code`` and ``alert`` (whether
the run would alert without ``--notify-always``) beside its keys, so one parser reads both.
``teams`` is an Adaptive Card in the message envelope a Teams workflow's "When a Teams webhook
request is received" trigger takes; the Office 365 connector MessageCard is not offered: those
connectors are retired, and Workflows render Adaptive Cards. ``slack`` is a Slack incoming
webhook message: ``text`` (the notification's fallback) and Block Kit ``blocks``.

Never a secret: the report's details are secret-free already (each check is written so), and
every string of the message is scrubbed once more before it leaves: the secrets this run holds
(the CPV app's and the Key Vault client app's) and anything shaped like a token (a JWT, a long
opaque run such as a refresh token) become ``***``. The post is one attempt with a short
timeout (``scripts.adapters.notify``); its failure is one ``warning:`` line and changes nothing
of the run: the exit code stays the report's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from foundation.errors import ConfigError, SecureAppError
from foundation.text import JWT, printable
from scripts.adapters import notify as webhook
from scripts.flows.verify.report import Check, HealthReport, Status, rank

TOOL: Final = "csp-secure-app"
FORMATS: Final = ("json", "teams", "slack")
#: The statuses that post without ``--notify-always``: something is wrong, or down.
ALERTING: Final[frozenset[Status]] = frozenset({"warning", "unavailable", "broken"})
#: Enough of a detail or fix to act on; Teams refuses a message over 28 KB (Learn, "Create
#: Incoming Webhooks": message size limit), Slack a section text over 3,000 characters.
_TEXT_MAX: Final = 600
#: Checks shown one by one; the rest are counted (Slack takes at most 50 blocks a message).
_LISTED_MAX: Final = 20
#: A long run without separators, as a refresh token's body is; ids (GUIDs, 32-hex versions),
#: host names (their dots) and addresses (their slashes) stay well below or outside it.
_OPAQUE = re.compile(r"[A-Za-z0-9_~+=-]{64,}")
#: A secret shorter than this is not scrubbed by value (it would blank common words).
_MIN_SECRET: Final = 8


@dataclass(frozen=True)
class AlertPlan:
    """Where and how to post, checked before verify does any work."""

    hook: webhook.Webhook
    format: str
    always: bool
    timeout: float


def plan(url: str | None, fmt: str, always: bool) -> AlertPlan | None:
    """The ``--notify`` flags checked together (each a ``ConfigError``, exit 2); None without
    ``--notify``."""
    if fmt not in FORMATS:
        raise ConfigError(f"--notify-format {fmt!r} is not known",
                          fix=f"use one of {', '.join(FORMATS)}")
    if url is None:
        if always:
            raise ConfigError("--notify-always needs --notify URL",
                              fix="add --notify with the webhook's https:// address")
        return None
    return AlertPlan(webhook.check_webhook_url(url), fmt, always, webhook.notify_timeout())


def alerts(report: HealthReport) -> bool:
    """Whether this report posts without ``--notify-always``."""
    return report.status in ALERTING


def notify(report: HealthReport, alert: AlertPlan, *, domain: str,
           secrets: Iterable[str] = (), now: dt.datetime | None = None) -> str | None:
    """Post the report when ``alert`` says so. The line for stderr (``note:`` posted, or
    ``warning:`` not posted and why), or None when there was nothing to post."""
    if not (alert.always or alerts(report)):
        return None
    body = scrub(message(report, alert.format, domain=domain, now=now), secrets)
    try:
        webhook.post_json(alert.hook, body, timeout=alert.timeout)
    except SecureAppError as exc:
        return f"warning: {exc.one_line()} The exit code is the report's."
    return f"note: the report ({report.status}) was posted to {alert.hook} ({alert.format})."


def message(report: HealthReport, fmt: str, *, domain: str,
            now: dt.datetime | None = None) -> dict[str, Any]:
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    stamp = when.isoformat().replace("+00:00", "Z")
    if fmt == "teams":
        return teams_message(report, domain, stamp)
    if fmt == "slack":
        return slack_message(report, domain, stamp)
    return {**report.as_json(), "tool": TOOL, "tenant_domain": domain,
            "summary": summary(report, domain), "timestamp": stamp,
            "exit_code": int(report.exit_code), "alert": alerts(report)}


def summary(report: HealthReport, domain: str) -> str:
    """One line: the tenant, the overall status and the checks that are not ok, worst first."""
    head = f"{TOOL} verify for {_clean(domain)}: {report.status} (exit {int(report.exit_code)})"
    problems = _problems(report)
    if not problems:
        skipped = sum(c.status == "skipped" for c in report.checks)
        tail = f", {skipped} skipped" if skipped else ""
        return f"{head}: {len(report.checks) - skipped} checks ok{tail}"
    named = ", ".join(f"{c.name} {c.status}" for c in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return f"{head}: {named}{more}"


# --- Microsoft Teams ----------------------------------------------------------------------------
# A Teams workflow ("Post to a channel when a webhook request is received", the Workflows app's
# replacement for the retired Office 365 connectors) takes the message envelope with Adaptive
# Card attachments: "type": "message", each attachment "contentType":
# "application/vnd.microsoft.card.adaptive" and the card as "content" (Learn, Teams platform,
# "Create and send messages": Send Adaptive Cards using an Incoming Webhook; "Create Incoming
# Webhooks": Workflows support Adaptive Cards, not the connector MessageCard). Schema 1.4: the
# elements used (TextBlock, FactSet, Container) are 1.0's, and Teams renders up to 1.5.

_TEAMS_COLOR: Final[dict[Status, str]] = {"ok": "Good", "skipped": "Default",
                                          "unknown": "Accent", "warning": "Warning",
                                          "unavailable": "Warning", "broken": "Attention"}


def teams_message(report: HealthReport, domain: str, stamp: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"{TOOL} verify: {report.status.upper()}",
         "size": "Medium", "weight": "Bolder", "wrap": True,
         "color": _TEAMS_COLOR[report.status]},
        {"type": "TextBlock", "text": _clean(summary(report, domain)), "wrap": True,
         "isSubtle": True},
        {"type": "FactSet", "facts": [
            {"title": "Tenant", "value": _clean(domain)},
            {"title": "Checked", "value": stamp},
            {"title": "Exit code", "value": str(int(report.exit_code))},
            *({"title": c.name, "value": c.status.upper()}
              for c in report.checks[:_LISTED_MAX])]},
    ]
    for check in _problems(report)[:_LISTED_MAX]:
        items: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": f"{check.name}: {check.status.upper()}",
             "weight": "Bolder", "wrap": True, "color": _TEAMS_COLOR[check.status]},
            {"type": "TextBlock", "text": _clean(check.detail), "wrap": True}]
        if check.fix:
            items.append({"type": "TextBlock", "text": f"Fix: {_clean(check.fix)}",
                          "wrap": True, "isSubtle": True})
        body.append({"type": "Container", "separator": True, "items": items})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"},
            "body": body}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}


# --- Slack --------------------------------------------------------------------------------------
# A Slack incoming webhook takes a message payload: "text" (shown in notifications, and where
# blocks cannot be) and Block Kit "blocks" (docs.slack.dev, "Sending messages using incoming
# webhooks"; Block Kit reference: a header's plain_text at most 150 characters, a section's
# text 3,000, at most 50 blocks). Text from outside is escaped as Slack asks (&, <, >: its
# "Formatting text" page), so a detail can neither ping a channel (<!channel>) nor plant a link.

_SLACK_MARK: Final[dict[Status, str]] = {"ok": ":white_check_mark:", "skipped": ":fast_forward:",
                                         "unknown": ":grey_question:", "warning": ":warning:",
                                         "unavailable": ":cloud:", "broken": ":x:"}


def slack_message(report: HealthReport, domain: str, stamp: str) -> dict[str, Any]:
    listed = "\n".join(f"{_SLACK_MARK[c.status]} {_slack(c.name)}: *{c.status}*"
                       for c in report.checks[:_LISTED_MAX])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"{TOOL} verify: {report.status.upper()}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": _slack(summary(report, domain))}},
        {"type": "section", "text": {"type": "mrkdwn", "text": listed or "no checks"}},
    ]
    for check in _problems(report)[:_LISTED_MAX]:
        text = f"*{_slack(check.name)}*: {check.status}\n{_slack(check.detail)}"
        if check.fix:
            text += f"\n_Fix:_ {_slack(check.fix)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"tenant {_slack(domain)} · checked {stamp} · exit code "
                                   f"{int(report.exit_code)}"}]})
    return {"text": _slack(summary(report, domain)), "blocks": blocks}


def _slack(text: str) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- shared -------------------------------------------------------------------------------------

def _problems(report: HealthReport) -> list[Check]:
    """The checks that are not ok or skipped, worst first (report order among equals)."""
    return sorted((c for c in report.checks if c.status not in ("ok", "skipped")),
                  key=lambda c: -rank(c.status))


def _clean(text: str) -> str:
    """One line, control characters escaped (``foundation.text``), at most ``_TEXT_MAX``."""
    one = printable(" ".join(text.split()))
    return one if len(one) <= _TEXT_MAX else one[:_TEXT_MAX - 1] + "…"


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` (a message) with every string scrubbed: the given secrets and anything
    token-shaped become ``***``. Keys are ours and stay."""
    known = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    return _scrub(value, known)


def _scrub(value: Any, known: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, "***")
        return _OPAQUE.sub("***", JWT.sub("***", value))
    if isinstance(value, dict):
        return {k: _scrub(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, known) for v in value]
    return value
