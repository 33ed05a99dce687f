"""Helpers for the config validation tests: parse ``BASE`` with a few keys changed, or collect
the problem lines a bad change gets, so each test states only the keys it is about."""

from __future__ import annotations

import pytest

from foundation.errors import InvalidConfig
from infra.config import StackConfig, parse_config
from tests.infra.base_config import BASE, TODAY


def parse(**overrides: str) -> StackConfig:
    return parse_config({**BASE, **overrides}, today=TODAY)


def problems(**overrides: str) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        parse(**overrides)
    return caught.value.lines()
