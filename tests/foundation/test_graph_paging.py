"""``foundation.network.graph.get_pages`` against the double's Graph: a chain ends when Graph
stops sending ``@odata.nextLink``, however many pages that takes; a link already followed or a
chain past its deadline ends in one ServiceError (exit 5) instead of paging forever.

The loops are served at the network: the double answers the report with a fixed page
(``inject_fault`` with status 200), as a cache or proxy that ignores the query would."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

import pytest

from clouddouble import CloudDouble
from foundation.clouds import Endpoints, resolve_endpoints
from foundation.errors import EXIT_SERVICE, ServiceError
from foundation.network import graph
from tests.support import graph_reader, unique_domain

URD = "/v1.0/reports/authenticationMethods/userRegistrationDetails"


def ok(status: int, body: Any) -> None:
    assert status == 200, body


class Reader(NamedTuple):
    endpoints: Endpoints
    token: str
    tenant_id: str


@pytest.fixture
def reader(cloud: CloudDouble, monkeypatch: pytest.MonkeyPatch) -> Reader:
    """A report reader's endpoints and Graph token, in a tenant of three users."""
    tenant = cloud.add_tenant(domain=unique_domain("paging"))
    cloud.graph.add_users(tenant.id, 3)
    env, _secret = graph_reader(cloud, tenant, "AuditLog.Read.All")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    endpoints = resolve_endpoints(None, os.environ)
    return Reader(endpoints, graph.graph_token(endpoints, fix="test"), tenant.id)


def fixed_page(cloud: CloudDouble, next_query: str | None, count: int = 1) -> None:
    """The next ``count`` report requests get one row and a next link to ``URD + next_query``."""
    body: dict[str, Any] = {"value": [{"userPrincipalName": "loop@example.com"}]}
    if next_query is not None:
        body["@odata.nextLink"] = f"{cloud.graph_endpoint}{URD}{next_query}"
    cloud.inject_fault(URD, status=200, count=count, retry_after=None, service="graph",
                       body=json.dumps(body).encode())


def report_requests(cloud: CloudDouble) -> int:
    return sum(1 for r in cloud.requests if r.service == "graph" and r.path == URD)


@pytest.mark.parametrize("pages", [199, 200, 201])
def test_every_page_is_read_whatever_their_number(
        cloud: CloudDouble, reader: Reader, monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    cloud.graph.add_users(reader.tenant_id, pages - 3, prefix="more")
    monkeypatch.setattr(cloud.graph, "page_size", 1)
    cloud.clear_requests()
    items = list(graph.get_pages(reader.endpoints, URD, reader.token, ok))
    assert len({i["userPrincipalName"] for i in items}) == pages
    assert report_requests(cloud) == pages


@pytest.mark.parametrize(("links", "requests"), [
    ([""], 1),                           # the first page links to itself
    (["?$skiptoken=a"], 2),              # the second page links to itself
    (["?$skiptoken=a", "?$skiptoken=b", "?$skiptoken=a"], 3),  # a longer cycle
])
def test_a_link_already_followed_is_a_loop_told_in_one_line(
        cloud: CloudDouble, reader: Reader, links: list[str], requests: int) -> None:
    for query in links:
        fixed_page(cloud, query)
    fixed_page(cloud, links[-1], count=5)  # what a stuck server would go on sending
    cloud.clear_requests()
    with pytest.raises(ServiceError) as caught:
        list(graph.get_pages(reader.endpoints, URD, reader.token, ok))
    assert caught.value.exit_code == EXIT_SERVICE
    [line] = caught.value.lines()
    assert "already sent" in line and "loops" in line and URD in line
    assert " Fix: " in line and "proxy or cache" in line
    assert "skiptoken" not in line
    assert report_requests(cloud) == requests, "stopped at the repeated link, not after it"


def test_a_chain_past_its_deadline_stops_before_the_next_page(
        cloud: CloudDouble, reader: Reader) -> None:
    cloud.clear_requests()
    pages = graph.get_pages(reader.endpoints, URD, reader.token, ok, deadline=0.0)
    first = [next(pages), next(pages)]  # the first page (two users) is always read
    with pytest.raises(ServiceError) as caught:
        list(pages)
    assert len(first) == 2 and report_requests(cloud) == 1
    [line] = caught.value.lines()
    assert "still sending pages" in line and "1 pages read" in line and " Fix: " in line


def test_a_chain_within_its_deadline_is_read_whole(
        cloud: CloudDouble, reader: Reader) -> None:
    items = list(graph.get_pages(reader.endpoints, URD, reader.token, ok, deadline=60.0))
    assert len(items) == 3
