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

One double serves every run, started and seeded here once, without a browser: a partner tenant
(named by its GUID, as a pipeline names it) with an MFA admin, a writer identity (Graph
``Application.Read.All``, for verify's secret expiry), a Key Vault client app, a vault, a CPV
app, and one real consent by the double's scripted admin (``bench/requests_count.py`` does the
same). Every rotate stores a new version; every store-token run gets a fresh fallback file.
Every process trusts a CA bundle the size of a real machine's (certifi's, with the double's CA
added; ``--bundle double`` for the double's CA alone): loading it is part of what TLS costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
TASKS = ("rotate", "verify", "settings", "store-token")
TARGET = 1.15
#: The protocol's minimum per task (``bench/requests_count.py``'s reasoning; "token" is one
#: token-endpoint call). settings and store-token: the writer's token for the vault, whose
#: credential needs the tenant's discovery document, and the one vault call after the challenge.
MINIMUM: dict[str, Counter[str]] = {
    "rotate": Counter({"openid configuration": 1, "token": 2, "vault challenge": 1,
                       "vault GET": 1, "Partner Center": 1, "vault PUT": 1}),
    "verify": Counter({"openid configuration": 1, "token": 3, "vault challenge": 1,
                       "vault GET": 1, "Partner Center": 1, "Graph": 1}),
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
NAME = "PartnerCenterRefreshToken"


@dataclass
class World:
    cloud: Any  # clouddouble.CloudDouble
    vault: Any  # clouddouble.Vault
    home: Path
    env: dict[str, str]
    tenant_id: str
    cpv_app_id: str

    def host(self, service: str) -> str:
        origin = {"identity": self.cloud.authority_host, "vault": self.vault.uri,
                  "partnercenter": self.cloud.partner_center_endpoint,
                  "graph": self.cloud.graph_endpoint}[service]
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
    """The double, started once and seeded (see the module's docstring)."""
    from clouddouble import CloudDouble
    from foundation import wellknown as wk
    from foundation.clouds import resolve_endpoints
    from scripts.flows import consent
    from scripts.flows.demo import played_ui
    from scripts.local.ports import free_port
    from scripts.offline.demo_world import restored_environment, scripted_user
    from scripts.types import PartnerApp, VaultTarget

    with restored_environment(), CloudDouble() as cloud, tempfile.TemporaryDirectory() as home:
        os.environ.update(cloud.env())
        os.environ["SECURE_APP_HOME"] = home
        endpoints = resolve_endpoints(None, os.environ)
        tenant = cloud.add_tenant(domain="contoso-lifecycle.onmicrosoft.com")
        password = secrets.token_urlsafe(12)
        admin = cloud.add_user(tenant.id, "admin@contoso-lifecycle.onmicrosoft.com",
                               password=password, mfa=True, admin=True)
        writer = cloud.register_app(tenant.id, "pipeline writer")
        writer_sp = cloud.add_service_principal(tenant.id, writer.app_id)
        graph_roles = [(p.id, "Role") for p in cloud.catalog.graph.permissions
                       if p.kind == "Role" and p.name == "Application.Read.All"]
        cloud.update_app(writer.app_id,
                         required_resource_access=[(wk.MICROSOFT_GRAPH_APP_ID, graph_roles)])
        cloud.grant_admin_consent(tenant.id, writer.app_id)
        writer_env = {"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": writer.app_id,
                      "AZURE_CLIENT_SECRET": cloud.add_password(writer.app_id)}
        os.environ.update(writer_env)
        kv_app = cloud.register_app(tenant.id, "Azure Key Vault Client App")
        kv_sp = cloud.add_service_principal(tenant.id, kv_app.app_id)
        kv_secret = cloud.add_password(kv_app.app_id)
        vault = cloud.create_vault("kv-lifecycle", tenant.id)
        vault.set_access_policy(writer_sp, secrets=["get", "list", "set"])
        vault.set_access_policy(kv_sp, secrets=["get"])
        port = free_port()
        vendor = cloud.add_tenant(domain="vendor-lifecycle.onmicrosoft.com")
        cpv = cloud.register_app(vendor.id, "CPV", multi_tenant=True,
                                 redirect_uris=[f"http://localhost:{port}"],
                                 required_resource_access=[(wk.PARTNER_CENTER_APP_ID, [(
                                     wk.PARTNER_CENTER_USER_IMPERSONATION, "Scope")])])
        cloud.add_service_principal(vendor.id, cpv.app_id)
        app = PartnerApp(csp_domain=tenant.id, app_id=cpv.app_id,
                         app_secret=cloud.add_password(cpv.app_id))
        target = VaultTarget(vault_url=vault.uri, secret_name=NAME)
        ui = played_ui(scripted_user(cloud, admin.upn, password), lambda _line: None)
        consent.store(consent.sign_in(app, endpoints, ui, mode="no-browser", port=port), app,
                      target, endpoints)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PULUMI_"))}
        env.update(cloud.env())
        env.update(writer_env)
        env = compiled_env(env, Path(home))
        if bundle == "certifi":
            env.update(dict.fromkeys(("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"),
                                     str(certifi_sized_bundle(cloud.ca_pem_path, Path(home)))))
        env.update({"CSP_DOMAIN": tenant.id, "CPV_APP_ID": cpv.app_id,
                    "CPV_APP_SECRET": app.app_secret, "KEY_VAULT_URL": vault.uri,
                    "KEY_VAULT_SECRET_NAME": NAME, "KV_CLIENT_APP_ID": kv_app.app_id,
                    "KV_CLIENT_APP_SECRET": kv_secret, "KV_CLIENT_CSP_DOMAIN": tenant.id,
                    "SECURE_APP_HOME": home})
        yield World(cloud, vault, Path(home), env, tenant.id, cpv.app_id)


def kept_file(world: World) -> Path:
    """A fallback file as consent keeps it, holding the newest token: store-token's input."""
    from scripts.local import pending

    newest = world.vault.secret_versions(NAME)[-1]
    return pending.keep(pending.PendingToken(
        refresh_token=newest.value, tenant_id=world.tenant_id, app_id=world.cpv_app_id,
        vault_url=world.vault.uri, secret_name=NAME, user="admin",
        obtained_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()), world.home)


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
    world.cloud.clear_requests()  # the connection counts too: one log
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
        sample.requests.append(Counter(classify(r, vault_host) for r in world.cloud.requests))
        sample.connections.append(world.vault.listener.log.connections())


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
        mine, bare = samples[(task, False)].requests, samples[(task, True)].requests
        worst = max(mine, key=lambda c: sum(c.values()))
        extra = {k: v - minimum.get(k, 0) for k, v in (worst - minimum).items() if v}
        same = all(c == minimum for c in bare)
        verdict = "ok" if all(c == minimum for c in mine) and same else (
            f"MISS {extra}" if extra else "MISS (bare script differs)")
        out.append(f"| requests per `{task}` | {sum(worst.values())} (bare "
                   f"{max(sum(c.values()) for c in bare)}) | {sum(minimum.values())} (minimum) "
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
