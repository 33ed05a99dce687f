"""verify's ``liveness`` check against the cloud double: the lifecycle tags consent and rotate
write, the forecast against the double's clock (verify's flow function with ``now=``: the CLI
has no way to set the time), verify recording its redemption only with an identity that may
write, and two CLI runs (healthy, and ``--skip liveness``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clouddouble import CloudDouble
from foundation import wellknown as wk
from foundation.clouds import resolve_endpoints
from foundation.network import discovery
from scripts.adapters import graph
from scripts.adapters.keyvault import StoredToken
from scripts.flows.verify import Check, liveness, verify
from scripts.flows.verify.outlook import Outlook
from scripts.storage import tag_stamp, tag_time
from scripts.types import KeyVaultReader, PartnerApp, VaultTarget
from tests.support import PartnerWorld, assert_no_secret, seed_in_process

SIGNED_IN, ISSUED, REDEEMED = wk.MFA_SIGN_IN_AT_TAG, wk.ISSUED_AT_TAG, wk.LAST_REDEEMED_AT_TAG
#: Every outlook check but this one: they read Graph, which these tests do not set up.
OTHERS = frozenset({"partner-center-mfa", "consent", "conditional-access"})


@pytest.fixture
def world(cloud: CloudDouble, tmp_path: Path) -> PartnerWorld:
    return seed_in_process(PartnerWorld(cloud, tmp_path / "home"))


@pytest.fixture
def inside(world: PartnerWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[PartnerWorld]:
    """The world's environment in this process (the writer identity's AZURE_*)."""
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)
    discovery.clear()
    yield world
    discovery.clear()


def read_only(world: PartnerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner signs in as the Key Vault client app, which may only 'get' the secret."""
    monkeypatch.setenv("AZURE_CLIENT_ID", world.kv_app.app_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", world.kv_secret)


def state(world: PartnerWorld) -> list[tuple[Any, ...]]:
    """Everything a write would change on the secret's versions."""
    return [(v.version, v.value, v.enabled, dict(v.tags or {}), v.updated)
            for v in world.vault.secret_versions(world.secret_name)]


def newest_tags(world: PartnerWorld) -> dict[str, str]:
    return dict(world.vault.secret_versions(world.secret_name)[-1].tags or {})


def retag(world: PartnerWorld, **tags: str) -> None:
    """A new version of the consented token with these tags (as another tool or the portal
    would have stored it)."""
    token = world.vault.secret_versions(world.secret_name)[-1].value
    world.vault.set_secret(world.secret_name, token, tags=tags)


def run(world: PartnerWorld, *, days_later: float = 0, warn_days: int = 30) -> Check:
    """verify in this process, the double's clock ``days_later`` days ahead and verify's ``now``
    with it; the liveness check it reported."""
    if days_later:
        world.cloud.clock.advance(dt.timedelta(days=days_later))
    report = verify(KeyVaultReader(world.kv_app.app_id, world.kv_secret, world.domain),
                    PartnerApp(world.domain, world.cpv.app_id, world.cpv_secret),
                    VaultTarget(world.vault.uri, world.secret_name), resolve_endpoints(),
                    warn_days=warn_days, skip=OTHERS, now=world.cloud.clock.now())
    [found] = [c for c in report.checks if c.name == "liveness"]
    assert_no_secret(f"{report.as_json()}", world.secrets())
    return found


# -- the tags consent and rotate write ---------------------------------------------------------

def test_consent_tags_its_sign_in_issue_and_redemption_and_keeps_the_other_tags(
        world: PartnerWorld) -> None:
    [version] = world.vault.secret_versions(world.secret_name)
    tags = version.tags or {}
    moments = [tag_time(tags.get(name)) for name in (SIGNED_IN, ISSUED, REDEEMED)]
    # Every moment came just before the vault stored the version (to the second).
    window = (version.created - dt.timedelta(minutes=5), version.created + dt.timedelta(seconds=1))
    assert all(m is not None and window[0] <= m <= window[1] for m in moments), tags
    assert {"source", "obtainedBy", "obtainedAt", "tenantId", "cpvAppId"} <= set(tags)
    assert tags["source"] == "consent" and len(tags) <= 15
    assert all(len(v) <= 256 for v in tags.values())


def test_rotate_keeps_the_sign_in_of_the_version_it_redeemed(world: PartnerWorld) -> None:
    """A redemption is no new sign-in: the new version has the old one's mfaSignInAt, and a
    lastRedeemedAt of its own."""
    consented = newest_tags(world)
    retag(world, **{**consented, SIGNED_IN: "2026-01-02T03:04:05+00:00",
                    ISSUED: "2026-01-02T03:04:05+00:00", REDEEMED: "2026-01-02T03:04:05+00:00"})
    result = world.invoke("rotate")
    assert result.returncode == 0, result.stderr
    tags = newest_tags(world)
    assert tags["source"] == "rotate"
    assert tags[SIGNED_IN] == "2026-01-02T03:04:05+00:00"
    rotated = world.vault.secret_versions(world.secret_name)[-1].created
    for name in (ISSUED, REDEEMED):  # the token rotate stores was issued by its redemption
        when = tag_time(tags[name])
        assert when is not None and rotated - dt.timedelta(minutes=5) <= when, (name, tags)


def test_rotate_of_an_older_consent_takes_its_sign_in_and_of_a_pasted_token_none(
        world: PartnerWorld) -> None:
    """A version an older consent stored (no mfaSignInAt) was obtained by that sign-in: its
    obtainedAt is the sign-in. A pasted version tells nothing: the tag is left out."""
    consented = {k: v for k, v in newest_tags(world).items()
                 if k not in (SIGNED_IN, ISSUED, REDEEMED)}
    retag(world, **{**consented, "obtainedAt": "2026-02-03T04:05:06+00:00"})
    assert world.invoke("rotate").returncode == 0
    assert newest_tags(world)[SIGNED_IN] == "2026-02-03T04:05:06+00:00"
    retag(world, tenantId=world.tenant.id)
    assert world.invoke("rotate").returncode == 0
    tags = newest_tags(world)
    assert SIGNED_IN not in tags and ISSUED in tags and REDEEMED in tags


# -- the forecast, against the double's clock ----------------------------------------------------

def test_healthy_forecast_is_ok_with_the_day_and_records_with_a_writer(
        inside: PartnerWorld) -> None:
    before = state(inside)
    found = run(inside, days_later=10)
    assert found.status == "ok", found
    consented = tag_time(before[-1][3][ISSUED])
    assert consented is not None
    day = (consented + dt.timedelta(days=90)).date().isoformat()
    assert f"dies on {day} (in 80 days)" in found.detail
    assert "90 days after it was issued" in found.detail
    assert "estimated" not in found.detail
    assert "redemption recorded" in found.detail
    # The version read got this run's redemption; its value and every other tag stay.
    [(version, value, enabled, tags, _)] = state(inside)
    assert (version, value, enabled) == before[-1][:3]
    recorded = tag_time(tags.pop(REDEEMED))
    assert recorded is not None and abs(recorded - inside.cloud.clock.now()) < dt.timedelta(
        seconds=30), recorded
    assert tags == {k: v for k, v in before[-1][3].items() if k != REDEEMED}


def test_a_read_only_identity_leaves_the_vault_untouched(
        inside: PartnerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    read_only(inside, monkeypatch)
    before = state(inside)
    found = run(inside, days_later=10)
    assert found.status == "ok", found
    assert "redemption not recorded (read-only identity)" in found.detail
    assert state(inside) == before


def test_85_days_after_the_issue_warns_5_days_ahead(inside: PartnerWorld) -> None:
    found = run(inside, days_later=85, warn_days=30)
    assert found.status == "warning", found
    assert "(in 5 days)" in found.detail
    assert found.fix is not None and "csp-secure-app rotate" in found.fix


def test_verify_redeeming_the_token_does_not_move_its_death(inside: PartnerWorld) -> None:
    """The identity platform gives a redemption a new token and leaves the old one its 90 days:
    a daily verify that throws the new one away must not report a token healthy past them."""
    for step in (10, 30, 30):  # days 10, 40 and 70
        assert "redemption recorded" in run(inside, days_later=step).detail
    soon = run(inside, days_later=15)  # day 85
    assert soon.status == "warning" and "(in 5 days)" in soon.detail, soon
    gone = run(inside, days_later=6)  # day 91, 21 days after verify's last redemption
    assert gone.status == "broken" and "AADSTS700082" in gone.detail, gone


def test_past_the_forecast_day_is_broken(inside: PartnerWorld) -> None:
    before = state(inside)
    found = run(inside, days_later=91)
    assert found.status == "broken", found
    assert found.detail.startswith("died on ") and "AADSTS700082" in found.detail
    assert found.fix is not None and "csp-secure-app consent" in found.fix
    assert state(inside) == before, "a failed redemption is recorded nowhere"


def test_a_version_without_the_tags_counts_from_when_it_was_stored(
        inside: PartnerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    read_only(inside, monkeypatch)
    retag(inside, tenantId=inside.tenant.id)
    found = run(inside, days_later=3)
    assert found.status == "ok", found
    assert "(in 87 days)" in found.detail
    assert "estimated: the version has no issuedAt tag" in found.detail


def test_a_forecast_day_past_while_the_token_still_redeems_is_a_warning(
        inside: PartnerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service kept it longer than documented, or the tag is wrong: the token is alive but
    may stop any day. Never broken for a token that just worked."""
    read_only(inside, monkeypatch)
    long_ago = tag_stamp(inside.cloud.clock.now() - dt.timedelta(days=100))
    retag(inside, tenantId=inside.tenant.id, **{ISSUED: long_ago})
    found = run(inside)
    assert found.status == "warning", found
    assert "has passed" in found.detail and "it may stop any day" in found.detail
    assert found.fix is not None and "csp-secure-app rotate" in found.fix


def test_a_version_with_15_tags_is_not_given_a_16th(inside: PartnerWorld) -> None:
    tags = {f"extra{n}": "x" for n in range(14)} | {"tenantId": inside.tenant.id}
    retag(inside, **tags)
    before = state(inside)
    found = run(inside)
    assert "not recorded (the version already has 15 tags" in found.detail
    assert state(inside) == before


def outlook(world: PartnerWorld, stored: StoredToken, *, frequency: float) -> Outlook:
    """An outlook as verify hands it on when the redemption failed (no tokens: nothing is
    recorded), with the sign-in frequency the conditional-access check found."""
    endpoints = resolve_endpoints()
    return Outlook(endpoints=endpoints,
                   app=PartnerApp(world.domain, world.cpv.app_id, world.cpv_secret),
                   kv_client=KeyVaultReader(world.kv_app.app_id, world.kv_secret, world.domain),
                   target=VaultTarget(world.vault.uri, world.secret_name), stored=stored,
                   tokens=None, now=world.cloud.clock.now(), warn_days=30,
                   graph_token=graph.TokenOnce(endpoints), sign_in_frequency_days=frequency)


def stored_with(now: dt.datetime, signed_in_days_ago: float) -> StoredToken:
    return StoredToken(value="not-a-real-token", secret_id="https://kv/secrets/s/" + "0" * 32,
                       version="0" * 32, created_on=now - dt.timedelta(days=1), expires_on=None,
                       enabled=True, tags={
                           SIGNED_IN: tag_stamp(now - dt.timedelta(days=signed_in_days_ago)),
                           ISSUED: tag_stamp(now - dt.timedelta(days=1))})


def test_a_sign_in_frequency_ends_the_token_before_the_90_days(world: PartnerWorld) -> None:
    now = world.cloud.clock.now()
    [soon] = liveness.check(outlook(world, stored_with(now, 25), frequency=30))
    assert soon.status == "warning", soon
    assert "(in 5 days)" in soon.detail and "30-day Conditional Access sign-in frequency" in \
        soon.detail
    assert soon.fix is not None and "csp-secure-app consent" in soon.fix
    [gone] = liveness.check(outlook(world, stored_with(now, 31), frequency=30))
    assert gone.status == "broken" and "AADSTS70043" in gone.detail
    [hours] = liveness.check(outlook(world, stored_with(now, 0.25), frequency=0.5))
    assert "12-hour Conditional Access sign-in frequency" in hours.detail, hours
    # The conditional-access check's own advice: the policy is enforced on Partner Center.
    assert hours.fix is not None and "Partner Center from its target resources" in hours.fix
    assert "exclude the CPV app" not in hours.fix
    [later] = liveness.check(outlook(world, stored_with(now, 1), frequency=365))
    assert later.status == "ok" and "90 days after it was issued" in later.detail


# -- the command line ----------------------------------------------------------------------------

def liveness_of(result: Any) -> dict[str, Any]:
    report = json.loads(result.stdout)
    [found] = [c for c in report["checks"] if c["name"] == "liveness"]
    return dict(found)


def test_cli_healthy_forecast_and_skip(world: PartnerWorld) -> None:
    tokens = [v.value for v in world.vault.secret_versions(world.secret_name)]
    result = world.invoke("verify", "--format", "json")
    assert_no_secret(result.stdout + result.stderr, [*world.secrets(), *tokens])
    assert result.returncode == 0, result.stdout + result.stderr
    found = liveness_of(result)
    assert found["status"] == "ok"
    assert "forecast: dies on" in found["detail"] and "redemption recorded" in found["detail"]
    before = state(world)
    skipped = world.invoke("verify", "--format", "json", "--skip", "liveness")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert liveness_of(skipped) == {"name": "liveness", "status": "skipped",
                                    "detail": "skipped (--skip liveness)", "fix": None}
    assert state(world) == before, "a skipped liveness check records nothing"
