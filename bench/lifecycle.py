"""Each lifecycle task against its bare calls (issue 12), from one interleaved run on one double.

    .venv/bin/python bench/lifecycle.py [--runs N]      (or bench/run.py, which prints these rows)

For rotate, verify, settings and store-token: the real console command in a fresh process
(``python -m scripts.cli <task>``, what ``csp-secure-app`` runs) and its bare script in a fresh
process (``bench/bare/<task>.py``: the same requests with the same SDKs, nothing else), one after
the other, N times: task, bare, task, bare... The medians' ratio is the task's cost over the
calls' own (target <= 1.15). Both end with ``os._exit`` after flushing: teardown is nobody's cost.

From the same runs, at the double: requests per task (against the protocol minimum; each bare
script must make the same ones, or the comparison says nothing) and connections per host (every
connection the double accepted, handshake or not: target one per host).

One double serves every run, started and seeded here once, without a browser, as
``bench/world.py`` seeds it for every benchmark: a partner tenant (named by its GUID, as a
pipeline names it) with an MFA admin who is a Global Administrator and an Admin Agent, a writer
identity with every Graph permission verify reads with (so each of its checks runs, healthy), a
Key Vault client app, a vault, a CPV app, and one real consent by the double's scripted admin.
Every rotate stores a new version; every verify records its redemption on the version it read
(a PATCH of its tags); every store-token run gets a fresh fallback file.
Every process trusts a CA bundle the size of a real machine's (certifi's, with the double's CA
added; ``--bundle double`` for the double's CA alone): loading it is part of what TLS costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.world import (  # noqa: E402  (bench/ is importable from here on)
    NAME,
    ROTATE_MINIMUM,
    VERIFY_MINIMUM,
    off_minimum,
)

PY = sys.executable
TASKS = ("rotate", "verify", "settings", "store-token")
TARGET = 1.15
#: The protocol's minimum per task (``bench/requests_count.py``'s reasoning; "token" is one
#: token-endpoint call). settings and store-token: the writer's token for the vault, whose
#: credential needs the tenant's discovery document, and the one vault call after the challenge.
#: verify: each request explained at ``VERIFY_MINIMUM`` (``bench/world.py``): 20, of which 4
#: tokens (the platform's, the redemption, one Graph token, the writer's for the PATCH).
MINIMUM: dict[str, Counter[str]] = {
    "rotate": ROTATE_MINIMUM,
    "verify": VERIFY_MINIMUM,
    "settings": Counter({"openid configuration": 1, "token": 1, "vault challenge": 1,
                         "vault GET": 1}),
    "store-token": Counter({"openid configuration": 1, "token": 1, "vault challenge": 1,
                            "vault PUT": 1}),
}
#: The services each task talks to, by the double's listener names.
SERVICES = {"rotate": ("identity", "vault", "partnercenter"),
            "verify": ("identity", "vault", "partnercenter", "graph"),
            "settings": ("identity", "vault"), "store-token": ("identity", "vault")}
LABELS = {"identity": "identity", "vault": "vault", "partnercenter": "Partner Center",
          "graph": "Graph"}


@dataclass
class World:
    seeded: Any  # bench.world.PartnerWorld
    env: dict[str, str]  # every process's environment

    def host(self, service: str) -> str:
        if service == "vault":
            return str(self.seeded.vault_host)
        origin = {"identity": self.seeded.cloud.authority_host,
                  "partnercenter": self.seeded.cloud.partner_center_endpoint,
                  "graph": self.seeded.cloud.graph_endpoint}[service]
        return str(origin).split("//", 1)[1].rstrip("/")


#: The CA bundle the processes trust: "certifi" (default), certifi's bundle with the double's CA
#: added, the size of a real machine's trust store, which every TLS client loads; "double": the
#: double's CA alone, which costs next to nothing to load.
BUNDLES = ("certifi", "double")


def compiled_env(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Bytecode written and reused, as on any machine the tool is installed on (pip compiles it),
    whatever the caller's environment says (``PYTHONDONTWRITEBYTECODE`` would make every run
    compile the product's sources again, and none of the SDKs', whose bytecode came installed).
    Kept under ``folder``: the bench writes nothing into the tree."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def certifi_sized_bundle(double_ca: str, folder: Path) -> Path:
    import certifi

    path = folder / "ca-bundle.pem"
    path.write_text(Path(certifi.where()).read_text() + Path(double_ca).read_text())
    return path


@contextmanager
def lifecycle_world(bundle: str = "certifi") -> Iterator[World]:
    """The double, started once and seeded (``bench/world.py``), and every process's env."""
    from bench.world import partner_world

    with partner_world("lifecycle") as seeded:
        cloud, home, app, kv = seeded.cloud, seeded.home, seeded.app, seeded.kv_client
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PULUMI_"))}
        env.update(cloud.env())
        env.update(seeded.writer_env)
        env = compiled_env(env, home)
        if bundle == "certifi":
            env.update(dict.fromkeys(("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"),
                                     str(certifi_sized_bundle(cloud.ca_pem_path, home))))
        env.update({"CSP_DOMAIN": app.csp_domain, "CPV_APP_ID": app.app_id,
                    "CPV_APP_SECRET": app.app_secret, "KEY_VAULT_URL": seeded.vault.uri,
                    "KEY_VAULT_SECRET_NAME": NAME, "KV_CLIENT_APP_ID": kv.app_id,
                    "KV_CLIENT_APP_SECRET": kv.app_secret, "KV_CLIENT_CSP_DOMAIN": kv.csp_domain,
                    "SECURE_APP_HOME": str(home)})
        yield World(seeded, env)


