"""verify's ``partner-center-mfa`` check: Partner Center's own verdict on the last 7 days.

Partner Center enforces MFA on every App+User call since 2026-04-01, rolled out progressively
(Learn, "Partner Center authentication"; refusals carry 900421), so one integration of a partner
can break while another keeps working. A token check sees only the stored token; Partner Center
sees every call made in the partner's name, and reports them (App+User, the redemption's access
token; ``scripts.adapters.partner_center_reports``):

* ``GET /v1/applicationmfaadoptionstatus`` counts App+User requests per day and application,
  with how many carried MFA. Any request of the CPV app (``CPV_APP_ID``) without MFA is
  **broken**: something calls Partner Center as the CPV app with a token from a sign-in without
  MFA (an older version a platform still pins, another integration of the same app), and those
  calls are being refused or will be.
* ``GET /v1/nonMfaCompliantPartnerPrincipals`` lists the partner's users seen without MFA (a
  portal sign-in, or an API call with a token without MFA). Those, and other applications'
  requests without MFA, while the CPV app's are clean, are a **warning**: not this setup's
  failure, but the partner's exposure to the same enforcement.

Both cover the last 7 days (the REST reference's words); the adoption status is asked for that
window (``startDate``/``endDate``) and read per day, so "the last 7 days" means the 7 calendar
days back from today (UTC) that Partner Center counts in.

A report Partner Center does not offer (403: the account is not enrolled or not allowed; 404:
not in this cloud) makes the check ``unknown``, with ``--skip partner-center-mfa`` as the way
out; Partner Center down is ``unavailable``. Without a redeemed token there is nothing to ask
with: ``unknown``, pointing at the redemption check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sized

from foundation.errors import SecureAppError
from foundation.text import printable
from scripts.adapters import partner_center_reports as pc
from scripts.flows.verify.outlook import Outlook, could_not
from scripts.flows.verify.report import Check

NAME = "partner-center-mfa"
#: The reports' window (REST reference, "Security": "in the last 7 days").
WINDOW_DAYS = 7
#: Principals named in a line; the rest are counted.
SHOWN = 3
ENFORCEMENT = ("Partner Center refuses App+User calls without MFA since 2026-04-01 "
               "(error 900421)")
BROKEN_FIX = (
    "find what calls Partner Center as the CPV app with a token from a sign-in without MFA (an "
    "older Key Vault version a platform still pins, another integration or script using the "
    "same app) and give it the token 'csp-secure-app consent' stores (or run consent again, "
    "completing MFA, and update it); Partner Center lists each request with its user at GET "
    "/v1/partnerRequests"
)
WARNING_FIX = (
    "require MFA for these users (security defaults, or a Conditional Access policy requiring "
    "MFA) and have each of these apps sign its users in with MFA; the CPV app is not affected"
)


def check(outlook: Outlook) -> list[Check]:
    if outlook.tokens is None:
        return [Check(NAME, "unknown", "Partner Center's MFA reports need a working token; see "
                      "the redemption check",
                      "fix the token redemption first (see its check), then run verify again")]
    try:
        return [_verdict(outlook, outlook.tokens.access_token)]
    except SecureAppError as exc:
        return [could_not(NAME, exc)]


def _verdict(outlook: Outlook, token: str) -> Check:
    endpoint = outlook.endpoints.partner_center
    now = outlook.now.astimezone(dt.UTC)
    since = now - dt.timedelta(days=WINDOW_DAYS)
    days = [d for d in pc.application_mfa_adoption(endpoint, token, since.date(), now.date())
            if d.login_date is None or d.login_date >= since.date()]
    cpv_id = outlook.app.app_id.lower()
    cpv = [d for d in days if d.application_id == cpv_id]
    total, without = sum(d.total for d in cpv), sum(d.without_mfa for d in cpv)
    users = [p for p in pc.non_mfa_compliant_principals(endpoint, token)
             if p.last_seen is None or p.last_seen >= since]
    if without:
        latest = max((d.login_date for d in cpv if d.without_mfa and d.login_date), default=None)
        when = f", the latest on {latest.isoformat()}" if latest else ""
        seen = f"; users Partner Center saw without MFA: {_named(users)}" if users else ""
        return Check(NAME, "broken", f"Partner Center counted {without} of the CPV app's "
                     f"{total} App+User requests in the last {WINDOW_DAYS} days without MFA"
                     f"{when}{seen}. {ENFORCEMENT}", BROKEN_FIX)
    apps = _other_apps(days, cpv_id)
    clean = (f"the CPV app's {total} App+User requests in the last {WINDOW_DAYS} days all "
             "carried MFA" if total else
             f"the CPV app made no App+User request Partner Center counted in the last "
             f"{WINDOW_DAYS} days")
    if not users and not apps:
        return Check(NAME, "ok", f"Partner Center saw no sign-in or App+User request without "
                     f"MFA in the last {WINDOW_DAYS} days; {clean}")
    found = [f"{len(users)} user{_s(users)} ({_named(users)})"] if users else []
    if apps:
        shown = ", ".join(f"{name}: {count} request{'' if count == 1 else 's'}"
                          for name, count in apps[:SHOWN])
        more = f", and {len(apps) - SHOWN} more" if len(apps) > SHOWN else ""
        found.append(f"{len(apps)} other app{_s(apps)} ({shown}{more})")
    return Check(NAME, "warning", f"{clean}; but Partner Center saw other principals of the "
                 f"partner without MFA: {' and '.join(found)}. {ENFORCEMENT}", WARNING_FIX)


def _other_apps(days: list[pc.AppMfaAdoption], cpv_id: str) -> list[tuple[str, int]]:
    """Other applications with App+User requests without MFA: (name or id, count), most first."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for day in days:
        if day.application_id != cpv_id and day.without_mfa:
            key = day.application_id or "(no application id)"
            counts[key] = counts.get(key, 0) + day.without_mfa
            if day.application_name:
                names[key] = f"'{printable(day.application_name)}' ({printable(key)})"
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(names.get(key, printable(key)), count) for key, count in ranked]


def _named(users: list[pc.NonMfaPrincipal]) -> str:
    names = [printable(u.upn or u.object_id or "(unnamed)") for u in users[:SHOWN]]
    more = f", and {len(users) - SHOWN} more" if len(users) > SHOWN else ""
    return ", ".join(names) + more


def _s(items: Sized) -> str:
    return "" if len(items) == 1 else "s"
