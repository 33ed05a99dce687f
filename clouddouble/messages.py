"""The double's HTTP messages: a parsed request as a service's route gets it, and the response
it returns (with the few shapes every service answers in)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    """A parsed HTTP request handed to a service's route function."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    host_port: str
    base_url: str

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value wins (the services never need repeated keys)."""
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        text = self.body.decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    hdrs = [("Content-Type", "application/json; charset=utf-8"), *(headers or [])]
    return Response(status, json.dumps(payload).encode("utf-8"), hdrs)


def html_response(status: int, html: str) -> Response:
    return Response(
        status,
        html.encode("utf-8"),
        [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
    )


def redirect(location: str) -> Response:
    return Response(302, b"", [("Location", location), ("Cache-Control", "no-store")])


def empty(status: int = 204) -> Response:
    return Response(status)
