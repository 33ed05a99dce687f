"""The clone's invoke tasks: the product's (``scripts/cli/tasks.py``, also the installed
``csp-secure-app`` command) and the developers' ``test``.

``python3 dev.py <task>`` runs them through ``csp-secure-app``, whose parser keeps the exit-code
contract (a usage error is exit 2); plain ``invoke <task>`` runs the same tasks with invoke's own
parser, which exits 1 on a parse error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from invoke.context import Context
from invoke.tasks import Task

from scripts.cli.program import collection


def test(c: Context) -> None:
    """Lint (ruff), type-check (mypy), check the import layers (import-linter), scan (bandit) and
    run the whole test suite."""
    py = sys.executable
    c.run(f"{py} -m ruff check .", pty=False)
    c.run(f"{py} -m mypy foundation scripts infra tasks.py", pty=False)
    # The import contract: imports run one way (layers in pyproject.toml [tool.importlinter]).
    c.run(f"{Path(py).parent / 'lint-imports'} --no-cache", pty=False)
    c.run(f"{py} -m bandit -q -c pyproject.toml -r foundation scripts infra clouddouble tasks.py",
          pty=False)
    # 4 workers on 2 cores: most of a test waits on sockets and retry back-offs. worksteal: a
    # worker left idle takes tests queued behind a slow one (the fault matrix's rows).
    c.run(f"{py} -m pytest -n 4 --dist worksteal -q", pty=False)


#: What invoke runs here (its loader takes a module's ``ns``): the product's tasks and ``test``.
ns = collection()
ns.add_task(Task(test))