def kept_file(world: World) -> Path:
    """A fallback file as consent keeps it, holding the newest token: store-token's input."""
    from scripts.local import pending

    seeded = world.seeded
    newest = seeded.vault.secret_versions(NAME)[-1]
    return pending.keep(pending.PendingToken(
        refresh_token=newest.value, tenant_id=seeded.tenant.id, app_id=seeded.app.app_id,
        vault_url=seeded.vault.uri, secret_name=NAME, user="admin",
        obtained_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()), seeded.home)


def classify(record: Any, vault_host: str) -> str:
    from bench.requests_count import classify as named

    return named(record, vault_host) or "browser"


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    requests: list[Counter[str]] = field(default_factory=list)
    connections: list[dict[str, int]] = field(default_factory=list)


def command(task: str, bare: bool, path: Path | None) -> list[str]:
    args = ["--from-file", str(path)] if path else []
    if bare:
        return [PY, str(ROOT / "bench" / "bare" / f"{task.replace('-', '_')}.py"), *args]
    return [PY, "-m", "scripts.cli", task, *args]


def run_once(world: World, task: str, bare: bool, sample: Sample | None) -> None:
    """One fresh process of the task (or its bare script), timed; its requests and connections
    counted at the double."""
    path = kept_file(world) if task == "store-token" else None
    world.seeded.cloud.clear_requests()  # the connection counts too: one log
    start = time.perf_counter()
    proc = subprocess.run(command(task, bare, path), cwd=ROOT, env=world.env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        who = f"bare {task}" if bare else task
        raise SystemExit(f"{who} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    if sample is not None:
        sample.seconds.append(seconds)
        vault_host = world.host("vault")
        sample.requests.append(Counter(classify(r, vault_host)
                                       for r in world.seeded.cloud.requests))
        sample.connections.append(world.seeded.cloud.connections())


def measure(world: World, runs: int) -> dict[tuple[str, bool], Sample]:
    """Warm-up (one of each, not counted: the file cache and bytecode), then ``runs`` rounds of
    task, bare, task, bare..."""
    samples = {(task, bare): Sample() for task in TASKS for bare in (False, True)}
    for task in TASKS:
        for bare in (False, True):
            run_once(world, task, bare, None)
    for _ in range(runs):
        for task in TASKS:
            for bare in (False, True):
                run_once(world, task, bare, samples[(task, bare)])
    return samples


def rows(world: World, samples: dict[tuple[str, bool], Sample]) -> list[str]:
    out = []
    for task in TASKS:
        mine, bare = samples[(task, False)], samples[(task, True)]
        subject, base = statistics.median(mine.seconds), statistics.median(bare.seconds)
        ratio = subject / base
        verdict = "ok" if ratio <= TARGET else "MISS"
        out.append(f"| `{task}` / its bare calls | {subject:.3f} s | {base:.3f} s | "
                   f"{ratio:.2f}x | <= {TARGET}x | {verdict} |")
    for task in TASKS:
        mine = samples[(task, False)]
        per_host = {s: max(c.get(world.host(s), 0) for c in mine.connections)
                    for s in SERVICES[task]}
        others = {h for c in mine.connections for h in c} - {world.host(s) for s in per_host}
        shown = ", ".join(f"{LABELS[s]} {n}" for s, n in per_host.items())
        verdict = "ok" if set(per_host.values()) == {1} and not others else "MISS"
        out.append(f"| connections per host, `{task}` | {shown} | 1 per host | | = 1 | "
                   f"{verdict} |")
    for task in TASKS:
        minimum = MINIMUM[task]
        counted, bared = samples[(task, False)].requests, samples[(task, True)].requests
        worst = max(counted, key=lambda c: sum(c.values()))
        # Beyond the minimum (+) or short of it (-), by kind; the bare script must make exactly
        # the task's requests, whatever they are, or its timing compares nothing.
        off = off_minimum(worst, minimum)
        same = all(c == worst for c in [*counted, *bared])
        verdict = "ok" if not off and same else " ".join(
            ([f"MISS {off}"] if off else ["MISS"]) + ([] if same else ["(bare script differs)"]))
        out.append(f"| requests per `{task}` | {sum(worst.values())} (bare "
                   f"{max(sum(c.values()) for c in bared)}) | {sum(minimum.values())} (minimum) "
                   f"| {sum(worst.values()) / sum(minimum.values()):.2f} | = 1.00 | {verdict} |")
    return out


def main(runs: int = 9, bundle: str = "certifi") -> list[str]:
    with lifecycle_world(bundle) as world:
        return rows(world, measure(world, runs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bundle", choices=BUNDLES, default="certifi",
                        help="the CA bundle the processes trust (default: %(default)s)")
    args = parser.parse_args()
    for row in main(args.runs, args.bundle):
        print(row)
