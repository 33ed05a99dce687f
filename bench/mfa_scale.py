#!/usr/bin/env python3
"""mfa-report at scale (issue 12): 1,000 / 10,000 / 100,000 users, measured in-process against
the local cloud double, one table row per size.

    .venv/bin/python bench/mfa_scale.py [--users 1000,10000,100000] [--page-size N]

Graph picks the report's page size; by default the double's own (two users a page, so 100,000
users are 50,000 pages), ``--page-size`` another. Each size gets a fresh double, tenant and
reader identity, set up as tests/flows/test_mfa_report_cli.py does (a pipeline identity with
AuditLog.Read.All), and the flow function itself is timed: the token request, every page,
the sort. ``requests`` counts everything the flow sent to the double (discovery, token, pages),
``pages`` the report's pages alone. ``ms/page`` should stay flat from 1,000 to 100,000 users:
a page costs its own rows, never the directory's (issue 12: the double sorted every user for
every page). Nothing here is asserted in the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = (1_000, 10_000, 100_000)
HEADER = ("| users | page size | pages | requests | seconds | ms/page |",
          "|---|---|---|---|---|---|")


def measure(users: int, page_size: int | None) -> str:
    """One row: ``users`` in a fresh tenant (one admin in a hundred, one user in ten without
    MFA), the report read once by the flow, timed and counted at the double."""
    from clouddouble import CloudDouble
    from foundation import wellknown as wk
    from foundation.clouds import resolve_endpoints
    from foundation.network import discovery
    from scripts.flows.mfa_report import REPORT_PATH, mfa_report
    from scripts.offline.demo_world import restored_environment

    with restored_environment(), CloudDouble() as cloud:
        os.environ.update(cloud.env())
        tenant = cloud.add_tenant(domain=f"scale{users}.onmicrosoft.com")
        admins = max(1, users // 100)
        without_mfa = users // 10
        cloud.graph.add_users(tenant.id, admins, prefix="admin", admin=True)
        cloud.graph.add_users(tenant.id, without_mfa, prefix="nomfa", mfa=False)
        cloud.graph.add_users(tenant.id, users - admins - without_mfa)
        reader = cloud.register_app(tenant.id, "pipeline reader")
        cloud.add_service_principal(tenant.id, reader.app_id)
        role = [(p.id, "Role") for p in cloud.catalog.graph.permissions
                if p.kind == "Role" and p.name == "AuditLog.Read.All"]
        cloud.update_app(reader.app_id, required_resource_access=[(wk.MICROSOFT_GRAPH_APP_ID,
                                                                  role)])
        cloud.grant_admin_consent(tenant.id, reader.app_id)
        os.environ.update({"AZURE_TENANT_ID": tenant.id, "AZURE_CLIENT_ID": reader.app_id,
                           "AZURE_CLIENT_SECRET": cloud.add_password(reader.app_id)})
        if page_size is not None:
            cloud.graph.page_size = page_size
        endpoints = resolve_endpoints(None, os.environ)
        discovery.clear()  # each run pays for discovery, as a fresh process does
        cloud.clear_requests()
        start = time.perf_counter()
        report = mfa_report(endpoints)
        seconds = time.perf_counter() - start
        records = cloud.requests
        pages = sum(1 for r in records if r.service == "graph" and r.path == REPORT_PATH)
        if len(report.users) != users:
            raise SystemExit(f"read {len(report.users)} users of {users}")
        return (f"| {users:,} | {cloud.graph.page_size} | {pages:,} | {len(records):,} | "
                f"{seconds:.1f} | {1000 * seconds / pages:.2f} |")


def main(sizes: tuple[int, ...] = SIZES, page_size: int | None = None) -> list[str]:
    """Print the table (its header, then each row as soon as it is measured: 100,000 users at
    two a page take a minute or more); return the rows, for ``bench/run.py``."""
    for line in HEADER:
        print(line)
    rows = []
    for users in sizes:
        row = measure(users, page_size)
        print(row, flush=True)
        rows.append(row)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default=",".join(str(n) for n in SIZES),
                        help="comma-separated tenant sizes (default: %(default)s)")
    parser.add_argument("--page-size", type=int, default=None,
                        help="the double's page size (default: its own, two users a page)")
    args = parser.parse_args()
    main(tuple(int(n) for n in args.users.split(",") if n.strip()), args.page_size)
