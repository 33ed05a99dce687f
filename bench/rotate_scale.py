#!/usr/bin/env python3
"""rotate --keep 10 at scale (issue 12): a secret with 10 / 100 / 1,000 versions, on the local
cloud double with a 20 ms round trip added to every vault request, one table row per size.

    .venv/bin/python bench/rotate_scale.py [--versions 10,100,1000] [--latency-ms 20]

Disabling the versions past the newest 10 costs one PATCH each after the list pages; done one
after the other, every one of them is a full round trip. So each row shows the vault requests
(all of them: challenge, GET, PUT, list pages, PATCHes) against the protocol's minimum, the
seconds the flow took, and the sequential lower bound: vault round trips x the latency, what
those requests cost at the very least one at a time. ``ratio`` is the time beyond the first
row's over the sequential bound beyond it, (seconds - seconds at 10) / (bound - bound at 10):
how much of the extra versions' round-trip time the concurrent PATCHes still pay. Target: at
most 0.5 for 1,000 versions.

One double and one consent serve every size: each size gets a fresh vault holding a copy of the
consented token as its newest version and ``add_history`` for the rest (a refresh token rolls,
so the same one redeems once per vault). The flow function itself is timed, with the vault
challenge and discovery forgotten first, as a fresh process would; a warm-up rotation on its
own vault runs before the first row. Nothing here is asserted in the tests.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from clouddouble import CloudDouble, SecretVersion

SIZES = (10, 100, 1_000)
KEEP = 10
LATENCY = 0.020
TARGET = 0.5
NAME = "PartnerCenterRefreshToken"
HEADER = ("| versions | vault requests | minimum | seconds | sequential bound | ratio | target |"
          " verdict |",
          "|---|---|---|---|---|---|---|---|")


@dataclass
class World:
    """The double's partner, signed in once: what every size's rotation needs."""

    seeded: Any  # bench.world.PartnerWorld
    token: SecretVersion  # the consented version, copied into each size's vault


@contextmanager
def partner_world() -> Iterator[World]:
    """The benchmarks' partner world (``bench/world.py``: a tenant, an MFA admin, a writer
    identity, a CPV app, and one real consent by the scripted admin), its consented version
    kept for every size."""
    from bench.world import partner_world as seeded_world

    with seeded_world("scale") as seeded:
        [token] = seeded.vault.secret_versions(NAME)
        yield World(seeded, token)


def new_vault(cloud: CloudDouble, name: str, tenant_id: str, writer_sp: str) -> Any:
    vault = cloud.create_vault(name, tenant_id)
    vault.set_access_policy(writer_sp, secrets=["get", "list", "set"])
    return vault


def rotate_once(world: World, name: str, versions: int, latency: float) -> tuple[int, float]:
    """(vault requests, seconds) of one ``rotate --keep 10`` over ``versions`` versions."""
    from azure.keyvault.secrets._shared.challenge_auth_policy import ChallengeCache

    from foundation.network import discovery
    from scripts.flows import rotate
    from scripts.types import VaultTarget

    seeded = world.seeded
    vault = new_vault(seeded.cloud, name, seeded.tenant.id, seeded.writer_sp)
    token = world.token
    vault.set_secret(NAME, token.value, token.content_type, token.tags, token.expires)
    vault.add_history(NAME, versions - 1)
    vault.latency = latency
    target = VaultTarget(vault_url=vault.uri, secret_name=NAME)
    ChallengeCache.clear()
    discovery.clear()
    seeded.cloud.clear_requests()
    start = time.perf_counter()
    done = rotate.rotate(seeded.app, target, seeded.endpoints, keep=KEEP)
    seconds = time.perf_counter() - start
    requests = sum(1 for r in seeded.cloud.requests if r.host_port == vault.host_port)
    left = [v for v in vault.secret_versions(NAME) if v.enabled]
    if len(left) != min(KEEP, versions + 1) or not left[-1].version == done.stored.version:
        raise SystemExit(f"{versions} versions: {len(left)} left enabled, not the newest {KEEP}")
    return requests, seconds


def minimum(versions: int) -> int:
    """The vault's part of the protocol: one challenge, the GET of the token, the PUT of the
    new one, the list pages (25 versions each, Key Vault's most), one PATCH per version past
    the newest ``KEEP`` of the ``versions + 1`` there are after the PUT."""
    total = versions + 1
    return 3 + math.ceil(total / 25) + max(0, total - KEEP)


def main(sizes: tuple[int, ...] = SIZES, latency: float = LATENCY) -> list[str]:
    """Print the table (its header, then each row as soon as it is measured); return the rows,
    for ``bench/run.py``."""
    for line in HEADER:
        print(line)
    rows: list[str] = []
    with partner_world() as world:
        rotate_once(world, "kv-scale-warmup", KEEP, latency)
        base: tuple[int, float] | None = None
        for versions in sizes:
            requests, seconds = rotate_once(world, f"kv-scale-{versions}", versions, latency)
            bound = requests * latency
            if base is None:
                base = (requests, seconds)
                ratio, verdict = "", ""
            else:
                extra = (requests - base[0]) * latency
                value = (seconds - base[1]) / extra if extra > 0 else 0.0
                ratio = f"{value:.2f}"
                verdict = "ok" if value <= TARGET or versions < 1_000 else "MISS"
            exact = "" if requests == minimum(versions) else " (not minimal)"
            row = (f"| {versions:,} | {requests:,}{exact} | {minimum(versions):,} | "
                   f"{seconds:.2f} | {bound:.2f} | {ratio} | <= {TARGET} at 1,000 | {verdict} |")
            print(row, flush=True)
            rows.append(row)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(str(n) for n in SIZES),
                        help="comma-separated secret sizes, the first one the base "
                        "(default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=LATENCY * 1000,
                        help="added to every vault request (default: %(default)s)")
    args = parser.parse_args()
    main(tuple(int(n) for n in args.versions.split(",") if n.strip()), args.latency_ms / 1000)
