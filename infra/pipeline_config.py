"""The GitOps pipeline's identity (``pipelineIdentity`` in stack config), parsed and validated.

The pipeline signs in with OpenID Connect workload identity federation: Entra ID trusts tokens
from the pipeline's issuer whose ``sub`` and ``aud`` match the federated credential exactly, so no
client secret is ever stored in the CI system. Every value is therefore checked for the mistakes
that make the token exchange fail later with an opaque AADSTS700213/700211 (a subject that never
matches, whitespace, a wildcard, an audience from another cloud).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from foundation import wellknown

#: Entra's limit for issuer, subject and audience values of a federated credential.
MAX_VALUE_LENGTH = 600
#: Entra's limit for an application's display name.
MAX_NAME_LENGTH = 120
FIELDS = ("issuer", "subject", "audience", "name")
EXAMPLE = (
    "{issuer: https://token.actions.githubusercontent.com, "
    "subject: repo:ORG/REPO:ref:refs/heads/main}"
)


@dataclass(frozen=True)
class PipelineIdentity:
    """Who may sign in as the pipeline: tokens from ``issuer`` with exactly this ``subject`` and
    ``audience``. ``name`` is the app registration's display name (default chosen by the
    program from the project and stack)."""

    issuer: str
    subject: str
    audience: str
    name: str | None = None


def parse_pipeline_identity(
    raw: str, cloud: str | None
) -> tuple[PipelineIdentity | None, list[str]]:
    """Parse the structured value (JSON text, as ``pulumi.Config.get`` returns it). ``cloud``
    picks the default audience; ``None`` (the cloud key itself is invalid and reported) accepts
    any cloud's, so one mistake is not reported twice. Returns the identity or one message per
    problem."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return None, [f"is not a map (rule: {EXAMPLE})"]

    errors: list[str] = []
    for key in data:
        if key not in FIELDS:
            close = difflib.get_close_matches(str(key), FIELDS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(FIELDS)}"
            errors.append(f"unknown field {key!r} (rule: {hint})")
    for key in FIELDS:
        if key in data and not isinstance(data[key], str):
            errors.append(f"{key} is not text (rule: a single string value)")
    if errors:
        return None, errors

    issuer = data.get("issuer", "")
    subject = data.get("subject", "")
    expected_audience = wellknown.TOKEN_EXCHANGE_AUDIENCES[cloud or "public"]
    audience = data.get("audience", expected_audience)
    name = data.get("name")
    for problem in (
        check_issuer(issuer),
        check_subject(subject),
        check_audience(audience, cloud),
        check_name(name) if name is not None else None,
    ):
        if problem:
            errors.append(problem)
    if errors:
        return None, errors
    return PipelineIdentity(issuer=issuer, subject=subject, audience=audience, name=name), []


def _edge_whitespace(value: str) -> bool:
    return value != value.strip()


def check_issuer(value: str) -> str | None:
    rule = (
        "rule: the https URL your CI system puts in the token's iss claim, e.g. "
        "https://token.actions.githubusercontent.com"
    )
    if not value:
        return f"issuer is required ({rule})"
    if _edge_whitespace(value) or len(value) > MAX_VALUE_LENGTH:
        return (
            f"issuer {value.strip()!r} has surrounding spaces or is longer than "
            f"{MAX_VALUE_LENGTH} characters ({rule}; Entra compares it literally)"
        )
    try:
        parts = urlsplit(value)
    except ValueError:
        return f"issuer {value!r} is not a URL ({rule})"
    if parts.scheme != "https" or not parts.hostname:
        return f"issuer {value!r} is not an https URL ({rule})"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return f"issuer {value!r} has a query or fragment ({rule})"
    if parts.username is not None or parts.password is not None:
        return f"issuer {value!r} carries credentials ({rule})"
    return None


def check_subject(value: str) -> str | None:
    rule = (
        "rule: the exact sub claim of the pipeline's token, e.g. "
        "repo:contoso/csp-secure-app:ref:refs/heads/main for GitHub Actions"
    )
    if not value.strip():
        return f"subject is required ({rule})"
    if _edge_whitespace(value) or len(value) > MAX_VALUE_LENGTH:
        return (
            f"subject {value.strip()!r} has surrounding spaces or is longer than "
            f"{MAX_VALUE_LENGTH} characters ({rule})"
        )
    if "*" in value:
        # A federated credential matches the subject literally: a '*' would only ever match a
        # token whose subject contains a '*', i.e. never. Pattern matching is a different
        # (flexible) credential type this program does not declare.
        return f"subject {value!r} contains '*', which Entra does not expand ({rule})"
    return None


def check_audience(value: str, cloud: str | None) -> str | None:
    audiences = wellknown.TOKEN_EXCHANGE_AUDIENCES
    if value == audiences.get(cloud or "") or (cloud is None and value in audiences.values()):
        return None
    expected = audiences[cloud or "public"]
    other = next((c for c, aud in wellknown.TOKEN_EXCHANGE_AUDIENCES.items() if aud == value), None)
    if other:
        return (
            f"audience {value!r} is the {other} cloud's (rule: cloud is {cloud}, whose token "
            f"exchange audience is {expected}; set cloud or remove audience)"
        )
    return (
        f"audience {value!r} is not Entra ID's token exchange audience (rule: {expected}, or "
        "leave it unset; a token minted for that audience is accepted by Entra alone, so it "
        "cannot be replayed against other services, nor theirs here)"
    )


def check_name(value: str) -> str | None:
    if not value.strip() or _edge_whitespace(value) or len(value) > MAX_NAME_LENGTH:
        return (
            f"name {value.strip()!r} is not a display name (rule: 1-{MAX_NAME_LENGTH} "
            "characters without surrounding spaces)"
        )
    return None
