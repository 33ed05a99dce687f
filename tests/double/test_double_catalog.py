"""The double keeps its own copy of Microsoft's ids (clouddouble/msids.py) so it cannot agree with
a wrong product constant; this is the one place the two independent copies meet."""

from __future__ import annotations

import ast
from pathlib import Path

from clouddouble import msids
from foundation import wellknown

ROOT = Path(__file__).resolve().parents[2]


def test_every_id_the_double_knows_matches_the_products_copy() -> None:
    shared = [name for name in vars(msids) if name.isupper() and hasattr(wellknown, name)]
    assert len(shared) >= 14, shared
    assert {n: getattr(msids, n) for n in shared} == {n: getattr(wellknown, n) for n in shared}


def test_the_double_names_each_resource_as_the_product_does() -> None:
    assert wellknown.NAMES[wellknown.PARTNER_CENTER_APP_ID] == msids.PARTNER_CENTER_NAME
    assert wellknown.NAMES[wellknown.MICROSOFT_GRAPH_APP_ID] == msids.MICROSOFT_GRAPH_NAME
    assert (
        wellknown.NAMES[wellknown.AZURE_SERVICE_MANAGEMENT_APP_ID]
        == msids.AZURE_SERVICE_MANAGEMENT_NAME
    )


def test_the_double_imports_nothing_of_the_product() -> None:
    offenders = []
    for path in sorted((ROOT / "clouddouble").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.split(".")[0] in ("scripts", "infra", "policy", "tasks", "bench")
            ]
    assert offenders == []
