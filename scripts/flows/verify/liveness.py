"""verify's ``liveness`` check: the day the stored token is forecast to die, warned of
``--warn-days`` before it.

A refresh token lives 90 days (``REFRESH_TOKEN_LIFETIME_DAYS``; expired, the identity platform
answers AADSTS700082, "The refresh token has expired due to inactivity"). Each redemption
returns a new token with 90 days of its own, but the old one is not extended: kept on redeeming
the same token A, a client finds it expired 90 days after A was issued, and must store the new
token B to go on (Learn, "Refresh tokens in the Microsoft identity platform": "Refresh tokens
replace themselves with a fresh token upon every use ... doesn't revoke old refresh tokens";
Microsoft Q&A 1665481, "When and how is a refresh token extended"). The stored version is such
an A for everyone who only reads it: the platform, and verify, which throws away the token it
gets back. Only a rotation, which stores B, moves the day. So the forecast counts from when the
stored token was issued (its ``issuedAt`` tag, set by consent, rotate and store-token), and
sooner when a Conditional Access sign-in frequency covers the consenting admin or the CPV app:
then the token dies that long after the MFA sign-in behind it (``mfaSignInAt``), however often
it is rotated (AADSTS70043). The sign-in frequency is the ``conditional-access`` check's
finding (``Outlook.sign_in_frequency_days``); without one only the 90 days count. A version
without ``issuedAt`` (an older tool's, or pasted in the portal) counts from when the vault
stored it, at or after its issue, and the detail says the forecast is estimated.

verify redeems the token too. When the identity it runs as (the runner's ``az login`` or
``AZURE_*``, as for rotate) may write the secret, that redemption is recorded on the version read
as ``lastRedeemedAt`` (a PATCH of its tags, every other tag kept, the value untouched): a sign of
life for whoever reads the tags, which moves no forecast. Otherwise verify stays read-only: a
refusal is no error, the detail says "not recorded (read-only identity)".

A forecast day already past while this run's redemption worked is no dead token: the service
kept it longer than documented, or the issue time was estimated. A warning, never broken.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from foundation.wellknown import (
    ISSUED_AT_TAG,
    LAST_REDEEMED_AT_TAG,
    REFRESH_TOKEN_LIFETIME_DAYS,
)
from scripts import storage
from scripts.adapters import keyvault as vault
from scripts.flows.placeholder import is_placeholder
from scripts.flows.verify.outlook import Outlook
from scripts.flows.verify.report import Check, Status, days

NAME = "liveness"

_RECORDED = ("redemption recorded (lastRedeemedAt; a sign of life: only a rotation gives the "
             "stored token new days)")
_READ_ONLY = "redemption not recorded (read-only identity)"


@dataclass(frozen=True)
class Forecast:
    """The day the token dies, why, and what keeps it alive."""

    dies: dt.datetime
    #: e.g. "90 days after it was issued on 2026-12-05".
    cause: str
    #: What the identity platform will answer on that day.
    code: str
    #: Before the day: what keeps the token alive. After it: what replaces it.
    fix: str
    replace: str
    #: Empty, or " (estimated: ...)" when a time the forecast needs was not recorded.
    estimated: str = ""


def check(outlook: Outlook) -> list[Check]:
    """One Check named ``liveness``; never raises (a recording refused is only a note)."""
    stored = outlook.stored
    if stored is None:
        return [Check(NAME, "unknown", "no forecast: the version could not be read",
                      "fix the vault read above; the forecast comes with it")]
    if is_placeholder(stored.value):
        return [Check(NAME, "unknown", "no forecast: no token stored yet",
                      "run 'csp-secure-app consent'")]
    forecast = _forecast(stored, outlook.sign_in_frequency_days)
    # Recorded only once redeemed: a failed redemption is no redemption.
    note = _record(outlook, stored) if outlook.tokens is not None else ""
    if forecast is None:
        return [Check(NAME, "unknown", _joined("no forecast: the version has no "
                                               f"{ISSUED_AT_TAG} tag and no creation date",
                                               note),
                      "run 'csp-secure-app rotate': the version it stores records both")]
    return [_judge(forecast, outlook, note)]


def _forecast(stored: vault.StoredToken, sign_in_frequency_days: float | None) -> Forecast | None:
    issued, estimated = _issued(stored)
    if issued is None:
        return None
    day = issued + dt.timedelta(days=REFRESH_TOKEN_LIFETIME_DAYS)
    inactivity = Forecast(
        dies=day, cause=f"{REFRESH_TOKEN_LIFETIME_DAYS} days after it was issued on "
        f"{_date(issued)}", code="AADSTS700082",
        fix=f"run 'csp-secure-app rotate' before {_date(day)} and schedule it (weekly): each "
        "rotation stores a new token with 90 days of its own; reading or verifying the stored "
        "one does not extend it",
        replace="run 'csp-secure-app consent' (an admin's MFA sign-in) to store a new token, "
        "then schedule 'csp-secure-app rotate' so a stored token never reaches 90 days",
        estimated=estimated)
    if sign_in_frequency_days is None:
        return inactivity
    signed_in, sign_in_estimated = _sign_in(stored)
    if signed_in is None:
        return inactivity
    day = signed_in + dt.timedelta(days=sign_in_frequency_days)
    if day >= inactivity.dies:
        return inactivity
    return Forecast(
        dies=day, cause=f"a {_span(sign_in_frequency_days)} Conditional Access sign-in "
        f"frequency after the MFA sign-in on {_date(signed_in)}", code="AADSTS70043",
        fix=f"have the admin sign in again with 'csp-secure-app consent' before {_date(day)}, or "
        f"{_EXEMPT} (see the conditional-access check); rotation does not help: it is no new "
        "sign-in",
        replace=f"run 'csp-secure-app consent' to store a new token, and {_EXEMPT} so the next "
        "one lasts",
        estimated=sign_in_estimated)


#: What exempts the token from a sign-in frequency (the conditional-access check's fix): the
#: policy is enforced on Partner Center, the token's resource, so excluding the CPV app is not it.
_EXEMPT = ("exclude the consenting admin from the sign-in-frequency policy, or Partner Center "
           "from its target resources")


def _span(frequency_days: float) -> str:
    """A sign-in frequency as Conditional Access states it: hours below a day."""
    return (f"{frequency_days * 24:g}-hour" if frequency_days < 1
            else f"{frequency_days:g}-day")


def _issued(stored: vault.StoredToken) -> tuple[dt.datetime | None, str]:
    raw = stored.tags.get(ISSUED_AT_TAG)
    recorded = storage.tag_time(raw)
    if recorded is not None:
        return recorded, ""
    why = f"its {ISSUED_AT_TAG} tag is not a date" if raw else \
        f"the version has no {ISSUED_AT_TAG} tag"
    return stored.created_on, f" (estimated: {why}; counted from when it was stored)"


def _sign_in(stored: vault.StoredToken) -> tuple[dt.datetime | None, str]:
    signed_in = storage.signed_in_at(stored.tags)
    if signed_in is not None:
        return signed_in, ""
    # The sign-in came at or before the version was stored: the estimate may be late.
    return stored.created_on, (" (estimated: the version does not record its MFA sign-in; "
                               "counted from when it was stored, so it may come sooner)")


def _judge(forecast: Forecast, outlook: Outlook, note: str) -> Check:
    left = days(forecast.dies - outlook.now)
    when = _date(forecast.dies)
    if left <= 0:
        if outlook.tokens is None:
            return Check(NAME, "broken", _joined(
                f"died on {when}: {forecast.cause}{forecast.estimated} ({forecast.code})", note),
                forecast.replace)
        return Check(NAME, "warning", _joined(
            f"the forecast day {when} has passed ({forecast.cause}{forecast.estimated}), yet the "
            "token redeemed now: it may stop any day", note),
            "run 'csp-secure-app rotate' now: the token it stores has 90 days of its own and "
            "records when it was issued")
    status: Status = "warning" if left <= outlook.warn_days else "ok"
    return Check(NAME, status, _joined(
        f"forecast: dies on {when} (in {left:g} days): {forecast.cause}{forecast.estimated}",
        note), forecast.fix)


def _record(outlook: Outlook, stored: vault.StoredToken) -> str:
    """This run's redemption, recorded on the version read when the runner may write it."""
    from azure.core.exceptions import HttpResponseError
    from azure.identity import CredentialUnavailableError
    from azure.keyvault.secrets import KeyVaultSecretIdentifier

    # Key Vault's PATCH replaces the tags as a whole ("Update Secret", REST): send them all.
    tags = {**stored.tags, LAST_REDEEMED_AT_TAG: storage.tag_stamp(outlook.now)}
    if len(tags) > storage.MAX_TAGS:
        return (f"redemption not recorded (the version already has {len(stored.tags)} tags, "
                "Key Vault's limit)")
    where = KeyVaultSecretIdentifier(stored.secret_id)
    try:
        client = vault.secret_client(where.vault_url, vault.writer_credential(outlook.endpoints))
        client.update_secret_properties(where.name, where.version, tags=tags)
    except CredentialUnavailableError:
        return "redemption not recorded (no writer identity: no 'az login' or AZURE_* here)"
    except Exception as exc:  # a check never raises: the forecast stands without the record
        refusal = vault.translate(exc, where.vault_url, where.name, "set")
        # 403 without secrets 'set' (AccessDenied, ForbiddenByRbac): the runner may only read.
        # A firewall's 403 is another refusal, and says so.
        if (isinstance(exc, HttpResponseError) and exc.status_code == 403
                and getattr(refusal, "error", None) == "forbidden"):
            return _READ_ONLY
        return f"redemption not recorded ({refusal.message})"
    return _RECORDED


def _joined(detail: str, note: str) -> str:
    return f"{detail}; {note}" if note else detail


def _date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).date().isoformat()
