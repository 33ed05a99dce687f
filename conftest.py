"""Suite-wide rule: a skipped test is a failed test (CI must prove everything, the browser test
included). Set ALLOW_SKIPS=1 for a local run on a machine without Chromium."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and not os.environ.get("ALLOW_SKIPS") and exitstatus == 0:
        if reporter:
            reporter.write_line(f"error: {skipped} test(s) skipped; a skipped test is a failure "
                                "(set ALLOW_SKIPS=1 locally to allow)", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
