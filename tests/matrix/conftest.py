"""The sign-in matrix's sandbox fixture, shared by test_matrix_signin_outcomes.py,
test_matrix_signin_credentials.py and test_matrix_signin_listener_attacks.py: one partner and a
private HOME / TMPDIR / PATH per test (tests.matrix.runner.Sandbox). A file that defines its own
``box`` keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouddouble import CloudDouble
from tests.matrix.runner import Sandbox


@pytest.fixture
def box(cloud: CloudDouble, tmp_path: Path) -> Sandbox:
    return Sandbox(cloud, tmp_path)
